/* records: the records layer of the server, the only user of the store among
 * its domain and services. It knows the key schema (keys.h), packs and
 * unpacks the records, keeps the job record cache, and walks the records for
 * the lists and scans the layers above need.
 *
 * The record cache holds the packed records of PENDING and RUNNING jobs
 * written lately, so that claiming and completing a job just submitted needs
 * no read of the store; it is bounded, the oldest entries go first. A job
 * record written to a batch enters (or leaves) the cache only once that batch
 * is applied (wn_records_write): a batch never applied changes nothing.
 *
 * One call (a request, a sweeper pass) works through a wn_records_call: the
 * job records it loaded, unpacked into its allocator and changed in place,
 * and the records it staged for the cache. Not thread-safe: the caller holds
 * the lock under which it makes every store call. */
#ifndef WN_RECORDS_H
#define WN_RECORDS_H

#include "keys.h"
#include "map.h"
#include "store.h"
#include "whatsnext.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wn_records wn_records;
struct wn_records_stage;

/* What one call holds of the records layer; init with wn_records_call_init. */
typedef struct wn_records_call {
	wn_records *r;
	ProtobufCAllocator *pa; /* where the call's records are unpacked */
	wn_map *jobs;           /* job records loaded (and changed) by this call */
	/* job records written to batches not applied yet, for the record cache */
	struct wn_records_stage *staged, *staged_tail;
} wn_records_call;

/* wn_records_new starts the records layer on store s (which the caller keeps
 * open until wn_records_free). */
wn_records *wn_records_new(wn_store *s);
/* wn_records_free frees the layer and its record cache; NULL is a no-op. */
void wn_records_free(wn_records *r);
/* wn_records_store returns the store the layer is on. */
wn_store *wn_records_store(wn_records *r);

/* wn_records_call_init readies rc for one call on r, unpacking into pa (an
 * arena that outlives the call's use of the records). */
void wn_records_call_init(wn_records_call *rc, wn_records *r, ProtobufCAllocator *pa);
/* wn_records_call_release forgets the call's jobs and what it staged for
 * batches never applied. */
void wn_records_call_release(wn_records_call *rc);

/* wn_records_write applies b (wn_store_write), raises *seq to its ticket and
 * brings the record cache up to date with the job records the call wrote to
 * b; the store's error if it refused b. */
int wn_records_write(wn_records_call *rc, wn_batch *b, uint64_t *seq);
/* wn_records_put packs msg into b under key. */
void wn_records_put(wn_batch *b, const char *key, size_t klen, const ProtobufCMessage *msg);

/* wn_records_job_find returns job id as this call sees it: changed by the
 * call, else from the record cache, else read from the store; NULL if absent
 * (or unreadable, which is logged). */
Whatsnext__V1__Job *wn_records_job_find(wn_records_call *rc, uint64_t id);
/* wn_records_job_adopt makes j (unpacked into the call's allocator, or built
 * by the call) the call's view of its job. */
void wn_records_job_adopt(wn_records_call *rc, Whatsnext__V1__Job *j);
/* wn_records_job_put adds j's record to b (and to the record cache once b is
 * applied, if PENDING or RUNNING). */
void wn_records_job_put(wn_records_call *rc, wn_batch *b, const Whatsnext__V1__Job *j);
/* wn_records_job_del deletes the record of job id in b (and from the record
 * cache once b is applied). */
void wn_records_job_del(wn_records_call *rc, wn_batch *b, uint64_t id);

#endif
