/* wn_check_rules: the invariants between records (check.h), applied once every
 * key has been read: references, counts, leases, dependencies, request ids
 * and m/next_id. */
#include "check_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define AFTERNOTOK WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK

/* An entry of a map, for walking it in a fixed order. */
struct kv {
	uint64_t u;
	const char *s;
	void *v;
};

static int kv_cmp(const void *a, const void *b)
{
	const struct kv *x = a, *y = b;
	if (x->s != NULL)
		return strcmp(x->s, y->s);
	return x->u < y->u ? -1 : x->u > y->u;
}

/* sorted returns the entries of m in key order (allocated from the arena). */
static struct kv *sorted(struct check *k, wn_map *m, size_t *n)
{
	*n = wn_map_count(m);
	struct kv *v = wn_arena_alloc(k->arena, (*n + 1) * sizeof(*v));
	size_t pos = 0, i = 0;
	while (wn_map_next(m, &pos, &v[i].u, &v[i].s, &v[i].v))
		i++;
	qsort(v, *n, sizeof(*v), kv_cmp);
	return v;
}

static bool name_ok(const char *s)
{
	return wn_name_check(s) == NULL;
}

static void rule_meta(struct check *k)
{
	if (!k->have_version && k->has_data) {
		wn_check_finding(k, WN_KEY_VERSION, "missing");
		char v[16];
		snprintf(v, sizeof(v), "%d", WN_STORE_VERSION);
		wn_check_plan_meta(k, WN_KEY_VERSION, v);
	}
	char want[32];
	snprintf(want, sizeof(want), "%llu", (unsigned long long)k->maxid + 1);
	if (k->maxid == UINT64_MAX) {
		/* no bound is above it: wnd refuses every submit */
		wn_check_finding(k, WN_KEY_NEXT_ID,
		                 "%s holds id %llu, the last: no id is left for a new job; not "
		                 "repairable",
		                 k->maxwhere, (unsigned long long)k->maxid);
	} else if (!k->have_next) {
		if (k->maxid > 0) {
			wn_check_finding(k, WN_KEY_NEXT_ID, "missing, while %s holds id %llu",
			                 k->maxwhere, (unsigned long long)k->maxid);
			wn_check_plan_meta(k, WN_KEY_NEXT_ID, want);
		}
	} else if (!k->next_ok) {
		wn_check_finding(k, WN_KEY_NEXT_ID, "not a decimal number");
		wn_check_plan_meta(k, WN_KEY_NEXT_ID, want);
	} else if (k->next_id <= k->maxid) {
		wn_check_finding(k, WN_KEY_NEXT_ID,
		                 "%llu is not above id %llu (%s): a new job could take an id "
		                 "already used",
		                 (unsigned long long)k->next_id, (unsigned long long)k->maxid,
		                 k->maxwhere);
		wn_check_plan_meta(k, WN_KEY_NEXT_ID, want);
	}
}

static void rule_tasks(struct check *k)
{
	size_t n;
	struct kv *v = sorted(k, k->tasks, &n);
	for (size_t i = 0; i < n; i++) {
		struct ctask *t = v[i].v;
		if (!t->exists || t->proj->exists)
			continue;
		char key[WN_KEY_MAX];
		size_t kl = wn_key_task(key, t->proj->name, t->name);
		wn_check_finding(k, key, "project \"%s\" does not exist", t->proj->name);
		/* a project its jobs name is recreated for them (rule_job_refs) */
		if (t->proj->njobs == 0)
			wn_check_plan_del(k, key, kl, "its project is gone and no job names it");
	}
}

/* sweep_end is the last job id sweep s covers (as it will be repaired). */
static uint64_t sweep_end(const struct csweep *s)
{
	if (s->exists && s->readable && s->total > 0)
		return s->id + s->total - 1;
	return s->last_job > s->id ? s->last_job : s->id;
}

