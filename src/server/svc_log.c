/* JobService.Log: a job's live output from an offset (output.h), answered at
 * once when there is some or the job ended, else (wait_ms) parked until more
 * comes or the job ends. */
#include "svc.h"

#include "output.h"

#include <string.h>

/* log_check validates a Log request, changing nothing. */
static int log_check(struct call *c, const Whatsnext__V1__LogRequest *rq)
{
	if (rq->max_bytes > WN_OUTPUT_READ_MAX)
		return wn_call_fail(c, WN_EINVAL, "max_bytes %u is over the limit of %u",
		                    rq->max_bytes, WN_OUTPUT_READ_MAX);
	if (rq->wait_ms > WN_WAIT_MAX_MS)
		return wn_call_fail(c, WN_EINVAL, "wait_ms %u is over the limit of %d", rq->wait_ms,
		                    WN_WAIT_MAX_MS);
	return WN_OK;
}

/* log_fill reads what rq asks of job j into a new reply *out. */
static int log_fill(struct call *c, const Job *j, const Whatsnext__V1__LogRequest *rq,
                    Whatsnext__V1__LogResponse **out)
{
	Whatsnext__V1__LogResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__log_response__init(r);
	size_t max = rq->max_bytes ? rq->max_bytes : WN_OUTPUT_READ_DEFAULT;
	int rv = wn_output_read(c, j, rq->offset, rq->attempt, max, r);
	if (rv != WN_OK)
		return rv;
	r->status = j->status;
	r->ended = wn_output_ended(c, j) && r->next_offset >= r->end;
	*out = r;
	return WN_OK;
}

int wn_svc_job_log(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__LogRequest *rq = (const void *)in;
	int rv = log_check(c, rq);
	if (rv != WN_OK)
		return rv;
	Job *j = NULL;
	if ((rv = wn_job_load(c, rq->id, &j)) != WN_OK)
		return rv;
	Whatsnext__V1__LogResponse *r = NULL;
	if ((rv = log_fill(c, j, rq, &r)) != WN_OK)
		return rv;
	*out = &r->base;
	return WN_OK;
}
