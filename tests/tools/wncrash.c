/* wncrash: the kill -9 crash loop. Rounds of concurrent submitters and
 * fetch/complete loops against the real wnd, killed with SIGKILL at a random
 * moment and started again on the same data directory. After each restart,
 * with every client idle, the whole queue is read back and checked against
 * what the server acknowledged:
 *   - every acknowledged submit is there, under its id, with its parameters;
 *   - no acknowledged completion is undone, no acknowledged claim is lost;
 *   - no lease (job id, attempt) was handed to two fetchers, nor a job handed
 *     out while a fetcher still held it or after it had finished;
 *   - a batch is stored whole or not at all; no submit made two jobs;
 *   - the queue stats agree with the job list, and Get with List.
 * A request whose reply never came (in flight at the kill, or timed out) has
 * an unknown outcome, and so has a refusal of a request that was resent
 * across a restart: either result is accepted. Then the clients go on
 * against the restarted server for the next round.
 *
 *   wncrash [--rounds N | --minutes M] [--seed N] [--wnd PATH] [--data DIR]
 *           [--clients N] [--durability sync|relaxed]
 *
 * One line per round and a total line on stdout; a violation names its job.
 * Exit: 0 no violation, 1 a violation or a failure to run, 2 usage. */
#include "envelope.h"
#include "err.h"
#include "map.h"
#include "rpc.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define M_JOB        "/whatsnext.v1.JobService/"
#define M_QUEUE      "/whatsnext.v1.QueueService/"
#define CR_PROJECT   "crash"
#define CR_TIMEOUT   10000     /* ms a client waits for a reply */
#define CR_QUICK     1000      /* ms a quick client waits: it gives up at a kill */
#define CR_BACKLOG   3000      /* submitters wait while this many jobs are open */
#define CR_LEASE_MS  "3600000" /* no lease expires during a run */
#define CR_HOLD      4         /* leases a fetcher holds at most */
#define CR_BATCH_MAX 10
#define CR_CLIENTS   16
#define CR_SHOW      100000 /* violations printed per round */

typedef Whatsnext__V1__Job Job;
#define PENDING   WHATSNEXT__V1__JOB_STATUS__JOB_PENDING
#define RUNNING   WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING
#define COMPLETED WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED
#define FAILED    WHATSNEXT__V1__JOB_STATUS__JOB_FAILED

static const char *const crash_tasks[] = {"t", "u"}; /* retries 1 and 0 */
static const char *const crash_status[] = {"unspecified", "pending", "running",  "completed",
                                           "failed",      "blocked", "cancelled"};

/* One job a submitter sent, its token "s<submitter>-<seq>" (the job's name
 * and parameter tok). */
enum { SUB_INFLIGHT, SUB_ACKED, SUB_UNKNOWN, SUB_REFUSED };
typedef struct sub {
	uint64_t id;    /* job id, once acknowledged or seen */
	uint32_t v;     /* parameter v */
	uint32_t seen;  /* last round whose listing held the job */
	uint32_t first; /* seq of its batch's first job */
	uint8_t batch;  /* jobs in its batch; 0 = a single Submit */
	uint8_t state, task, prio;
} sub;

typedef struct submitter {
	int k;
	bool quick;
	wn_rpc *rpc;
	uint64_t rng;
	sub *subs;
	size_t n, cap;
} submitter;

/* What is known of one lease (job, attempt) that a fetcher was given. */
enum { L_HELD, L_OP, L_DONE_OK, L_DONE_FAILED, L_REQUEUED, L_UNKNOWN };
enum { OP_OK, OP_FAIL, OP_RELEASE };
typedef struct lease {
	uint32_t att;
	uint8_t worker, state, op;
} lease;
typedef struct cjob {
	lease *l; /* in claim order, attempts increasing */
	size_t n;
} cjob;

typedef struct fetcher {
	int k;
	bool quick;
	wn_rpc *rpc;
	uint64_t rng;
	char name[16];
	struct {
		uint64_t id;
		uint32_t att;
	} held[CR_HOLD];
	int nheld;
} fetcher;

typedef struct counts {
	uint64_t submits, completions, claims, unknown, checked, violations;
} counts;

enum { PH_RUN, PH_PAUSE, PH_STOP };
static struct {
	pthread_mutex_t mu; /* guards the fields below and jobs */
	pthread_cond_t cv;
	int phase, parked, parked_quick;
	uint64_t epoch;  /* kills so far */
	int64_t backlog; /* jobs submitted and not finished, roughly */
	wn_map *jobs;    /* job id -> cjob, every job a fetcher was given */
	counts c;        /* this round, updated atomically */
} G = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

#define COUNT(f, n) __atomic_add_fetch(&G.c.f, (n), __ATOMIC_RELAXED)

static void crash_violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void crash_violation(const char *fmt, ...)
{
	if (COUNT(violations, 1) > CR_SHOW)
		return;
	va_list ap;
	va_start(ap, fmt);
	flockfile(stdout);
	fputs("violation: ", stdout);
	vprintf(fmt, ap);
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
	va_end(ap);
}

static uint64_t crash_rnd(uint64_t *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ULL;
}

static unsigned crash_pick(uint64_t *s, unsigned n)
{
	return (unsigned)(crash_rnd(s) % n);
}

static void crash_free(ProtobufCMessage *out, char *msg)
{
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	free(msg);
}

