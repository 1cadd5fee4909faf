/* deps: job dependencies. Each job stores the jobs it waits for; the engine
 * keeps the reverse edges in memory, so a change of a job's status reaches
 * exactly its direct dependents, and from them on only as far as their own
 * status changes (an explicit work list: no recursion depth limit). */
#include "deps.h"

#include "engine_state.h"
#include "project.h"

#include "log.h"

#include <stdlib.h>
#include <string.h>

bool wn_deps_toposort(size_t n, const size_t *from, const size_t *to, size_t nedges, size_t *order,
                      size_t *cycle)
{
	/* Kahn's algorithm over a compact adjacency list */
	size_t *indeg = wn_xcalloc(n + 1, sizeof(size_t));
	size_t *start = wn_xcalloc(n + 2, sizeof(size_t));
	size_t *adj = wn_xcalloc(nedges + 1, sizeof(size_t));
	for (size_t i = 0; i < nedges; i++) {
		start[from[i] + 1]++;
		indeg[to[i]]++;
	}
	for (size_t i = 0; i < n; i++)
		start[i + 1] += start[i];
	size_t *fill = wn_xcalloc(n + 1, sizeof(size_t));
	for (size_t i = 0; i < nedges; i++)
		adj[start[from[i]] + fill[from[i]]++] = to[i];
	size_t head = 0, tail = 0;
	for (size_t i = 0; i < n; i++)
		if (indeg[i] == 0)
			order[tail++] = i;
	while (head < tail) {
		size_t v = order[head++];
		for (size_t k = start[v]; k < start[v + 1]; k++)
			if (--indeg[adj[k]] == 0)
				order[tail++] = adj[k];
	}
	bool ok = tail == n;
	if (!ok) {
		/* every node left has an unresolved dependency; walk back along
		 * such edges until a node repeats: that node is on a cycle */
		size_t *pred = wn_xcalloc(n + 1, sizeof(size_t));
		bool *seen = wn_xcalloc(n + 1, sizeof(bool));
		for (size_t i = 0; i < nedges; i++)
			if (indeg[to[i]] > 0 && indeg[from[i]] > 0)
				pred[to[i]] = from[i];
		size_t v = 0;
		while (indeg[v] == 0)
			v++;
		while (!seen[v]) {
			seen[v] = true;
			v = pred[v];
		}
		*cycle = v;
		free(pred);
		free(seen);
	}
	free(indeg);
	free(start);
	free(adj);
	free(fill);
	return ok;
}

void wn_deps_init(wn_engine *e)
{
	e->deps.rdeps = wn_map_new_u64();
	e->deps.recheck = wn_map_new_u64();
}

void wn_deps_free(wn_engine *e)
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->deps.rdeps, &pos, &uk, &sk, &val))
		free(val);
	wn_map_free(e->deps.rdeps);
	wn_map_free(e->deps.recheck);
}

struct redges *wn_deps_dependents(wn_engine *e, uint64_t id)
{
	return wn_map_get_u64(e->deps.rdeps, id);
}

void wn_deps_add_edges(wn_engine *e, const Job *j)
{
	for (size_t i = 0; i < j->n_deps; i++) {
		uint64_t x = j->deps[i]->job_id;
		struct redges *r = wn_map_get_u64(e->deps.rdeps, x);
		if (r == NULL || r->n == r->cap) {
			uint32_t cap = r ? r->cap * 2 : 2;
			r = wn_xrealloc(r, sizeof(*r) + cap * sizeof(r->v[0]));
			if (cap == 2)
				r->n = 0;
			r->cap = cap;
			wn_map_put_u64(e->deps.rdeps, x, r);
		}
		r->v[r->n].job = j->id;
		r->v[r->n].cond = (uint8_t)j->deps[i]->condition;
		r->n++;
	}
}

void wn_deps_del_edges(wn_engine *e, const Job *j)
{
	for (size_t i = 0; i < j->n_deps; i++) {
		struct redges *r = wn_map_get_u64(e->deps.rdeps, j->deps[i]->job_id);
		if (r == NULL)
			continue;
		for (uint32_t k = 0; k < r->n; k++) {
			if (r->v[k].job == j->id) {
				r->v[k] = r->v[--r->n];
				break;
			}
		}
		if (r->n == 0)
			free(wn_map_del_u64(e->deps.rdeps, j->deps[i]->job_id));
	}
	free(wn_map_del_u64(e->deps.rdeps, j->id));
}

