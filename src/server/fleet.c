/* fleet: the workers that joined, what each offers and holds, their
 * heartbeats, LOST detection and draining. Jobs go only to a worker whose
 * free capacity and labels fit their task's requirements. */
#include "fleet.h"

#include "clock.h"
#include "engine_state.h"

#include "envelope.h"
#include "log.h"
#include "pbcheck.h"

#include <assert.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WORKER_STATE_ACTIVE WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE
#define WORKER_STATE_LOST   WHATSNEXT__V1__WORKER_STATE__WORKER_LOST
#define WORKER_STATE_GONE   WHATSNEXT__V1__WORKER_STATE__WORKER_GONE

/* How stale a worker's stored last-seen time may grow before it is written. */
#define FLEET_SEEN_SAVE_MS 60000

void wn_fleet_init(wn_engine *e)
{
	e->fleet.workers = wn_map_new_str();
}

struct wrk *wn_fleet_get(wn_engine *e, const char *name)
{
	return name ? wn_map_get_str(e->fleet.workers, name) : NULL;
}

/* fleet_label returns worker w's value of label key, or NULL. */
static const char *fleet_label(const struct wrk *w, const char *key)
{
	const Whatsnext__V1__Capacity *cap = w->rec->capacity;
	for (size_t i = 0; cap != NULL && i < cap->n_labels; i++)
		if (strcmp(cap->labels[i]->key, key) == 0)
			return cap->labels[i]->value;
	return NULL;
}

/* fleet_could tells whether w could ever run a job needing n (ignoring what
 * it holds now); *why gets the first shortfall. */
static bool fleet_could(const struct wrk *w, const struct need *n, char *why, size_t len)
{
	const Whatsnext__V1__Capacity *cap = w->rec->capacity;
	uint32_t cpu = cap ? cap->cpu : 0, gpu = cap ? (uint32_t)cap->n_gpus : 0;
	uint64_t mem = cap ? cap->memory_mb : 0;
	if (n->gpu > gpu)
		return snprintf(why, len, "needs %u gpu", n->gpu), false;
	if (n->cpu > cpu)
		return snprintf(why, len, "needs %u cpu", n->cpu), false;
	if (n->memory_mb > mem)
		return snprintf(why, len, "needs %llu MB of memory",
		                (unsigned long long)n->memory_mb),
		       false;
	for (size_t i = 0; i < n->nlabels; i++) {
		const char *v = fleet_label(w, n->keys[i]);
		if (v == NULL || strcmp(v, n->vals[i]) != 0)
			return snprintf(why, len, "needs label %s=%s", n->keys[i], n->vals[i]),
			       false;
	}
	return true;
}

bool wn_fleet_fits(const struct wrk *w, const struct need *n)
{
	const Whatsnext__V1__Capacity *cap = w->rec->capacity;
	uint32_t cpu = cap ? cap->cpu : 0, gpu = cap ? (uint32_t)cap->n_gpus : 0;
	uint64_t mem = cap ? cap->memory_mb : 0;
	char why[8];
	/* what it uses may exceed what it has (a task's needs grew while it
	 * ran, the worker joined again smaller): nothing is free then */
	return fleet_could(w, n, why, sizeof(why)) &&
	       (n->cpu == 0 || (uint64_t)w->used_cpu + n->cpu <= cpu) &&
	       (n->gpu == 0 || (uint64_t)w->used_gpu + n->gpu <= gpu) &&
	       (n->memory_mb == 0 || (w->used_mem <= mem && n->memory_mb <= mem - w->used_mem));
}

/* fleet_use adds what n needs to what w uses, at most the largest count (a
 * sum that wrapped would free what is held). */
static void fleet_use(struct wrk *w, const struct need *n)
{
	w->used_cpu = n->cpu > UINT32_MAX - w->used_cpu ? UINT32_MAX : w->used_cpu + n->cpu;
	w->used_gpu = n->gpu > UINT32_MAX - w->used_gpu ? UINT32_MAX : w->used_gpu + n->gpu;
	w->used_mem =
	    n->memory_mb > UINT64_MAX - w->used_mem ? UINT64_MAX : w->used_mem + n->memory_mb;
}