static void crash_sleep_ms(int64_t ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* ---------------------------------------------------------------- calls */

/* gate_enter waits while the clients are paused and returns false once they
 * are to stop; *epoch gets the number of kills so far. */
static bool gate_enter(bool quick, uint64_t *epoch)
{
	pthread_mutex_lock(&G.mu);
	while (G.phase == PH_PAUSE) {
		G.parked++;
		G.parked_quick += quick;
		pthread_cond_broadcast(&G.cv);
		pthread_cond_wait(&G.cv, &G.mu);
		G.parked--;
		G.parked_quick -= quick;
	}
	bool go = G.phase == PH_RUN;
	*epoch = G.epoch;
	pthread_mutex_unlock(&G.mu);
	return go;
}

enum { CALL_OK, CALL_REFUSED, CALL_UNKNOWN };

/* crash_call makes one call begun in epoch: CALL_OK (*out set), CALL_REFUSED
 * (*msg says why), or CALL_UNKNOWN: no reply, or a refusal of a request that
 * may have been resent to the restarted server after a first execution. */
static int crash_call(wn_rpc *rpc, uint64_t epoch, const char *method, const ProtobufCMessage *in,
                      const ProtobufCMessageDescriptor *od, ProtobufCMessage **out, char **msg,
                      int extra_ms)
{
	char *err = NULL;
	int rc = wn_rpc_call(rpc, method, in, od, out, &err, 0, extra_ms);
	pthread_mutex_lock(&G.mu);
	bool spanned = G.epoch != epoch;
	pthread_mutex_unlock(&G.mu);
	if (rc == WN_OK) {
		free(err);
		return CALL_OK;
	}
	if (rc < 0 || spanned) {
		free(err);
		COUNT(unknown, 1);
		return CALL_UNKNOWN;
	}
	*msg = err;
	return CALL_REFUSED;
}

/* ---------------------------------------------------------------- submitters */

static void sub_spec(submitter *s, sub *r, size_t seq, Whatsnext__V1__JobSpec *spec,
                     Whatsnext__V1__JobSpec__ParamsEntry pe[2],
                     Whatsnext__V1__JobSpec__ParamsEntry *pp[2], char name[32], char val[16])
{
	r->v = (uint32_t)crash_rnd(&s->rng);
	r->task = (uint8_t)crash_pick(&s->rng, 2);
	r->prio = (uint8_t)crash_pick(&s->rng, 3);
	r->state = SUB_INFLIGHT;
	snprintf(name, 32, "s%d-%zu", s->k, seq);
	snprintf(val, 16, "%u", r->v);
	whatsnext__v1__job_spec__init(spec);
	spec->project = (char *)CR_PROJECT;
	spec->task = (char *)crash_tasks[r->task];
	spec->name = name;
	spec->priority = r->prio;
	for (int i = 0; i < 2; i++) {
		whatsnext__v1__job_spec__params_entry__init(&pe[i]);
		pp[i] = &pe[i];
	}
	pe[0].key = (char *)"tok";
	pe[0].value = name;
	pe[1].key = (char *)"v";
	pe[1].value = val;
	spec->n_params = 2;
	spec->params = pp;
}

/* submit_one sends one Submit or one SubmitBatch of new jobs. */
static void submit_one(submitter *s, uint64_t epoch)
{
	unsigned n = crash_pick(&s->rng, 10) < 3 ? 2 + crash_pick(&s->rng, CR_BATCH_MAX - 1) : 1;
	if (s->n + n > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->subs = wn_xrealloc(s->subs, s->cap * sizeof(*s->subs));
	}
	size_t first = s->n;
	Whatsnext__V1__JobSpec specs[CR_BATCH_MAX], *sp[CR_BATCH_MAX];
	Whatsnext__V1__JobSpec__ParamsEntry pe[CR_BATCH_MAX][2], *pp[CR_BATCH_MAX][2];
	char names[CR_BATCH_MAX][32], vals[CR_BATCH_MAX][16];
	for (unsigned i = 0; i < n; i++) {
		sub *r = &s->subs[first + i];
		memset(r, 0, sizeof(*r));
		r->batch = (uint8_t)(n > 1 ? n : 0);
		r->first = (uint32_t)first;
		sub_spec(s, r, first + i, &specs[i], pe[i], pp[i], names[i], vals[i]);
		sp[i] = &specs[i];
	}
	s->n += n;
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int rc;
	uint64_t ids[CR_BATCH_MAX];
	if (n == 1) {
		Whatsnext__V1__SubmitRequest rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
		rq.job = &specs[0];
		rq.brief = crash_pick(&s->rng, 2);
		rc = crash_call(s->rpc, epoch, M_JOB "Submit", &rq.base,
		                &whatsnext__v1__submit_response__descriptor, &out, &msg, 0);
		const Whatsnext__V1__SubmitResponse *r = (const void *)out;
		if (rc == CALL_OK && (r->job == NULL || r->job->id == 0))
			crash_violation("submit %s: acknowledged without a job id", names[0]);
		ids[0] = rc == CALL_OK && r->job ? r->job->id : 0;
	} else {
		Whatsnext__V1__SubmitBatchRequest rq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
		rq.n_jobs = n;
		rq.jobs = sp;
		rc = crash_call(s->rpc, epoch, M_JOB "SubmitBatch", &rq.base,
		                &whatsnext__v1__submit_batch_response__descriptor, &out, &msg, 0);
		const Whatsnext__V1__SubmitBatchResponse *r = (const void *)out;
		if (rc == CALL_OK && r->n_ids != n)
			crash_violation("batch from %s: %zu ids acknowledged for %u jobs", names[0],
			                r->n_ids, n);
		for (unsigned i = 0; i < n; i++)
			ids[i] = rc == CALL_OK && i < r->n_ids ? r->ids[i] : 0;
	}
	if (rc == CALL_REFUSED)
		crash_violation("submit %s refused: %s", names[0], msg);
	for (unsigned i = 0; i < n; i++) {
		sub *r = &s->subs[first + i];
		r->state = rc == CALL_OK        ? SUB_ACKED
		           : rc == CALL_REFUSED ? SUB_REFUSED
		                                : SUB_UNKNOWN;
		r->id = ids[i];
	}
	if (rc == CALL_OK) {
		COUNT(submits, n);
		__atomic_add_fetch(&G.backlog, n, __ATOMIC_RELAXED);
	}
	crash_free(out, msg);
}

static void *submitter_main(void *arg)
{
	submitter *s = arg;
	uint64_t epoch;
	while (gate_enter(s->quick, &epoch)) {
		if (__atomic_load_n(&G.backlog, __ATOMIC_RELAXED) > CR_BACKLOG)
			crash_sleep_ms(2);
		else
			submit_one(s, epoch);
	}
	return NULL;
}

/* ---------------------------------------------------------------- fetchers */

static lease *lease_of(cjob *j, uint32_t att)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->l[i].att == att)
			return &j->l[i];
	return NULL;
}

