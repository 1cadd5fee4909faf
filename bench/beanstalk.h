/* beanstalk: a small client for beanstalkd's text protocol (use, watch, put,
 * reserve-with-timeout, delete), enough to run the same workload against it as
 * against wnd. One connection per thread; several commands may be sent in one
 * write (pipelined) and their replies read back in order.
 *
 * Protocol reference: doc/protocol.txt of beanstalkd. */
#ifndef WN_BEANSTALK_H
#define WN_BEANSTALK_H

#include <stddef.h>
#include <stdint.h>

typedef struct wn_beanstalk wn_beanstalk;

/* Longest body a reserve hands back whole; longer bodies are cut to this. */
#define WN_BEANSTALK_BODY_MAX 4096

/* A reserved job. */
typedef struct wn_beanstalk_job {
	uint64_t id;
	size_t len;                           /* body bytes kept in body */
	char body[WN_BEANSTALK_BODY_MAX + 1]; /* NUL-terminated copy of the body */
} wn_beanstalk_job;

/* wn_beanstalk_open connects to addr ("127.0.0.1:PORT", IPv4 only). On failure
 * *errmsg gets a malloc'd one-line message. */
int wn_beanstalk_open(const char *addr, wn_beanstalk **out, char **errmsg);

/* wn_beanstalk_close closes the connection; NULL is a no-op. */
void wn_beanstalk_close(wn_beanstalk *b);

/* wn_beanstalk_wake makes a call blocked on b in another thread return
 * WN_EUNAVAIL, and every later call too (shuts the socket down). */
void wn_beanstalk_wake(wn_beanstalk *b);

/* wn_beanstalk_error returns the message of b's last failure ("" if none). */
const char *wn_beanstalk_error(const wn_beanstalk *b);

/* wn_beanstalk_use sends later puts to tube. */
int wn_beanstalk_use(wn_beanstalk *b, const char *tube);

/* wn_beanstalk_watch reserves from tube only (watches it, ignores "default"). */
int wn_beanstalk_watch(wn_beanstalk *b, const char *tube);

/* wn_beanstalk_put puts n jobs with the given bodies (body[i] of len[i] bytes),
 * priority pri, no delay and time-to-run ttr seconds, in one write; ids (may
 * be NULL) gets their ids in order. */
int wn_beanstalk_put(wn_beanstalk *b, uint32_t pri, uint32_t ttr, const char *const *body,
                     const size_t *len, size_t n, uint64_t *ids);

/* wn_beanstalk_reserve waits up to timeout_s seconds for a job of the watched
 * tubes; WN_ETIMEDOUT when none came. */
int wn_beanstalk_reserve(wn_beanstalk *b, int timeout_s, wn_beanstalk_job *job);

/* wn_beanstalk_reserve_ready reserves up to max jobs that are ready now, with
 * max zero-timeout reserves in one write; *got is how many came. */
int wn_beanstalk_reserve_ready(wn_beanstalk *b, wn_beanstalk_job *jobs, size_t max, size_t *got);

/* wn_beanstalk_delete deletes the n jobs ids in one write. With next not
 * NULL, a zero-timeout reserve follows in the same write: *have_next says
 * whether it got a job, stored in *next. */
int wn_beanstalk_delete(wn_beanstalk *b, const uint64_t *ids, size_t n, wn_beanstalk_job *next,
                        int *have_next);

#endif
