/* engine: the server's state and every method of the protocol, independent
 * of sockets. A request arrives as the bytes of a Request envelope and leaves
 * as the bytes of a Response; a Fetch that waits is parked and answered later
 * through the deliver callback. */
#ifndef WN_ENGINE_H
#define WN_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wn_engine wn_engine;

/* Called outside the engine's lock with the reply to a parked request; the
 * callee owns buf (free it with free()) and the slot. buf NULL means the
 * requester is gone: free the slot without replying. The reply may be sent
 * once write seq is durable (wn_engine_durable). */
typedef void (*wn_deliver_fn)(void *arg, void *slot, uint8_t *buf, size_t len, uint64_t seq);

/* A reply and the write that must be durable before it is sent (0: none);
 * authed: the request's token was accepted (or the server has no tokens), so
 * its connection is no longer held to the limits of unauthenticated peers. */
typedef struct wn_reply {
	uint8_t *buf;
	size_t len;
	uint64_t seq;
	bool authed;     /* the request's token was accepted, or the server has no tokens */
	const void *who; /* authed: that token (NULL: the server has no tokens) */
} wn_reply;

/* Default limits on the fetches waiting for a job (parked). */
#define WN_PARKED_MAX      10000
#define WN_PARKED_PER_CONN 16

typedef struct wn_engine_config {
	const char *data_dir;
	int durability;            /* WN_DURABILITY_SYNC or WN_DURABILITY_RELAXED */
	int relaxed_ms;            /* relaxed: time from one sync to the next */
	int64_t lease_ms;          /* lease length; heartbeats extend by this much */
	int64_t worker_timeout_ms; /* a joined worker silent this long is LOST */
	int64_t retention_ms;      /* finished jobs older than this are deleted; 0 = kept */
	/* the bootstrap admin token: a file holding its secret (refused if group
	 * or others may read it), or, deprecated, the secret itself; NULL / ""
	 * for none */
	const char *admin_token_file;
	const char *token;
	const char *audit_log;      /* the audit log; NULL / "": DATA_DIR/audit.log */
	const char *backup_dir;     /* backups only inside it, or NULL / "" for anywhere */
	const char *warning;        /* told to clients in QueueService.Stats, or NULL */
	size_t max_msg;             /* largest request body accepted */
	size_t max_parked;          /* fetches waiting at once; 0 = WN_PARKED_MAX */
	size_t max_parked_per_conn; /* ... on one connection; 0 = WN_PARKED_PER_CONN */
	uint64_t output_max;        /* live output kept per job; 0 = WN_OUTPUT_MAX_DEFAULT */
	bool no_sweeper;            /* tests: no background thread; call wn_engine_tick */
	wn_deliver_fn deliver;
	void *deliver_arg;
	/* the connection a slot's request came on (0 = unknown) */
	uint32_t (*slot_conn)(void *slot);
	int64_t (*clock)(void *arg); /* wall clock in ms; NULL = the real one */
	/* monotonic clock in ms, for durations (leases, worker timeouts, waits);
	 * NULL = the real one */
	int64_t (*mono)(void *arg);
	void *clock_arg; /* passed to clock and mono */
	/* tests that move the clock: before each request, the periodic work due
	 * at the clock's time is done (leases, worker timeouts, retention) */
	bool tick_per_request;
	/* artifacts (docs/server.md): largest file stored, bytes stored per
	 * project, in MiB; 0: the defaults (artifacts.h) */
	uint64_t artifact_max_file_mb, artifact_max_project_mb;
} wn_engine_config;

/* wn_engine_open opens the store and rebuilds the in-memory state from it
 * (the strings of cfg must outlive the engine). On failure *errmsg gets a
 * malloc'd one-line message. */
int wn_engine_open(const wn_engine_config *cfg, wn_engine **out, char **errmsg);

/* wn_engine_warn sets the warning told to clients in QueueService.Stats
 * (NULL: none; the string must outlive the engine); call it before serving. */
void wn_engine_warn(wn_engine *e, const char *warning);

/* wn_engine_close answers parked requests, stops the sweeper and closes the
 * store; NULL is a no-op. */
void wn_engine_close(wn_engine *e);

