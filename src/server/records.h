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
	/* the job record this call wrote last, packed (in pa's memory) */
	const Whatsnext__V1__Job *last;
	uint8_t *last_buf;
	size_t last_len;
	/* the first failed read of a record of this call (WN_EIO...), 0 if none:
	 * what the call saw may be wrong (a job it could not read looks absent),
	 * so a call that wrote nothing answers UNAVAILABLE (dispatch.c) and one
	 * that would change what it read wrongly changes nothing */
	int read_err;
} wn_records_call;

/* wn_records_new starts the records layer on store s (which the caller keeps
 * open until wn_records_free). */
wn_records *wn_records_new(wn_store *s);
/* wn_records_free frees the layer and its record cache; NULL is a no-op. */
void wn_records_free(wn_records *r);
/* wn_records_store returns the store the layer is on. */
wn_store *wn_records_store(wn_records *r);
/* wn_records_get_msg reads key's record (kl bytes) and unpacks it as d into
 * the call's allocator: WN_ENOTFOUND if absent, WN_EINTERNAL if it does not
 * unpack. */
int wn_records_get_msg(wn_records_call *rc, const char *key, size_t kl,
                       const ProtobufCMessageDescriptor *d, ProtobufCMessage **out);
/* wn_records_del_prefix deletes in b every key that starts with prefix (plen
 * bytes): WN_OK, or WN_EIO (logged) with nothing added to b if the walk over
 * them failed. (Not a range delete: the store's memtable insert hints cannot
 * take those.) */
int wn_records_del_prefix(wn_records *r, wn_batch *b, const char *prefix, size_t plen);
/* wn_records_scan_end frees it: WN_OK if its walk ended where the keys or its
 * caller did, WN_EIO (logged) if a read of the store cut it short. */
int wn_records_scan_end(wn_store_iter *it);

/* wn_records_read_ok notes in rc->read_err a read of the store that failed
 * (rv other than WN_OK and WN_ENOTFOUND) and returns rv. */
int wn_records_read_ok(wn_records_call *rc, int rv);
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
/* wn_records_apply applies b, a batch that holds no job record of a call
 * (wn_store_write: its ticket in *seq). */
int wn_records_apply(wn_records *r, wn_batch *b, uint64_t *seq);
/* wn_records_put packs msg into b under key. */
void wn_records_put(wn_batch *b, const char *key, size_t klen, const ProtobufCMessage *msg);

/* wn_records_job_find returns job id as this call sees it: changed by the
 * call, else from the record cache, else read from the store; NULL if absent
 * (or unreadable: logged, and noted in rc->read_err). */
Whatsnext__V1__Job *wn_records_job_find(wn_records_call *rc, uint64_t id);
/* wn_records_job_get is wn_records_job_find saying why there is no job:
 * WN_ENOTFOUND if absent (or corrupt, which is logged), the store's error
 * if its record cannot be read. */
int wn_records_job_get(wn_records_call *rc, uint64_t id, Whatsnext__V1__Job **out);
/* wn_records_job_adopt makes j (unpacked into the call's allocator, or built
 * by the call) the call's view of its job. */
void wn_records_job_adopt(wn_records_call *rc, Whatsnext__V1__Job *j);
/* wn_records_job_put adds j's record to b (and to the record cache once b is
 * applied, if PENDING or RUNNING). */
void wn_records_job_put(wn_records_call *rc, wn_batch *b, const Whatsnext__V1__Job *j);
/* wn_records_job_packed gives the record of j as packed when this call last
 * wrote a job record, if that was j's (the bytes are the call's): false
 * otherwise. */
bool wn_records_job_packed(const wn_records_call *rc, const Whatsnext__V1__Job *j,
                           const uint8_t **buf, size_t *len);
/* wn_records_job_del deletes the record of job j in b (and from the record
 * cache once b is applied); what it reported goes first, with
 * wn_records_job_del_reports. */
void wn_records_job_del(wn_records_call *rc, wn_batch *b, const Whatsnext__V1__Job *j);
/* wn_records_job_del_reports deletes in b what job j reported if it ever ran
 * (attempt > 0): its result history, output and stored artifacts (r/, o/,
 * b/); WN_EIO (logged) with nothing added to b if the keys cannot all be
 * read. */
int wn_records_job_del_reports(wn_records *r, wn_batch *b, const Whatsnext__V1__Job *j);