/* fleet_names_have tells whether a worker's list names name (an empty list
 * names everything). */
static bool fleet_names_have(char **v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(v[i], name) == 0)
			return true;
	return n == 0;
}

/* What the workers that take jobs (ACTIVE, not draining) make of a job of
 * one task: how many there are, serve its project, run its task, could run
 * it, have room for it now; the largest of those that run the task, and the
 * shortfall of the last one that could not. */
struct fleet_scan {
	size_t avail, serve, run, could, room;
	uint32_t max_gpu, max_cpu;
	uint64_t max_mem;
	char why[256];
};

static void fleet_scan(struct call *c, const struct project *p, const struct task *t,
                       struct fleet_scan *f)
{
	memset(f, 0, sizeof(*f));
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->fleet.workers, &pos, &uk, &sk, &val)) {
		struct wrk *w = val;
		if (w->rec->state != WORKER_STATE_ACTIVE || w->rec->draining)
			continue;
		f->avail++;
		if (!fleet_names_have(w->rec->projects, w->rec->n_projects, p->name))
			continue;
		f->serve++;
		if (!fleet_names_have(w->rec->tasks, w->rec->n_tasks, t->name))
			continue;
		f->run++;
		const Whatsnext__V1__Capacity *cap = w->rec->capacity;
		if (cap != NULL) {
			f->max_gpu = cap->n_gpus > f->max_gpu ? (uint32_t)cap->n_gpus : f->max_gpu;
			f->max_cpu = cap->cpu > f->max_cpu ? cap->cpu : f->max_cpu;
			f->max_mem = cap->memory_mb > f->max_mem ? cap->memory_mb : f->max_mem;
		}
		if (!fleet_could(w, &t->need, f->why, sizeof(f->why)))
			continue;
		f->could++;
		f->room += wn_fleet_fits(w, &t->need) &&
		           (w->rec->slots == 0 || wn_map_count(w->jobs) < w->rec->slots);
	}
}

const char *wn_fleet_never(struct call *c, const struct project *p, const struct task *t)
{
	struct fleet_scan f;
	fleet_scan(c, p, t, &f);
	if (f.avail == 0 || f.could > 0)
		return NULL;
	const struct need *n = &t->need;
	if (f.serve == 0)
		return wn_arena_printf(c->arena, "no active worker serves project %s", p->name);
	if (f.run == 0)
		return wn_arena_printf(c->arena, "no active worker runs task %s", t->name);
	if (n->gpu > f.max_gpu)
		return wn_arena_printf(c->arena, "needs %u gpu; largest worker offers %u", n->gpu,
		                       f.max_gpu);
	if (n->cpu > f.max_cpu)
		return wn_arena_printf(c->arena, "needs %u cpu; largest worker offers %u", n->cpu,
		                       f.max_cpu);
	if (n->memory_mb > f.max_mem)
		return wn_arena_printf(c->arena, "needs %llu MB; largest worker offers %llu MB",
		                       (unsigned long long)n->memory_mb,
		                       (unsigned long long)f.max_mem);
	return wn_arena_printf(c->arena, "no active worker can run it (%s)", f.why);
}

bool wn_fleet_busy(struct call *c, const struct project *p, const struct task *t)
{
	struct fleet_scan f;
	fleet_scan(c, p, t, &f);
	return f.could > 0 && f.room == 0;
}

void wn_fleet_hold(wn_engine *e, const char *name, uint64_t job, const struct need *n)
{
	struct wrk *w = wn_fleet_get(e, name);
	if (w == NULL || wn_map_get_u64(w->jobs, job) != NULL)
		return;
	wn_map_put_u64(w->jobs, job, (void *)1);
	fleet_use(w, n);
}

