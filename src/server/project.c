/* project: a project's state in memory: its dispatch classes (the ready jobs
 * of one task, or of one task within one sweep, in dispatch order), the jobs
 * waiting on dependencies, the counts of its jobs and sweeps by status, and
 * what a task needs of a worker. */
#include "project.h"

#include "engine_state.h"
#include "kit.h"

#include "log.h"
#include "metrics.h"
#include "watch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void wn_need_set(struct need *n, const Whatsnext__V1__Resources *r)
{
	wn_need_release(n);
	if (r == NULL)
		return;
	n->cpu = r->cpu;
	n->gpu = r->gpu;
	n->memory_mb = r->memory_mb;
	n->nlabels = r->n_labels;
	n->keys = wn_xcalloc(r->n_labels + 1, sizeof(char *));
	n->vals = wn_xcalloc(r->n_labels + 1, sizeof(char *));
	for (size_t i = 0; i < r->n_labels; i++) {
		n->keys[i] = wn_xstrdup(r->labels[i]->key);
		n->vals[i] = wn_xstrdup(r->labels[i]->value);
	}
}

void wn_need_release(struct need *n)
{
	for (size_t i = 0; i < n->nlabels; i++) {
		free(n->keys[i]);
		free(n->vals[i]);
	}
	free(n->keys);
	free(n->vals);
	memset(n, 0, sizeof(*n));
}

/* QKEY_MAX and queue_key: the key of a queue in its project's map, "TASK#SWEEP". */
#define QKEY_MAX (WN_NAME_MAX + 32)
static void queue_key(char key[QKEY_MAX], const struct task *t, uint64_t sweep)
{
	size_t n = wn_join(key, QKEY_MAX - 21, t->name, '#', "");
	wn_u64_text(key + n, sweep);
}

struct queue *wn_queue_of(struct project *p, struct task *t, struct sweep *s)
{
	char key[QKEY_MAX];
	queue_key(key, t, s ? s->id : 0);
	struct queue *q = wn_map_get_str(p->queues, key);
	if (q != NULL)
		return q;
	q = wn_xcalloc(1, sizeof(*q));
	q->task = t;
	q->sweep = s;
	q->ready = wn_index_new();
	wn_map_put_str(p->queues, key, q);
	p->qv = wn_xrealloc(p->qv, (p->nq + 1) * sizeof(*p->qv));
	p->qv[p->nq++] = q;
	return q;
}

bool wn_queue_capped(const struct queue *q)
{
	return q->sweep != NULL && q->sweep->max_running > 0 &&
	       q->sweep->counts[RUNNING] >= q->sweep->max_running;
}

/* queue_find returns the dispatch class of a job, or NULL if its task is gone. */
static struct queue *queue_find(struct call *c, struct project *p, const Job *j)
{
	struct task *t = wn_map_get_str(p->tasks, j->task);
	if (t == NULL)
		return NULL;
	struct sweep *s = j->sweep_id ? wn_engine_sweep(c->e, j->sweep_id) : NULL;
	return wn_queue_of(p, t, s);
}

void wn_queue_ready_add(struct call *c, struct project *p, const Job *j)
{
	if (j->held) /* not handed out: out of every class until released */
		return;
	struct queue *q = queue_find(c, p, j);
	if (q == NULL) {
		wn_error("job %llu names unknown task %s/%s", (unsigned long long)j->id, p->name,
		         j->task);
		return;
	}
	wn_index_insert(q->ready, j->priority, j->id);
	p->feed = true;
}

/* queue_drop frees dispatch class q of p, under key. */
static void queue_drop(struct project *p, const char *key, struct queue *q)
{
	wn_map_del_str(p->queues, key);
	wn_index_free(q->ready);
	for (size_t i = 0; i < p->nq; i++)
		if (p->qv[i] == q) {
			p->qv[i] = p->qv[--p->nq];
			break;
		}
	free(q);
}

void wn_queue_ready_del(struct project *p, const Job *j)
{
	struct task *t = wn_map_get_str(p->tasks, j->task);
	if (t == NULL)
		return;
	char key[QKEY_MAX];
	queue_key(key, t, j->sweep_id);
	struct queue *q = wn_map_get_str(p->queues, key);
	if (q == NULL)
		return;
	wn_index_remove(q->ready, j->priority, j->id);
	/* a sweep's class goes once its last ready job does (made again if
	 * one is ready again): every claim looks at each class of the
	 * project, and the sweeps of a long run of wnd would add up */
	if (q->sweep != NULL && wn_index_count(q->ready) == 0)
		queue_drop(p, key, q);
}