/* claim records that f was given job j; G.mu is held. */
static void claim_locked(fetcher *f, const Job *job)
{
	cjob *j = wn_map_get_u64(G.jobs, job->id);
	if (j == NULL) {
		j = wn_xcalloc(1, sizeof(*j));
		wn_map_put_u64(G.jobs, job->id, j);
	}
	const lease *prev = j->n ? &j->l[j->n - 1] : NULL, *same = lease_of(j, job->attempt);
	unsigned long long id = (unsigned long long)job->id;
	if (job->status != RUNNING || strcmp(job->worker, f->name) != 0)
		crash_violation("job %llu: handed to %s but %s by %s", id, f->name,
		                crash_status[job->status % 7], job->worker);
	if (same != NULL)
		crash_violation("job %llu: attempt %u handed to w%d and again to %s", id,
		                job->attempt, same->worker, f->name);
	else if (prev != NULL && prev->att > job->attempt)
		crash_violation("job %llu: attempt %u handed to %s after attempt %u", id,
		                job->attempt, f->name, prev->att);
	else if (prev != NULL && prev->state == L_HELD)
		crash_violation("job %llu: attempt %u handed to %s while w%d holds attempt %u", id,
		                job->attempt, f->name, prev->worker, prev->att);
	else if (prev != NULL && (prev->state == L_DONE_OK || prev->state == L_DONE_FAILED))
		crash_violation("job %llu: handed to %s again after it %s at attempt %u", id,
		                f->name, prev->state == L_DONE_OK ? "completed" : "failed",
		                prev->att);
	j->l = wn_xrealloc(j->l, (j->n + 1) * sizeof(*j->l));
	j->l[j->n++] = (lease){job->attempt, (uint8_t)f->k, L_HELD, 0};
	f->held[f->nheld].id = job->id;
	f->held[f->nheld++].att = job->attempt;
	COUNT(claims, 1);
}

static void fetch_some(fetcher *f, uint64_t epoch)
{
	Whatsnext__V1__FetchRequest rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = (char *)CR_PROJECT;
	rq.worker = f->name;
	rq.max_jobs = 1 + crash_pick(&f->rng, (unsigned)(CR_HOLD - f->nheld));
	rq.wait_ms = crash_pick(&f->rng, 2) ? 0 : 100;
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int rc = crash_call(f->rpc, epoch, M_QUEUE "Fetch", &rq.base,
	                    &whatsnext__v1__fetch_response__descriptor, &out, &msg, 100);
	if (rc == CALL_REFUSED)
		crash_violation("fetch by %s refused: %s", f->name, msg);
	if (rc == CALL_OK) {
		const Whatsnext__V1__FetchResponse *r = (const void *)out;
		if (r->n_more + (r->job != NULL) > rq.max_jobs)
			crash_violation("fetch by %s: %zu jobs for max_jobs %u", f->name,
			                r->n_more + 1, rq.max_jobs);
		pthread_mutex_lock(&G.mu);
		if (r->job != NULL)
			claim_locked(f, r->job);
		for (size_t i = 0; i < r->n_more && f->nheld < CR_HOLD; i++)
			claim_locked(f, r->more[i]);
		pthread_mutex_unlock(&G.mu);
	}
	crash_free(out, msg);
}

/* heartbeat extends every lease f holds; none may be lost or cancelled. */
static void heartbeat(fetcher *f, uint64_t epoch)
{
	Whatsnext__V1__Lease ls[CR_HOLD], *lp[CR_HOLD];
	Whatsnext__V1__HeartbeatRequest rq = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	for (int i = 0; i < f->nheld; i++) {
		whatsnext__v1__lease__init(&ls[i]);
		ls[i].job_id = f->held[i].id;
		ls[i].attempt = f->held[i].att;
		lp[i] = &ls[i];
	}
	rq.worker = f->name;
	rq.n_leases = (size_t)f->nheld;
	rq.leases = lp;
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int rc = crash_call(f->rpc, epoch, M_QUEUE "Heartbeat", &rq.base,
	                    &whatsnext__v1__heartbeat_response__descriptor, &out, &msg, 0);
	if (rc == CALL_REFUSED)
		crash_violation("heartbeat by %s refused: %s", f->name, msg);
	if (rc == CALL_OK) {
		const Whatsnext__V1__HeartbeatResponse *r = (const void *)out;
		for (size_t i = 0; i < r->n_lost; i++)
			crash_violation("job %llu: lease of %s lost while held (heartbeat)",
			                (unsigned long long)r->lost[i], f->name);
		for (size_t i = 0; i < r->n_cancelled; i++)
			crash_violation("job %llu: reported cancelled to %s, nobody cancelled it",
			                (unsigned long long)r->cancelled[i], f->name);
	}
	crash_free(out, msg);
}

/* finish_call sends op for a lease f holds; *st gets the job's status in
 * the reply. */
static int finish_call(fetcher *f, uint64_t epoch, uint64_t id, uint32_t att, int op, uint32_t *st,
                       uint32_t *ratt, char **msg)
{
	ProtobufCMessage *out = NULL;
	int rc;
	if (op == OP_RELEASE) {
		Whatsnext__V1__ReleaseRequest rq = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
		rq.job_id = id;
		rq.attempt = att;
		rq.worker = f->name;
		rq.reason = (char *)"handed back by the crash loop";
		rc = crash_call(f->rpc, epoch, M_QUEUE "Release", &rq.base,
		                &whatsnext__v1__job__descriptor, &out, msg, 0);
		if (rc == CALL_OK) {
			*st = ((const Job *)out)->status;
			*ratt = ((const Job *)out)->attempt;
		}
	} else {
		Whatsnext__V1__CompleteRequest rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
		rq.job_id = id;
		rq.attempt = att;
		rq.worker = f->name;
		rq.success = op == OP_OK;
		rq.exit_code = op == OP_OK ? 0 : 3;
		rq.reason = op == OP_OK ? (char *)"" : (char *)"failed on purpose";
		rq.output_tail = (char *)"crash loop output";
		rq.brief = crash_pick(&f->rng, 2);
		rc = crash_call(f->rpc, epoch, M_QUEUE "Complete", &rq.base,
		                &whatsnext__v1__complete_response__descriptor, &out, msg, 0);
		const Whatsnext__V1__CompleteResponse *r = (const void *)out;
		if (rc == CALL_OK && r->job == NULL) {
			crash_violation("job %llu: completion acknowledged without the job",
			                (unsigned long long)id);
			rc = CALL_UNKNOWN;
		} else if (rc == CALL_OK) {
			*st = r->job->status;
			*ratt = r->job->attempt;
		}
	}
	if (out)
		protobuf_c_message_free_unpacked(out, NULL);
	return rc;
}

