/* wncrash: the kill -9 crash loop (docs/testing.md). Rounds of concurrent
 * submitters and fetch/complete loops against the real wnd, killed with
 * SIGKILL at a random moment and started again on the same data. With every
 * client idle, the queue is read back and checked against what was
 * acknowledged: no submit lost or doubled, no batch in part, no completion
 * undone, no claim lost, no lease (job id, attempt) handed out twice, the
 * stats equal to List. A request without a reply, or refused after it was
 * resent across the kill, has an unknown outcome: either one is accepted.
 *
 *   wncrash --data DIR [--rounds N | --minutes M] [--seed N] [--wnd PATH]
 *           [--clients N] [--durability sync|relaxed]
 *
 * A line per round and a total line on stdout; a violation names its job.
 * Exit: 0 no violation, 1 a violation or a failure to run, 2 usage. */
#include "crash/crash.h"
#include "envelope.h"
#include "err.h"
#include "map.h"
#include "methods.h"
#include "rpc.h"
#include "status.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
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

crash_shared crash = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

void violation(const char *fmt, ...)
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

static unsigned pick(uint64_t *s, unsigned n)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return (unsigned)((*s * 2685821657736338717ULL) % n);
}

void done(void *out, char *msg)
{
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	free(msg);
}

/* ---------------------------------------------------------------- calls */

/* gate_enter waits while the clients are paused and returns false once they
 * are to stop; *epoch gets the number of kills so far. */
static bool gate_enter(bool quick, uint64_t *epoch)
{
	pthread_mutex_lock(&crash.mu);
	while (crash.phase == PH_PAUSE) {
		crash.parked++;
		crash.parked_quick += quick;
		pthread_cond_broadcast(&crash.cv);
		pthread_cond_wait(&crash.cv, &crash.mu);
		crash.parked--;
		crash.parked_quick -= quick;
	}
	bool go = crash.phase == PH_RUN;
	*epoch = crash.epoch;
	pthread_mutex_unlock(&crash.mu);
	return go;
}

/* call makes one call of a client begun in epoch: CALL_OK (*out set),
 * CALL_REFUSED (a violation: the server said no), or CALL_UNKNOWN: no reply,
 * or a refusal of a request that may have been resent across the kill. */
static int call(client *c, uint64_t epoch, const char *method, const void *in,
                const ProtobufCMessageDescriptor *od, void *out, char **msg)
{
	int rc = wn_rpc_call(c->rpc, method, in, od, out, msg, 0, 200);
	pthread_mutex_lock(&crash.mu);
	bool spanned = crash.epoch != epoch;
	pthread_mutex_unlock(&crash.mu);
	if (rc == WN_OK)
		return CALL_OK;
	if (rc > 0 && !spanned)
		violation("%s from %s%d refused: %s", method, c->name[0] ? "w" : "s", c->k, *msg);
	if (rc > 0 && !spanned)
		return CALL_REFUSED;
	COUNT(unknown, 1);
	return CALL_UNKNOWN;
}

/* ---------------------------------------------------------------- submitters */