void wn_queue_count_move(struct call *c, struct project *p, const Job *j, int from, int to)
{
	struct sweep *s = j->sweep_id ? wn_engine_sweep(c->e, j->sweep_id) : NULL;
	if (from > 0 && from < WN_NSTATUS) {
		if (p->counts[from] > 0)
			p->counts[from]--;
		if (s != NULL && s->counts[from] > 0)
			s->counts[from]--;
	}
	if (to > 0 && to < WN_NSTATUS) {
		p->counts[to]++;
		if (s != NULL)
			s->counts[to]++;
	}
	/* a job that stops running frees its worker's capacity and maybe a
	 * capped sweep's turn: parked fetches may get a job now */
	if (from == RUNNING)
		p->feed = true;
	wn_watch_status(c, p->name, j, from, to);
	wn_metrics_job(c->e, p->name, j, from, to);
}

struct dwait *wn_dwait_get(wn_engine *e, uint64_t id)
{
	return wn_map_get_u64(e->proj.waiting, id);
}

struct dwait *wn_dwait_put(wn_engine *e, struct project *p, uint64_t id, uint32_t unmet,
                           uint32_t broken)
{
	struct dwait *w = wn_map_get_u64(e->proj.waiting, id);
	if (w == NULL) {
		w = wn_xcalloc(1, sizeof(*w));
		w->proj = p;
		wn_map_put_u64(e->proj.waiting, id, w);
		wn_map_put_u64(p->waiting, id, w);
	}
	w->unmet = unmet;
	w->broken = broken;
	return w;
}

bool wn_dwait_del(wn_engine *e, uint64_t id)
{
	struct dwait *w = wn_map_del_u64(e->proj.waiting, id);
	if (w == NULL)
		return false;
	wn_map_del_u64(w->proj->waiting, id);
	free(w);
	return true;
}

bool wn_job_is_ready(const struct project *p, const Job *j)
{
	return j->status == PENDING && !j->held && wn_map_get_u64(p->waiting, j->id) == NULL;
}

/* walk_rooms gives each class of w of a capped sweep its sweep's free
 * places, one count for all the classes of that sweep. */
static void walk_rooms(struct call *c, struct qwalk *w)
{
	for (size_t i = 0; i < w->n; i++)
		if (w->q[i]->sweep != NULL)
			w->q[i]->sweep->room = NULL;
	for (size_t i = 0; i < w->n; i++) {
		struct sweep *s = w->q[i]->sweep;
		w->room[i] = NULL;
		if (s == NULL || s->max_running == 0)
			continue;
		if (s->room == NULL) {
			s->room = wn_arena_alloc(c->arena, sizeof(*s->room));
			uint64_t run = s->counts[RUNNING];
			s->room->left = run < s->max_running ? s->max_running - run : 0;
			s->room->spare = s->room->left;
		}
		w->room[i] = s->room;
	}
}

void wn_qwalk_init(struct call *c, struct project *p, struct qwalk *w)
{
	w->n = p->nq;
	w->q = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->q));
	w->it = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->it));
	w->cur = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->cur));
	w->have = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->have));
	w->out = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->out));
	w->room = wn_arena_alloc(c->arena, (w->n + 1) * sizeof(*w->room));
	w->last = NULL;
	w->lasti = 0;
	w->last_out = false;
	for (size_t i = 0; i < w->n; i++) {
		w->q[i] = p->qv[i];
		w->out[i] = false;
		wn_index_iter_init(p->qv[i]->ready, &w->it[i]);
		w->have[i] = wn_index_iter_next(&w->it[i], &w->cur[i]);
	}
	walk_rooms(c, w);
}

bool wn_qwalk_next(struct qwalk *w, wn_index_entry *e)
{
	size_t best = w->n;
	for (size_t i = 0; i < w->n; i++)
		if (w->have[i] && (best == w->n || wn_index_before(&w->cur[i], &w->cur[best])))
			best = i;
	if (best == w->n)
		return false;
	*e = w->cur[best];
	w->last = w->q[best];
	w->lasti = best;
	w->last_out = w->out[best];
	if (!w->last_out && w->room[best] != NULL) {
		/* a capped sweep's jobs take its free places in dispatch order */
		if (w->room[best]->left == 0)
			w->last_out = true;
		else
			w->room[best]->left--;
	}
	w->have[best] = wn_index_iter_next(&w->it[best], &w->cur[best]);
	return true;
}