/* finish ends lease h of f by op: complete ok, complete failed or release. */
static void finish(fetcher *f, uint64_t epoch, int h, int op)
{
	uint64_t id = f->held[h].id;
	uint32_t att = f->held[h].att, st = 0, ratt = 0;
	f->held[h] = f->held[--f->nheld];
	pthread_mutex_lock(&G.mu);
	cjob *j = wn_map_get_u64(G.jobs, id);
	lease_of(j, att)->state = L_OP;
	lease_of(j, att)->op = (uint8_t)op;
	pthread_mutex_unlock(&G.mu);
	static const char *const opname[] = {"completion", "failure", "release"};
	char *msg = NULL;
	int rc = finish_call(f, epoch, id, att, op, &st, &ratt, &msg);
	if (rc == CALL_REFUSED)
		crash_violation("job %llu: %s of attempt %u by its holder %s refused: %s",
		                (unsigned long long)id, opname[op], att, f->name, msg);
	bool fits = op == OP_OK     ? st == COMPLETED
	            : op == OP_FAIL ? st == FAILED || st == PENDING
	                            : st == PENDING;
	if (rc == CALL_OK && (!fits || ratt != att)) {
		crash_violation("job %llu: %s of attempt %u answered %s attempt %u",
		                (unsigned long long)id, opname[op], att, crash_status[st % 7],
		                ratt);
		rc = CALL_UNKNOWN;
	}
	pthread_mutex_lock(&G.mu);
	lease *l = lease_of(j, att);
	l->state = rc != CALL_OK     ? L_UNKNOWN
	           : st == COMPLETED ? L_DONE_OK
	           : st == FAILED    ? L_DONE_FAILED
	                             : L_REQUEUED;
	if ((l->state == L_DONE_OK || l->state == L_DONE_FAILED) && l != &j->l[j->n - 1])
		crash_violation("job %llu: finished at attempt %u but handed out again",
		                (unsigned long long)id, att);
	pthread_mutex_unlock(&G.mu);
	if (rc == CALL_OK && op != OP_RELEASE)
		COUNT(completions, 1);
	if (rc == CALL_OK && st != PENDING)
		__atomic_sub_fetch(&G.backlog, 1, __ATOMIC_RELAXED);
	free(msg);
}

static void *fetcher_main(void *arg)
{
	fetcher *f = arg;
	uint64_t epoch;
	while (gate_enter(f->quick, &epoch)) {
		if (f->nheld == 0 || (f->nheld < CR_HOLD && crash_pick(&f->rng, 10) < 3)) {
			fetch_some(f, epoch);
			continue;
		}
		unsigned r = crash_pick(&f->rng, 100);
		if (r < 10)
			heartbeat(f, epoch);
		else
			finish(f, epoch, (int)crash_pick(&f->rng, (unsigned)f->nheld),
			       r < 20   ? OP_RELEASE
			       : r < 40 ? OP_FAIL
			                : OP_OK);
	}
	return NULL;
}

/* ---------------------------------------------------------------- checks */

/* What one verification pass saw. */
typedef struct listed {
	uint64_t id;
	uint32_t att;
	uint32_t st;
} listed;
typedef struct check {
	submitter *subs;
	int ns;
	uint32_t round;
	uint64_t by_status[7];
	listed *seen;
	size_t n, cap;
} check;

/* The state a job was last seen in after a restart: it survived a kill. */
typedef struct observed {
	uint32_t att, st;
} observed;
static wn_map *crash_observed; /* job id -> observed */

static const char *param_of(const Job *job, const char *key)
{
	for (size_t i = 0; i < job->n_params; i++)
		if (strcmp(job->params[i]->key, key) == 0)
			return job->params[i]->value;
	return NULL;
}

/* check_sub finds the submit a listed job came from, by its tok parameter. */
static sub *check_sub(check *c, const Job *job)
{
	const char *tok = param_of(job, "tok");
	char *end = NULL;
	unsigned long k = 0, seq = 0;
	if (tok != NULL && tok[0] == 's') {
		k = strtoul(tok + 1, &end, 10);
		if (end != NULL && *end == '-')
			seq = strtoul(end + 1, &end, 10);
	}
	if (tok == NULL || end == NULL || *end != '\0' || k >= (unsigned long)c->ns ||
	    seq >= c->subs[k].n) {
		crash_violation("job %llu (%s): no client submitted it",
		                (unsigned long long)job->id, job->name);
		return NULL;
	}
	return &c->subs[k].subs[seq];
}

static void check_params(const Job *job, const sub *r)
{
	char val[16];
	snprintf(val, sizeof(val), "%u", r->v);
	const char *v = param_of(job, "v"), *tok = param_of(job, "tok");
	if (job->n_params != 2 || v == NULL || strcmp(v, val) != 0 || strcmp(job->name, tok) != 0 ||
	    strcmp(job->task, crash_tasks[r->task]) != 0 || job->priority != r->prio ||
	    strcmp(job->project, CR_PROJECT) != 0)
		crash_violation("job %llu: submitted as %s (task %s, priority %u, v=%s), stored as "
		                "%s (task %s, priority %d, v=%s, %zu parameters)",
		                (unsigned long long)job->id, tok, crash_tasks[r->task], r->prio,
		                val, job->name, job->task, job->priority, v ? v : "none",
		                job->n_params);
}

/* check_history: a state seen after one restart is not undone by the next. */
static void check_history(const Job *job)
{
	observed *o = wn_map_get_u64(crash_observed, job->id);
	if (o == NULL) {
		o = wn_xcalloc(1, sizeof(*o));
		wn_map_put_u64(crash_observed, job->id, o);
	} else if (job->attempt < o->att ||
	           (job->attempt == o->att && o->st != RUNNING && job->status != o->st)) {
		crash_violation(
		    "job %llu: was %s at attempt %u after a restart, is %s at attempt %u",
		    (unsigned long long)job->id, crash_status[o->st % 7], o->att,
		    crash_status[job->status % 7], job->attempt);
	}
	o->att = job->attempt;
	o->st = job->status;
}