static void counts_text(char *buf, size_t cap, const uint64_t *c)
{
	snprintf(buf, cap,
	         "pending %llu, running %llu, completed %llu, failed %llu, blocked %llu, "
	         "cancelled %llu",
	         (unsigned long long)c[PENDING], (unsigned long long)c[RUNNING],
	         (unsigned long long)c[COMPLETED], (unsigned long long)c[FAILED],
	         (unsigned long long)c[BLOCKED], (unsigned long long)c[CANCELLED]);
}

static void rule_sweeps(struct check *k)
{
	size_t n;
	struct kv *v = sorted(k, k->sweeps, &n);
	for (size_t i = 0; i < n; i++) {
		struct csweep *s = v[i].v;
		char key[WN_KEY_MAX], name[32];
		size_t kl = wn_key_sweep(key, s->id);
		wn_key_id_name(name, sizeof(name), WN_KEY_SWEEP, s->id);
		uint64_t span = sweep_end(s) - s->id + 1;
		if (!s->exists || !s->readable) {
			/* an unreadable record was reported when read */
			if (!s->exists)
				wn_check_finding(
				    k, name, "missing, while %llu job(s) name sweep %llu",
				    (unsigned long long)s->njobs, (unsigned long long)s->id);
			if (s->njobs == 0)
				wn_check_plan_del(k, key, kl, "unreadable, and no job names it");
			else
				wn_check_plan_sweep(k, s->id, s->jobs_project, span);
			continue;
		}
		struct cproj *p = wn_map_get_str(k->projects, s->project);
		if (p == NULL || !p->exists) {
			wn_check_finding(k, name, "project \"%.140s\" does not exist", s->project);
			if (s->njobs == 0)
				wn_check_plan_del(k, key, kl,
				                  "its project is gone and no job names it");
		}
		if (s->total == 0) {
			wn_check_finding(k, name, "its size (total) is 0");
			wn_check_plan_sweep(k, s->id, NULL, span);
		}
		if (s->has_stored && memcmp(s->stored, s->counts, sizeof(s->counts)) != 0) {
			char a[256], b[256];
			counts_text(a, sizeof(a), s->stored);
			counts_text(b, sizeof(b), s->counts);
			wn_check_finding(
			    k, name, "record holds counts (%s), its jobs' records say %s", a, b);
			wn_check_plan_sweep(k, s->id, NULL, 0);
		}
	}
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void rule_workers(struct check *k)
{
	size_t n;
	struct kv *v = sorted(k, k->workers, &n);
	for (size_t i = 0; i < n; i++) {
		struct cworker *w = v[i].v;
		if (!w->exists || !w->has_stored)
			continue;
		qsort(w->stored, w->nstored, sizeof(uint64_t), u64_cmp);
		if (w->nstored == w->nheld &&
		    (w->nheld == 0 || memcmp(w->stored, w->held, w->nheld * sizeof(uint64_t)) == 0))
			continue;
		char key[WN_KEY_MAX];
		size_t kl = wn_key_worker(key, w->name);
		wn_check_finding(k, key,
		                 "record lists %zu held job(s), while %zu RUNNING job(s) name it",
		                 w->nstored, w->nheld);
		wn_check_plan(k, FIX_WORKER, key, kl);
	}
}

/* job_sweep: the sweep j names exists, is of j's project and covers j's id. */
static void job_sweep(struct check *k, struct cjob *j, const char *name)
{
	struct csweep *s = wn_map_get_u64(k->sweeps, j->sweep);
	bool recreated = !s->exists || !s->readable;
	const char *sp = recreated ? s->jobs_project : s->project;
	const char *proj = j->task->proj->name;
	if (strcmp(sp, proj) != 0) {
		wn_check_finding(k, name, "names sweep %llu of project \"%.140s\"",
		                 (unsigned long long)s->id, sp);
		wn_check_plan_job(k, j, JF_SWEEP, NULL);
	} else if (j->id < s->id || j->id > sweep_end(s)) {
		wn_check_finding(k, name, "names sweep %llu, whose jobs are %llu to %llu",
		                 (unsigned long long)s->id, (unsigned long long)s->id,
		                 (unsigned long long)sweep_end(s));
		wn_check_plan_job(k, j, JF_SWEEP, NULL);
	}
}

/* dep_seen tells whether dependency i of j names the same job as an earlier one. */
static bool dep_seen(struct check *k, const struct cjob *j, uint32_t i, wn_map **seen)
{
	const struct cdep *d = &k->deps[j->dep0 + i];
	if (j->ndeps <= 32) {
		for (uint32_t q = 0; q < i; q++)
			if (k->deps[j->dep0 + q].id == d->id)
				return true;
		return false;
	}
	if (*seen == NULL)
		*seen = wn_map_new_u64();
	if (wn_map_get_u64(*seen, d->id) != NULL)
		return true;
	wn_map_put_u64(*seen, d->id, (void *)1);
	return false;
}

/* job_deps: each dependency of j names another job, once, with a known
 * condition, of j's project (if it is still there). */
static void job_deps(struct check *k, struct cjob *j, const char *name)
{
	wn_map *seen = NULL;
	bool any = false, block = false;
	for (uint32_t i = 0; i < j->ndeps; i++) {
		struct cdep *d = &k->deps[j->dep0 + i];
		unsigned long long id = (unsigned long long)d->id;
		struct cjob *y = wn_check_job(k, d->id);
		d->bad = 1;
		if (d->id == j->id) {
			wn_check_finding(k, name, "depends on itself");
		} else if (dep_seen(k, j, i, &seen)) {
			wn_check_finding(k, name, "names dependency job %llu twice", id);
			d->bad = 2;
		} else if (d->cond > AFTERNOTOK) {
			wn_check_finding(k, name, "dependency on job %llu has unknown condition %u",
			                 id, d->cond);
		} else if (y != NULL && y->task != NULL && y->task->proj != j->task->proj) {
			wn_check_finding(k, name, "depends on job %llu of project \"%.140s\"", id,
			                 y->task->proj->name);
		} else {
			d->bad = 0;
		}
		any |= d->bad != 0;
		block |= d->bad == 1; /* a repeated one changes nothing when dropped */
	}
	wn_map_free(seen);
	if (any)
		wn_check_plan_job(k, j, JF_DEPS | (block && j->status == PENDING ? JF_BLOCK : 0),
		                  "a dependency that could not be valid was dropped by wnd --check "
		                  "--repair; retry the job to run it");
}

/* rule_job_refs: what one job's record names exists and holds. */
static void rule_job_refs(struct check *k, struct cjob *j)
{
	char name[32];
	wn_key_id_name(name, sizeof(name), WN_KEY_JOB, j->id);
	if (j->flags & CJ_BADID) {
		wn_check_finding(k, name, "record holds another id than its key");
		wn_check_plan_job(k, j, JF_ID, NULL);
	}
	if (j->status == 0 || j->status >= WN_NSTATUS) {
		wn_check_finding(k, name, "unknown job status %u", j->status);
		wn_check_plan_job(k, j, JF_STATUS, NULL);
		j->plan = FAILED;
	}
	struct cproj *p = j->task->proj;
	if (!p->exists) {
		wn_check_finding(k, name, "project \"%.140s\" does not exist", p->name);
		if (name_ok(p->name))
			wn_check_plan_project(k, p->name);
	}
	if (!j->task->exists) {
		wn_check_finding(k, name, "task \"%.140s\" does not exist in project \"%.140s\"",
		                 j->task->name, p->name);
		if (name_ok(p->name) && name_ok(j->task->name))
			wn_check_plan_task(k, p->name, j->task->name);
	}
	if (j->sweep != 0)
		job_sweep(k, j, name);
	if (j->status == RUNNING && (j->worker == NULL || j->attempt == 0)) {
		wn_check_finding(k, name, "RUNNING, but %s",
		                 j->worker == NULL ? "no worker holds it" : "its attempt is 0");
		wn_check_plan_job(k, j, JF_LEASE, NULL);
		j->plan = PENDING;
	}
	if (j->ndeps > 0)
		job_deps(k, j, name);
}

/* rule_job_ready: a PENDING job has no dependency that can no longer hold
 * (else it must be BLOCKED: wnd would keep it waiting for ever). */
static void rule_job_ready(struct check *k, struct cjob *j)
{
	if (j->status != PENDING || j->plan != PENDING)
		return;
	for (uint32_t i = 0; i < j->ndeps; i++) {
		const struct cdep *d = &k->deps[j->dep0 + i];
		struct cjob *y = wn_check_job(k, d->id);
		if (d->bad || (y != NULL && (y->flags & CJ_CORRUPT)))
			continue;
		/* an unknown status is judged as the FAILED the repair makes it */
		int st = y == NULL ? 0 : y->status < WN_NSTATUS ? y->status : y->plan;
		if (wn_deps_edge_state((int)d->cond, st) != EDGE_BROKEN)
			continue;
		char *why = y != NULL
		                ? wn_arena_printf(k->arena, "dependency job %llu is %s (%s)",
		                                  (unsigned long long)d->id, wn_status_name(st),
		                                  wn_deps_cond_name((int)d->cond))
		                : wn_arena_printf(k->arena, "dependency job %llu was removed",
		                                  (unsigned long long)d->id);
		char name[32];
		wn_key_id_name(name, sizeof(name), WN_KEY_JOB, j->id);
		wn_check_finding(
		    k, name, "PENDING, but %s: it can never run (it should be BLOCKED)",
		    y != NULL && y->status >= WN_NSTATUS
		        ? wn_arena_printf(k->arena, "dependency job %llu has an unknown status",
		                          (unsigned long long)d->id)
		        : why);
		wn_check_plan_job(k, j, JF_BLOCK, why);
		return;
	}
}

/* Reverse edges of the valid dependencies: rev[start[i] .. start[i+1]) are
 * the jobs (indexes) that depend on job i. */
struct redge_index {
	size_t *start;
	size_t *rev;
	uint32_t *cond;
};

static void redges_build(struct check *k, struct redge_index *r)
{
	r->start = wn_xcalloc(k->njobs + 2, sizeof(size_t));
	size_t *fill = wn_xcalloc(k->njobs + 1, sizeof(size_t));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < k->njobs; i++) {
			const struct cjob *j = &k->jobs[i];
			for (uint32_t q = 0; q < j->ndeps; q++) {
				const struct cdep *d = &k->deps[j->dep0 + q];
				struct cjob *y = d->bad ? NULL : wn_check_job(k, d->id);
				if (y == NULL)
					continue;
				size_t yi = (size_t)(y - k->jobs);
				if (pass == 0) {
					r->start[yi + 1]++;
				} else {
					r->rev[r->start[yi] + fill[yi]] = i;
					r->cond[r->start[yi] + fill[yi]++] = d->cond;
				}
			}
		}
		if (pass == 0) {
			for (size_t i = 0; i < k->njobs; i++)
				r->start[i + 1] += r->start[i];
			r->rev = wn_xmalloc((r->start[k->njobs] + 1) * sizeof(size_t));
			r->cond = wn_xmalloc((r->start[k->njobs] + 1) * sizeof(uint32_t));
		}
	}
	free(fill);
}

