/* driver: runs operations against a wnd and the model side by side. Each
 * operation is built into a request from the model's state, sent, and its
 * reply judged by the model; restarts compare every answer before and after,
 * and with the model. */
#ifndef WN_MODEL_DRIVER_H
#define WN_MODEL_DRIVER_H

#include "model.h"
#include "ops.h"
#include "server.h"

#include <stdbool.h>
#include <stdint.h>

/* A mutating request sent lately, for resending it. */
typedef struct sent {
	const char *method; /* short name */
	uint64_t reqid;
	uint8_t *body;
	size_t blen;
	int64_t at; /* test-clock time of its execution */
	int epoch;  /* server start it ran in */
	int code;
	uint8_t *reply; /* packed output (code OK) */
	size_t rlen;
	bool other;   /* sent as another token than the admin's ("as") */
	char *secret; /* that token's secret (malloc'd; NULL: the admin's) */
	/* sent again by that token and answered in server start mine_epoch, at
	 * mine_at: the id is that caller's in wnd's memory for a while again */
	int64_t mine_at;
	int mine_epoch;
} sent;

#define DRIVER_RING 24

/* A token of the run (model_tokens.c): made by token-create, used by "as". */
#define MODEL_NTOKENS 4
typedef struct mtoken {
	bool live;    /* made and not revoked */
	int role;     /* TokenRole */
	int project;  /* a user's one project (model_pname), -1: every project */
	int worker;   /* a worker's one name (model_wname), -1: none */
	char *secret; /* kept after a revoke, to be refused */
} mtoken;

typedef struct driver {
	model *m;
	server srv;
	int epoch;
	/* the test clock: wnd's clock and the model's run this far ahead of
	 * the machine's; time passes as it does, and jumps only forward */
	int64_t offset;
	sent ring[DRIVER_RING];
	size_t nring; /* entries used, newest at ring[(nring - 1) % DRIVER_RING] */
	bool verbose;
	/* the mix of operations a generated run leans to (gen.c): 0 an even
	 * mix, 1 dependencies, 2 the fleet and time, 3 deletions and restarts */
	int profile;
	/* counts for the summary */
	uint64_t ops[OP_NKINDS];
	uint64_t replies_ok, replies_err;
	uint64_t http_calls;   /* calls made over HTTP with JSON (http.c) */
	bool no_http;          /* a call as another token: SP only */
	const char *as_secret; /* that token's secret, while its call runs */
	uint64_t restarts_term, restarts_kill;
	/* --faults: each start of wnd gets store read and scan faults
	 * (WN_STORE_FAULTS, drawn into the restart operation), and an answer
	 * UNAVAILABLE changes nothing */
	bool faults;
	uint64_t fault_starts;   /* starts with faults */
	uint64_t unavailable;    /* requests answered UNAVAILABLE: nothing changed */
	uint64_t reasked;        /* Gets and Lists asked again after UNAVAILABLE */
	uint64_t retention_late; /* minutes waited for a retention pass cut short */
	uint64_t leases_late;    /* seconds waited for a lease whose job was unread */
	int last_code;           /* the code of the last reply (-1: none) */
	char *err;               /* why the last operation failed, malloc'd */
	mtoken tokens[MODEL_NTOKENS];
	/* a scene under way (gen.c): its next step (0: none), its token's slot,
	 * its job (an index into the model's jobs) */
	int scene, scene_slot;
	int64_t scene_job;
} driver;

/* driver_open starts wnd (path wnd) in directory dir with an empty model. */
int driver_open(driver *d, const char *wnd, const char *dir, bool verbose, char **err);

/* driver_close stops wnd and frees d. */
void driver_close(driver *d);

/* driver_run runs operation o: 0 when server and model agree, -1 (d->err
 * says why) when they do not. o->code gets the code of its reply. */
int driver_run(driver *d, op *o);

/* driver_finish ends a run: a full comparison, a clean restart, another. */
int driver_finish(driver *d);

/* build_id_of resolves job number sym (creation order) to its id: an id
 * never used when there is no such job, 0 for sym < 0 (build.c). */
uint64_t build_id_of(const driver *d, int64_t sym);
/* build_text returns text variant v (build.c): 0 empty, 1 short, 2 over
 * 4096 bytes, 3 over 64 KiB, 4 over 128 bytes. */