/* check_lease compares a listed job with what its fetchers were told. */
static void check_lease(const Job *job)
{
	cjob *j = wn_map_get_u64(G.jobs, job->id);
	lease *l = j && j->n ? &j->l[j->n - 1] : NULL;
	uint32_t a = job->attempt, st = job->status;
	char wk[16] = "", want[128];
	if (l != NULL)
		snprintf(wk, sizeof(wk), "w%d", l->worker);
	bool by = l != NULL && strcmp(job->worker, wk) == 0, ok;
	if (l == NULL) {
		ok = (st == PENDING && a == 0) || (st == RUNNING && a == 1);
		snprintf(want, sizeof(want),
		         "pending, or running attempt 1 (a claim without reply)");
	} else if (l->state == L_HELD) {
		ok = st == RUNNING && a == l->att && by;
		snprintf(want, sizeof(want), "running attempt %u by %s (acknowledged claim)",
		         l->att, wk);
	} else if (l->state == L_DONE_OK || l->state == L_DONE_FAILED) {
		uint32_t end = l->state == L_DONE_OK ? COMPLETED : FAILED;
		ok = st == end && a == l->att;
		snprintf(want, sizeof(want), "%s at attempt %u (acknowledged)", crash_status[end],
		         l->att);
	} else if (l->state == L_REQUEUED) {
		ok = (st == PENDING && a == l->att) || (st == RUNNING && a == l->att + 1);
		snprintf(want, sizeof(want),
		         "pending at attempt %u (acknowledged), or running next", l->att);
	} else { /* an operation without a reply: either outcome */
		bool applied = a == l->att && (l->op == OP_OK     ? st == COMPLETED
		                               : l->op == OP_FAIL ? st == FAILED || st == PENDING
		                                                  : st == PENDING);
		bool taken = st == RUNNING && a == l->att + 1 && l->op != OP_OK;
		ok = (st == RUNNING && a == l->att && by) || applied || taken;
		if (applied || taken)
			l->state = st == COMPLETED ? L_DONE_OK
			           : st == FAILED  ? L_DONE_FAILED
			                           : L_REQUEUED;
		snprintf(want, sizeof(want), "running attempt %u by %s, or the outcome of its %s",
		         l->att, wk,
		         l->op == OP_OK     ? "completion"
		         : l->op == OP_FAIL ? "failure"
		                            : "release");
	}
	if (!ok)
		crash_violation("job %llu: %s at attempt %u (worker %s), expected %s",
		                (unsigned long long)job->id, crash_status[st % 7], a,
		                job->worker[0] ? job->worker : "none", want);
}

static void check_job(check *c, const Job *job)
{
	COUNT(checked, 1);
	c->by_status[job->status % 7]++;
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 4096;
		c->seen = wn_xrealloc(c->seen, c->cap * sizeof(*c->seen));
	}
	c->seen[c->n++] = (listed){job->id, job->attempt, job->status};
	check_history(job);
	check_lease(job);
	sub *r = check_sub(c, job);
	if (r == NULL)
		return;
	unsigned long long id = (unsigned long long)job->id;
	if (r->seen == c->round) {
		crash_violation("job %llu: a second job for submit %s (job %llu)", id, job->name,
		                (unsigned long long)r->id);
		return;
	}
	r->seen = c->round;
	if (r->state == SUB_REFUSED)
		crash_violation("job %llu: stored for submit %s, which was refused", id, job->name);
	else if (r->state == SUB_ACKED && r->id != job->id)
		crash_violation("job %llu: submit %s was acknowledged as job %llu", id, job->name,
		                (unsigned long long)r->id);
	else if (r->state != SUB_ACKED) {
		r->state = SUB_ACKED; /* it survived a kill: it has to stay */
		r->id = job->id;
	}
	check_params(job, r);
}

/* check_list reads every job of the project, page by page. */
static bool check_list(wn_rpc *rpc, check *c)
{
	uint64_t after = 0;
	do {
		Whatsnext__V1__ListJobsRequest rq = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
		rq.project = (char *)CR_PROJECT;
		rq.page_size = 10000;
		rq.after_id = after;
		ProtobufCMessage *out = NULL;
		char *msg = NULL;
		int rc =
		    wn_rpc_call(rpc, M_JOB "List", &rq.base,
		                &whatsnext__v1__list_jobs_response__descriptor, &out, &msg, 0, 0);
		if (rc != WN_OK) {
			crash_violation("cannot list the jobs after the restart: %s", msg);
			free(msg);
			return false;
		}
		const Whatsnext__V1__ListJobsResponse *r = (const void *)out;
		for (size_t i = 0; i < r->n_jobs; i++)
			check_job(c, r->jobs[i]);
		after = r->next_after_id;
		protobuf_c_message_free_unpacked(out, NULL);
	} while (after != 0);
	return true;
}

/* check_subs: every acknowledged submit was listed, every batch whole. */
static void check_subs(check *c)
{
	for (int k = 0; k < c->ns; k++) {
		const submitter *s = &c->subs[k];
		for (size_t i = 0; i < s->n; i++) {
			const sub *r = &s->subs[i];
			if (r->state == SUB_ACKED && r->seen != c->round)
				crash_violation("job %llu: acknowledged submit s%d-%zu lost",
				                (unsigned long long)r->id, k, i);
			if (r->batch == 0 || r->first != i || i + r->batch > s->n)
				continue;
			unsigned stored = 0;
			uint64_t one = 0;
			for (size_t m = i; m < i + r->batch; m++)
				if (s->subs[m].seen == c->round) {
					stored++;
					one = s->subs[m].id;
				}
			if (stored != 0 && stored != r->batch)
				crash_violation(
				    "job %llu: batch s%d-%zu stored in part (%u of %u jobs)",
				    (unsigned long long)one, k, i, stored, r->batch);
		}
	}
}

static bool check_stats(wn_rpc *rpc, uint64_t out[7])
{
	Whatsnext__V1__StatsRequest rq = WHATSNEXT__V1__STATS_REQUEST__INIT;
	rq.project = (char *)CR_PROJECT;
	ProtobufCMessage *o = NULL;
	char *msg = NULL;
	int rc = wn_rpc_call(rpc, M_QUEUE "Stats", &rq.base,
	                     &whatsnext__v1__stats_response__descriptor, &o, &msg, 0, 0);
	const Whatsnext__V1__StatsResponse *r = (const void *)o;
	if (rc != WN_OK || r->n_projects != 1) {
		crash_violation("cannot read the queue stats: %s", msg ? msg : "no project");
		free(msg);
		if (o)
			protobuf_c_message_free_unpacked(o, NULL);
		return false;
	}
	const Whatsnext__V1__ProjectStats *p = r->projects[0];
	uint64_t v[7] = {0,         p->pending, p->running,  p->completed,
	                 p->failed, p->blocked, p->cancelled};
	memcpy(out, v, sizeof(v));
	protobuf_c_message_free_unpacked(o, NULL);
	return true;
}

