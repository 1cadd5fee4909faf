#include "agent_impl.h"

#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "log.h"
#include "pbcheck.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- reporting */

/* agent_report_send sends a report until the server has it or refuses it,
 * or there is no point any more (the lease is lost; a forced stop and two
 * more tries failed), retrying with backoff and the same request id while
 * the server is unreachable. A refusal for bad input goes to *refused
 * (malloc'd) unlogged when refused is not NULL. */
static void agent_report_send(wn_agent *a, agent_job *j, agent_end end, enum wn_method_id mid,
                              const ProtobufCMessage *in, ProtobufCMessage **reply, char **refused)
{
	uint64_t id = wn_request_id();
	int64_t backoff = AGENT_BACKOFF_MIN_MS;
	int forced_tries = 0;
	pthread_mutex_lock(&a->mu);
	j->reporting = true; /* a heartbeat's answer may see the lease gone */
	pthread_mutex_unlock(&a->mu);
	for (;;) {
		ProtobufCMessage *out = NULL;
		char *errmsg = NULL;
		int rc = wn_agent_call(a, mid, in, &out, id, 0, &errmsg);
		if (rc == WN_OK) {
			if (reply != NULL)
				*reply = out;
			else
				protobuf_c_message_free_unpacked(out, NULL);
			if (end == AGENT_END_RELEASE)
				wn_info("job %llu: lease handed back", (unsigned long long)j->id);
			else
				wn_debug("job %llu: result recorded", (unsigned long long)j->id);
			break;
		}
		if (refused != NULL && rc == WHATSNEXT__V1__CODE__INVALID_ARGUMENT) {
			*refused = errmsg ? errmsg : wn_xstrdup("");
			break;
		}
		if (!wn_agent_unreachable(rc)) {
			if (rc == WHATSNEXT__V1__CODE__FAILED_PRECONDITION)
				wn_warn("job %llu: the server refused the result of attempt %u: %s",
				        (unsigned long long)j->id, (unsigned)j->attempt, errmsg);
			else
				wn_error("job %llu: cannot report the result: %s",
				         (unsigned long long)j->id, errmsg);
			free(errmsg);
			break;
		}
		pthread_mutex_lock(&a->mu);
		bool lost = j->lost;
		int level = a->stop;
		if (!lost && !(level >= AGENT_FORCE && ++forced_tries > 2)) {
			wn_debug("job %llu: cannot report the result: %s; retrying in %lld ms",
			         (unsigned long long)j->id, errmsg, (long long)backoff);
			wn_agent_sleep(a, backoff, level);
		}
		pthread_mutex_unlock(&a->mu);
		if (lost || (level >= AGENT_FORCE && forced_tries > 2)) {
			wn_error("job %llu: giving up reporting the result: %s",
			         (unsigned long long)j->id, lost ? "lease lost" : errmsg);
			free(errmsg);
			break;
		}
		free(errmsg);
		backoff = backoff * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : backoff * 2;
	}
}

/* agent_complete_send sends Complete creq; refused as invalid with a list
 * of artifacts, again with a note in its place: a file the server will not
 * take must not cost the job its end. */
static void agent_complete_send(wn_agent *a, agent_job *j, Whatsnext__V1__CompleteRequest *creq,
                                ProtobufCMessage **reply)
{
	char *refused = NULL;
	agent_report_send(a, j, AGENT_END_RESULT, WN_MID_QUEUE_COMPLETE, &creq->base, reply,
	                  j->narts > 0 ? &refused : NULL);
	if (refused == NULL)
		return;
	wn_agent_artifacts_refused(j, refused);
	free(refused);
	creq->artifacts = j->arts;
	creq->n_artifacts = j->narts;
	agent_report_send(a, j, AGENT_END_RESULT, WN_MID_QUEUE_COMPLETE, &creq->base, reply, NULL);
}

/* agent_reason returns reason (malloc'd), cut to the length the server
 * takes and made valid UTF-8 (a program's message quoted in it may be in
 * another encoding): a reason it would refuse must not keep the job from
 * ending. */
static char *agent_reason(const char *reason)
{
	char *r = strlen(reason) <= AGENT_REASON_MAX ? wn_xstrdup(reason)
	                                             : wn_one_line(reason, AGENT_REASON_MAX);
	wn_utf8_scrub(r);
	return r;
}

/* agent_detach_send makes sure the server has the external id of j's run,
 * which goes on without the worker: the heartbeat that was to carry it may
 * not have gone when the worker stops, and a worker started again under its
 * name finds the run only by it. Tried again while the server cannot be
 * reached, until a forced stop. */
