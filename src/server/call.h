/* call: one request being executed, the context every layer below dispatch
 * works in: its arena, its error message, the write ticket to wait for
 * before replying, the job records it loaded and changed (through the records
 * layer), and the replies it owes to parked requests. dispatch.c opens and
 * finishes calls; the sweeper opens its own for periodic work. */
#ifndef WN_CALL_H
#define WN_CALL_H

#include "arena.h"
#include "engine.h"
#include "err.h"
#include "records.h"
#include "rules.h"
#include "store.h"
#include "util.h"
#include "whatsnext.pb-c.h"

/* Replies are kept under this size (list methods and Fetch stop early). */
#define WN_REPLY_BUDGET (8u << 20)
/* WN_STORE_UNREADABLE: what a call says that changed nothing because a read
 * of the store it needed failed (UNAVAILABLE: it may be sent again). */
#define WN_STORE_UNREADABLE                                                                        \
	"cannot read the store (wnd's log says why); nothing was changed; retry later"

/* A reply to a parked request, sent after this call's writes are durable. */
struct delivery {
	void *slot;
	uint8_t *buf;
	size_t len;
	struct delivery *next;
};

/* One request being executed. */
struct call {
	wn_engine *e;
	wn_arena *arena;
	ProtobufCAllocator *pa;
	uint64_t seq;    /* write ticket to wait for before replying */
	const char *msg; /* error message */
	void *slot;      /* connection context, for parking */
	uint64_t reqid;
	const char *method;        /* the request's method path */
	const char *caller;        /* the caller's token name; NULL when the server has no tokens */
	int64_t caller_since;      /* when the caller's token was made (ms); 0 without tokens */
	uint64_t caller_first_job; /* the next job id then (0: not known) */
	bool parked;
	/* the reply was built again for a request id seen before a restart (a
	 * Submit's job as it is now): not the first execution's, so not
	 * remembered as it */
	bool replayed;
	struct delivery *deliveries;
	wn_records_call rec; /* the job records it loaded, changed and wrote */
	/* a reply whose job field is written from the job's record as packed
	 * (wn_call_splice) */
	struct {
		const ProtobufCMessage *body;
		ProtobufCMessage **field;
		const void *job;
		unsigned number;
		const uint8_t *buf;
		size_t len;
	} splice;
};

/* A request parked until its reply is ready: where the reply goes. */
struct parked {
	void *slot;
	uint32_t conn; /* the connection it came on */
	uint64_t reqid;
};

/* wn_call_init starts a call on e for the request that came with slot (NULL:
 * none, as for periodic work). */
void wn_call_init(struct call *c, wn_engine *e, void *slot);
/* wn_call_wait waits until the call's writes are durable. */
int wn_call_wait(struct call *c);
/* wn_call_finish sends the replies to parked requests the call answered (after
 * wn_call_wait) and frees the call. */
void wn_call_finish(struct call *c);

/* wn_call_fail records a formatted error message and returns err. */
int wn_call_fail(struct call *c, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* wn_call_park parks the call: its reply comes later, through pk. */
void wn_call_park(struct call *c, struct parked *pk);
/* wn_call_answer queues reply as the answer to the parked request pk, sent
 * once the call's writes are durable. */
void wn_call_answer(struct call *c, const struct parked *pk, const ProtobufCMessage *reply);
/* wn_call_drop frees the parked request pk without a reply (its requester is
 * gone). */
void wn_call_drop(struct call *c, const struct parked *pk);

/* wn_call_splice notes that field (number, of reply body) holds job j as this
 * call last wrote its record, if it did: wn_call_pack_reply then writes those
 * bytes instead of packing j again. j must not change before the reply. */
void wn_call_splice(struct call *c, const ProtobufCMessage *body, ProtobufCMessage **field,
                    unsigned number, const Whatsnext__V1__Job *j);
/* wn_call_pack_reply builds the OK Response to request id around body, as
 * wn_engine_pack_response does, with the job noted by wn_call_splice. */
uint8_t *wn_call_pack_reply(struct call *c, uint64_t id, const ProtobufCMessage *body, size_t *len);
/* wn_engine_pack_response builds a Response envelope around body (may be NULL). */
uint8_t *wn_engine_pack_response(uint64_t id, int code, const char *message,
                                 const ProtobufCMessage *body, size_t *len);

/* wn_engine_write applies b and records its ticket in the call. */
int wn_engine_write(struct call *c, wn_batch *b);

/* Job records as the call sees them (records.h does the work). */

/* wn_job_load reads job id (from the call's cache first); NOT_FOUND fails the
 * call, and so does UNAVAILABLE if its record cannot be read. */
int wn_job_load(struct call *c, uint64_t id, Job **out);
/* wn_job_find is wn_job_load without failing the call: NULL if absent. */
Job *wn_job_find(struct call *c, uint64_t id);
/* wn_job_get is wn_job_find saying why there is no job: WN_ENOTFOUND if
 * absent, the store's error if its record cannot be read (a job that may
 * well be there). */
int wn_job_get(struct call *c, uint64_t id, Job **out);
/* wn_job_brief returns j reduced to id, status and attempt (for replies with
 * `brief`), allocated from the call's arena. */
Job *wn_job_brief(struct call *c, const Job *j);
/* wn_job_put adds j's record to b. */
void wn_job_put(struct call *c, wn_batch *b, const Job *j);
/* wn_job_del deletes the record of job j in b (and from the record cache once
 * b is applied); wn_job_del_reports deletes what it reported, WN_EIO with
 * nothing added to b if that cannot all be read (wn_records_job_del). */
void wn_job_del(struct call *c, wn_batch *b, const Job *j);
int wn_job_del_reports(struct call *c, wn_batch *b, const Job *j);
/* wn_job_adopt puts a job built by this call (a new one) in the call's cache. */
void wn_job_adopt(struct call *c, Job *j);
/* wn_job_status_name returns "PENDING" etc. */
const char *wn_job_status_name(int status);

#endif