/* submit_one sends one Submit, or a SubmitBatch, of new jobs. */
static void submit_one(client *s, uint64_t epoch)
{
	if (__atomic_load_n(&crash.backlog, __ATOMIC_RELAXED) > CR_BACKLOG) {
		usleep(2000); /* let the fetchers catch up */
		return;
	}
	unsigned n = pick(&s->rng, 10) < 3 ? 2 + pick(&s->rng, CR_BATCH_MAX - 1) : 1;
	if (s->n + n > s->cap) {
		s->cap = s->cap ? 2 * s->cap : 1024;
		s->subs = wn_xrealloc(s->subs, s->cap * sizeof(*s->subs));
	}
	PB(JobSpec) specs[CR_BATCH_MAX], *sp[CR_BATCH_MAX];
	PB(JobSpec__ParamsEntry) pe[CR_BATCH_MAX][2], *pp[CR_BATCH_MAX][2];
	char tok[CR_BATCH_MAX][32], val[CR_BATCH_MAX][16];
	sub *r = &s->subs[s->n];
	for (unsigned i = 0; i < n; i++) {
		r[i] = (sub){.first = (uint32_t)s->n, .batch = (uint8_t)(n > 1 ? n : 0)};
		r[i].v = pick(&s->rng, 1u << 31);
		r[i].task = (uint8_t)pick(&s->rng, 2);
		r[i].prio = (uint8_t)pick(&s->rng, 3);
		snprintf(tok[i], 32, "s%d-%zu", s->k, s->n + i);
		snprintf(val[i], 16, "%u", r[i].v);
		whatsnext__v1__job_spec__init(sp[i] = &specs[i]);
		specs[i].project = (char *)CR_PROJECT;
		specs[i].task = (char *)crash_tasks[r[i].task];
		specs[i].name = tok[i];
		specs[i].priority = r[i].prio;
		specs[i].n_params = 2;
		specs[i].params = pp[i];
		for (int k = 0; k < 2; k++) {
			whatsnext__v1__job_spec__params_entry__init(pp[i][k] = &pe[i][k]);
			pe[i][k].key = k ? (char *)"v" : (char *)"tok";
			pe[i][k].value = k ? val[i] : tok[i];
		}
	}
	s->n += n;
	PB(SubmitRequest) rq = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
	PB(SubmitBatchRequest) brq = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	rq.job = &specs[0];
	rq.brief = pick(&s->rng, 2);
	brq.n_jobs = n;
	brq.jobs = sp;
	void *out = NULL;
	char *msg = NULL;
	int rc = n == 1 ? call(s, epoch, WN_PATH_JOB_SUBMIT, &rq, DESC(submit_response), &out, &msg)
	                : call(s, epoch, WN_PATH_JOB_SUBMIT_BATCH, &brq,
	                       DESC(submit_batch_response), &out, &msg);
	const PB(SubmitResponse) *a = out;
	const PB(SubmitBatchResponse) *b = out;
	for (unsigned i = 0; rc == CALL_OK && i < n; i++)
		r[i].id = n == 1 ? (a->job ? a->job->id : 0) : i < b->n_ids ? b->ids[i] : 0;
	for (unsigned i = 0; i < n; i++)
		r[i].state = (uint8_t)rc;
	if (rc == CALL_OK) {
		COUNT(submits, n);
		__atomic_add_fetch(&crash.backlog, n, __ATOMIC_RELAXED);
	}
	done(out, msg);
}

/* ---------------------------------------------------------------- fetchers */

static lease *lease_of(cjob *j, uint32_t att)
{
	for (size_t i = 0; i < j->n; i++)
		if (j->l[i].att == att)
			return &j->l[i];
	return NULL;
}

cjob *cjob_get(uint64_t id)
{
	cjob *j = wn_map_get_u64(crash.jobs, id);
	if (j == NULL)
		wn_map_put_u64(crash.jobs, id, j = wn_xcalloc(1, sizeof(*j)));
	return j;
}

/* claim_locked records that fetcher f was given job: a new attempt of a job
 * no fetcher holds and that has not ended. crash.mu is held. */
static void claim_locked(client *f, const Job *job)
{
	cjob *j = cjob_get(job->id);
	const lease *p = j->n ? &j->l[j->n - 1] : NULL;
	if (job->status != (int)RUNNING || strcmp(job->worker, f->name) != 0 ||
	    lease_of(j, job->attempt) != NULL ||
	    (p != NULL && (p->att > job->attempt || p->state == L_HELD || p->state == L_DONE_OK ||
	                   p->state == L_DONE_FAILED)))
		violation(
		    "job %llu: attempt %u handed to %s (%s by %s), after attempt %u %s by w%d",
		    (unsigned long long)job->id, job->attempt, f->name, STATUS(job->status),
		    job->worker, p ? p->att : 0, p ? lease_state[p->state] : "-",
		    p ? p->worker : -1);
	j->l = wn_xrealloc(j->l, (j->n + 1) * sizeof(*j->l));
	j->l[j->n++] = (lease){job->attempt, (uint8_t)f->k, L_HELD, 0};
	f->att[f->nheld] = job->attempt;
	f->held[f->nheld++] = job->id;
	COUNT(claims, 1);
}

static void fetch_some(client *f, uint64_t epoch)
{
	PB(FetchRequest) rq = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	rq.project = (char *)CR_PROJECT;
	rq.worker = f->name;
	rq.max_jobs = 1 + pick(&f->rng, (unsigned)(CR_HOLD - f->nheld));
	rq.wait_ms = pick(&f->rng, 2) ? 0 : 100;
	PB(FetchResponse) *a = NULL;
	char *msg = NULL;
	int rc = call(f, epoch, WN_PATH_QUEUE_FETCH, &rq, DESC(fetch_response), &a, &msg);
	pthread_mutex_lock(&crash.mu);
	for (size_t i = 0; rc == CALL_OK && a->job && i <= a->n_more && i < rq.max_jobs; i++)
		claim_locked(f, i ? a->more[i - 1] : a->job);
	pthread_mutex_unlock(&crash.mu);
	done(a, msg);
}