static void agent_detach_send(wn_agent *a, agent_job *j)
{
	pthread_mutex_lock(&a->mu);
	char *ext = j->external_id && j->external_id[0] ? wn_xstrdup(j->external_id) : NULL;
	pthread_mutex_unlock(&a->mu);
	if (ext == NULL)
		return;
	Whatsnext__V1__Lease l = WHATSNEXT__V1__LEASE__INIT;
	l.job_id = j->id;
	l.attempt = j->attempt;
	l.external_id = ext;
	Whatsnext__V1__Lease *lp = &l;
	Whatsnext__V1__HeartbeatRequest req = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	req.worker = a->name;
	req.leases = &lp;
	req.n_leases = 1;
	int64_t backoff = AGENT_BACKOFF_MIN_MS;
	for (int tries = 0;; tries++) {
		ProtobufCMessage *out = NULL;
		char *errmsg = NULL;
		int rc = wn_agent_call(a, WN_MID_QUEUE_HEARTBEAT, &req.base, &out, 0, 0, &errmsg);
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
		pthread_mutex_lock(&a->mu);
		int level = a->stop;
		bool again = wn_agent_unreachable(rc) && (level < AGENT_FORCE || tries < 2);
		if (again)
			wn_agent_sleep(a, backoff, level);
		pthread_mutex_unlock(&a->mu);
		if (!again) {
			if (rc != WN_OK)
				wn_warn(
				    "job %llu: cannot tell the server that it runs on as %s: %s; "
				    "a worker started again will not find it",
				    (unsigned long long)j->id, ext,
				    errmsg ? errmsg : wn_strerror(rc));
			free(errmsg);
			break;
		}
		free(errmsg);
		backoff = backoff * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : backoff * 2;
	}
	free(ext);
}

/* wn_agent_report delivers the result (or hands the lease back), retrying with
 * the same request id while the server is unreachable; the server answers
 * a repeated id from its first execution, so a result counts once. */
void wn_agent_report(wn_agent *a, agent_job *j, agent_end end, const wn_fmt_result *res,
                     bool cancelled, int64_t duration_ms, agent_job **next)
{
	if (next != NULL)
		*next = NULL;
	if (end == AGENT_END_DETACH) {
		agent_detach_send(a, j);
		return;
	}
	if (end == AGENT_END_DROP) {
		wn_warn("job %llu: lease lost (the server took the job back): result dropped",
		        (unsigned long long)j->id);
		return;
	}
	if (end == AGENT_END_RESULT) {
		Whatsnext__V1__CompleteRequest creq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
		creq.job_id = j->id;
		creq.attempt = j->attempt;
		creq.worker = a->name;
		creq.success = res->success;
		creq.exit_code = res->exit_code;
		char *reason = agent_reason(res->reason ? res->reason : "");
		creq.reason = reason;
		creq.output_tail = res->output_tail ? res->output_tail : (char *)"";
		creq.duration_ms = duration_ms;
		creq.external_id = res->external_id ? res->external_id : (char *)"";
		creq.cancelled = cancelled;
		creq.brief = 1; /* the reply's job would only echo what we sent */
		creq.progress = j->progress;
		creq.artifacts = j->arts;
		creq.n_artifacts = j->narts;
		/* the next job in the same call: one round trip per job */
		Whatsnext__V1__FetchRequest nreq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
		bool ask = next != NULL && wn_agent_next_request(a, &nreq);
		if (ask) {
			creq.next = &nreq;
			pthread_mutex_lock(&a->mu);
			a->fetching++;
			pthread_mutex_unlock(&a->mu);
		}
		ProtobufCMessage *reply = NULL;
		agent_complete_send(a, j, &creq, ask ? &reply : NULL);
		if (ask) {
			if (reply != NULL) {
				*next = wn_agent_next_job(
				    a, (const Whatsnext__V1__CompleteResponse *)reply);
				protobuf_c_message_free_unpacked(reply, NULL);
			}
			free(nreq.projects);
			free(nreq.tasks);
			pthread_mutex_lock(&a->mu);
			a->fetching--;
			pthread_cond_broadcast(&a->cond);
			pthread_mutex_unlock(&a->mu);
		}
		free(reason);
		return;
	}
	char *release_reason = res != NULL && res->reason != NULL
	                           ? agent_reason(res->reason)
	                           : wn_xasprintf("worker %s stopped", a->name);
	Whatsnext__V1__ReleaseRequest rreq = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	rreq.job_id = j->id;
	rreq.attempt = j->attempt;
	rreq.worker = a->name;
	rreq.reason = release_reason;
	/* A fetch on its way would take the job straight back: let it come
	 * home first (it does within fetch_wait_ms); meanwhile no Complete
	 * asks for a next job. */
	pthread_mutex_lock(&a->mu);
	a->releasing++;
	while (a->fetching > 0 && a->stop < AGENT_KILL)
		pthread_cond_wait(&a->cond, &a->mu);
	pthread_mutex_unlock(&a->mu);
	agent_report_send(a, j, end, WN_MID_QUEUE_RELEASE, &rreq.base, NULL, NULL);
	pthread_mutex_lock(&a->mu);
	a->releasing--;
	pthread_mutex_unlock(&a->mu);
	free(release_reason);
}