char *build_text(int64_t v, const char *what, int64_t seed);
/* build_job_change, build_bulk and build_update: the requests of OP_CANCEL,
 * OP_RETRY, OP_REMOVE, OP_PRIORITY, OP_BULK and OP_UPDATE (build_bulk.c). */
ProtobufCMessage *build_job_change(const driver *d, const op *o);
ProtobufCMessage *build_bulk(const driver *d, const op *o);
ProtobufCMessage *build_update(const driver *d, const op *o);
/* Building requests (build.c): the request of o, from the model's state,
 * as a message in the pool and its method's short name. */
int build_request(driver *d, const op *o, const char **method, ProtobufCMessage **msg);

/* Generating operations (gen.c): the next operation of a run from rng. */
void gen_op(driver *d, uint64_t *rng, op *o);

/* Tokens (model_tokens.c). tokens_run runs token-create, token-revoke and
 * "as" (an operation sent with a token of the run); tokens_compare holds
 * TokenService/List to the model's tokens; tokens_name names slot k. */
int tokens_run(driver *d, op *o);
int tokens_compare(driver *d);
void tokens_free(driver *d);
const char *tokens_name(int64_t slot);

/* driver_exec_as sends msg (of method, the model's short name) with r under
 * reqid: judged by the model when want is 0, else it must answer want. */
int driver_exec_as(driver *d, wn_rpc *r, const char *method, const ProtobufCMessage *msg,
                   uint64_t reqid, int want);

/* A Wait parked across a restart (model_wait.c): driver_longpoll_start sends
 * one on a connection of its own for a project whose jobs have not all
 * ended, just before wnd stops; driver_longpoll_finish, once wnd runs again,
 * holds its answer to the model (the state before a SIGTERM, or an error)
 * and asks again as a client would. */
void driver_longpoll_start(driver *d);
int driver_longpoll_finish(driver *d, bool kill9);

/* Store faults (driver.c). A restart operation carries the faults of the
 * start it makes: a[1] read faults (0: none), a[2] the reads that succeed
 * first, a[3] and a[4] the same for scan steps, a[5] bit 0 (read) and bit 1
 * (scan): EIO rather than ENOSPC; a[6] 0: wnd, compared after the restart,
 * stops by SIGTERM and starts again with them (they fall on the operations
 * that follow), 1: the restart's own start has them (on the look after it).
 * driver_unavailable: code is an answer UNAVAILABLE while faults are set,
 * which changes nothing. */
#define DRIVER_FAULT_TRIES 8
bool driver_unavailable(const driver *d, int code);
/* faults_set sets the faults of the next start: restart o's (on), or none.
 * faults_start: wnd, just started again and compared, stops by SIGTERM and
 * starts with the faults of restart o (a[6] 0). */
void faults_set(driver *d, const op *o, bool on);
int faults_start(driver *d, const op *o);
/* A retention pass that a failed read cut short ends there, and the next
 * one, a minute later, goes on. faults_live returns the ids of the model's
 * live jobs before time moves (NULL without faults); faults_retention, once
 * it moved, moves the clock on a minute at a time while a job the model
 * deleted by retention since is still there. */
uint64_t *faults_live(const driver *d, bool leased, size_t *n);
int faults_retention(driver *d, const uint64_t *live, size_t n);
/* A lease that ran out while its job could not be read is looked at again a
 * second later: faults_leases, given the ids of the jobs the model held
 * leased before time moved (faults_live with leased), moves the clock on a
 * second at a time while wnd still shows a lease the model ended since. */
int faults_leases(driver *d, const uint64_t *leased, size_t n);

/* driver_fail sets d->err and returns -1; driver_catch_up brings the model
 * to the time it is now; driver_clock_to moves wnd's and the model's clock
 * to t; driver_poke sends a request, which runs the work that fell due. */
int driver_fail(driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void driver_catch_up(driver *d);
void driver_clock_to(driver *d, int64_t t);
int driver_poke(driver *d);

/* rng_next returns the next number of a splitmix64 sequence. */
uint64_t rng_next(uint64_t *s);

/* driver_sent_age: how a remembered request stands now (for resends). */
const sent *driver_sent(const driver *d, int64_t k);

#endif