/* heartbeat extends every lease f holds; none may be lost or cancelled. */
static void heartbeat(client *f, uint64_t epoch)
{
	PB(Lease) ls[CR_HOLD], *lp[CR_HOLD];
	PB(HeartbeatRequest) rq = WHATSNEXT__V1__HEARTBEAT_REQUEST__INIT;
	for (int i = 0; i < f->nheld; i++) {
		whatsnext__v1__lease__init(lp[i] = &ls[i]);
		ls[i].job_id = f->held[i];
		ls[i].attempt = f->att[i];
	}
	rq.worker = f->name;
	rq.n_leases = (size_t)f->nheld;
	rq.leases = lp;
	PB(HeartbeatResponse) *a = NULL;
	char *msg = NULL;
	int rc = call(f, epoch, WN_PATH_QUEUE_HEARTBEAT, &rq, DESC(heartbeat_response), &a, &msg);
	for (size_t i = 0; rc == CALL_OK && i < a->n_lost; i++)
		violation("job %llu: held by %s, its heartbeat says lost",
		          (unsigned long long)a->lost[i], f->name);
	done(a, msg);
}

/* finish ends lease h of f by op: complete ok, complete failed, or release. */
static void finish(client *f, uint64_t epoch, int h, int op)
{
	static const char *const opname[] = {"release", "failure", "completion"};
	uint64_t id = f->held[h];
	uint32_t att = f->att[h];
	f->held[h] = f->held[--f->nheld];
	f->att[h] = f->att[f->nheld];
	pthread_mutex_lock(&crash.mu);
	cjob *j = cjob_get(id);
	*lease_of(j, att) = (lease){att, (uint8_t)f->k, L_OP, (uint8_t)op}; /* before any reply */
	pthread_mutex_unlock(&crash.mu);
	PB(ReleaseRequest) rel = WHATSNEXT__V1__RELEASE_REQUEST__INIT;
	PB(CompleteRequest) rq = WHATSNEXT__V1__COMPLETE_REQUEST__INIT;
	rel.job_id = rq.job_id = id;
	rel.attempt = rq.attempt = att;
	rel.worker = rq.worker = f->name;
	rq.success = op == OP_OK;
	rq.exit_code = op == OP_OK ? 0 : 3;
	rq.output_tail = (char *)"crash loop output";
	rq.brief = pick(&f->rng, 2);
	void *out = NULL;
	char *msg = NULL;
	int rc =
	    op == OP_RELEASE
	        ? call(f, epoch, WN_PATH_QUEUE_RELEASE, &rel, DESC(job), &out, &msg)
	        : call(f, epoch, WN_PATH_QUEUE_COMPLETE, &rq, DESC(complete_response), &out, &msg);
	const Job *a = rc != CALL_OK      ? NULL
	               : op == OP_RELEASE ? out
	                                  : ((const PB(CompleteResponse) *)out)->job;
	uint32_t st = a && a->status < 5 ? a->status : 0;
	if (rc == CALL_OK && (!(op_ends[op] >> st & 1) || a->attempt != att)) {
		violation("job %llu: %s of attempt %u by %s answered %s at attempt %u",
		          (unsigned long long)id, opname[op], att, f->name, STATUS(st),
		          a ? a->attempt : 0);
		rc = CALL_UNKNOWN;
	}
	pthread_mutex_lock(&crash.mu);
	lease *l = lease_of(j, att);
	l->state = rc == CALL_OK ? end_state[st] : L_UNKNOWN;
	pthread_mutex_unlock(&crash.mu);
	if (rc == CALL_OK && op != OP_RELEASE)
		COUNT(completions, 1);
	if (rc == CALL_OK && st != PENDING)
		__atomic_sub_fetch(&crash.backlog, 1, __ATOMIC_RELAXED);
	done(out, msg);
}

/* fetch_one fetches, heartbeats or ends a lease. */
static void fetch_one(client *f, uint64_t epoch)
{
	unsigned r = pick(&f->rng, 100);
	if (f->nheld == 0 || (f->nheld < CR_HOLD && r < 30))
		fetch_some(f, epoch);
	else if (r < 40)
		heartbeat(f, epoch);
	else
		finish(f, epoch, (int)pick(&f->rng, (unsigned)f->nheld), (r >= 50) + (r >= 65));
}