/* check_get: Get answers for a sample of jobs what the listing said. */
static void check_get(wn_rpc *rpc, check *c, uint64_t *rng)
{
	for (int i = 0; i < 50 && c->n > 0; i++) {
		const listed *e = &c->seen[crash_pick(rng, (unsigned)c->n)];
		Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
		rq.id = e->id;
		ProtobufCMessage *out = NULL;
		char *msg = NULL;
		int rc = wn_rpc_call(rpc, M_JOB "Get", &rq.base, &whatsnext__v1__job__descriptor,
		                     &out, &msg, 0, 0);
		const Job *j = (const void *)out;
		if (rc != WN_OK)
			crash_violation("job %llu: listed, but Get says %s",
			                (unsigned long long)e->id, msg);
		else if (j->status != e->st || j->attempt != e->att)
			crash_violation("job %llu: listed %s at attempt %u, Get says %s at %u",
			                (unsigned long long)e->id, crash_status[e->st % 7], e->att,
			                crash_status[j->status % 7], j->attempt);
		crash_free(out, msg);
	}
}

/* verify reads the whole queue back and checks it; every client is idle. */
static void verify(wn_rpc *rpc, submitter *subs, int ns, uint32_t round, uint64_t *rng)
{
	check c = {.subs = subs, .ns = ns, .round = round};
	uint64_t s1[7], s2[7];
	if (check_stats(rpc, s1) && check_list(rpc, &c) && check_stats(rpc, s2)) {
		if (memcmp(s1, s2, sizeof(s1)) != 0)
			crash_violation("queue stats changed while every client was idle");
		for (int st = 1; st < 7; st++)
			if (s1[st] != c.by_status[st])
				crash_violation("queue stats say %llu jobs %s, the job list %llu",
				                (unsigned long long)s1[st], crash_status[st],
				                (unsigned long long)c.by_status[st]);
		check_subs(&c);
		check_get(rpc, &c, rng);
	}
	free(c.seen);
}

/* ---------------------------------------------------------------- the server */

typedef struct config {
	long rounds;
	double minutes;
	uint64_t seed;
	const char *wnd, *durability;
	char *dir, *db, *url, *log;
	int clients;
	bool own_dir;
} config;

static pid_t wnd_spawn(const config *cf)
{
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		perror("wncrash: cannot fork");
		exit(1);
	}
	if (pid == 0) {
		/* wnd dies with this program, however it ends */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		int fd = open(cf->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		execl(cf->wnd, "wnd", "--data", cf->db, "--listen", cf->url, "--durability",
		      cf->durability, "--lease-ms", CR_LEASE_MS, (char *)NULL);
		fprintf(stderr, "wncrash: cannot run %s: %s\n", cf->wnd, strerror(errno));
		_exit(127);
	}
	return pid;
}

/* wnd_ready waits until wnd answers; false if it exits or stays silent 30 s. */
static bool wnd_ready(const config *cf, wn_rpc *rpc, pid_t pid)
{
	int64_t until = wn_mono_ms() + 30000;
	while (wn_mono_ms() < until) {
		int status;
		if (waitpid(pid, &status, WNOHANG) == pid) {
			fprintf(stderr,
			        "wncrash: wnd exited during its start (status %d); see %s\n",
			        status, cf->log);
			return false;
		}
		Whatsnext__V1__StatsRequest rq = WHATSNEXT__V1__STATS_REQUEST__INIT;
		ProtobufCMessage *out = NULL;
		char *msg = NULL;
		wn_rpc_set_timeout(rpc, 500);
		int rc = wn_rpc_call(rpc, M_QUEUE "Stats", &rq.base,
		                     &whatsnext__v1__stats_response__descriptor, &out, &msg, 0, 0);
		wn_rpc_set_timeout(rpc, CR_TIMEOUT);
		crash_free(out, msg);
		if (rc == WN_OK)
			return true;
		crash_sleep_ms(20);
	}
	fprintf(stderr, "wncrash: wnd did not answer at %s within 30 s; see %s\n", cf->url,
	        cf->log);
	return false;
}

static void setup_call(wn_rpc *rpc, const char *method, const ProtobufCMessage *in,
                       const ProtobufCMessageDescriptor *od)
{
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int rc = wn_rpc_call(rpc, method, in, od, &out, &msg, 0, 0);
	if (rc != WN_OK) {
		fprintf(stderr, "wncrash: %s: %s\n", method, msg);
		exit(1);
	}
	protobuf_c_message_free_unpacked(out, NULL);
}

/* setup creates the project and its tasks: t retries a failed job once, u
 * never. */
static void setup(wn_rpc *rpc)
{
	Whatsnext__V1__CreateProjectRequest p = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	p.name = (char *)CR_PROJECT;
	setup_call(rpc, "/whatsnext.v1.ProjectService/Create", &p.base,
	           &whatsnext__v1__project__descriptor);
	for (int i = 0; i < 2; i++) {
		Whatsnext__V1__Task t = WHATSNEXT__V1__TASK__INIT;
		t.project = (char *)CR_PROJECT;
		t.name = (char *)crash_tasks[i];
		t.retries = i == 0;
		Whatsnext__V1__CreateTaskRequest rq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
		rq.task = &t;
		setup_call(rpc, "/whatsnext.v1.TaskService/Create", &rq.base,
		           &whatsnext__v1__task__descriptor);
	}
}

static void clients_set(int phase)
{
	pthread_mutex_lock(&G.mu);
	G.phase = phase;
	if (phase == PH_PAUSE)
		G.epoch++; /* every call begun before this may span the kill */
	pthread_cond_broadcast(&G.cv);
	pthread_mutex_unlock(&G.mu);
}

/* clients_parked waits up to 60 s until n clients (quick ones only, or all)
 * are parked. */