static void redges_free(struct redge_index *r)
{
	free(r->start);
	free(r->rev);
	free(r->cond);
}

static bool waits(const struct cjob *j)
{
	return j->status == PENDING && j->plan == PENDING;
}

/* rule_cycles: PENDING jobs that wait, directly or not, on a dependency
 * cycle of PENDING jobs can never run (Kahn's algorithm over them: what is
 * left is on a cycle or behind one). */
static void rule_cycles(struct check *k, const struct redge_index *r)
{
	uint32_t *indeg = wn_xcalloc(k->njobs + 1, sizeof(uint32_t));
	size_t *todo = wn_xmalloc((k->njobs + 1) * sizeof(size_t));
	size_t head = 0, tail = 0;
	for (size_t y = 0; y < k->njobs; y++)
		for (size_t e = r->start[y]; e < r->start[y + 1]; e++)
			indeg[r->rev[e]] += waits(&k->jobs[y]) && waits(&k->jobs[r->rev[e]]);
	for (size_t i = 0; i < k->njobs; i++)
		if (indeg[i] == 0)
			todo[tail++] = i;
	while (head < tail) {
		size_t y = todo[head++];
		if (!waits(&k->jobs[y]))
			continue;
		for (size_t e = r->start[y]; e < r->start[y + 1]; e++)
			if (waits(&k->jobs[r->rev[e]]) && --indeg[r->rev[e]] == 0)
				todo[tail++] = r->rev[e];
	}
	for (size_t i = 0; i < k->njobs; i++) {
		if (indeg[i] == 0 || !waits(&k->jobs[i]))
			continue;
		char name[32];
		wn_key_id_name(name, sizeof(name), WN_KEY_JOB, k->jobs[i].id);
		wn_check_finding(k, name,
		                 "PENDING, and waits on a dependency cycle: it can never run (it "
		                 "should be BLOCKED)");
		wn_check_plan_job(k, &k->jobs[i], JF_BLOCK, "waits on a dependency cycle");
	}
	free(indeg);
	free(todo);
}

