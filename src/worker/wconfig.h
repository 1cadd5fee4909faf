/* wconfig: the worker's configuration, worker.yaml. A key table drives the
 * parsing, defaults and bounds of the top level; each entry of `tasks` is
 * handed to its formatter (fmt.h). See config/worker.yaml and docs/worker.md. */
#ifndef WN_WCONFIG_H
#define WN_WCONFIG_H

#include "capacity.h"
#include "fmt.h"
#include "conf.h"

#include <stddef.h>
#include <stdint.h>

/* The `tls:` mapping: how to reach a tls+tcp:// server (NULL: not given;
 * file names absolute once loaded). */
typedef struct wn_wtls {
	char *ca;          /* CA (PEM) that signed the server's certificate */
	char *cert;        /* the worker's certificate (PEM), for mutual TLS */
	char *key;         /* its key (PEM) */
	char *server_name; /* the name the server's certificate must hold */
} wn_wtls;

/* A loaded configuration. Fields may be overridden by the command line
 * (free the old string, store a malloc'd one) before wn_wconfig_check. */
typedef struct wn_wconfig {
	char *path;       /* the file it came from, or NULL */
	char *base_dir;   /* relative paths are relative to this: the worker's directory */
	char *server;     /* NULL: $WN_SERVER or the default address */
	char *token;      /* NULL: none; token_file's once loaded, or $WN_TOKEN's */
	char *token_file; /* the file holding the token (absolute once loaded) */
	char *name;       /* NULL: <host>-<pid> */
	wn_conf_strv projects;
	int64_t slots;
	char *log_level;
	char *log_dir;  /* absolute once loaded */
	char *lock_dir; /* the GPU devices' lock files (devlock.h); absolute, default log_dir */
	int64_t fetch_wait_ms;
	int64_t heartbeat_ms; /* 0: a third of the lease */
	int64_t output_ms;    /* new output shipped within this long; 0: with heartbeats */
	int64_t kill_grace_s;
	int64_t tail_bytes;
	int64_t rpc_timeout_ms;
	wn_wresources resources; /* what the worker offers; the rest is detected */
	wn_wtls tls;
	size_t ntasks;
	char **task_names;
	wn_fmt **task_fmts;
} wn_wconfig;

/* wn_wconfig_load reads the file at path; on failure *errmsg gets a malloc'd
 * message with the file, line and column. */
int wn_wconfig_load(const char *path, wn_wconfig **out, char **errmsg);

/* wn_wconfig_parse reads a configuration from len bytes of text named name
 * (for messages); relative paths are resolved against base_dir. */
int wn_wconfig_parse(const char *name, const char *text, size_t len, const char *base_dir,
                     wn_wconfig **out, char **errmsg);

/* wn_wconfig_free frees a configuration; NULL is a no-op. */
void wn_wconfig_free(wn_wconfig *c);

/* wn_wconfig_check validates what the file and the command line must give
 * together (at least one project, valid names, a server address that is
 * one); *errmsg on failure. */
int wn_wconfig_check(const wn_wconfig *c, char **errmsg);

/* wn_wconfig_task returns the formatter of task name, NULL if not configured. */
const wn_fmt *wn_wconfig_task(const wn_wconfig *c, const char *name);

/* wn_wconfig_keys returns the top-level key table (for documentation and
 * tests); *n gets its length. */
const wn_conf_key *wn_wconfig_keys(size_t *n);

#endif
