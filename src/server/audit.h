/* audit: the audit log, one JSON object a line, appended for what admins do
 * (docs/server.md, "Audit log"): every call to a method only admins may
 * call, every change made with an admin token, every project or task
 * deletion, and the refused attempts at them. Each line holds "time" (UTC,
 * ISO 8601 with milliseconds), "token" (its name; null when the server has no
 * tokens), "role", "method" (Service/Method), "target" (what the request
 * named: "project=p", "job=7", "token=alice", ...), "result" (the gRPC code's
 * name) and, when it failed, "message". Secrets are never written. */
#ifndef WN_AUDIT_H
#define WN_AUDIT_H

#include <stdint.h>

struct wn_audit;

/* One entry of the audit log. */
typedef struct wn_audit_entry {
	int64_t time_ms;
	const char *token;   /* NULL: the server has no tokens */
	const char *role;    /* "" with token NULL */
	const char *method;  /* "JobService/Submit" */
	const char *target;  /* "" for none */
	int code;            /* the reply's gRPC code */
	const char *message; /* when code != OK, or NULL */
} wn_audit_entry;

/* wn_audit_open opens (creating, mode 0600) the audit log at path, or at
 * data_dir/audit.log when path is NULL or empty, for appending; *errmsg on
 * failure (a log readable by others is refused). */
int wn_audit_open(struct wn_audit **out, const char *path, const char *data_dir, char **errmsg);
/* wn_audit_check refuses, as wn_audit_open would and before anything is
 * created, an audit log path (not empty) that cannot be opened for writing:
 * a file not writable, or a directory that is not there (but data_dir, made
 * at start) or not writable. WN_EIO with *errmsg. */
int wn_audit_check(const char *path, const char *data_dir, char **errmsg);
/* wn_audit_close closes the log; NULL is a no-op. */
void wn_audit_close(struct wn_audit *a);
/* wn_audit_write appends one line for ent; a failed write is logged, once a
 * minute at most. */
void wn_audit_write(struct wn_audit *a, const wn_audit_entry *ent);

#endif