int wn_deps_eval(struct call *c, const Job *j, uint32_t *unmet, uint32_t *broken, const char **why)
{
	*unmet = *broken = 0;
	*why = NULL;
	int unread = WN_OK;
	for (size_t i = 0; i < j->n_deps; i++) {
		const Whatsnext__V1__Dependency *d = j->deps[i];
		Job *x = NULL;
		int rv = wn_job_get(c, d->job_id, &x);
		int st = x ? (int)x->status : 0; /* 0: removed, maybe by this call */
		int es = wn_deps_edge_state(d->condition, st);
		if (rv != WN_OK && rv != WN_ENOTFOUND) {
			/* not known to be removed: it waits (wn_deps_recheck_later) */
			wn_error("job %llu: dependency job %llu cannot be read; it waits",
			         (unsigned long long)j->id, (unsigned long long)d->job_id);
			es = EDGE_UNDECIDED;
			unread = WN_EUNAVAIL;
		}
		if (es == EDGE_UNDECIDED) {
			(*unmet)++;
		} else if (es == EDGE_BROKEN) {
			if (*broken == 0)
				*why =
				    st ? wn_arena_printf(c->arena, "dependency job %llu is %s (%s)",
				                         (unsigned long long)d->job_id,
				                         wn_job_status_name(st),
				                         wn_deps_cond_name(d->condition))
				       : wn_arena_printf(c->arena,
				                         "dependency job %llu was removed",
				                         (unsigned long long)d->job_id);
			(*broken)++;
		}
	}
	return unread;
}

/* One dependency edge whose source changed status. */
struct dep_event {
	uint64_t job;  /* the dependent */
	uint64_t from; /* the dependency */
	uint8_t cond;
	uint8_t old_st, new_st;
};

struct dep_stack {
	struct dep_event *v;
	size_t n, cap;
};

static void dep_push_edges(wn_engine *e, struct dep_stack *st, uint64_t x, int old_st, int new_st)
{
	struct redges *r = wn_map_get_u64(e->deps.rdeps, x);
	if (r == NULL)
		return;
	for (uint32_t k = 0; k < r->n; k++) {
		if (wn_deps_edge_state(r->v[k].cond, old_st) ==
		    wn_deps_edge_state(r->v[k].cond, new_st))
			continue;
		if (st->n == st->cap) {
			st->cap = st->cap ? st->cap * 2 : 64;
			st->v = wn_xrealloc(st->v, st->cap * sizeof(*st->v));
		}
		st->v[st->n++] = (struct dep_event){r->v[k].job, x, r->v[k].cond, (uint8_t)old_st,
		                                    (uint8_t)new_st};
	}
}

/* dep_recount moves one edge's part of a job's counts from what it was (eo)
 * to what it is now (en). */
static void dep_recount(int eo, int en, uint32_t *unmet, uint32_t *broken)
{
	if (eo == EDGE_UNDECIDED && *unmet > 0)
		(*unmet)--;
	if (eo == EDGE_BROKEN && *broken > 0)
		(*broken)--;
	if (en == EDGE_UNDECIDED)
		(*unmet)++;
	if (en == EDGE_BROKEN)
		(*broken)++;
}

/* deps_place puts PENDING or BLOCKED job y of p (waiting entry w, NULL if
 * none) in line or among the waiting jobs, as counts unmet and broken say;
 * its status is left to the caller. */
static void deps_place(struct call *c, struct project *p, Job *y, struct dwait *w, uint32_t unmet,
                       uint32_t broken)
{
	bool was_ready = y->status == PENDING && w == NULL;
	bool ready = broken == 0 && unmet == 0;
	if (was_ready && !ready)
		wn_queue_ready_del(p, y);
	if (ready) {
		wn_dwait_del(c->e, y->id);
		if (!was_ready)
			wn_queue_ready_add(c, p, y);
	} else {
		wn_dwait_put(c->e, p, y->id, unmet, broken);
	}
}

