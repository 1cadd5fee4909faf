/* watch: requests parked until an event of the jobs they name (a status
 * change, new output) or their deadline, and the count of every parked
 * request (parked fetches too) by connection and in all, which the limits
 * max_parked_per_connection and max_parked_fetches apply to.
 *
 * A service parks its call with wn_watch_park, naming job ids, a sweep or a
 * project and a function that answers. Whenever a job it names changes status
 * (wn_watch_status, from the one place job counts move: every transition,
 * a dependency's BLOCKED included, and removal) or gets new output
 * (wn_watch_output), the function is called under the engine lock within the
 * call that made the change: it returns the reply (the watch ends; the reply
 * is sent once that call's writes are durable) or NULL to wait on. At the
 * deadline, and when the server shuts down, it must return a reply. A watch
 * whose connection closed is dropped without one. */
#ifndef WN_WATCH_H
#define WN_WATCH_H

#include "call.h"

/* What a watch hears of (wn_watch_spec.events). */
#define WN_WATCH_ON_STATUS 1u /* a job it names changed status or was removed */
#define WN_WATCH_ON_OUTPUT 2u /* a job it names got new output */
#define WN_WATCH_ON_WORKER 4u /* the worker it names: drained, resumed, left, leased a job */

/* Why a watch's function is called. */
enum wn_watch_why {
	WN_WATCH_STATUS = 1, /* job changed from status `from` to `to` (0: removed) */
	WN_WATCH_OUTPUT,     /* job got new output */
	WN_WATCH_DEADLINE,   /* wait_ms passed: answer */
	WN_WATCH_RELEASE,    /* the server shuts down: answer */
	WN_WATCH_WORKER,     /* the worker it names: drained, resumed, left or leased a job */
};

/* One event, as a watch's function sees it. */
struct wn_watch_event {
	enum wn_watch_why why;
	uint64_t job;        /* STATUS, OUTPUT: the job */
	uint64_t sweep;      /* STATUS: the job's sweep (0: none) */
	const char *project; /* STATUS: the job's project */
	int from, to;        /* STATUS: its status before and after (0: removed) */
};

/* Answers a watch: the reply (allocated in c's arena) to end it, or NULL to
 * go on waiting (not at DEADLINE or RELEASE). It may read but not change
 * the server's state. */
typedef const ProtobufCMessage *(*wn_watch_fn)(struct call *c, void *arg,
                                               const struct wn_watch_event *ev);

/* What a call parks on: any of job ids, a sweep, a project. */
struct wn_watch_spec {
	const uint64_t *ids; /* copied */
	size_t nids;
	uint64_t sweep;      /* 0: none */
	const char *project; /* NULL or "": none */
	const char *worker;  /* NULL or "": none (WN_WATCH_ON_WORKER hears of it) */
	unsigned events;     /* WN_WATCH_ON_* */
	const char *what;    /* what waits, for the log (NULL: "request") */
	uint32_t wait_ms;    /* the deadline, from now */
	wn_watch_fn fn;
	void *arg;                   /* passed to fn; the watch owns it */
	void (*arg_free)(void *arg); /* frees arg (NULL: nothing to free) */
};

/* The watches of an engine (struct wn_engine composes it). */
struct watch_state {
	struct wn_watch *head, *tail;           /* every watch, oldest first */
	size_t nwatch;                          /* how many */
	size_t nparked;                         /* parked requests in all: watches and fetches */
	wn_map *by_conn;                        /* connection -> parked requests (uintptr_t) */
	wn_map *by_job, *by_sweep, *by_project; /* -> struct watch_list */
	wn_map *by_worker;                      /* -> struct watch_list */
	uint64_t epoch;                         /* marks the watches one event reached */
	uint64_t steps;                         /* list entries looked at (tests bound it) */
	bool no_park;                           /* shutting down: answer at once */
};

/* wn_watch_init readies e's watches; wn_watch_release frees them (after
 * wn_watch_release_all). */
void wn_watch_init(wn_engine *e);
void wn_watch_release(wn_engine *e);

/* wn_watch_park parks call c until spec->fn answers it; the watch owns
 * spec->arg whatever the outcome. WN_ETOOBIG (the call's message says which)
 * when as many requests wait on its connection or on the server as allowed;
 * WN_EUNAVAIL when the server shuts down (answer at once instead). */
int wn_watch_park(struct call *c, const struct wn_watch_spec *spec);

/* wn_watch_status tells the watches of job j (by id, sweep and project p's
 * name) that it moved from status `from` to `to` (0: removed). */
void wn_watch_status(struct call *c, const char *project, const Job *j, int from, int to);
/* wn_watch_output tells the watches of job_id that it got new output. */
void wn_watch_output(struct call *c, uint64_t job_id);
/* wn_watch_worker tells the watches naming worker that it was drained,
 * resumed or left, or (from wn_watch_status) was leased a job. */
void wn_watch_worker(struct call *c, const char *worker);

/* wn_watch_due answers the watches whose deadline is past now; returns the
 * earliest deadline left, or next if that is earlier. */
int64_t wn_watch_due(struct call *c, int64_t now, int64_t next);
/* wn_watch_drop drops the watches of the n connections closed, without a
 * reply. */
void wn_watch_drop(struct call *c, const uint32_t *closed, size_t n);
/* wn_watch_revoked ends the watches parked under token (revoked just now)
 * with UNAUTHENTICATED: what they wait for is no longer theirs to learn. */
void wn_watch_revoked(struct call *c, const char *token);
/* wn_watch_release_all answers every watch and parks no more (shutting down). */
void wn_watch_release_all(struct call *c);

/* wn_watch_room refuses (WN_ETOOBIG, the call's message naming what, e.g.
 * "fetches") one more request parked on connection conn when it, or the
 * server, has as many parked as allowed. */
int wn_watch_room(struct call *c, uint32_t conn, const char *what);
/* wn_watch_count adds delta to the requests parked on connection conn (0:
 * unknown) and in all. */
void wn_watch_count(wn_engine *e, uint32_t conn, int delta);
/* wn_watch_parked is how many requests are parked on connection conn. */
size_t wn_watch_parked(wn_engine *e, uint32_t conn);

#endif