static bool clients_parked(int n, bool quick)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&G.mu);
	int rc = 0;
	while ((quick ? G.parked_quick : G.parked) < n && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&G.cv, &G.mu, &until);
	bool all = (quick ? G.parked_quick : G.parked) >= n;
	pthread_mutex_unlock(&G.mu);
	return all;
}

/* ---------------------------------------------------------------- rounds */

/* round_run lets the clients work for a random time (and at least until
 * something was submitted and completed in the round), then kills wnd. */
static bool round_run(pid_t pid, uint64_t *rng, int64_t *ran_ms)
{
	int64_t t0 = wn_mono_ms();
	crash_sleep_ms(200 + crash_pick(rng, 1300));
	while ((__atomic_load_n(&G.c.submits, __ATOMIC_RELAXED) == 0 ||
	        __atomic_load_n(&G.c.completions, __ATOMIC_RELAXED) == 0) &&
	       wn_mono_ms() - t0 < 30000)
		crash_sleep_ms(10);
	int status;
	if (waitpid(pid, &status, WNOHANG) == pid) {
		crash_violation("wnd exited by itself during the round (status %d)", status);
		clients_set(PH_PAUSE);
		return false;
	}
	*ran_ms = wn_mono_ms() - t0;
	clients_set(PH_PAUSE);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return true;
}

static void round_print(const char *label, const counts *c)
{
	printf("%s submits=%llu completions=%llu claims=%llu unknown=%llu checked=%llu "
	       "violations=%llu",
	       label, (unsigned long long)c->submits, (unsigned long long)c->completions,
	       (unsigned long long)c->claims, (unsigned long long)c->unknown,
	       (unsigned long long)c->checked, (unsigned long long)c->violations);
}

/* run: the rounds, from the first start of wnd to its last stop. */
static int run(const config *cf, submitter *subs, fetcher *fs)
{
	uint64_t rng = cf->seed * 0x9E3779B97F4A7C15ULL | 1;
	wn_rpc *rpc = NULL;
	char *msg = NULL;
	if (wn_rpc_open(cf->url, NULL, WN_RPC_BACKGROUND, &rpc, &msg) != WN_OK) {
		fprintf(stderr, "wncrash: %s\n", msg);
		return 1;
	}
	pid_t pid = wnd_spawn(cf);
	if (!wnd_ready(cf, rpc, pid))
		return 1;
	setup(rpc);
	int n = cf->clients, nq = 0;
	for (int i = 0; i < n; i++)
		nq += subs[i].quick + fs[i].quick;
	pthread_t th[2 * CR_CLIENTS];
	for (int i = 0; i < n; i++) {
		pthread_create(&th[i], NULL, submitter_main, &subs[i]);
		pthread_create(&th[n + i], NULL, fetcher_main, &fs[i]);
	}
	counts total = {0};
	long round = 0;
	int64_t t0 = wn_mono_ms(), ran = 0;
	bool ok = true;
	while (ok && (cf->rounds == 0 || round < cf->rounds) &&
	       (cf->minutes <= 0 || wn_mono_ms() - t0 < (int64_t)(cf->minutes * 60000))) {
		if (round++ > 0) {
			memset(&G.c, 0, sizeof(G.c));
			clients_set(PH_RUN);
		}
		ok = round_run(pid, &rng, &ran);
		/* the quick clients give up on the dead server: the outcome of what
		 * they had in flight stays unknown; the others' requests reach the
		 * restarted one (nng resends them) */
		if (ok && !clients_parked(nq, true)) {
			crash_violation(
			    "the quick clients did not give up within 60 s of the kill");
			ok = false;
		}
		if (ok) {
			pid = wnd_spawn(cf);
			ok = wnd_ready(cf, rpc, pid);
			if (!ok)
				crash_violation("wnd did not start again on its data directory");
		}
		if (ok && !clients_parked(2 * n, false)) {
			crash_violation("the clients did not settle within 60 s of the restart");
			ok = false;
		}
		if (ok)
			verify(rpc, subs, n, (uint32_t)round, &rng);
		char label[64];
		snprintf(label, sizeof(label), "round %ld:", round);
		round_print(label, &G.c);
		printf(" (killed after %lld ms)\n", (long long)ran);
		fflush(stdout);
		for (size_t f = 0; f < sizeof(counts) / sizeof(uint64_t); f++)
			((uint64_t *)&total)[f] += ((uint64_t *)&G.c)[f];
		ok = ok && G.c.violations == 0;
	}
	clients_set(PH_STOP);
	for (int i = 0; i < 2 * n; i++)
		pthread_join(th[i], NULL);
	int status = 0;
	if (kill(pid, SIGTERM) == 0 && waitpid(pid, &status, 0) == pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
		crash_violation("wnd did not stop cleanly on SIGTERM (status %d)", status);
		total.violations++;
	}
	wn_rpc_close(rpc);
	char label[64];
	snprintf(label, sizeof(label), "total: rounds=%ld", round);
	round_print(label, &total);
	printf("\n");
	return total.violations ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static void crash_usage(FILE *f, int code)
{
	fprintf(f,
	        "usage: wncrash [--rounds N | --minutes M] [--seed N] [--wnd PATH] [--data DIR]\n"
	        "               [--clients N] [--durability sync|relaxed]\n"
	        "\n"
	        "Runs wnd under load, kills it with SIGKILL at a random moment, starts it again\n"
	        "on the same data directory and checks that nothing acknowledged was lost or\n"
	        "undone; then the next round.\n"
	        "\n"
	        "  --rounds N        rounds to run (default 30; with --minutes, at most N)\n"
	        "  --minutes M       run rounds until M minutes have passed\n"
	        "  --seed N          seed of the random choices (default: a new one, printed)\n"
	        "  --wnd PATH        the server (default: wnd beside this program)\n"
	        "  --data DIR        directory for wnd's data, socket and log; must not hold a\n"
	        "                    previous run (default: a new temporary directory, removed\n"
	        "                    after a run without violations)\n"
	        "  --clients N       submitters, and as many fetch/complete loops (default 3)\n"
	        "  --durability MODE passed to wnd (default sync)\n");
	exit(code);
}

static int64_t crash_number(const char *opt, const char *s, int64_t lo, int64_t hi)
{
	int64_t v = 0;
	if (s == NULL || wn_parse_i64(s, lo, hi, &v) != WN_OK) {
		fprintf(stderr, "wncrash: %s: expected a number from %lld to %lld\n", opt,
		        (long long)lo, (long long)hi);
		exit(2);
	}
	return v;
}

static void crash_args(int argc, char **argv, config *cf)
{
	bool rounds = false;
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0)
			crash_usage(stdout, 0);
		if (v == NULL)
			crash_usage(stderr, 2);
		i++;
		if (strcmp(o, "--rounds") == 0) {
			cf->rounds = (long)crash_number(o, v, 1, 1000000);
			rounds = true;
		} else if (strcmp(o, "--minutes") == 0) {
			char *end = NULL;
			cf->minutes = strtod(v, &end);
			if (end == v || *end != '\0' || !(cf->minutes > 0 && cf->minutes < 1e6)) {
				fprintf(stderr, "wncrash: --minutes: expected a positive number\n");
				exit(2);
			}
		} else if (strcmp(o, "--seed") == 0) {
			cf->seed = (uint64_t)crash_number(o, v, 0, INT64_MAX);
		} else if (strcmp(o, "--wnd") == 0) {
			cf->wnd = v;
		} else if (strcmp(o, "--data") == 0) {
			cf->dir = wn_xstrdup(v);
		} else if (strcmp(o, "--clients") == 0) {
			cf->clients = (int)crash_number(o, v, 1, CR_CLIENTS);
		} else if (strcmp(o, "--durability") == 0 &&
		           (strcmp(v, "sync") == 0 || strcmp(v, "relaxed") == 0)) {
			cf->durability = v;
		} else {
			crash_usage(stderr, 2);
		}
	}
	if (!rounds)
		cf->rounds = cf->minutes > 0 ? 0 : 30;
}