void wn_fleet_drop(wn_engine *e, const char *name, uint64_t job, const struct need *n)
{
	struct wrk *w = wn_fleet_get(e, name);
	if (w == NULL || wn_map_del_u64(w->jobs, job) == NULL)
		return;
	w->used_cpu -= n->cpu <= w->used_cpu ? n->cpu : w->used_cpu;
	w->used_gpu -= n->gpu <= w->used_gpu ? n->gpu : w->used_gpu;
	w->used_mem -= n->memory_mb <= w->used_mem ? n->memory_mb : w->used_mem;
}

void wn_fleet_retask(struct call *c, const struct project *p, const struct task *t,
                     const struct need *was)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->fleet.workers, &pos, &uk, &sk, &val)) {
		struct wrk *w = val;
		size_t jp = 0;
		uint64_t id;
		void *one;
		while (wn_map_next(w->jobs, &jp, &id, &sk, &one)) {
			Job *j = wn_job_find(c, id);
			if (j == NULL || strcmp(j->project, p->name) != 0 ||
			    strcmp(j->task, t->name) != 0)
				continue;
			w->used_cpu -= was->cpu <= w->used_cpu ? was->cpu : w->used_cpu;
			w->used_gpu -= was->gpu <= w->used_gpu ? was->gpu : w->used_gpu;
			w->used_mem -= was->memory_mb <= w->used_mem ? was->memory_mb : w->used_mem;
			fleet_use(w, &t->need);
		}
	}
}

struct wrk *wn_fleet_add(wn_engine *e, Whatsnext__V1__Worker *rec)
{
	struct wrk *w = wn_xcalloc(1, sizeof(*w));
	w->rec = rec;
	w->jobs = wn_map_new_u64();
	wn_map_put_str(e->fleet.workers, rec->name, w);
	return w;
}

static void fleet_wrk_free(struct wrk *w)
{
	whatsnext__v1__worker__free_unpacked(w->rec, NULL);
	wn_map_free(w->jobs);
	free(w);
}

struct fleet_loader {
	wn_engine *e;
	int64_t mono;
	char **errmsg;
	int rv;
};

/* fleet_load_one adds the worker of one stored record. */
static bool fleet_load_one(void *arg, const char *k, size_t kl, const char *v, size_t vl)
{
	struct fleet_loader *l = arg;
	Whatsnext__V1__Worker *rec = whatsnext__v1__worker__unpack(NULL, vl, (const uint8_t *)v);
	if (rec == NULL) {
		*l->errmsg = wn_xasprintf("corrupt worker record %.*s", (int)kl, k);
		l->rv = WN_EIO;
		return false;
	}
	/* a worker active before the restart gets a full timeout to
	 * return; when it was last seen is what was stored */
	struct wrk *w = wn_fleet_add(l->e, rec);
	w->last_seen_ms = w->saved_seen_ms = rec->last_seen_ms;
	w->seen_mono = l->mono;
	return true;
}

int wn_fleet_load(wn_engine *e, char **errmsg)
{
	struct fleet_loader l = {e, wn_engine_mono(e), errmsg, WN_OK};
	char *why = NULL;
	int rv = wn_records_walk(e->rec, WN_KEY_WORKER, fleet_load_one, &l, &why);
	if (l.rv == WN_OK && rv != WN_OK) {
		*errmsg = wn_xasprintf("cannot read every worker record: %s; run 'wnd --check "
		                       "--data %s'",
		                       why, e->cfg.data_dir);
		l.rv = WN_EIO;
	}
	free(why);
	return l.rv;
}

void wn_fleet_free(wn_engine *e)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->fleet.workers, &pos, &uk, &sk, &val))
		fleet_wrk_free(val);
	wn_map_free(e->fleet.workers);
}

/* wn_fleet_save puts w's record into b. */
void wn_fleet_save(wn_batch *b, struct wrk *w)
{
	w->rec->last_seen_ms = w->last_seen_ms;
	wn_records_worker_put(b, w->rec);
	w->saved_seen_ms = w->last_seen_ms;
}

