/* deps: job dependencies. Each job stores the jobs it waits for; the engine
 * keeps the reverse edges in memory, so a change of a job's status reaches
 * exactly its direct dependents, and from them on only as far as their own
 * status changes. */
#ifndef WN_DEPS_H
#define WN_DEPS_H

#include "call.h"
#include "rules.h"
#include "map.h"

/* The jobs that depend on one job, with the condition of each edge. */
struct redges {
	uint32_t n, cap;
	struct redge {
		uint64_t job;
		uint8_t cond;
	} v[];
};

/* The reverse edges of every job (struct wn_engine composes them). */
struct deps {
	wn_map *rdeps; /* job id -> struct redges */
	/* job id -> non-NULL: waiting jobs whose dependencies, or which, could
	 * not be read when they changed (wn_deps_recheck) */
	wn_map *recheck;
};

/* wn_deps_init and wn_deps_free set up and free e's reverse edges. */
void wn_deps_init(wn_engine *e);
void wn_deps_free(wn_engine *e);

/* wn_deps_toposort orders n nodes with edges from[i] -> to[i] (to depends on
 * from) so that every node comes after its dependencies; returns false and
 * sets *cycle to a node on a cycle if there is one. Iterative, O(n + edges). */
bool wn_deps_toposort(size_t n, const size_t *from, const size_t *to, size_t nedges, size_t *order,
                      size_t *cycle);
/* wn_deps_add_edges records j's dependencies as reverse edges. */
void wn_deps_add_edges(wn_engine *e, const Job *j);
/* wn_deps_del_edges forgets j's edges both ways (j is removed): the reverse
 * edges of its dependencies to it, and the list of its dependents. */
void wn_deps_del_edges(wn_engine *e, const Job *j);
/* wn_deps_dependents returns the reverse edges of job id, or NULL. */
struct redges *wn_deps_dependents(wn_engine *e, uint64_t id);
/* wn_deps_eval counts j's dependencies not decided yet and those that can no
 * longer hold; *why names the first of the latter. WN_EUNAVAIL if one could
 * not be read (counted as not decided yet), else WN_OK. */
int wn_deps_eval(struct call *c, const Job *j, uint32_t *unmet, uint32_t *broken, const char **why);
/* wn_deps_propagate tells the dependents of job x that it went from status
 * old_st to new_st (0 = removed), and so on transitively. A dependent that
 * cannot be read is looked at again later (wn_deps_recheck). */
void wn_deps_propagate(struct call *c, wn_batch *b, uint64_t x, int old_st, int new_st);
/* wn_deps_recheck_later notes job id, whose dependencies could not all be
 * read, to be looked at again. wn_deps_recheck (the tick) evaluates the
 * dependencies of each such job again and puts it where they say: in line,
 * waiting, or BLOCKED; those it still cannot read stay noted, and it returns
 * a second after now (or next, if earlier) while any do. */
void wn_deps_recheck_later(wn_engine *e, uint64_t id);
int64_t wn_deps_recheck(struct call *c, int64_t now, int64_t next);

#endif