/* crash_dirs makes the data directory and the paths in it. */
static void crash_dirs(config *cf)
{
	if (cf->dir == NULL) {
		const char *tmp = getenv("TMPDIR");
		cf->dir = wn_xasprintf("%s/wncrash.XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
		cf->own_dir = mkdtemp(cf->dir) != NULL;
		if (!cf->own_dir) {
			fprintf(stderr, "wncrash: cannot make a directory %s: %s\n", cf->dir,
			        strerror(errno));
			exit(1);
		}
	} else if (mkdir(cf->dir, 0755) != 0 && errno != EEXIST) {
		fprintf(stderr, "wncrash: cannot make %s: %s\n", cf->dir, strerror(errno));
		exit(1);
	}
	char *abs = realpath(cf->dir, NULL);
	if (abs == NULL) {
		fprintf(stderr, "wncrash: %s: %s\n", cf->dir, strerror(errno));
		exit(1);
	}
	cf->db = wn_xasprintf("%s/db", abs);
	cf->url = wn_xasprintf("ipc://%s/wnd.sock", abs);
	cf->log = wn_xasprintf("%s/wnd.log", abs);
	free(abs);
	struct stat st;
	if (stat(cf->db, &st) == 0) {
		fprintf(stderr, "wncrash: %s holds a previous run; give a new directory\n", cf->db);
		exit(2);
	}
	if (strlen(cf->url) - 6 >= 100) {
		fprintf(stderr, "wncrash: %s: the path is too long for a socket\n", cf->dir);
		exit(2);
	}
}

static int crash_rm(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int main(int argc, char **argv)
{
	config cf = {.durability = "sync", .clients = 3, .seed = wn_random_u64() >> 1};
	crash_args(argc, argv, &cf);
	char self[4096];
	ssize_t len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (cf.wnd == NULL && len > 0) {
		self[len] = '\0';
		*strrchr(self, '/') = '\0';
		cf.wnd = wn_xasprintf("%s/wnd", self);
	}
	if (cf.wnd == NULL || access(cf.wnd, X_OK) != 0) {
		fprintf(stderr, "wncrash: cannot run wnd at %s; give --wnd PATH\n",
		        cf.wnd ? cf.wnd : "?");
		return 2;
	}
	crash_dirs(&cf);
	signal(SIGPIPE, SIG_IGN);
	printf("wncrash: seed %llu, %d submitters and %d fetchers, %s durability, data in %s\n",
	       (unsigned long long)cf.seed, cf.clients, cf.clients, cf.durability, cf.dir);
	fflush(stdout);
	G.jobs = wn_map_new_u64();
	crash_observed = wn_map_new_u64();
	submitter subs[CR_CLIENTS];
	fetcher fs[CR_CLIENTS];
	memset(subs, 0, sizeof(subs));
	memset(fs, 0, sizeof(fs));
	for (int i = 0; i < cf.clients; i++) {
		char *msg = NULL;
		subs[i].k = fs[i].k = i;
		subs[i].rng = (cf.seed + 2 * (uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL | 1;
		fs[i].rng = (cf.seed + 2 * (uint64_t)i + 2) * 0x9E3779B97F4A7C15ULL | 1;
		snprintf(fs[i].name, sizeof(fs[i].name), "w%d", i);
		/* odd clients speak the wire protocol without nng: both resend paths;
		 * quick ones give up on a request after CR_QUICK ms */
		int flags = WN_RPC_BACKGROUND | (i % 2 ? WN_RPC_DIRECT : 0);
		subs[i].quick = i % 2 == 1;
		fs[i].quick = i % 2 == 0;
		if (wn_rpc_open(cf.url, NULL, flags, &subs[i].rpc, &msg) != WN_OK ||
		    wn_rpc_open(cf.url, NULL, flags, &fs[i].rpc, &msg) != WN_OK) {
			fprintf(stderr, "wncrash: %s\n", msg);
			return 1;
		}
		wn_rpc_set_timeout(subs[i].rpc, subs[i].quick ? CR_QUICK : CR_TIMEOUT);
		wn_rpc_set_timeout(fs[i].rpc, fs[i].quick ? CR_QUICK : CR_TIMEOUT);
	}
	int rc = run(&cf, subs, fs);
	if (rc == 0 && cf.own_dir)
		nftw(cf.dir, crash_rm, 16, FTW_DEPTH | FTW_PHYS);
	else if (rc != 0)
		fprintf(stderr, "wncrash: seed %llu; files kept in %s\n",
		        (unsigned long long)cf.seed, cf.dir);
	return rc;
}