/* pending_add appends j to the *n jobs at *v (room for *cap, grown). */
static void pending_add(Job ***v, size_t *n, size_t *cap, Job *j)
{
	if (*n == *cap) {
		*cap *= 2;
		*v = wn_xrealloc(*v, *cap * sizeof(**v));
	}
	(*v)[(*n)++] = j;
}

int wn_project_pending_jobs(struct call *c, struct project *p, struct task *t, Job ***out,
                            size_t *nout)
{
	size_t cap = 64, n = 0;
	Job **v = wn_xmalloc(cap * sizeof(*v));
	int rv = WN_OK;
	for (size_t i = 0; rv == WN_OK && i < p->nq; i++) {
		struct queue *q = p->qv[i];
		if (t != NULL && q->task != t)
			continue;
		wn_index_iter it;
		wn_index_entry e;
		wn_index_iter_init(q->ready, &it);
		while (rv == WN_OK && wn_index_iter_next(&it, &e)) {
			Job *j = NULL;
			int got = wn_job_get(c, e.id, &j);
			if (got == WN_OK)
				pending_add(&v, &n, &cap, j);
			else if (got != WN_ENOTFOUND)
				rv = WN_EUNAVAIL; /* a job in line, not known to be gone */
		}
	}
	/* then those that wait on dependencies, and the held ones that do not */
	for (int pass = 0; rv == WN_OK && pass < 2; pass++) {
		size_t pos = 0;
		uint64_t id;
		const char *sk;
		void *val;
		wn_map *m = pass == 0 ? p->waiting : p->held;
		while (rv == WN_OK && wn_map_next(m, &pos, &id, &sk, &val)) {
			Job *j = NULL;
			int got = wn_job_get(c, id, &j);
			if (got != WN_OK && got != WN_ENOTFOUND)
				rv = WN_EUNAVAIL;
			if (j == NULL || j->status != PENDING ||
			    (t != NULL && strcmp(j->task, t->name) != 0) ||
			    (pass == 1 && wn_map_get_u64(p->waiting, id) != NULL))
				continue;
			pending_add(&v, &n, &cap, j);
		}
	}
	*out = v;
	*nout = n;
	/* a job in line that cannot be read would be left out */
	return rv == WN_OK ? WN_OK : wn_call_fail(c, rv, WN_STORE_UNREADABLE);
}

bool wn_qwalk_out(const struct qwalk *w)
{
	return w->last_out;
}

bool wn_project_job_at(struct qwalk *w, uint64_t pos, wn_index_entry *e)
{
	uint64_t i = 0;
	while (wn_qwalk_next(w, e)) {
		if (wn_qwalk_out(w))
			continue;
		if (i++ == pos)
			return true;
	}
	return false;
}

/* ------------------------------------------------ projects, tasks, sweeps */

struct project *wn_engine_project(struct call *c, const char *name, int *err)
{
	/* a name in the map was checked when it was made */
	struct project *found = name != NULL ? wn_map_get_str(c->e->proj.byname, name) : NULL;
	if (found != NULL)
		return found;
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*err = wn_call_fail(c, WN_EINVAL, "invalid project name \"%.140s\": %s",
		                    name ? name : "", why);
		return NULL;
	}
	struct project *p = wn_map_get_str(c->e->proj.byname, name);
	if (p == NULL)
		*err = wn_call_fail(c, WN_ENOTFOUND, "project \"%s\" not found", name ? name : "");
	return p;
}

struct task *wn_engine_task(struct call *c, struct project *p, const char *name, int *err)
{
	struct task *found = name != NULL ? wn_map_get_str(p->tasks, name) : NULL;
	if (found != NULL)
		return found;
	const char *why = wn_name_check(name);
	if (why != NULL) {
		*err = wn_call_fail(c, WN_EINVAL, "invalid task name \"%.140s\": %s",
		                    name ? name : "", why);
		return NULL;
	}
	struct task *t = wn_map_get_str(p->tasks, name);
	if (t == NULL)
		*err = wn_call_fail(c, WN_ENOTFOUND, "task \"%s\" not found in project \"%s\"",
		                    name, p->name);
	return t;
}