static void *client_main(void *arg)
{
	client *c = arg;
	uint64_t epoch;
	while (gate_enter(c->quick, &epoch))
		(c->name[0] ? fetch_one : submit_one)(c, epoch);
	return NULL;
}

/* ---------------------------------------------------------------- rounds */

typedef struct config {
	long rounds;
	double minutes;
	uint64_t seed;
	const char *durability, *dir;
	char wnd[4096], db[128], url[128], log[128];
	int clients;
} config;

/* wnd_start starts wnd on the data directory (-1 if it cannot); calls made
 * next wait for it to answer. With check, it runs wnd --check on it instead. */
static pid_t wnd_start(const config *cf, bool check)
{
	pid_t parent = getpid(), pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* wnd dies with this program */
		int fd = open(cf->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		if (getppid() != parent || fd < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
			_exit(126);
		if (check)
			execl(cf->wnd, "wnd", "--check", "--data", cf->db, (char *)NULL);
		execl(cf->wnd, "wnd", "--data", cf->db, "--listen", cf->url, "--durability",
		      cf->durability, "--lease-ms", CR_LEASE_MS, (char *)NULL);
		_exit(127);
	}
	return pid;
}

/* wnd_alive says whether wnd still runs; if not, says so and forgets *pid. */
static bool wnd_alive(const config *cf, pid_t *pid)
{
	int status = 0;
	if (*pid > 0 && waitpid(*pid, &status, WNOHANG) == 0)
		return true;
	violation("wnd is not running (status %d); its log is %s", status, cf->log);
	*pid = 0;
	return false;
}

/* setup creates the project and its tasks: t retries a failed job once, u
 * never. */
static bool setup(wn_rpc *rpc)
{
	PB(CreateProjectRequest) p = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	p.name = (char *)CR_PROJECT;
	void *out = ask(rpc, WN_PATH_PROJECT_CREATE, &p, DESC(project));
	bool ok = out != NULL;
	for (int i = 0; ok && i < 2; i++) {
		done(out, NULL);
		PB(Task) t = WHATSNEXT__V1__TASK__INIT;
		t.project = (char *)CR_PROJECT;
		t.name = (char *)crash_tasks[i];
		t.retries = i == 0;
		PB(CreateTaskRequest) rq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
		rq.task = &t;
		ok = (out = ask(rpc, WN_PATH_TASK_CREATE, &rq, DESC(task))) != NULL;
	}
	done(out, NULL);
	return ok;
}

static void clients_set(int phase)
{
	pthread_mutex_lock(&crash.mu);
	crash.phase = phase;
	crash.epoch += phase == PH_PAUSE; /* every call begun before may span the kill */
	pthread_cond_broadcast(&crash.cv);
	pthread_mutex_unlock(&crash.mu);
}

/* clients_parked waits up to 60 s until n clients (quick ones, or any) are
 * parked. */
static bool clients_parked(int n, bool quick)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 60;
	pthread_mutex_lock(&crash.mu);
	int rc = 0;
	while ((quick ? crash.parked_quick : crash.parked) < n && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&crash.cv, &crash.mu, &until);
	bool all = (quick ? crash.parked_quick : crash.parked) >= n;
	pthread_mutex_unlock(&crash.mu);
	return all;
}

/* round_one lets the clients work for a random time (at least until a submit
 * and a completion were acknowledged), kills wnd, starts it again and checks
 * the queue once every client is idle. Returns wnd's new pid, or 0. */
