/* replay: answering a Submit or SubmitBatch sent again after its first reply
 * was lost, for a day, across restarts (protocol section 3). */
#ifndef WN_REPLAY_H
#define WN_REPLAY_H

#include "call.h"
#include "map.h"

/* How long request ids of Submits and SubmitBatches are answered again. */
#define REPLAY_KEEP_MS (24LL * 3600 * 1000)

struct replay_ent {
	int64_t at;
	uint64_t reqid;
};

/* What replay remembers (struct wn_engine composes it). */
struct replay {
	wn_map *jobs;            /* request id of a Submit -> the job it created (as a pointer) */
	wn_map *stored;          /* request ids with an i/ key -> (void *)1 */
	struct replay_ent *ring; /* jobs' request ids, oldest first */
	size_t head, n, cap, peak;
};

/* wn_replay_init and wn_replay_free set up and free e->replay. */
void wn_replay_init(wn_engine *e);
void wn_replay_free(wn_engine *e);
/* wn_replay_load_job remembers, at start, the request id of j's Submit if j was
 * created within the keep time. */
void wn_replay_load_job(wn_engine *e, const Job *j, int64_t now);
/* wn_replay_submitted remembers the request id of the Submit that created j
 * (after its write). */
void wn_replay_submitted(struct call *c, const Job *j);
/* wn_replay_answer answers c if its request id was already executed (a Submit
 * from its job as it is now, brief if asked; else the reply stored, unpacked
 * as od): 1. 0 if it is new; a negative WN_E* (c failed) when it was executed
 * for another caller (another token), whose reply is not c's. */
int wn_replay_answer(struct call *c, const ProtobufCMessageDescriptor *od, bool brief,
                     ProtobufCMessage **out);
/* wn_replay_persist stores reply under c's request id, in b (SubmitBatch). */
void wn_replay_persist(struct call *c, wn_batch *b, const ProtobufCMessage *reply);
/* wn_replay_removed keeps the answer to the Submit that created j, which is
 * being removed with status as its last, in b. */
void wn_replay_removed(struct call *c, wn_batch *b, const Job *j, int status);
/* wn_replay_remembered returns how many Submits' request ids are remembered in
 * memory (each in the map and the ring, checked to agree) and, if ring is
 * not NULL, the ring's capacity. */
size_t wn_replay_remembered(wn_engine *e, size_t *ring);
/* wn_replay_forget drops request ids older than the keep time, from memory and
 * disk, and learns which i/ keys exist (at start). */
void wn_replay_forget(wn_engine *e);

#endif