/* plan_propagate blocks, as wnd would, the PENDING jobs whose condition a job
 * the repair makes BLOCKED breaks (afterok), transitively. These are not findings: their
 * records are right until the repair changes their dependencies. */
static void plan_propagate(struct check *k, const struct redge_index *r)
{
	size_t *todo = wn_xmalloc((k->njobs + 1) * sizeof(size_t));
	size_t n = 0;
	for (size_t i = 0; i < k->njobs; i++)
		if (k->jobs[i].status == PENDING && k->jobs[i].plan == BLOCKED)
			todo[n++] = i;
	while (n > 0) {
		size_t y = todo[--n];
		for (size_t e = r->start[y]; e < r->start[y + 1]; e++) {
			struct cjob *j = &k->jobs[r->rev[e]];
			if (!waits(j) ||
			    wn_deps_edge_state((int)r->cond[e], BLOCKED) != EDGE_BROKEN)
				continue;
			wn_check_plan_job(k, j, JF_BLOCK,
			                  wn_arena_printf(k->arena,
			                                  "dependency job %llu is BLOCKED (%s)",
			                                  (unsigned long long)k->jobs[y].id,
			                                  wn_deps_cond_name((int)r->cond[e])));
			todo[n++] = r->rev[e];
		}
	}
	free(todo);
}

