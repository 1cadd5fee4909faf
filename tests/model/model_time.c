/* model_time: time passing on the test clock (leases, workers that went
 * silent, retention of finished jobs), steps of the wall clock alone, and
 * what a restart of the server changes. */
#include "model.h"

#include <stdlib.h>

static bool finished(const model_job *j)
{
	return j->live && j->finished != 0 &&
	       (j->status == ST_COMPLETED || j->status == ST_FAILED || j->status == ST_CANCELLED);
}

void model_retention_mark(model *m)
{
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (!finished(j))
			continue;
		bool held = model_retention_held(m, j);
		if (held) {
			j->ret_free_at = -1; /* held now */
		} else if (j->ret_free_at == -1) {
			/* free from now on; if its time has passed it goes at once */
			j->ret_free_at = m->now;
			if (j->finished + MODEL_RETENTION_MS <= model_wall(m))
				m->settle = true;
		}
	}
}

/* retention_due returns when j may be deleted on the test clock, or
 * INT64_MAX while held: its wall-clock time to go as the wall clock stands
 * now, not before it was free or before the wall clock's last step forward. */
static int64_t retention_due(const model *m, const model_job *j)
{
	if (j->ret_free_at == -1)
		return INT64_MAX;
	int64_t d = j->finished + MODEL_RETENTION_MS - m->wall_off;
	if (d < m->fwd_step_at)
		d = m->fwd_step_at;
	return j->ret_free_at > d ? j->ret_free_at : d;
}

int64_t model_wall(const model *m)
{
	return m->now + m->wall_off;
}

void model_wall_step(model *m, int64_t delta)
{
	m->wall_off += delta;
	if (delta <= 0)
		return;
	m->fwd_step_at = m->now;
	for (size_t i = 0; i < m->njobs; i++)
		if (finished(m->jobs[i]) &&
		    retention_due(m, m->jobs[i]) <= m->now + MODEL_MARGIN_MS)
			m->settle = true;
}

int64_t model_safe_time(const model *m, int64_t t)
{
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < m->njobs; i++) {
			const model_job *j = m->jobs[i];
			int64_t d = INT64_MAX, late = MODEL_MARGIN_MS;
			if (j->live && j->leased) {
				d = j->lease_exp;
			} else if (finished(j)) {
				d = retention_due(m, j);
				late = MODEL_RET_LATE_MS;
			}
			if (d != INT64_MAX && t >= d - MODEL_MARGIN_MS && t <= d + late) {
				t = d + late + 1;
				again = true;
			}
		}
		for (size_t i = 0; i < m->nworkers; i++) {
			const model_worker *w = m->workers[i];
			int64_t d = w->heard + MODEL_WORKER_MS;
			if (w->state == W_ACTIVE && t >= d - MODEL_MARGIN_MS &&
			    t <= d + MODEL_MARGIN_MS) {
				t = d + MODEL_MARGIN_MS + 1;
				again = true;
			}
		}
	}
	return t;
}

void model_advance(model *m, int64_t t)
{
	m->now = t;
	m->settle = false; /* asked for by a retention due at once; set again below */
	/* leases first, then workers that went silent, as one pass */
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (!j->live || !j->leased || j->lease_exp > t)
			continue;
		if (j->cancel_attempt != 0) {
			/* a cancelled run's lease ends quietly; a marker of an
			 * older attempt stays with that attempt; a run outside
			 * its worker (an external id) stays to be stopped */
			if (j->cancel_attempt == j->lease_attempt) {
				model_art_drop(j, j->attempt == j->lease_attempt ? j->attempt : 0);
				j->leased = false;
				if (!(model_job_stopping(j) && j->external_id[0] != '\0'))
					j->cancel_attempt = 0;
				continue;
			}
		}
		if (j->status != ST_RUNNING || j->lease_attempt != j->attempt) {
			j->leased = false;
			continue;
		}
		model_lease_lost(m, j);
	}
	for (size_t i = 0; i < m->nworkers; i++) {
		model_worker *w = m->workers[i];
		if (w->state != W_ACTIVE || w->heard + MODEL_WORKER_MS > t)
			continue;
		w->state = W_LOST;
		m->n_workers_lost++;
		size_t n = 0;
		model_job **v = model_held(m, w->name, &n);
		for (size_t k = 0; k < n; k++)
			if (v[k]->external_id[0] == '\0') /* else it runs on, its lease too */
				model_lease_lost(m, v[k]);
		free(v);
	}
	model_settle(m);
	/* a job kept for another goes in the pass that deletes the other (at
	 * the latest time that one was due, freed_at) when its own time is over */
	int64_t freed_at = INT64_MIN;
	for (bool again = true; again;) {
		again = false;
		for (size_t i = 0; i < m->njobs; i++) {
			model_job *j = m->jobs[i];
			if (!finished(j) || model_retention_held(m, j))
				continue;
			if (j->ret_free_at == -1)
				j->ret_free_at = freed_at;
			/* a retention pass comes up to a minute late: until then the
			 * job may be there or not, and time only jumps past that window */
			int64_t due = retention_due(m, j);
			if (due > t - MODEL_RET_LATE_MS) {
				/* freed just now by the pass that deleted the job that
				 * held it, after its own time was over: wnd may delete
				 * it in that pass, or in its next one; time passes on
				 * before anything looks (time is kept out of that
				 * window for every other job) */
				if (due <= t + MODEL_MARGIN_MS)
					m->settle = true;
				continue;
			}
			if (j->ndeps > 0) {
				again = true;
				if (due > freed_at)
					freed_at = due;
			}
			model_job_remove(m, j);
			m->n_retained++;
		}
	}
}

void model_restart(model *m, bool kill9)
{
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		/* a run cancelled while it ran that has not reported is still
		 * to be stopped (Job.stopping, on disk): a lease from now on */
		if (!model_job_stopping(j))
			j->cancel_attempt = 0;
		j->leased = j->live && (j->status == ST_RUNNING || model_job_stopping(j));
		if (j->leased) {
			j->lease_attempt = j->attempt;
			j->lease_exp = m->now + MODEL_LEASE_MS;
		}
	}
	for (size_t i = 0; i < m->nworkers; i++) {
		model_worker *w = m->workers[i];
		w->heard = m->now;
		if (kill9) /* stored at least once a minute while heard from */
			w->seen_min = w->last_seen - 61000;
	}
	m->restarted = true;
}