void wn_deps_propagate(struct call *c, wn_batch *b, uint64_t x, int old_st, int new_st)
{
	struct dep_stack st = {0};
	dep_push_edges(c->e, &st, x, old_st, new_st);
	while (st.n > 0) {
		struct dep_event ev = st.v[--st.n];
		int eo = wn_deps_edge_state(ev.cond, ev.old_st),
		    en = wn_deps_edge_state(ev.cond, ev.new_st);
		struct dwait *w = wn_dwait_get(c->e, ev.job);
		uint32_t unmet = w ? w->unmet : 0, broken = w ? w->broken : 0;
		dep_recount(eo, en, &unmet, &broken);
		/* a BLOCKED job whose reason may name this dependency, which no
		 * longer blocks it, is read to name one that does */
		bool renamed = eo == EDGE_BROKEN && en != EDGE_BROKEN && broken > 0;
		if (w != NULL && !renamed &&
		    ((broken > 0 && w->broken > 0) ||
		     (broken == 0 && w->broken == 0 && unmet > 0))) {
			/* still waiting, in the same status: only the counts change, and
			 * the job's record need not even be read (a wide fan-in stays
			 * linear) */
			w->unmet = unmet;
			w->broken = broken;
			continue;
		}
		Job *y = NULL;
		int got = wn_job_get(c, ev.job, &y);
		if (got != WN_OK && got != WN_ENOTFOUND) {
			wn_deps_recheck_later(c->e, ev.job); /* its counts are unknown */
			continue;
		}
		if (y == NULL || (y->status != PENDING && y->status != BLOCKED))
			continue;
		struct project *p = wn_job_project(c, y);
		if (p == NULL)
			continue;
		int y_old = y->status;
		int y_new = broken > 0 ? BLOCKED : PENDING;
		deps_place(c, p, y, w, unmet, broken);
		if (y_new == y_old) {
			const char *why = NULL;
			uint32_t u = 0, k = 0;
			if (renamed && y_new == BLOCKED &&
			    wn_deps_eval(c, y, &u, &k, &why) == WN_OK && why != NULL &&
			    strcmp(why, y->reason) != 0) {
				y->reason = (char *)why;
				wn_job_put(c, b, y);
			}
			continue;
		}
		if (y_new == BLOCKED) {
			y->reason =
			    en == EDGE_BROKEN && ev.new_st != 0
			        ? wn_arena_printf(c->arena, "dependency job %llu is %s (%s)",
			                          (unsigned long long)ev.from,
			                          wn_job_status_name(ev.new_st),
			                          wn_deps_cond_name(ev.cond))
			    : en == EDGE_BROKEN
			        ? wn_arena_printf(c->arena, "dependency job %llu was removed",
			                          (unsigned long long)ev.from)
			        : y->reason;
		} else {
			y->reason = "";
		}
		y->status = (Whatsnext__V1__JobStatus)y_new;
		wn_queue_count_move(c, p, y, y_old, y_new);
		wn_job_put(c, b, y);
		dep_push_edges(c->e, &st, y->id, y_old, y_new);
	}
	free(st.v);
}

void wn_deps_recheck_later(wn_engine *e, uint64_t id)
{
	wn_map_put_u64(e->deps.recheck, id, e);
	wn_engine_wake(e, wn_engine_mono(e) + 1000);
}

/* deps_recheck_one evaluates the dependencies of job id again (see
 * wn_deps_recheck), its changes in b. */
static void deps_recheck_one(struct call *c, wn_batch *b, uint64_t id)
{
	Job *y = NULL;
	int got = wn_job_get(c, id, &y);
	if (got != WN_OK && got != WN_ENOTFOUND)
		return; /* it stays noted */
	wn_map_del_u64(c->e->deps.recheck, id);
	struct project *p = y != NULL ? wn_job_project(c, y) : NULL;
	if (p == NULL || (y->status != PENDING && y->status != BLOCKED))
		return;
	uint32_t unmet = 0, broken = 0;
	const char *why = NULL;
	if (wn_deps_eval(c, y, &unmet, &broken, &why) != WN_OK) {
		wn_deps_recheck_later(c->e, id);
		return;
	}
	int y_old = y->status, y_new = broken > 0 ? BLOCKED : PENDING;
	deps_place(c, p, y, wn_dwait_get(c->e, id), unmet, broken);
	if (y_new == y_old && (y_new != BLOCKED || strcmp(why, y->reason) == 0))
		return;
	y->reason = y_new == BLOCKED ? (char *)why : "";
	y->status = (Whatsnext__V1__JobStatus)y_new;
	wn_queue_count_move(c, p, y, y_old, y_new);
	wn_job_put(c, b, y);
	if (y_new != y_old)
		wn_deps_propagate(c, b, id, y_old, y_new);
}

int64_t wn_deps_recheck(struct call *c, int64_t now, int64_t next)
{
	wn_engine *e = c->e;
	size_t n = wn_map_count(e->deps.recheck), i = 0, pos = 0;
	if (n == 0)
		return next;
	uint64_t *ids = wn_xmalloc(n * sizeof(*ids)), id;
	const char *sk;
	void *val;
	while (i < n && wn_map_next(e->deps.recheck, &pos, &id, &sk, &val))
		ids[i++] = id;
	wn_batch *b = wn_batch_new();
	for (size_t k = 0; k < i; k++)
		deps_recheck_one(c, b, ids[k]);
	free(ids);
	wn_call_commit(c, b);
	if (wn_map_count(e->deps.recheck) > 0 && now + 1000 < next)
		next = now + 1000;
	return next;
}