/* fleet_seen_due tells whether w's record is to be written again for when it
 * was last seen: at least min_ms after what the record holds, or before it
 * (the wall clock stepped back). */
static bool fleet_seen_due(const struct wrk *w, int64_t min_ms)
{
	int64_t d = w->last_seen_ms - w->saved_seen_ms;
	return d < 0 || (d > 0 && d >= min_ms);
}

/* fleet_save_seen adds to b the record of every worker whose record is due
 * (fleet_seen_due); returns how many. */
static size_t fleet_save_seen(wn_engine *e, wn_batch *b, int64_t min_ms)
{
	size_t pos = 0, n = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->fleet.workers, &pos, &uk, &sk, &val)) {
		struct wrk *w = val;
		if (fleet_seen_due(w, min_ms)) {
			wn_fleet_save(b, w);
			n++;
		}
	}
	return n;
}

void wn_fleet_flush_seen(wn_engine *e)
{
	wn_batch *b = wn_batch_new();
	uint64_t seq = 0;
	char why[512] = "write failed";
	if (fleet_save_seen(e, b, 1) > 0 &&
	    (wn_records_apply(e->rec, b, &seq) != WN_OK || wn_store_wait(e->store, seq) != WN_OK)) {
		wn_store_failed(e->store, why, sizeof(why));
		wn_warn("cannot store when the workers were last seen: %s", why);
	}
	wn_batch_free(b);
}

struct wrk *wn_fleet_lose_next(struct call *c, int64_t now, size_t *pos, int64_t *next)
{
	int64_t timeout = c->e->cfg.worker_timeout_ms;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(c->e->fleet.workers, pos, &uk, &sk, &val)) {
		struct wrk *w = val;
		if (w->rec->state != WORKER_STATE_ACTIVE)
			continue;
		int64_t due = w->seen_mono + timeout;
		if (due > now) {
			*next = due < *next ? due : *next;
			continue;
		}
		w->rec->state = WORKER_STATE_LOST;
		wn_warn("worker %s missed its heartbeats for %lld ms: LOST; it held %zu job(s)",
		        w->rec->name, (long long)(now - w->seen_mono), wn_map_count(w->jobs));
		wn_batch *b = wn_batch_new();
		wn_fleet_save(b, w);
		wn_engine_write(c, b);
		wn_batch_free(b);
		return w;
	}
	return NULL;
}

void wn_fleet_grace(wn_engine *e, int64_t now)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->fleet.workers, &pos, &uk, &sk, &val)) {
		struct wrk *w = val;
		if (w->rec->state == WORKER_STATE_ACTIVE && w->seen_mono < now)
			w->seen_mono = now;
	}
}

void wn_fleet_save_seen_due(struct call *c)
{
	/* when each worker was last seen, kept now and then (and at a clean
	 * stop): after a crash it is at most about a minute old */
	wn_batch *b = wn_batch_new();
	if (fleet_save_seen(c->e, b, FLEET_SEEN_SAVE_MS) > 0)
		wn_engine_write(c, b);
	wn_batch_free(b);
}

bool wn_fleet_seen(wn_engine *e, const char *name, int64_t now, wn_batch *b)
{
	struct wrk *w = wn_fleet_get(e, name);
	if (w == NULL)
		return false;
	w->last_seen_ms = now;
	w->seen_mono = wn_engine_mono(e);
	bool back = w->rec->state == WORKER_STATE_LOST;
	if (back)
		w->rec->state = WORKER_STATE_ACTIVE;
	/* back from LOST, or not stored for a minute (or the wall clock stepped
	 * back): stored with the request, so that a crash loses at most a
	 * minute of when it was last seen */
	if (back || fleet_seen_due(w, FLEET_SEEN_SAVE_MS))
		wn_fleet_save(b, w);
	return w->rec->draining;
}

