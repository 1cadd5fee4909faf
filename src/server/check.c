/* check: reading a data directory's records and the rules they must keep
 * (check.h). Each rule that finds something prints one line and, where a
 * repair can fix it without dropping an acknowledged job, plans the change
 * (check_fix.c writes it). */
#include "check_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHECK_NAME_MAX 1400

void wn_check_finding(struct check *k, const char *name, const char *fmt, ...)
{
	k->findings++;
	if (k->quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	fprintf(k->out, "%s%s: ", k->prefix, name);
	vfprintf(k->out, fmt, ap);
	fputc('\n', k->out);
	va_end(ap);
}

/* ------------------------------------------------------------ what is named */

static struct cproj *proj_get(struct check *k, const char *name)
{
	struct cproj *p = wn_map_get_str(k->projects, name);
	if (p == NULL) {
		p = wn_arena_alloc(k->arena, sizeof(*p));
		p->name = wn_arena_strdup(k->arena, name);
		wn_map_put_str(k->projects, name, p);
	}
	return p;
}

static struct ctask *task_get(struct check *k, const char *project, const char *name)
{
	char key[2 * CHECK_NAME_MAX];
	snprintf(key, sizeof(key), "%s/%s", project, name);
	struct ctask *t = wn_map_get_str(k->tasks, key);
	if (t == NULL) {
		t = wn_arena_alloc(k->arena, sizeof(*t));
		t->proj = proj_get(k, project);
		t->name = wn_arena_strdup(k->arena, name);
		wn_map_put_str(k->tasks, key, t);
	}
	return t;
}

static struct csweep *sweep_get(struct check *k, uint64_t id)
{
	struct csweep *s = wn_map_get_u64(k->sweeps, id);
	if (s == NULL) {
		s = wn_arena_alloc(k->arena, sizeof(*s));
		s->id = id;
		wn_map_put_u64(k->sweeps, id, s);
	}
	return s;
}

static struct cworker *worker_get(struct check *k, const char *name)
{
	struct cworker *w = wn_map_get_str(k->workers, name);
	if (w == NULL) {
		w = wn_arena_alloc(k->arena, sizeof(*w));
		w->name = wn_arena_strdup(k->arena, name);
		wn_map_put_str(k->workers, name, w);
	}
	return w;
}

struct cjob *wn_check_job(struct check *k, uint64_t id)
{
	size_t lo = 0, hi = k->njobs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (k->jobs[mid].id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < k->njobs && k->jobs[lo].id == id ? &k->jobs[lo] : NULL;
}

/* note_id remembers the largest id a record names, and where. */
static void note_id(struct check *k, uint64_t id, const char *where)
{
	if (id > k->maxid) {
		k->maxid = id;
		snprintf(k->maxwhere, sizeof(k->maxwhere), "%s", where);
	}
}

static bool name_ok(const char *s)
{
	return wn_name_check(s) == NULL;
}

bool wn_check_worker_tasks_ok(const Whatsnext__V1__Worker *r)
{
	for (size_t i = 0; i < r->n_tasks; i++)
		if (!name_ok(r->tasks[i]))
			return false;
	return r->n_tasks <= WN_CHECK_WORKER_TASKS;
}

/* ------------------------------------------------------------ reading */

/* key_text copies the part of key after its prefix as a C string;
 * false if it holds a NUL byte or is too long. */
static bool key_text(char *buf, const char *key, size_t klen)
{
	size_t n = klen - WN_KEY_PREFIX_LEN;
	if (klen <= WN_KEY_PREFIX_LEN || n >= CHECK_NAME_MAX ||
	    memchr(key + WN_KEY_PREFIX_LEN, '\0', n) != NULL)
		return false;
	memcpy(buf, key + WN_KEY_PREFIX_LEN, n);
	buf[n] = '\0';
	return true;
}

static void scan_project(struct check *k, const char *name, const char *key, size_t kl,
                         const uint8_t *v, size_t vl)
{
	char pname[CHECK_NAME_MAX];
	if (!key_text(pname, key, kl) || !name_ok(pname)) {
		wn_check_finding(k, name, "key does not name a valid project");
		wn_check_plan_del(k, key, kl, "not a project key; wnd writes none such");
		wn_check_plan_aside(k, key, kl);
		return;
	}
	struct cproj *cp = proj_get(k, pname);
	cp->exists = true;
	Project *p = whatsnext__v1__project__unpack(NULL, vl, v);
	if (p == NULL) {
		wn_check_finding(k, name, "record does not unpack as a Project");
		wn_check_plan_project(k, pname);
		wn_check_plan_aside(k, key, kl);
		return;
	}
	cp->readable = true;
	if (strcmp(p->name, pname) != 0) {
		wn_check_finding(k, name, "record names project \"%.140s\", not the key's",
		                 p->name);
		wn_check_plan_project(k, pname);
	}
	if (p->status != WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE &&
	    p->status != WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED) {
		wn_check_finding(k, name, "unknown project status %d", (int)p->status);
		wn_check_plan_project(k, pname);
	}
	whatsnext__v1__project__free_unpacked(p, NULL);
}

static void scan_task(struct check *k, const char *name, const char *key, size_t kl,
                      const uint8_t *v, size_t vl)
{
	char pname[CHECK_NAME_MAX];
	char *slash = key_text(pname, key, kl) ? strchr(pname, '/') : NULL;
	if (slash != NULL)
		*slash = '\0';
	if (slash == NULL || !name_ok(pname) || !name_ok(slash + 1)) {
		wn_check_finding(k, name, "key does not name a valid project and task");
		wn_check_plan_del(k, key, kl, "not a task key; wnd writes none such");
		wn_check_plan_aside(k, key, kl);
		return;
	}
	const char *tname = slash + 1;
	struct ctask *ct = task_get(k, pname, tname);
	ct->exists = true;
	Task *t = whatsnext__v1__task__unpack(NULL, vl, v);
	if (t == NULL) {
		wn_check_finding(k, name, "record does not unpack as a Task");
		wn_check_plan_task(k, pname, tname);
		wn_check_plan_aside(k, key, kl);
		return;
	}
	if (strcmp(t->project, pname) != 0 || strcmp(t->name, tname) != 0) {
		wn_check_finding(
		    k, name, "record names task \"%.140s\" of project \"%.140s\", not the key's",
		    t->name, t->project);
		wn_check_plan_task(k, pname, tname);
	}
	whatsnext__v1__task__free_unpacked(t, NULL);
}

static void scan_sweep(struct check *k, const char *name, const char *key, size_t kl,
                       const uint8_t *v, size_t vl)
{
	if (kl != WN_KEY_ID_LEN) {
		wn_check_finding(k, name, "a sweep key holds 8 bytes of id after %s",
		                 wn_key_prefix(WN_KEY_SWEEP));
		wn_check_plan_del(k, key, kl, "not a sweep key");
		return;
	}
	struct csweep *s = sweep_get(k, wn_key_id(key));
	s->exists = true;
	Whatsnext__V1__Sweep *r = whatsnext__v1__sweep__unpack(NULL, vl, v);
	if (r == NULL) {
		wn_check_finding(k, name, "record does not unpack as a Sweep");
		wn_check_plan_aside(k, key, kl);
		return;
	}
	s->readable = true;
	s->project = wn_arena_strdup(k->arena, r->project);
	s->total = r->total;
	uint64_t st[WN_NSTATUS] = {0,         r->pending, r->running,  r->completed,
	                           r->failed, r->blocked, r->cancelled};
	for (int i = 0; i < WN_NSTATUS; i++) {
		s->stored[i] = st[i];
		s->has_stored |= st[i] != 0;
	}
	if (r->id != s->id) {
		wn_check_finding(k, name, "record holds id %llu, not the key's",
		                 (unsigned long long)r->id);
		wn_check_plan_sweep(k, s->id, s->project, 0);
	}
	if (s->total > 0) /* its last id, or 2^64 - 1 if that is beyond */
		note_id(k, s->total - 1 > UINT64_MAX - s->id ? UINT64_MAX : s->id + s->total - 1,
		        name);
	whatsnext__v1__sweep__free_unpacked(r, NULL);
}

static void scan_worker(struct check *k, const char *name, const char *key, size_t kl,
                        const uint8_t *v, size_t vl)
{
	char wname[CHECK_NAME_MAX];
	if (!key_text(wname, key, kl) || !name_ok(wname)) {
		wn_check_finding(k, name, "key does not name a valid worker");
		wn_check_plan_del(k, key, kl, "not a worker key");
		return;
	}
	Whatsnext__V1__Worker *r = whatsnext__v1__worker__unpack(NULL, vl, v);
	if (r == NULL) {
		wn_check_finding(k, name, "record does not unpack as a Worker");
		wn_check_plan_del(k, key, kl, "unreadable; the worker joins again");
		wn_check_plan_aside(k, key, kl);
		return;
	}
	struct cworker *w = worker_get(k, wname);
	w->exists = true;
	if (strcmp(r->name, wname) != 0) {
		wn_check_finding(k, name, "record names worker \"%.140s\", not the key's", r->name);
		wn_check_plan(k, FIX_WORKER, key, kl);
	}
	if (r->state < WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE ||
	    r->state > WHATSNEXT__V1__WORKER_STATE__WORKER_GONE) {
		wn_check_finding(k, name, "unknown worker state %d", (int)r->state);
		wn_check_plan(k, FIX_WORKER, key, kl);
	}
	if (!wn_check_worker_tasks_ok(r)) {
		wn_check_finding(k, name, "its task list has an invalid name or more than %d",
		                 WN_CHECK_WORKER_TASKS);
		wn_check_plan(k, FIX_WORKER, key, kl);
	}
	w->has_stored = r->n_jobs > 0 || r->used != NULL;
	w->nstored = r->n_jobs;
	w->stored = wn_arena_alloc(k->arena, (r->n_jobs + 1) * sizeof(uint64_t));
	if (r->n_jobs > 0)
		memcpy(w->stored, r->jobs, r->n_jobs * sizeof(uint64_t));
	whatsnext__v1__worker__free_unpacked(r, NULL);
}

static void push_job(struct check *k, const struct cjob *j)
{
	if (k->njobs == k->capjobs) {
		k->capjobs = k->capjobs ? k->capjobs * 2 : 1024;
		k->jobs = wn_xrealloc(k->jobs, k->capjobs * sizeof(*k->jobs));
	}
	k->jobs[k->njobs++] = *j;
}

static void push_dep(struct check *k, uint64_t id, uint32_t cond)
{
	if (k->ndeps == k->capdeps) {
		k->capdeps = k->capdeps ? k->capdeps * 2 : 1024;
		k->deps = wn_xrealloc(k->deps, k->capdeps * sizeof(*k->deps));
	}
	k->deps[k->ndeps++] = (struct cdep){id, cond, 0};
}

static void worker_hold(struct check *k, struct cworker *w, uint64_t id)
{
	if (w->nheld == w->capheld) {
		w->capheld = w->capheld ? w->capheld * 2 : 8;
		uint64_t *v = wn_arena_alloc(k->arena, w->capheld * sizeof(*v));
		if (w->nheld > 0)
			memcpy(v, w->held, w->nheld * sizeof(*v));
		w->held = v;
	}
	w->held[w->nheld++] = id;
}

/* job_marks checks the marks a job record carries for the state it is in:
 * a hold (a waiting job's), a run to stop (a run cancelled while it ran);
 * returns the repairs of those it should not carry (JF_HELD, JF_STOPPING). */
static unsigned job_marks(struct check *k, const Job *j, const char *name)
{
	unsigned fix = 0;
	if (j->held && j->status != PENDING && j->status != BLOCKED) {
		wn_check_finding(k, name, "held, but %s: only a PENDING or BLOCKED job is held",
		                 wn_status_name(j->status));
		fix |= JF_HELD;
	}
	const char *bad_stop = !j->stopping             ? NULL
	                       : j->status != CANCELLED ? wn_status_name(j->status)
	                       : j->worker[0] == '\0'   ? "CANCELLED with no worker"
	                       : j->attempt == 0        ? "CANCELLED at attempt 0"
	                                                : NULL;
	if (bad_stop != NULL) {
		wn_check_finding(k, name,
		                 "stopping, but %s: only a run cancelled while it ran is stopped",
		                 bad_stop);
		fix |= JF_STOPPING;
	}
	return fix;
}

static void scan_job(struct check *k, const char *name, const char *key, size_t kl,
                     const uint8_t *v, size_t vl)
{
	if (kl != WN_KEY_ID_LEN) {
		wn_check_finding(k, name, "a job key holds 8 bytes of id after %s; not repairable",
		                 wn_key_prefix(WN_KEY_JOB));
		return;
	}
	struct cjob c = {.id = wn_key_id(key)};
	if (c.id == 0) {
		wn_check_finding(k, name,
		                 "id 0 is not one wnd hands out: no request can reach the job");
		wn_check_plan_del(k, key, kl, "not a job id");
		wn_check_plan_aside(k, key, kl);
		return;
	}
	if (k->njobs > 0 && k->jobs[k->njobs - 1].id >= c.id) {
		/* the store gives keys in order: only a caller of wn_check_record can */
		wn_check_finding(k, name, "job key out of order");
		return;
	}
	note_id(k, c.id, name);
	Job *j = whatsnext__v1__job__unpack(NULL, vl, v);
	if (j == NULL) {
		c.flags = CJ_CORRUPT;
		push_job(k, &c);
		wn_check_finding(k, name, "record does not unpack as a Job");
		wn_check_plan_job(k, &k->jobs[k->njobs - 1], JF_UNREADABLE, NULL);
		wn_check_plan_aside(k, key, kl);
		return;
	}
	if (j->id != c.id)
		c.flags |= CJ_BADID;
	c.status = (uint8_t)(j->status < 255 ? j->status : 255);
	c.plan = c.status;
	c.sweep = j->sweep_id;
	c.reqid = j->submit_request_id;
	c.attempt = j->attempt;
	c.task = task_get(k, j->project, j->task);
	c.task->njobs++;
	c.task->proj->njobs++;
	unsigned marks = job_marks(k, j, name);
	if (j->status == RUNNING && j->worker[0] != '\0') {
		c.worker = worker_get(k, j->worker);
		worker_hold(k, c.worker, c.id);
	}
	c.dep0 = (uint32_t)k->ndeps;
	c.ndeps = (uint32_t)j->n_deps;
	char where[64];
	snprintf(where, sizeof(where), "a dependency of %s", name);
	for (size_t i = 0; i < j->n_deps; i++) {
		push_dep(k, j->deps[i]->job_id, (uint32_t)j->deps[i]->condition);
		note_id(k, j->deps[i]->job_id, where);
	}
	if (c.sweep != 0) {
		struct csweep *s = sweep_get(k, c.sweep);
		s->njobs++;
		if (s->jobs_project == NULL)
			s->jobs_project = wn_arena_strdup(k->arena, j->project);
		if (c.status < WN_NSTATUS)
			s->counts[c.status]++;
		if (c.id >= c.sweep && strcmp(s->jobs_project, j->project) == 0)
			s->last_job = c.id;
		note_id(k, c.sweep, name);
	}
	push_job(k, &c);
	if (marks != 0)
		wn_check_plan_job(k, &k->jobs[k->njobs - 1], marks, NULL);
	whatsnext__v1__job__free_unpacked(j, NULL);
}

#define REQ_SUBMIT "/whatsnext.v1.JobService/Submit"
#define REQ_BATCH  "/whatsnext.v1.JobService/SubmitBatch"

static void push_req(struct check *k, const struct creq *r)
{
	if (k->nreqs == k->capreqs) {
		k->capreqs = k->capreqs ? k->capreqs * 2 : 64;
		k->reqs = wn_xrealloc(k->reqs, k->capreqs * sizeof(*k->reqs));
	}
	k->reqs[k->nreqs++] = *r;
}

/* scan_req reads an i/ record: 8 bytes of time, the method path, NUL, the
 * reply (replay.c). */
static void scan_req(struct check *k, const char *name, const char *key, size_t kl,
                     const uint8_t *v, size_t vl)
{
	if (kl != WN_KEY_ID_LEN) {
		wn_check_finding(k, name, "a request-id key holds 8 bytes of id after %s",
		                 wn_key_prefix(WN_KEY_REQ));
		wn_check_plan_del(k, key, kl, "not a request-id key");
		return;
	}
	const uint8_t *nul = vl > 8 ? memchr(v + 8, '\0', vl - 8) : NULL;
	if (nul == NULL) {
		wn_check_finding(k, name, "value is not a time, a method and a reply");
		wn_check_plan_del(k, key, kl, "unreadable; it only answered a resent request");
		wn_check_plan_aside(k, key, kl);
		return;
	}
	const char *method = (const char *)v + 8;
	const uint8_t *body = nul + 1;
	size_t blen = vl - (size_t)(body - v);
	struct creq r = {.reqid = wn_key_id(key)};
	if (strcmp(method, REQ_SUBMIT) == 0) {
		Whatsnext__V1__SubmitResponse *m =
		    whatsnext__v1__submit_response__unpack(NULL, blen, body);
		if (m != NULL && m->job != NULL && m->job->id != 0) {
			r.kind = CREQ_SUBMIT;
			r.job = r.maxid = m->job->id;
		}
		if (m != NULL)
			whatsnext__v1__submit_response__free_unpacked(m, NULL);
		if (r.job == 0) {
			wn_check_finding(k, name, "reply is not a SubmitResponse naming a job");
			wn_check_plan_del(k, key, kl,
			                  "unreadable; it only answered a resent request");
			wn_check_plan_aside(k, key, kl);
			return;
		}
	} else if (strcmp(method, REQ_BATCH) == 0) {
		Whatsnext__V1__SubmitBatchResponse *m =
		    whatsnext__v1__submit_batch_response__unpack(NULL, blen, body);
		if (m == NULL) {
			wn_check_finding(k, name, "reply is not a SubmitBatchResponse");
			wn_check_plan_del(k, key, kl,
			                  "unreadable; it only answered a resent request");
			wn_check_plan_aside(k, key, kl);
			return;
		}
		r.kind = CREQ_BATCH;
		r.maxid = m->sweep_id;
		for (size_t i = 0; i < m->n_ids; i++)
			r.maxid = m->ids[i] > r.maxid ? m->ids[i] : r.maxid;
		whatsnext__v1__submit_batch_response__free_unpacked(m, NULL);
	} else {
		wn_check_finding(k, name,
		                 "keeps a reply to \"%.100s\", which is not Submit or SubmitBatch",
		                 method);
		wn_check_plan_del(k, key, kl, "not a reply the server keeps");
		return;
	}
	note_id(k, r.maxid, name);
	push_req(k, &r);
}

/* parse_u64 parses a whole decimal value of len bytes. */
static bool parse_u64(const char *s, size_t len, uint64_t *out)
{
	if (len == 0 || len > 20)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*out = v;
	return true;
}

static void scan_meta(struct check *k, const char *name, const char *key, size_t kl,
                      const uint8_t *v, size_t vl)
{
	uint64_t n = 0;
	if (kl == WN_KEY_VERSION_LEN && memcmp(key, WN_KEY_VERSION, kl) == 0) {
		/* wn_check_scan read it first and stopped on a layout it does not know */
		k->have_version = true;
		k->version_ok =
		    parse_u64((const char *)v, vl, &n) && n >= 1 && n <= WN_STORE_VERSION;
		if (!k->version_ok)
			wn_check_finding(k, name, "not a data layout version this wnd knows");
	} else if (kl == WN_KEY_NEXT_ID_LEN && memcmp(key, WN_KEY_NEXT_ID, kl) == 0) {
		k->have_next = true;
		k->next_ok = parse_u64((const char *)v, vl, &n);
		k->next_id = n;
	} else {
		wn_check_finding(k, name,
		                 "unknown key; left as it is (a newer wnd may have written it)");
	}
}

/* check_version reads m/version; false if the layout is one this wnd does
 * not know (then nothing else is checked). */
static bool check_version(struct check *k)
{
	char *val = NULL;
	size_t len = 0;
	if (wn_store_get(k->store, WN_KEY_VERSION, WN_KEY_VERSION_LEN, &val, &len) != WN_OK)
		return true;
	k->have_version = true;
	uint64_t v = 0;
	bool ok = parse_u64(val, len, &v);
	free(val);
	if (ok && v > WN_STORE_VERSION) {
		k->version_newer = true;
		wn_check_finding(k, WN_KEY_VERSION,
		                 "data layout version %llu is newer than this wnd knows (%d); not "
		                 "checked further",
		                 (unsigned long long)v, WN_STORE_VERSION);
		return false;
	}
	if (!ok || v < 1) {
		wn_check_finding(k, WN_KEY_VERSION, "not a data layout version; not repairable");
		return false;
	}
	k->version_ok = true;
	return true;
}

/* scan_token: a token record (a/NAME). One that is not what wnd loads stops
 * its start; the repair sets it aside and deletes it (the token is revoked:
 * make it again). */
static void scan_token(struct check *k, const char *name, const char *key, size_t kl,
                       const uint8_t *v, size_t vl)
{
	char tname[CHECK_NAME_MAX], buf[256];
	const char *why = NULL;
	Whatsnext__V1__TokenRecord *r = NULL;
	if (!key_text(tname, key, kl) || !name_ok(tname))
		why = "key does not name a valid token";
	else if ((r = whatsnext__v1__token_record__unpack(NULL, vl, v)) == NULL || r->token == NULL)
		why = "record does not unpack as a TokenRecord";
	else if (strcmp(r->token->name, tname) != 0)
		why = "record names another token than its key";
	else if (r->sha256.len != 32)
		why = "record holds no SHA-256 of the token's secret";
	else
		why = wn_token_check(r->token, buf, sizeof(buf));
	/* made when first_job was the next id: every later one is above it */
	if (why == NULL && r->first_job > 0)
		note_id(k, r->first_job - 1, name);
	if (r != NULL)
		whatsnext__v1__token_record__free_unpacked(r, NULL);
	if (why == NULL)
		return;
	wn_check_finding(k, name, "%s; wnd does not start with it", why);
	wn_check_plan_del(k, key, kl,
	                  "not a token wnd can use: the token is revoked, make it again");
	wn_check_plan_aside(k, key, kl);
}

/* scan_aside: a record an earlier repair set aside (x/KEY); wnd reads none. */
static void scan_aside(struct check *k, const char *name, const char *key, size_t kl,
                       const uint8_t *v, size_t vl)
{
	(void)k, (void)name, (void)key, (void)kl, (void)v, (void)vl;
}

typedef void (*scan_fn)(struct check *k, const char *name, const char *key, size_t kl,
                        const uint8_t *v, size_t vl);

/* The key prefixes of the store, each with its reader. */
static const struct {
	enum wn_key_kind kind;
	scan_fn fn;
	size_t count_at; /* index into check.counts */
} scan_table[] = {
    {WN_KEY_REQ, scan_req, 5},
    {WN_KEY_JOB, scan_job, 2},
    {WN_KEY_META, scan_meta, 6},
    {WN_KEY_PROJECT, scan_project, 0},
    {WN_KEY_SWEEP, scan_sweep, 3},
    {WN_KEY_TASK, scan_task, 1},
    {WN_KEY_WORKER, scan_worker, 4},
    {WN_KEY_ASIDE, scan_aside, 7},
    {WN_KEY_TOKEN, scan_token, 8},
    {WN_KEY_LOG, wn_check_scan_output, 9},
    {WN_KEY_HISTORY, wn_check_history, 10},
    {WN_KEY_BLOB, wn_check_scan_blob, 11},
};

void wn_check_record(struct check *k, const char *key, size_t kl, const char *val, size_t vl)
{
	char name[CHECK_NAME_MAX];
	wn_key_name(name, sizeof(name), key, kl);
	k->nkeys++;
	int kind = wn_key_kind(key, kl);
	size_t i = 0;
	while (i < WN_ARRAY_LEN(scan_table) && (int)scan_table[i].kind != kind)
		i++;
	if (i == WN_ARRAY_LEN(scan_table)) {
		wn_check_finding(k, name,
		                 "unknown key; left as it is (a newer wnd may have written it)");
		return;
	}
	if (kind != WN_KEY_META && kind != WN_KEY_ASIDE)
		k->has_data = true;
	k->counts[scan_table[i].count_at]++;
	scan_table[i].fn(k, name, key, kl, (const uint8_t *)val, vl);
}

bool wn_check_scan(struct check *k)
{
	if (!check_version(k))
		return false;
	const char *key, *val;
	size_t kl, vl;
	wn_store_iter *it = wn_store_iter_new(k->store, "", 0, NULL, 0); /* every key */
	while (wn_store_iter_next(it, &key, &kl, &val, &vl))
		wn_check_record(k, key, kl, val, vl);
	const char *err = wn_store_iter_error(it);
	if (err != NULL)
		k->read_error = wn_arena_strdup(k->arena, err);
	wn_store_iter_free(it);
	return err == NULL;
}

void wn_check_init(struct check *k, wn_store *store, FILE *out, const char *prefix, bool quiet)
{
	memset(k, 0, sizeof(*k));
	k->store = store;
	k->out = out;
	k->prefix = prefix;
	k->quiet = quiet;
	k->arena = wn_arena_new();
	k->projects = wn_map_new_str();
	k->tasks = wn_map_new_str();
	k->sweeps = wn_map_new_u64();
	k->workers = wn_map_new_str();
	k->fixmap = wn_map_new_str();
}

void wn_check_release(struct check *k)
{
	wn_map_free(k->projects);
	wn_map_free(k->tasks);
	wn_map_free(k->sweeps);
	wn_map_free(k->workers);
	wn_map_free(k->fixmap);
	free(k->jobs);
	free(k->deps);
	free(k->reqs);
	free(k->blobs);
	wn_arena_free(k->arena);
	memset(k, 0, sizeof(*k));
}
