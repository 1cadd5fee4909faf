/* crash/check: the checks of wncrash after each kill (crash.h): the whole
 * queue read back and compared with what the clients were told. */
#include "crash.h"

#include "err.h"
#include "methods.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *ask(wn_rpc *rpc, const char *method, const void *in, const ProtobufCMessageDescriptor *od)
{
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int rc = wn_rpc_call(rpc, method, in, od, &out, &msg, 0, 0);
	if (rc == WN_ETIMEDOUT) {
		/* a read is safe to ask again; say so, the answer still counts */
		fprintf(stderr, "wncrash: %s: %s; asking again\n", method, msg);
		free(msg);
		msg = NULL;
		rc = wn_rpc_call(rpc, method, in, od, &out, &msg, 0, 0);
	}
	if (rc != WN_OK)
		violation("%s failed: %s", method, msg);
	free(msg);
	return out;
}

static const char *param_of(const Job *job, const char *key)
{
	for (size_t i = 0; i < job->n_params; i++)
		if (strcmp(job->params[i]->key, key) == 0)
			return job->params[i]->value;
	return "";
}

/* check_lease compares a listed job with what its fetchers were told. */
static void check_lease(cjob *j, const Job *job)
{
	lease *l = j->n ? &j->l[j->n - 1] : NULL;
	uint32_t a = job->attempt, st = job->status < 5 ? job->status : 0;
	char wk[16] = "nobody";
	if (l != NULL)
		snprintf(wk, sizeof(wk), "w%d", l->worker);
	bool held = l && st == RUNNING && a == l->att && strcmp(job->worker, wk) == 0;
	bool next = l && st == RUNNING && a == l->att + 1; /* claimed again, reply lost */
	bool ok = l == NULL                ? (st == PENDING && a == 0) || (st == RUNNING && a == 1)
	          : l->state == L_HELD     ? held
	          : l->state == L_REQUEUED ? (st == PENDING && a == l->att) || next
	          : l->state == L_DONE_OK || l->state == L_DONE_FAILED
	              ? a == l->att && end_state[st] == l->state
	              : held || (a == l->att && op_ends[l->op] >> st & 1) ||
	                    (next && l->op != OP_OK); /* an ending without reply: either */
	if (ok && l != NULL && (l->state == L_UNKNOWN || l->state == L_OP) && !held)
		l->state = next ? L_REQUEUED : end_state[st]; /* it survived a kill: it stays */
	if (!ok)
		violation(
		    "job %llu: %s at attempt %u (worker %s); known before: attempt %u %s by %s",
		    (unsigned long long)job->id, STATUS(job->status), a,
		    job->worker[0] ? job->worker : "none", l ? l->att : 0,
		    l ? lease_state[l->state] : "never claimed", wk);
}

/* wn_check_job checks one listed job: its submit (found by its tok parameter),
 * and its leases. */
static void wn_check_job(const Job *job)
{
	unsigned long long id = (unsigned long long)job->id;
	unsigned k = 0;
	size_t seq = 0;
	int end = 0;
	const char *tok = param_of(job, "tok");
	COUNT(checked, 1);
	crash.by_status[job->status % 7]++;
	cjob *j = cjob_get(job->id);
	check_lease(j, job);
	if (sscanf(tok, "s%u-%zu%n", &k, &seq, &end) != 2 || tok[end] != '\0' ||
	    k >= (unsigned)crash.ns || seq >= crash.cl[k].n) {
		violation("job %llu (%s): no client submitted it", id, job->name);
		return;
	}
	sub *r = &crash.cl[k].subs[seq];
	char v[16];
	snprintf(v, sizeof(v), "%u", r->v);
	if (r->seen == crash.round || (r->state == CALL_OK && r->id != job->id))
		violation("job %llu: submit %s %s as job %llu", id, tok,
		          r->seen == crash.round ? "listed too" : "acknowledged",
		          (unsigned long long)r->id);
	else if (job->n_params != 2 || strcmp(param_of(job, "v"), v) != 0 ||
	         strcmp(job->name, tok) != 0 || strcmp(job->task, crash_tasks[r->task]) != 0 ||
	         job->priority != r->prio || strcmp(job->project, CR_PROJECT) != 0)
		violation("job %llu: submitted as %s (task %s, priority %u, v=%s), stored as %s "
		          "(task %s, priority %d, v=%s, %zu parameters)",
		          id, tok, crash_tasks[r->task], r->prio, v, job->name, job->task,
		          job->priority, param_of(job, "v"), job->n_params);
	r->seen = crash.round;
	r->state = CALL_OK; /* it survived a kill: it has to stay */
	r->id = job->id;
}

/* check_subs: every acknowledged submit was listed, every batch whole. */
static void check_subs(void)
{
	for (int k = 0; k < crash.ns; k++) {
		const client *s = &crash.cl[k];
		for (size_t i = 0; i < s->n; i++) {
			const sub *r = &s->subs[i];
			if (r->state == CALL_OK && r->seen != crash.round)
				violation("job %llu: acknowledged submit s%d-%zu lost",
				          (unsigned long long)r->id, k, i);
			unsigned stored = 0;
			for (size_t m = i; r->batch && r->first == i && m < i + r->batch; m++)
				stored += s->subs[m].seen == crash.round;
			if (stored != 0 && stored != r->batch)
				violation("job %llu: batch s%d-%zu stored in part (%u of %u jobs)",
				          (unsigned long long)r->id, k, i, stored, r->batch);
		}
	}
}

static bool check_stats(wn_rpc *rpc, uint64_t out[7])
{
	PB(StatsRequest) rq = WHATSNEXT__V1__STATS_REQUEST__INIT;
	rq.project = (char *)CR_PROJECT;
	PB(StatsResponse) *a = ask(rpc, WN_PATH_QUEUE_STATS, &rq, DESC(stats_response));
	const PB(ProjectStats) *p = a && a->n_projects == 1 ? a->projects[0] : NULL;
	if (p != NULL) {
		uint64_t v[7] = {0,         p->pending, p->running,  p->completed,
		                 p->failed, p->blocked, p->cancelled};
		memcpy(out, v, sizeof(v));
	}
	done(a, NULL);
	return p != NULL;
}

void verify(wn_rpc *rpc)
{
	memset(crash.by_status, 0, sizeof(crash.by_status));
	uint64_t s1[7], s2[7], after = 0;
	bool ok = check_stats(rpc, s1);
	while (ok) {
		PB(ListJobsRequest) rq = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
		rq.project = (char *)CR_PROJECT;
		rq.page_size = 10000;
		rq.after_id = after;
		PB(ListJobsResponse) *a = ask(rpc, WN_PATH_JOB_LIST, &rq, DESC(list_jobs_response));
		for (size_t i = 0; a != NULL && i < a->n_jobs; i++)
			wn_check_job(a->jobs[i]);
		ok = a != NULL;
		after = a ? a->next_after_id : 0;
		done(a, NULL);
		if (after == 0)
			break;
	}
	if (!ok || !check_stats(rpc, s2))
		return;
	if (memcmp(s1, s2, sizeof(s1)) != 0)
		violation("queue stats changed while every client was idle");
	for (int st = 1; st < 7; st++)
		if (s1[st] != crash.by_status[st])
			violation("queue stats say %llu jobs %s, List %llu",
			          (unsigned long long)s1[st], STATUS(st),
			          (unsigned long long)crash.by_status[st]);
	check_subs();
	crash.backlog = (int64_t)crash.by_status[PENDING]; /* the exact count, for the next round */
}