/* wn_fleet_adopt gives a worker joining for the first time the RUNNING jobs
 * leased to its name before it joined (a start does the same). */
void wn_fleet_adopt(struct call *c, struct wrk *w)
{
	size_t n = wn_leases_count(c->e->leases);
	uint64_t *ids = wn_xmalloc((n + 1) * sizeof(*ids));
	n = wn_leases_jobs(c->e->leases, ids, n);
	for (size_t i = 0; i < n; i++) {
		Job *j = wn_job_find(c, ids[i]);
		if (j == NULL || j->status != RUNNING || strcmp(j->worker, w->rec->name) != 0)
			continue;
		struct project *p = wn_job_project(c, j);
		struct task *t = p ? wn_map_get_str(p->tasks, j->task) : NULL;
		static const struct need none;
		wn_fleet_hold(c->e, w->rec->name, j->id, t ? &t->need : &none);
	}
	free(ids);
}

struct wrk *wn_fleet_join(struct call *c, const Whatsnext__V1__Worker *wk, wn_batch *b)
{
	/* keep a heap copy of what it announced */
	Whatsnext__V1__Worker copy = *wk;
	copy.state = WORKER_STATE_ACTIVE;
	copy.draining = false;
	copy.used = NULL;
	copy.n_jobs = 0;
	copy.jobs = NULL;
	int64_t now = wn_engine_now(c->e);
	struct wrk *w = wn_fleet_get(c->e, wk->name);
	copy.registered_ms = w ? w->rec->registered_ms : now;
	copy.last_seen_ms = 0; /* set from last_seen_ms when stored */
	size_t len;
	uint8_t *buf = wn_message_pack(&copy.base, &len);
	Whatsnext__V1__Worker *rec = whatsnext__v1__worker__unpack(NULL, len, buf);
	free(buf);
	if (w != NULL) {
		whatsnext__v1__worker__free_unpacked(w->rec, NULL);
		w->rec = rec;
	} else {
		w = wn_fleet_add(c->e, rec);
		wn_fleet_adopt(c, w);
	}
	w->last_seen_ms = now;
	w->seen_mono = wn_engine_mono(c->e);
	wn_fleet_save(b, w);
	return w;
}

void wn_fleet_leave(struct call *c, struct wrk *w, wn_batch *b)
{
	w->last_seen_ms = wn_engine_now(c->e);
	w->rec->state = WORKER_STATE_GONE;
	w->rec->draining = false;
	wn_fleet_save(b, w);
}

void wn_fleet_drain(struct wrk *w, wn_batch *b)
{
	w->rec->draining = true;
	wn_fleet_save(b, w);
}

void wn_fleet_resume(struct wrk *w, wn_batch *b)
{
	w->rec->draining = false;
	wn_fleet_save(b, w);
}

int wn_fleet_remove(struct call *c, struct wrk *w)
{
	assert(w->rec->state != WORKER_STATE_ACTIVE && wn_map_count(w->jobs) == 0);
	wn_batch *b = wn_batch_new();
	wn_records_worker_del(b, w->rec->name);
	int rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	wn_map_del_str(c->e->fleet.workers, w->rec->name);
	fleet_wrk_free(w);
	return WN_OK;
}

char *wn_fleet_label_check(const char *key, const char *value)
{
	const char *why = wn_name_check(key);
	char *shown = wn_utf8_escape(why != NULL ? key : value, 140), *msg = NULL;
	const char *bad = why == NULL ? wn_label_value_check(value) : NULL;
	if (why != NULL)
		msg = wn_xasprintf("invalid label name \"%s\": %s", shown, why);
	else if (bad != NULL && strlen(value) > WN_NAME_MAX)
		msg = wn_xasprintf("label %s: value %s", key, bad);
	else if (bad != NULL)
		msg = wn_xasprintf("label %s: value \"%s\" %s", key, shown, bad);
	free(shown);
	return msg;
}
