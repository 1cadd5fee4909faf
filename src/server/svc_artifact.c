/* svc_artifact: the artifacts' methods, QueueService.PutArtifact (the
 * worker's upload) and JobService.GetArtifact (reading the content back);
 * artifacts.h does the work. */
#include "artifacts.h"
#include "jobs.h"
#include "svc.h"

#include <string.h>

int wn_svc_queue_put_artifact(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__PutArtifactRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load(c, rq->job_id, &j);
	if (rv != WN_OK)
		return rv;
	unsigned long long id = (unsigned long long)rq->job_id;
	if (j->status == CANCELLED && j->attempt == rq->attempt)
		return wn_call_fail(c, WN_ESTATE, "job %llu was cancelled", id);
	if (j->status != RUNNING || j->attempt != rq->attempt ||
	    !wn_job_lease_held(c->e, rq->job_id, rq->attempt))
		return wn_call_fail(c, WN_ESTATE,
		                    "job %llu attempt %u no longer holds a lease (the job is %s, "
		                    "attempt %u)",
		                    id, rq->attempt, wn_job_status_name(j->status), j->attempt);
	if (j->worker[0] != '\0' && strcmp(j->worker, rq->worker) != 0)
		return wn_call_fail(c, WN_ESTATE,
		                    "job %llu attempt %u is held by worker %s, not by %.140s", id,
		                    j->attempt, j->worker, rq->worker);
	Whatsnext__V1__PutArtifactResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__put_artifact_response__init(r);
	bool stored = false;
	if ((rv = wn_artifacts_put(c, j, rq, &r->received, &stored)) != WN_OK)
		return rv;
	r->stored = stored;
	*out = &r->base;
	return WN_OK;
}

int wn_svc_job_get_artifact(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetArtifactRequest *rq = (const void *)in;
	Job *j = NULL;
	int rv = wn_job_load(c, rq->job_id, &j);
	if (rv != WN_OK)
		return rv;
	Whatsnext__V1__GetArtifactResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__get_artifact_response__init(r);
	if ((rv = wn_artifacts_read(c, j, rq->path, rq->offset, rq->max_bytes, r)) != WN_OK)
		return rv;
	*out = &r->base;
	return WN_OK;
}
