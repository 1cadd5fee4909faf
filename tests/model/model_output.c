/* model_output: the live output of jobs as docs/protocol.md (Heartbeat,
 * Complete, Log) and docs/server.md ("Live output") describe it: what a
 * heartbeat or completion ships of a job whose lease the worker holds is
 * kept by offset (a resend of bytes kept changes nothing), the latest
 * attempt's only; JobService/Log answers it from an offset. The runs ship
 * far less than the server's bound and no gaps, so the model keeps every
 * byte. */
#include "model.h"

#include "util.h"

#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5

#define WANT(code, why) return model_want(m, c, code, why)

uint8_t model_output_byte(uint64_t id, uint32_t attempt, uint64_t off)
{
	/* every byte value, so that output is bytes and not text */
	return (uint8_t)(id * 131 + attempt * 31 + off * 7 + (off >> 8));
}

uint64_t model_output_end(const model_job *j, uint32_t attempt)
{
	return j != NULL && j->out_attempt == attempt ? j->out_len : 0;
}

void model_output_apply(model_job *j, const Whatsnext__V1__JobProgress *pg)
{
	if (pg->output.len == 0)
		return; /* what is kept stays until the run has output */
	if (j->out_attempt != j->attempt) {
		j->out_attempt = j->attempt; /* an earlier attempt's goes */
		j->out_len = 0;
	}
	uint64_t end = pg->output_offset + pg->output.len;
	if (pg->output.len == 0 || end <= j->out_len || pg->output_offset > j->out_len)
		return; /* nothing new (the runs make no gaps) */
	if (end > j->out_cap) {
		j->out_cap = end * 2;
		j->out = wn_xrealloc(j->out, j->out_cap);
	}
	size_t skip = (size_t)(j->out_len - pg->output_offset);
	memcpy(j->out + j->out_len, pg->output.data + skip, pg->output.len - skip);
	j->out_len = end;
}

void model_output_completed(model_job *j, uint32_t attempt)
{
	if (j->out_attempt != 0 && j->out_attempt != attempt) {
		j->out_attempt = attempt;
		j->out_len = 0;
	}
}

/* log_ended tells whether no more output can come for j. */
static bool log_ended(const model_job *j)
{
	if (j->status == ST_PENDING || j->status == ST_RUNNING)
		return false;
	return !(j->status == ST_CANCELLED && j->cancel_attempt != 0);
}

int model_exec_log(model *m, const model_call *c)
{
	const Whatsnext__V1__LogRequest *rq = (const void *)c->rq;
	if (rq->max_bytes > (4u << 20))
		WANT(C_INVALID, "max_bytes over 4 MiB");
	if (rq->wait_ms > 60000)
		WANT(C_INVALID, "wait_ms over 60000");
	const model_job *j = model_job_get(m, rq->id);
	if (j == NULL)
		WANT(C_NOT_FOUND, "no such job");
	if (c->code != C_OK)
		WANT(C_OK, "a valid read of the output");
	const Whatsnext__V1__LogResponse *r = (const void *)c->rp;
	uint64_t len = j->out_attempt != 0 ? j->out_len : 0;
	uint64_t from = rq->attempt != 0 && rq->attempt != j->out_attempt ? 0 : rq->offset;
	if (from > len)
		from = len;
	uint64_t max = rq->max_bytes ? rq->max_bytes : 1u << 20;
	uint64_t n = len - from < max ? len - from : max;
	if (r->attempt != j->out_attempt || r->offset != from || r->next_offset != from + n ||
	    r->end != len || r->start != 0)
		return model_fail(
		    m,
		    "Log of job %llu from %llu answered attempt %u, bytes %llu to %llu "
		    "of %llu from %llu; the model has attempt %u, bytes %llu to %llu of "
		    "%llu",
		    (unsigned long long)rq->id, (unsigned long long)rq->offset, r->attempt,
		    (unsigned long long)r->offset, (unsigned long long)r->next_offset,
		    (unsigned long long)r->end, (unsigned long long)r->start, j->out_attempt,
		    (unsigned long long)from, (unsigned long long)(from + n),
		    (unsigned long long)len);
	if (r->data.len != n || (n > 0 && memcmp(r->data.data, j->out + from, n) != 0))
		return model_fail(m, "Log of job %llu answered other bytes than it was sent",
		                  (unsigned long long)rq->id);
	if ((int)r->status != j->status)
		return model_fail(m, "Log of job %llu says status %d, the model %d",
		                  (unsigned long long)rq->id, (int)r->status, j->status);
	bool ended = log_ended(j) && from + n >= len;
	if (r->ended != ended)
		return model_fail(m, "Log of job %llu says ended=%d, the model %d",
		                  (unsigned long long)rq->id, r->ended, ended);
	return 0;
}