static pid_t round_one(const config *cf, wn_rpc *rpc, pid_t pid, client *cl, uint64_t *rng,
                       int64_t *ran)
{
	int64_t t0 = wn_mono_ms();
	usleep(1000 * (200 + pick(rng, 1300)));
	while ((__atomic_load_n(&crash.c.submits, __ATOMIC_RELAXED) == 0 ||
	        __atomic_load_n(&crash.c.completions, __ATOMIC_RELAXED) == 0) &&
	       wn_mono_ms() - t0 < 30000)
		usleep(10000);
	*ran = wn_mono_ms() - t0;
	int status, n = 2 * cf->clients, nq = 0;
	bool alive = wnd_alive(cf, &pid);
	clients_set(PH_PAUSE);
	if (!alive)
		return 0;
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	/* what the kill left passes wnd --check (while the quick clients give up) */
	if ((pid = wnd_start(cf, true)) > 0 && waitpid(pid, &status, 0) == pid &&
	    !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
		violation("wnd --check found the data damaged after the kill (status %d); see %s",
		          status, cf->log);
	/* the quick clients give up on the dead server: what they had in flight
	 * stays unknown; the others' requests are resent to the restarted one */
	for (int i = 0; i < n; i++)
		nq += cl[i].quick;
	bool settled = clients_parked(nq, true);
	pid = wnd_start(cf, false);
	if (!settled || !clients_parked(n, false))
		violation("the clients did not settle within 60 s of the kill");
	else if (wnd_alive(cf, &pid))
		verify(rpc);
	return pid;
}

static void counts_print(const char *head, const counts *c, const char *tail)
{
	printf("%s submits=%llu completions=%llu claims=%llu unknown=%llu checked=%llu "
	       "violations=%llu%s\n",
	       head, (unsigned long long)c->submits, (unsigned long long)c->completions,
	       (unsigned long long)c->claims, (unsigned long long)c->unknown,
	       (unsigned long long)c->checked, (unsigned long long)c->violations, tail);
	fflush(stdout);
}

/* run: the rounds, from the first start of wnd to its last stop. */
static int run(const config *cf, client *cl)
{
	uint64_t rng = cf->seed * 0x9E3779B97F4A7C15ULL | 1;
	int n = 2 * cf->clients;
	wn_rpc *rpc = NULL;
	char *msg = NULL;
	/* the checks ask as wnctl does, over the SP client without nng, which
	 * dials again at once after each kill (nng's REQ socket once waited past
	 * two 30 s timeouts for its dialer to come back to the restarted wnd,
	 * while every client connection had) */
	if (wn_rpc_open(cf->url, NULL, WN_RPC_BACKGROUND | WN_RPC_DIRECT, &rpc, &msg) != WN_OK) {
		fprintf(stderr, "wncrash: %s\n", msg);
		return 1;
	}
	pid_t pid = wnd_start(cf, false);
	if (!setup(rpc) || !wnd_alive(cf, &pid)) {
		wn_rpc_close(rpc);
		return 1; /* wnd, if it runs, ends with this program */
	}
	pthread_t th[2 * CR_CLIENTS];
	crash.phase = PH_PAUSE;
	crash.cl = cl;
	crash.ns = cf->clients;
	for (int i = 0; i < n; i++)
		pthread_create(&th[i], NULL, client_main, &cl[i]);
	counts total = {0};
	uint32_t round = 0;
	int64_t t0 = wn_mono_ms(), ran = 0;
	while (pid > 0 && total.violations == 0 && (cf->rounds == 0 || round < cf->rounds) &&
	       (cf->minutes <= 0 || wn_mono_ms() - t0 < (int64_t)(cf->minutes * 60000))) {
		memset(&crash.c, 0, sizeof(crash.c));
		clients_set(PH_RUN);
		crash.round = ++round;
		pid = round_one(cf, rpc, pid, cl, &rng, &ran);
		char head[32], tail[48];
		snprintf(head, sizeof(head), "round %u:", round);
		snprintf(tail, sizeof(tail), " (killed after %lld ms)", (long long)ran);
		counts_print(head, &crash.c, tail);
		for (size_t f = 0; f < sizeof(counts) / sizeof(uint64_t); f++)
			((uint64_t *)&total)[f] += ((uint64_t *)&crash.c)[f];
	}
	clients_set(PH_STOP);
	for (int i = 0; i < n; i++)
		pthread_join(th[i], NULL);
	int status = 0;
	if (pid > 0 && (kill(pid, SIGTERM) != 0 || waitpid(pid, &status, 0) != pid ||
	                !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		violation("wnd did not stop cleanly on SIGTERM (status %d)", status);
		total.violations++;
	}
	wn_rpc_close(rpc);
	char head[32];
	snprintf(head, sizeof(head), "total: rounds=%u", round);
	counts_print(head, &total, "");
	return total.violations ? 1 : 0;
}

/* ---------------------------------------------------------------- main */

static void usage(FILE *f, int code)
{
	fprintf(f, "usage: wncrash --data DIR [--rounds N | --minutes M] [--seed N] [--wnd PATH]\n"
	           "               [--clients N] [--durability sync|relaxed]\n"
	           "Kills wnd under load at random moments, starts it again on the same data\n"
	           "(in DIR, a new directory) and checks that nothing acknowledged was lost or\n"
	           "undone. Default: 30 rounds (no limit with --minutes), a new seed, the wnd\n"
	           "beside wncrash, 3 submitters and 3 fetch/complete loops, sync durability.\n");
	exit(code);
}

static void parse_args(int argc, char **argv, config *cf)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[++i] : "";
		int64_t x = 0;
		char *end = NULL;
		bool num = wn_parse_i64(v, 0, INT64_MAX, &x) == WN_OK;
		if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0)
			usage(stdout, 0);
		else if (strcmp(o, "--rounds") == 0 && num && x > 0)
			cf->rounds = (long)x;
		else if (strcmp(o, "--minutes") == 0 && (cf->minutes = strtod(v, &end)) > 0 &&
		         *end == '\0' && cf->minutes < 1e6)
			continue;
		else if (strcmp(o, "--seed") == 0 && num)
			cf->seed = (uint64_t)x;
		else if (strcmp(o, "--clients") == 0 && num && x > 0 && x <= CR_CLIENTS)
			cf->clients = (int)x;
		else if (strcmp(o, "--durability") == 0)
			cf->durability = v; /* wnd checks it */
		else if (strcmp(o, "--wnd") == 0)
			snprintf(cf->wnd, sizeof(cf->wnd), "%s", v);
		else if (strcmp(o, "--data") == 0)
			cf->dir = v;
		else {
			fprintf(stderr, "wncrash: %s %s: unknown option or bad value\n", o, v);
			usage(stderr, 2);
		}
	}
	if (cf->rounds < 0)
		cf->rounds = cf->minutes > 0 ? 0 : 30;
}