struct project *wn_engine_project_new(wn_engine *e, const char *name, bool archived)
{
	struct project *p = wn_xcalloc(1, sizeof(*p));
	p->name = wn_xstrdup(name);
	p->archived = archived;
	p->tasks = wn_map_new_str();
	p->queues = wn_map_new_str();
	p->waiting = wn_map_new_u64();
	p->held = wn_map_new_u64();
	wn_map_put_str(e->proj.byname, name, p);
	return p;
}

struct task *wn_engine_task_new(struct project *p, const Task *t)
{
	struct task *k = wn_xcalloc(1, sizeof(*k));
	k->name = wn_xstrdup(t->name);
	k->max_attempts = t->max_attempts;
	k->retries = t->retries;
	wn_need_set(&k->need, t->resources);
	k->proj = p;
	wn_map_put_str(p->tasks, t->name, k);
	return k;
}

void wn_engine_task_drop(struct project *p, struct task *t)
{
	for (size_t i = 0; i < p->nq;) {
		struct queue *q = p->qv[i];
		if (q->task != t) {
			i++;
			continue;
		}
		char key[QKEY_MAX];
		queue_key(key, t, q->sweep ? q->sweep->id : 0);
		queue_drop(p, key, q); /* the last class comes to i */
	}
	wn_map_del_str(p->tasks, t->name);
	wn_need_release(&t->need);
	free(t->name);
	free(t);
}

struct sweep *wn_engine_sweep_new(wn_engine *e, struct project *p, const Whatsnext__V1__Sweep *s)
{
	struct sweep *w = wn_xcalloc(1, sizeof(*w));
	w->id = s->id;
	w->proj = p;
	w->name = wn_xstrdup(s->name);
	w->max_running = s->max_running;
	w->total = s->total;
	w->created_ms = s->created_ms;
	wn_map_put_u64(e->proj.sweeps, w->id, w);
	return w;
}

struct sweep *wn_engine_sweep(wn_engine *e, uint64_t id)
{
	return wn_map_get_u64(e->proj.sweeps, id);
}

struct project *wn_project_get(wn_engine *e, const char *name)
{
	return wn_map_get_str(e->proj.byname, name);
}

size_t wn_project_count(wn_engine *e)
{
	return wn_map_count(e->proj.byname);
}

struct project *wn_job_project(struct call *c, const Job *j)
{
	return wn_map_get_str(c->e->proj.byname, j->project);
}

/* project_free frees an in-memory project and what hangs off it. */
static void project_free(wn_engine *e, struct project *p)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(p->tasks, &pos, &uk, &sk, &val)) {
		/* wn_engine_task_drop changes the map: restart the walk */
		wn_engine_task_drop(p, val);
		pos = 0;
	}
	pos = 0;
	while (wn_map_next(p->waiting, &pos, &uk, &sk, &val)) {
		wn_map_del_u64(e->proj.waiting, uk);
		free(val);
	}
	pos = 0;
	while (wn_map_next(e->proj.sweeps, &pos, &uk, &sk, &val)) {
		struct sweep *w = val;
		if (w->proj == p) {
			wn_map_del_u64(e->proj.sweeps, w->id);
			free(w->name);
			free(w);
			pos = 0;
		}
	}
	wn_map_free(p->tasks);
	wn_map_free(p->queues);
	wn_map_free(p->waiting);
	wn_map_free(p->held);
	free(p->qv);
	free(p->name);
	free(p);
}

void wn_engine_project_drop(struct call *c, struct project *p)
{
	wn_map_del_str(c->e->proj.byname, p->name);
	project_free(c->e, p);
}

void wn_projects_init(wn_engine *e)
{
	e->proj.byname = wn_map_new_str();
	e->proj.sweeps = wn_map_new_u64();
	e->proj.waiting = wn_map_new_u64();
}

void wn_projects_free(wn_engine *e)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->proj.byname, &pos, &uk, &sk, &val)) {
		wn_map_del_str(e->proj.byname, ((struct project *)val)->name);
		project_free(e, val);
		pos = 0;
	}
	wn_map_free(e->proj.waiting);
	wn_map_free(e->proj.sweeps);
	wn_map_free(e->proj.byname);
}
