/* JobService.Log: a job's live output from an offset (output.h), answered at
 * once when there is some or the job ended, else (wait_ms) parked until more
 * comes or the job ends. */
#include "svc.h"

#include "output.h"
#include "watch.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

/* Most bytes a parked Log's reply carries when an event wakes it: new output
 * wakes every Log waiting on its job at once, within one call, so each gets
 * the start of what is new and asks again for the rest (10,000 readers
 * woken by a megabyte of output would otherwise take 10 GB). */
#define LOG_WOKEN_MAX (16u << 10)

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

/* log_event answers a parked Log when its job got output or changed status
 * (or at its deadline): with the output there is now, or NULL to wait on. A
 * status change comes inside the call that makes it, whose writes (a
 * completion's last output) are not stored yet: a job that ended then is
 * answered without `ended`, so that the reader asks once more and gets all. */
static const ProtobufCMessage *log_event(struct call *c, void *arg, const struct wn_watch_event *ev)
{
	Whatsnext__V1__LogRequest woken = *(const Whatsnext__V1__LogRequest *)arg;
	const Whatsnext__V1__LogRequest *rq = &woken;
	if (woken.max_bytes == 0 || woken.max_bytes > LOG_WOKEN_MAX)
		woken.max_bytes = LOG_WOKEN_MAX;
	Job *j = wn_job_find(c, rq->id);
	Whatsnext__V1__LogResponse *r = NULL;
	bool removed = ev->why == WN_WATCH_STATUS && ev->to == 0; /* being removed now */
	if (j == NULL || removed || log_fill(c, j, rq, &r) != WN_OK) {
		/* removed while waited on (or unreadable): nothing more comes */
		r = wn_arena_alloc(c->arena, sizeof(*r));
		whatsnext__v1__log_response__init(r);
		r->offset = r->next_offset = rq->offset;
		r->ended = true;
		return &r->base;
	}
	if (ev->why == WN_WATCH_DEADLINE || ev->why == WN_WATCH_RELEASE)
		return &r->base;
	if (ev->why == WN_WATCH_STATUS && wn_output_ended(c, j)) {
		r->ended = false;
		return &r->base;
	}
	return r->data.len > 0 || r->ended || r->attempt != rq->attempt ? &r->base : NULL;
}

static void log_arg_free(void *arg)
{
	free(arg);
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
	/* no connection to answer later (a call made in process): at once */
	if (r->data.len > 0 || r->ended || rq->wait_ms == 0 || c->slot == NULL ||
	    (rq->attempt != 0 && r->attempt != rq->attempt)) {
		*out = &r->base;
		return WN_OK;
	}
	Whatsnext__V1__LogRequest *a = wn_xmalloc(sizeof(*a));
	*a = *rq; /* its fields are numbers only */
	a->base.n_unknown_fields = 0;
	a->base.unknown_fields = NULL;
	struct wn_watch_spec spec = {.ids = &rq->id,
	                             .nids = 1,
	                             .events = WN_WATCH_ON_STATUS | WN_WATCH_ON_OUTPUT,
	                             .wait_ms = rq->wait_ms,
	                             .fn = log_event,
	                             .arg = a,
	                             .arg_free = log_arg_free};
	rv = wn_watch_park(c, &spec);
	if (rv == WN_EUNAVAIL) { /* shutting down: what there is now */
		*out = &r->base;
		return WN_OK;
	}
	*out = NULL;
	return rv;
}