/* wn_engine_handle executes the request in req and returns the reply in *out
 * (malloc'd, *outlen bytes). slot identifies the caller's connection context;
 * when the request is parked (a Fetch that waits) the function returns with
 * *out == NULL and the engine owns slot until it delivers the reply. */
void wn_engine_handle(wn_engine *e, const uint8_t *req, size_t len, void *slot, uint8_t **out,
                      size_t *outlen);

/* wn_engine_serve is wn_engine_handle without the wait for durability: the
 * reply in *reply may be sent once wn_engine_durable(e, reply->seq) is WN_OK;
 * if it is WN_EIO, wn_engine_undurable turns it into an error reply. */
void wn_engine_serve(wn_engine *e, const uint8_t *req, size_t len, void *slot, wn_reply *reply);

/* wn_engine_durable: WN_OK when write seq is durable, WN_EBUSY while it is
 * not yet, WN_EIO when it never will be (the store failed). */
int wn_engine_durable(wn_engine *e, uint64_t seq);
/* wn_engine_auth_holds reports whether a connection that a request of token
 * who authenticated (wn_reply.who) still is: false once that token is
 * revoked, or (who NULL: the server had no tokens) once the server has one.
 * *gen (0 at first) keeps the state of the tokens it was last true at: while
 * no token is added or revoked the answer costs one atomic load. */
bool wn_engine_auth_holds(wn_engine *e, const void *who, uint64_t *gen);

/* wn_engine_wait_durable waits until write seq is durable: WN_OK, or WN_EIO
 * when it never will be. */
int wn_engine_wait_durable(wn_engine *e, uint64_t seq);

struct wn_method;

/* wn_engine_may_call: WN_OK when token (a secret, "" for none) would be
 * let in (a valid token, or the server has none) to call method desc,
 * WN_EAUTH when it would not be let in at all, and WN_EPERM, with why (n
 * bytes) saying so, when the token's role may not call method desc: known
 * before a request's body is read. With audit the refusal is written to the
 * audit log (without a target: there is no body); without, the caller sends
 * the request to wn_engine_serve, which refuses it again and audits it with
 * what its body names. */
int wn_engine_may_call(wn_engine *e, const char *token, const struct wn_method *desc, bool audit,
                       char *why, size_t n);

/* wn_engine_identify_all: WN_OK when token would be let in, WN_EAUTH when
 * not, and WN_EPERM for a valid token that may not read every project
 * (limited to some, or a worker's): what reports on all of them (/metrics)
 * wants. */
int wn_engine_identify_all(wn_engine *e, const char *token);

/* wn_engine_flush makes every write so far durable as relaxed mode
 * promises (in the OS's hands): one write for all the replies a serving
 * thread has ready; a no-op in sync mode. */
int wn_engine_flush(wn_engine *e);

/* wn_engine_on_durable registers fn, called from the store's sync thread each
 * time more writes become durable (or the store fails). */
void wn_engine_on_durable(wn_engine *e, void (*fn)(void *arg), void *arg);

/* wn_engine_undurable replaces the reply in *buf with an UNAVAILABLE reply to
 * the same request id, saying why the change could not be made durable. */
void wn_engine_undurable(wn_engine *e, uint8_t **buf, size_t *len);

/* wn_engine_oversize returns the reply to a request of len bytes that was
 * refused for its size. */
void wn_engine_oversize(wn_engine *e, size_t len, uint8_t **out, size_t *outlen);

/* wn_engine_tick expires due leases and times out parked requests, then
 * returns the time (engine monotonic clock, ms) of the next deadline. */
int64_t wn_engine_tick(wn_engine *e);

/* wn_engine_expire_finished deletes finished jobs past the retention time
 * (a bounded number per lock hold) and compacts; returns how many. */
uint64_t wn_engine_expire_finished(wn_engine *e);

/* wn_engine_conn_closed notes that connection conn closed: requests parked
 * from it are dropped (at the next tick), so no job goes to a requester that
 * is gone. Safe to call from any thread. */
void wn_engine_conn_closed(wn_engine *e, uint32_t conn);

/* wn_engine_release_parked answers every parked request with an empty reply
 * (used when shutting down). */
void wn_engine_release_parked(wn_engine *e);

#endif