static void rule_jobs(struct check *k)
{
	for (size_t i = 0; i < k->njobs; i++)
		if (!(k->jobs[i].flags & CJ_CORRUPT))
			rule_job_refs(k, &k->jobs[i]);
	for (size_t i = 0; i < k->njobs; i++)
		if (!(k->jobs[i].flags & CJ_CORRUPT))
			rule_job_ready(k, &k->jobs[i]);
	struct redge_index r;
	redges_build(k, &r);
	rule_cycles(k, &r);
	plan_propagate(k, &r);
	redges_free(&r);
}

static void rule_reqs(struct check *k)
{
	for (size_t i = 0; i < k->nreqs; i++) {
		const struct creq *q = &k->reqs[i];
		struct cjob *j = q->kind == CREQ_SUBMIT ? wn_check_job(k, q->job) : NULL;
		if (j == NULL || (j->flags & CJ_CORRUPT) || j->reqid != q->reqid)
			continue;
		char key[WN_KEY_MAX], name[32];
		size_t kl = wn_key_req(key, q->reqid);
		wn_key_id_name(name, sizeof(name), WN_KEY_REQ, q->reqid);
		wn_check_finding(
		    k, name,
		    "keeps the reply to the Submit of job %llu as removed, but the job "
		    "is there",
		    (unsigned long long)q->job);
		wn_check_plan_del(k, key, kl, "the job's own record answers a resent Submit");
	}
}

void wn_check_pass(struct check *k)
{
	if (wn_check_scan(k))
		wn_check_rules(k);
}

void wn_check_rules(struct check *k)
{
	rule_meta(k);
	rule_tasks(k);
	rule_sweeps(k);
	rule_workers(k);
	rule_jobs(k);
	rule_reqs(k);
	wn_check_rule_blob(k);
}