/* Records of the other kinds. Puts and deletes go into a batch b the caller
 * writes; reads unpack into the call's allocator and return WN_ENOTFOUND if
 * the record is absent, WN_EINTERNAL if it does not unpack, or the store's
 * error. */

/* wn_records_project_get reads project name's record. */
int wn_records_project_get(wn_records_call *rc, const char *name, Whatsnext__V1__Project **out);
/* wn_records_project_put adds p's record to b. */
void wn_records_project_put(wn_batch *b, const Whatsnext__V1__Project *p);
/* wn_records_project_del deletes project name's record in b. */
void wn_records_project_del(wn_batch *b, const char *name);
/* wn_records_project_list returns in v (cap entries) the readable records of
 * projects with status (0: any), in name order, and how many there are (a
 * read of the store that cuts the walk short sets rc->read_err, as for
 * wn_records_task_list). */
size_t wn_records_project_list(wn_records_call *rc, int status, Whatsnext__V1__Project **v,
                               size_t cap);

/* wn_records_task_get reads the record of task name of project. */
int wn_records_task_get(wn_records_call *rc, const char *project, const char *name,
                        Whatsnext__V1__Task **out);
/* wn_records_task_ready reads the record of task name of project unless the
 * task cache holds it (which a read puts it in, as a rule): what
 * wn_records_task_get answers, without unpacking a cached one. */
int wn_records_task_ready(wn_records_call *rc, const char *project, const char *name);
/* wn_records_task_put adds t's record to b (r's task records read lately are
 * not used again until b is written). */
void wn_records_task_put(wn_records *r, wn_batch *b, const Whatsnext__V1__Task *t);
/* wn_records_task_del deletes the record of task name of project in b (as
 * wn_records_task_put for r's task records read lately). */
void wn_records_task_del(wn_records *r, wn_batch *b, const char *project, const char *name);
/* wn_records_task_list returns in v (cap entries) the readable records of
 * project's tasks, in name order, and how many there are. */
size_t wn_records_task_list(wn_records_call *rc, const char *project, Whatsnext__V1__Task **v,
                            size_t cap);
/* wn_records_task_del_all deletes the records of every task of project in b
 * and puts how many there were in *n; WN_EIO (logged) with nothing added to
 * b if they cannot all be read. */
int wn_records_task_del_all(wn_records *r, wn_batch *b, const char *project, uint64_t *n);

/* wn_records_sweep_put adds s's record to b. */
void wn_records_sweep_put(wn_batch *b, const Whatsnext__V1__Sweep *s);
/* wn_records_sweep_del deletes the record of sweep id in b. */
void wn_records_sweep_del(wn_batch *b, uint64_t id);
/* wn_records_worker_put adds w's record to b. */
void wn_records_worker_put(wn_batch *b, const Whatsnext__V1__Worker *w);
/* wn_records_worker_del deletes the record of worker name in b. */
void wn_records_worker_del(wn_batch *b, const char *name);
/* wn_records_token_put adds t's record (a/NAME) to b. */
void wn_records_token_put(wn_batch *b, const Whatsnext__V1__TokenRecord *t);
/* wn_records_token_del deletes the record of token name in b. */
void wn_records_token_del(wn_batch *b, const char *name);
/* wn_records_next_id_put stores limit, a bound above every job id handed out,
 * in b. */
void wn_records_next_id_put(wn_batch *b, uint64_t limit);
/* wn_records_next_id_get reads the bound stored by wn_records_next_id_put:
 * WN_ENOTFOUND if there is none, the store's error if it cannot be read. */
int wn_records_next_id_get(wn_records *r, uint64_t *limit);

/* wn_records_req_get reads the reply stored for request id into a new buffer
 * (*val, *len); WN_ENOTFOUND if there is none. */
int wn_records_req_get(wn_records *r, uint64_t id, char **val, size_t *len);
/* wn_records_req_put stores the reply val (len bytes) for request id in b. */
void wn_records_req_put(wn_batch *b, uint64_t id, const void *val, size_t len);

/* Walks. */

/* wn_records_fn gets one record of a walk: its key and value (valid until it
 * returns); false stops the walk. */
typedef bool (*wn_records_fn)(void *arg, const char *key, size_t klen, const char *val,
                              size_t vlen);
/* wn_records_walk calls fn for each record of kind in key order, until fn
 * returns false. WN_OK, or WN_EIO if a read error (a damaged table file)
 * ended the walk early, with why (if not NULL) set to a malloc'd reason. */