int main(int argc, char **argv)
{
	config cf = {
	    .rounds = -1, .durability = "sync", .clients = 3, .seed = wn_random_u64() >> 1};
	parse_args(argc, argv, &cf);
	char *abs = NULL;
	ssize_t len = cf.wnd[0] ? 0 : readlink("/proc/self/exe", cf.wnd, sizeof(cf.wnd) - 8);
	if (len > 0 && (cf.wnd[len] = '\0', strrchr(cf.wnd, '/') != NULL))
		strcpy(strrchr(cf.wnd, '/') + 1, "wnd"); /* the wnd beside wncrash */
	if (cf.dir == NULL || access(cf.wnd, X_OK) != 0)
		usage(stderr, 2);
	/* the socket lives in DIR too: a private address */
	if (mkdir(cf.dir, 0755) != 0 || (abs = realpath(cf.dir, NULL)) == NULL ||
	    strlen(abs) > 80) {
		fprintf(stderr, "wncrash: cannot make a new directory %s: %s\n", cf.dir,
		        abs ? "path too long for a socket" : strerror(errno));
		return 2;
	}
	snprintf(cf.db, sizeof(cf.db), "%s/db", abs);
	snprintf(cf.url, sizeof(cf.url), "ipc://%s/wnd.sock", abs);
	snprintf(cf.log, sizeof(cf.log), "%s/wnd.log", abs);
	signal(SIGPIPE, SIG_IGN);
	printf("wncrash: seed %llu, %d submitters and %d fetchers, %s durability, data in %s\n",
	       (unsigned long long)cf.seed, cf.clients, cf.clients, cf.durability, abs);
	crash.jobs = wn_map_new_u64();
	client cl[2 * CR_CLIENTS];
	memset(cl, 0, sizeof(cl));
	for (int i = 0; i < 2 * cf.clients; i++) {
		/* odd ones speak SP without nng (both resend paths); a mix is quick */
		int k = i % cf.clients, flags = WN_RPC_BACKGROUND | (k % 2 ? WN_RPC_DIRECT : 0);
		char *msg = NULL;
		cl[i].k = k;
		cl[i].quick = (k + (i >= cf.clients)) % 2 == 1;
		cl[i].rng = (cf.seed + (uint64_t)i + 1) * 0x9E3779B97F4A7C15ULL | 1;
		if (i >= cf.clients) /* a fetcher */
			snprintf(cl[i].name, sizeof(cl[i].name), "w%d", k);
		if (wn_rpc_open(cf.url, NULL, flags, &cl[i].rpc, &msg) != WN_OK) {
			fprintf(stderr, "wncrash: %s\n", msg);
			return 1;
		}
		wn_rpc_set_timeout(cl[i].rpc, cl[i].quick ? CR_QUICK : CR_TIMEOUT);
	}
	int rc = run(&cf, cl);
	for (int i = 0; i < 2 * cf.clients; i++) {
		wn_rpc_close(cl[i].rpc);
		free(cl[i].subs);
	}
	if (rc != 0)
		fprintf(stderr, "wncrash: failed with seed %llu; files kept in %s\n",
		        (unsigned long long)cf.seed, abs);
	free(abs);
	return rc;
}
