/* svc: the services, one file each (svc_project.c svc_task.c svc_job.c
 * svc_queue.c svc_sweep.c svc_worker.c svc_admin.c svc_token.c svc_wait.c): each method decodes its
 * request, validates it, calls the domain and encodes the reply. A service
 * never calls another service. The method table (dispatch.c, from
 * methods.def) names these functions. */
#ifndef WN_SVC_H
#define WN_SVC_H

#include "call.h"
#include "envelope.h"

/* Limits of what a request may hold. */
#define WN_LIMIT_MAX       1000
#define WN_PAGE_DEFAULT    100
#define WN_PAGE_MAX        10000
#define WN_DESC_MAX        4096
#define WN_JOBNAME_MAX     WN_NAME_MAX
#define WN_PARAM_VALUE_MAX (1 << 20)
#define WN_TAIL_MAX        65536
#define WN_REASON_MAX      4096
#define WN_WAIT_MAX_MS     60000
/* WN_BATCH_MAX, WN_FILTER_LIST_MAX, WN_GLOB_MAX: envelope.h, clients check them too */

/* A method implementation: in is the unpacked input; on success *out is the
 * output (allocated from c->arena) or NULL when parked. */
typedef int (*wn_method_fn)(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);

int wn_svc_project_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_project_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_project_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_project_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_project_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_task_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_task_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_task_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_task_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_task_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_submit(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_submit_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_cancel(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_retry(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_remove(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_set_priority(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);

/* svc_bulk.c */
int wn_svc_job_bulk(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);

/* What a request names to select jobs (ListJobsRequest, BulkRequest). */
struct wn_svc_select {
	const char *project; /* "": any */
	char **projects;     /* and these */
	size_t n_projects;
	const char *task, *submitter, *name_glob; /* "": any */
	int status;                               /* 0: any */
	const Whatsnext__V1__JobStatus *statuses; /* and these */
	size_t n_statuses;
};
/* wn_svc_job_filter checks what s names (statuses known, projects existing,
 * the glob's length) and fills f from it, pointing into s. */
int wn_svc_job_filter(struct call *c, const struct wn_svc_select *s, wn_job_filter *f);
int wn_svc_queue_fetch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_heartbeat(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_complete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_release(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_stats(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_clear(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_pop(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_complete_batch(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_deps(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_log(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_wait(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_job_history(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
/* svc_artifact.c */
int wn_svc_job_get_artifact(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_queue_put_artifact(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_sweep_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_sweep_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_sweep_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_worker_join(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_worker_leave(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_worker_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_worker_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
/* wn_svc_heartbeat_readable reads the jobs of the current leases heartbeat
 * rq names and reports progress of before it changes anything: one that
 * cannot be read fails it (UNAVAILABLE), else what the worker sent of it (an
 * external id, output) would be dropped while it was answered OK. */
int wn_svc_heartbeat_readable(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq);
/* wn_svc_heartbeat_wait answers heartbeat rq with r, at once or, asked to
 * wait (its wait_ms), once there is news for its worker (svc_heartbeat.c). */
int wn_svc_heartbeat_wait(struct call *c, const Whatsnext__V1__HeartbeatRequest *rq,
                          Whatsnext__V1__HeartbeatResponse *r, ProtobufCMessage **out);
int wn_svc_worker_drain(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_worker_resume(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_worker_remove(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_token_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_token_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
int wn_svc_token_revoke(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
/* wn_svc_admin_backup runs without the engine lock (WN_METHOD_UNLOCKED) and parks the
 * call while a thread of its own takes the backup. */
int wn_svc_admin_backup(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out);
/* wn_admin_drain waits for a backup in progress to be answered (at shutdown,
 * once no_park is set: no new one starts). */
void wn_admin_drain(wn_engine *e);

#endif