int wn_records_walk(wn_records *r, enum wn_key_kind kind, wn_records_fn fn, void *arg, char **why);
/* wn_records_job_walk is wn_records_walk over the job records with ids from
 * first on, fn getting each job's id as well. */
typedef bool (*wn_records_job_fn)(void *arg, uint64_t id, const char *val, size_t vlen);
int wn_records_job_walk(wn_records *r, uint64_t first, wn_records_job_fn fn, void *arg, char **why);

/* wn_records_job_ids puts the ids of the job records with ids in [first,
 * last], at most cap of them, into ids, and how many in *n. These walks over
 * the job records return WN_OK, or WN_EIO (logged) if a read of the store cut
 * them short. */
int wn_records_job_ids(wn_records *r, uint64_t first, uint64_t last, uint64_t *ids, size_t cap,
                       size_t *n);
/* wn_records_job_ids_of puts the ids of the readable job records of project
 * (and of task, if not NULL), in id order, in a new array *ids of *n. */
int wn_records_job_ids_of(wn_records *r, const char *project, const char *task, uint64_t **ids,
                          size_t *n);
/* wn_records_job_count counts in *count the readable job records of project
 * and task with status. */
int wn_records_job_count(wn_records *r, const char *project, const char *task, int status,
                         uint64_t *count);
/* wn_records_job_chunk unpacks into the call's allocator (without adopting
 * them) the readable ones of the next max job records after id *after, puts
 * them in v and returns how many; *after becomes the last id read, *more
 * whether records follow (false, and rc->read_err set, if a read of the store
 * cut the walk short). */
size_t wn_records_job_chunk(wn_records_call *rc, uint64_t *after, size_t max,
                            Whatsnext__V1__Job **v, bool *more);
/* wn_records_compact_jobs compacts the job records, so that the space of
 * those deleted comes back. */
void wn_records_compact_jobs(wn_records *r);
/* wn_records_compact_side compacts the output and artifact keys (o/, b/) of
 * job id, or (one false) of every job, so that the space of those deleted
 * comes back. */
void wn_records_compact_side(wn_records *r, uint64_t id, bool one);

/* Which jobs a job list or a bulk change selects: every condition given
 * must hold (ListJobsRequest, BulkRequest). */
typedef struct wn_job_filter {
	const char *const *projects; /* any of these; none: any project */
	size_t n_projects;
	const char *task;      /* "" or NULL: any */
	const char *submitter; /* "" or NULL: any */
	unsigned statuses;     /* any status whose bit (1u << status) is set; 0: any */
	const char *name_glob; /* fnmatch(3) pattern the name matches; "" or NULL: any */
	bool held;             /* only held jobs */
} wn_job_filter;
/* wn_records_job_match reports whether job j passes filter f. */
bool wn_records_job_match(const wn_job_filter *f, const Whatsnext__V1__Job *j);

/* A page of a job list: the jobs with ids in (after, last] that match. */
typedef struct wn_records_page {
	wn_job_filter f;
	uint64_t after, last;
	bool desc;       /* newest first: from last down */
	size_t max;      /* jobs on the page */
	size_t scan_max; /* records looked at */
	size_t bytes;    /* the page stops past this many bytes of records */
	/* the page: jobs unpacked into the call's allocator and adopted by it */
	Whatsnext__V1__Job **jobs; /* max entries, the caller's */
	size_t n;
	/* the last id looked at when the page was cut short (the next page goes
	 * on past it, in the page's order); 0: no more */
	uint64_t next_after;
} wn_records_page;
/* wn_records_job_page fills pg's page, in id order (desc: reversed); a read of
 * the store that cuts it short sets rc->read_err. */
void wn_records_job_page(wn_records_call *rc, wn_records_page *pg);

/* wn_records_checkpoint copies every record into the new directory dir, a
 * database wn_store_open opens (wn_store_checkpoint). */
int wn_records_checkpoint(wn_records *r, const char *dir, char **errmsg);
/* wn_records_last_job_id reads the largest job id stored in the database in
 * dir, which no wnd is using (a checkpoint): WN_ENOTFOUND if it holds no
 * job, else WN_OK or the error with *errmsg malloc'd. */
int wn_records_last_job_id(const char *dir, uint64_t *id, char **errmsg);

#endif
