/* gen: the next operation of a run, drawn from a seeded sequence and aimed
 * by the model's state (a Complete mostly names a RUNNING job, a Fetch a
 * project with work), with bad inputs of every kind now and then. */
#include "driver.h"

#include <string.h>

uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static int64_t pick(uint64_t *r, int64_t n)
{
	return n <= 0 ? 0 : (int64_t)(rng_next(r) % (uint64_t)n);
}

static bool chance(uint64_t *r, int percent)
{
	return pick(r, 100) < percent;
}

/* bad: one of the invalid names. */
static int64_t bad(uint64_t *r)
{
	return -1 - pick(r, 6);
}

/* proj: a project that exists mostly; sometimes one that does not or an
 * invalid name. */
static int64_t proj(const driver *d, uint64_t *r)
{
	if (chance(r, 3))
		return bad(r);
	if (d->m->nprojects > 0 && chance(r, 90)) {
		const char *n = d->m->projects[pick(r, (int64_t)d->m->nprojects)]->name;
		return n[1] - '0';
	}
	return pick(r, MODEL_NPROJ);
}

/* sym: a job (by creation order) for which want() holds, mostly. */
static int64_t sym(const driver *d, uint64_t *r, bool (*want)(const model_job *))
{
	const model *m = d->m;
	if (chance(r, 4))
		return chance(r, 50) ? -1 : (int64_t)m->njobs + pick(r, 5);
	int64_t n = 0;
	for (size_t i = 0; i < m->njobs; i++)
		n += want == NULL || want(m->jobs[i]);
	if (n == 0 || chance(r, 8))
		return pick(r, (int64_t)m->njobs + 1);
	int64_t k = pick(r, n);
	for (size_t i = 0; i < m->njobs; i++)
		if ((want == NULL || want(m->jobs[i])) && k-- == 0)
			return (int64_t)i;
	return 0;
}

static bool is_live(const model_job *j)
{
	return j->live;
}
static bool is_running(const model_job *j)
{
	return j->live && (j->status == ST_RUNNING || j->cancel_attempt != 0);
}
static bool is_reporting(const model_job *j)
{
	return j->live && j->hist_n > 0;
}
static bool is_open(const model_job *j)
{
	return j->live &&
	       (j->status == ST_PENDING || j->status == ST_RUNNING || j->status == ST_BLOCKED);
}
static bool is_ended(const model_job *j)
{
	return j->live &&
	       (j->status == ST_FAILED || j->status == ST_CANCELLED || j->status == ST_BLOCKED);
}

/* task_pick sets a[0], a[1] to a task that exists (exists) or to one that
 * does not in a project that does, mostly. */
static void task_pick(const driver *d, uint64_t *r, int64_t *a, bool exists)
{
	const model *m = d->m;
	a[0] = proj(d, r);
	a[1] = chance(r, 4) ? bad(r) : pick(r, MODEL_NTASK);
	if (chance(r, 15) || a[0] < 0 || a[1] < 0)
		return;
	if (exists && m->ntasks > 0) {
		const model_task *t = m->tasks[pick(r, (int64_t)m->ntasks)];
		a[0] = t->project[1] - '0';
		a[1] = t->name[1] - '0';
		return;
	}
	for (int tries = 0; tries < 8 && model_task_get(m, model_pname(a[0]), model_tname(a[1]));
	     tries++)
		a[1] = pick(r, MODEL_NTASK);
}

static void gen_task_values(uint64_t *r, int64_t *a)
{
	a[0] = chance(r, 40) ? pick(r, MODEL_NRES) : 0;
	if (chance(r, 3))
		a[0] = -1 - pick(r, 3);
	a[1] = chance(r, 3) ? 1001 : chance(r, 50) ? 0 : 1 + pick(r, 4);
	a[2] = chance(r, 3) ? 1001 : pick(r, 3);
	a[3] = pick(r, 100);
	a[4] = chance(r, 3) ? 2 : pick(r, 2);
}

static void gen_submit(driver *d, uint64_t *r, op *o)
{
	const model *m = d->m;
	if (m->ntasks > 0 && chance(r, 92)) {
		const model_task *t = m->tasks[pick(r, (int64_t)m->ntasks)];
		o->a[0] = t->project[1] - '0';
		o->a[1] = t->name[1] - '0';
	} else {
		o->a[0] = proj(d, r);
		o->a[1] = chance(r, 5) ? bad(r) : pick(r, MODEL_NTASK);
	}
	o->a[2] = chance(r, 60) ? 0 : chance(r, 90) ? 1 + pick(r, 2) : bad(r);
	o->a[3] = chance(r, 96) ? pick(r, 1000) : -1 - pick(r, 3);
	o->a[4] = pick(r, 6) - 2;
	o->a[5] = chance(r, d->profile == 1 ? 20 : 50) ? 0 : 1 + pick(r, 3);
	const char *p = model_pname(o->a[0]);
	for (int i = 0; i < 3; i++) {
		/* a job of the same project, mostly */
		int64_t s = pick(r, (int64_t)m->njobs + 1);
		for (int tries = 0; tries < 30 && (size_t)s < m->njobs; tries++) {
			if (strcmp(m->jobs[s]->project, p) == 0 &&
			    (m->jobs[s]->live || chance(r, 5)))
				break;
			s = pick(r, (int64_t)m->njobs + 1);
		}
		o->a[6 + i] = s * 4 + (chance(r, 2) ? 3 : pick(r, 3));
	}
	o->a[9] = chance(r, 30);
	if (chance(r, 3))
		o->a[9] |= 2 << pick(r, 3);
}

static void gen_lease_op(driver *d, uint64_t *r, op *o)
{
	o->a[0] = sym(d, r, is_running);
	o->a[1] = chance(r, 88) ? 0 : 1 + pick(r, 2);
	o->a[2] = chance(r, 90) ? 100 : pick(r, MODEL_NWORKER);
}

static void gen_fetch(driver *d, uint64_t *r, op *o)
{
	const model *m = d->m;
	o->a[0] = chance(r, 3) ? bad(r) : pick(r, MODEL_NWORKER);
	o->a[2] = chance(r, 80) && m->nprojects
	              ? m->projects[pick(r, (int64_t)m->nprojects)]->name[1] - '0'
	              : -1;
	o->a[1] = chance(r, 30) ? pick(r, 16) : 0;
	if (chance(r, 3))
		o->a[1] |= 16; /* a project that does not exist */
	o->a[3] = chance(r, 20) ? 1 + pick(r, 7) : 0;
	if (chance(r, 2))
		o->a[3] |= 8;
	o->a[4] = chance(r, 70) ? 0 : pick(r, 5);
	o->a[5] = chance(r, 2) ? 1 : chance(r, 5) ? 2 : 0;
}

/* out_variant: what a progress ships (build.c's progress), mostly nothing. */
static int64_t out_variant(uint64_t *r)
{
	return chance(r, 50) ? 0 : 1 + pick(r, 3000) + 10000 * (chance(r, 80) ? 0 : 1 + pick(r, 2));
}

static void gen_heartbeat(driver *d, uint64_t *r, op *o)
{
	const model *m = d->m;
	o->a[0] = chance(r, 3) ? bad(r) : pick(r, MODEL_NWORKER);
	/* a long poll naming few leases: the worker may hold others (3) */
	bool few = chance(r, 15);
	o->a[1] = pick(r, few ? 2 : 4);
	const char *w = model_wname(o->a[0]);
	for (int i = 0; i < o->a[1]; i++) {
		int64_t s = sym(d, r, is_running);
		/* the worker's own leases, mostly */
		for (int tries = 0; tries < 6 && (size_t)s < m->njobs && s >= 0; tries++) {
			if (strcmp(m->jobs[s]->worker, w) == 0)
				break;
			s = sym(d, r, is_running);
		}
		if (s < 0)
			s = 0;
		o->a[2 + i] = s * 16 + (chance(r, 85) ? 0 : 1 + pick(r, 2)) * 4 + pick(r, 4);
		o->a[6 + i] = out_variant(r);
	}
	o->a[10] = chance(r, 5);
	/* a[11]: a long poll that must be answered at once (1), wait_ms over
	 * the limit (2), a long poll of a worker that holds a lease it does not
	 * name (3: answered at once too, see build.c) */
	o->a[11] = few ? 3 : chance(r, 4) ? 1 : chance(r, 30) ? 2 : 0;
}

static void gen_complete(driver *d, uint64_t *r, op *o)
{
	gen_lease_op(d, r, o);
	o->a[3] = chance(r, 50) ? 0 : chance(r, 80) ? 1 : 2;
	o->a[4] = pick(r, 3);
	o->a[5] = chance(r, 2) ? 2 : pick(r, 2);
	o->a[6] = chance(r, 3) ? 2 : pick(r, 2);
	o->a[7] = chance(r, 2) ? 2 : pick(r, 2);
	/* brief (bit 0); the files listed (a mask above it; 16: one refused) */
	o->a[8] = chance(r, 30) + (chance(r, 40) ? 0 : 2 * (1 + pick(r, 15) + 16 * chance(r, 8)));
	/* next: 1 of the job's project, 2 of p5, 3 with a max_jobs it ignores */
	o->a[9] = chance(r, 70) ? 0 : chance(r, 85) ? 1 + 2 * chance(r, 20) : 2;
	o->a[10] = out_variant(r);
}

/* gen_bulk: an action (0 or 7: unknown), how the jobs are named (0 ids, 1 a
 * sweep, 2 filters only, 3 nothing), up to three jobs, a sweep (by index;
 * past the end: none such), statuses (a bit each), a project (-1: none), a
 * priority, force (bit 0) and a name glob (bits 1-2: a task's "tN-*"). */
static void gen_bulk(driver *d, uint64_t *r, op *o)
{
	o->a[0] = chance(r, 4) ? 7 * pick(r, 2) : 1 + pick(r, 6);
	o->a[1] = chance(r, 3) ? 3 : pick(r, 3);
	o->a[2] = sym(d, r, is_live);
	o->a[3] = chance(r, 50) ? sym(d, r, is_live) : -1;
	o->a[4] = chance(r, 50) ? sym(d, r, is_live) : -1;
	o->a[5] = pick(r, (int64_t)d->m->nsweeps + 1);
	o->a[6] = chance(r, 60) ? 0 : 1 + pick(r, 126);
	o->a[7] = chance(r, 50) ? -1 : pick(r, MODEL_NPROJ);
	o->a[8] = pick(r, 9) - 3;
	o->a[9] = chance(r, 30) | (chance(r, 70) ? 0 : 1 + pick(r, MODEL_NTASK)) << 1;
}

static void gen_job_ops(driver *d, uint64_t *r, op *o)
{
	switch (o->kind) {
	case OP_SUBMIT:
		gen_submit(d, r, o);
		break;
	case OP_BATCH:
		o->a[0] = proj(d, r);
		o->a[1] = chance(r, 2) ? 0 : 1 + pick(r, 6);
		o->a[2] = pick(r, 1000000);
		o->a[3] = chance(r, 50) ? 0 : 1 + pick(r, 2);
		o->a[4] = pick(r, 4);
		o->a[5] = chance(r, 90) ? 0 : 1 + pick(r, 5);
		break;
	case OP_CANCEL:
		o->a[0] = sym(d, r, is_open);
		o->a[1] = chance(r, 3) ? 2 : pick(r, 2);
		break;
	case OP_RETRY:
		o->a[0] = sym(d, r, is_ended);
		break;
	case OP_REMOVE:
		o->a[0] = sym(d, r, is_live);
		o->a[1] = chance(r, 30);
		break;
	case OP_PRIORITY:
		o->a[0] = sym(d, r, is_live);
		o->a[1] = pick(r, 9) - 3;
		break;
	case OP_HISTORY:
		o->a[0] = sym(d, r, chance(r, 70) ? is_reporting : is_live);
		break;
	case OP_BULK:
		gen_bulk(d, r, o);
		break;
	case OP_UPDATE:
		/* a job, how many parameters (0: none), a name (2: invalid), a value */
		o->a[0] = sym(d, r, chance(r, 80) ? is_open : is_live);
		o->a[1] = chance(r, 5) ? 0 : 1 + pick(r, 2);
		o->a[2] = chance(r, 5) ? 2 : pick(r, 2);
		o->a[3] = pick(r, 5);
		break;
	case OP_AGET:
		o->a[0] = sym(d, r, is_live);
		o->a[1] = pick(r, MODEL_NART);
		o->a[3] = chance(r, 50) ? 0 : pick(r, 1400);
		o->a[4] = chance(r, 50) ? 0 : 1 + pick(r, 600);
		break;
	case OP_LOG:
		o->a[0] = sym(d, r, is_live);
		o->a[1] = chance(r, 50) ? 0 : pick(r, 12000);
		o->a[2] = chance(r, 50) ? 0 : 1 + pick(r, 5000);
		o->a[3] = chance(r, 90) ? 0 : 1 + pick(r, 2);
		o->a[4] = chance(r, 70) ? 0 : 1 + pick(r, 3);
		break;
	case OP_WAIT:
		o->a[0] = chance(r, 90) ? pick(r, 3) : 3 + pick(r, 4);
		o->a[1] = 1 + pick(r, 4);
		for (int i = 2; i < 6; i++)
			o->a[i] = sym(d, r, is_live);
		o->a[6] = pick(r, (int64_t)d->m->nsweeps + 1);
		o->a[7] = proj(d, r);
		o->a[8] = chance(r, 30);
		break;
	}
}

static void gen_queue_ops(driver *d, uint64_t *r, op *o)
{
	switch (o->kind) {
	case OP_FETCH:
		gen_fetch(d, r, o);
		break;
	case OP_HEARTBEAT:
		gen_heartbeat(d, r, o);
		break;
	case OP_COMPLETE:
		gen_complete(d, r, o);
		break;
	case OP_APUT:
		o->a[0] = sym(d, r, chance(r, 10) ? is_live : is_running);
		o->a[1] = pick(r, MODEL_NART);
		o->a[2] = chance(r, 85) ? 0 : 1 + pick(r, 3);
		break;
	case OP_COMPLETE_BATCH:
		o->a[0] = pick(r, 5);
		o->a[1] = pick(r, 1000000);
		for (int i = 0; i < 6; i++)
			o->a[2 + i] = sym(d, r, is_running);
		break;
	case OP_RELEASE:
		gen_lease_op(d, r, o);
		o->a[3] = chance(r, 3) ? 2 : pick(r, 2);
		break;
	case OP_CLEAR:
		o->a[0] = proj(d, r);
		o->a[1] = chance(r, 50) ? 0 : chance(r, 90) ? 1 + pick(r, 4) : bad(r);
		break;
	case OP_POP:
		o->a[0] = proj(d, r);
		o->a[1] = chance(r, 60) ? 0 : chance(r, 90) ? pick(r, 4) : 50;
		break;
	case OP_SWEEP_UPDATE:
		o->a[0] = pick(r, (int64_t)d->m->nsweeps + 1);
		o->a[1] = chance(r, 50);
		o->a[2] = pick(r, 6) - 2;
		o->a[3] = chance(r, 60);
		o->a[4] = pick(r, 4);
		break;
	}
}

static void gen_admin_ops(driver *d, uint64_t *r, op *o)
{
	switch (o->kind) {
	case OP_P_CREATE:
		o->a[0] = chance(r, 4) ? bad(r) : pick(r, MODEL_NPROJ);
		for (int tries = 0; tries < 6 && o->a[0] >= 0 && chance(r, 80) &&
		                    model_project_get(d->m, model_pname(o->a[0]));
		     tries++)
			o->a[0] = pick(r, MODEL_NPROJ);
		o->a[1] = chance(r, 3) ? 2 : pick(r, 2);
		break;
	case OP_P_UPDATE:
		o->a[0] = proj(d, r);
		o->a[1] = chance(r, 30);
		o->a[2] = chance(r, 4) ? 2 : pick(r, 2);
		o->a[3] = chance(r, 4) ? 9 : chance(r, 30) ? 0 : chance(r, 65) ? 1 : 2;
		break;
	case OP_P_DELETE:
		o->a[0] = proj(d, r);
		o->a[1] = chance(r, 50);
		break;
	case OP_T_CREATE:
		task_pick(d, r, o->a, false);
		gen_task_values(r, o->a + 2);
		o->a[7] = chance(r, 2);
		break;
	case OP_T_UPDATE:
		task_pick(d, r, o->a, true);
		o->a[2] = 1 + pick(r, 31);
		if (chance(r, 4))
			o->a[2] |= 32;
		gen_task_values(r, o->a + 3);
		break;
	case OP_T_DELETE:
		task_pick(d, r, o->a, true);
		o->a[2] = chance(r, 50);
		break;
	case OP_JOIN:
		o->a[0] = chance(r, 3) ? bad(r) : pick(r, MODEL_NWORKER);
		o->a[1] = chance(r, 4) ? -1 - pick(r, 3) : pick(r, MODEL_NCAP);
		o->a[2] = pick(r, 16);
		o->a[3] = pick(r, 5);
		o->a[4] = chance(r, 3) ? 1 + pick(r, 3) : 0;
		o->a[5] = chance(r, 2) ? -1 : chance(r, 40) ? 0 : 1 + pick(r, 2);
		o->a[6] = chance(r, 50) ? 0 : pick(r, 8); /* the tasks it runs (0: any) */
		break;
	case OP_LEAVE:
	case OP_DRAIN:
	case OP_RESUME:
	case OP_WREMOVE:
		o->a[0] = chance(r, 5) ? bad(r) : pick(r, MODEL_NWORKER + 1);
		o->a[1] = chance(r, 50) ? 0 : 1 + pick(r, 2);
		break;
	}
}

/* resend_age_ok: the fate of s sent again now is clear: well inside or well
 * outside the time ids are remembered. */
static bool resend_age_ok(const driver *d, const sent *s)
{
	int64_t age = d->m->now - s->at;
	return age <= 23LL * 3600 * 1000 && (age <= MODEL_DEDUPE_MS - MODEL_MARGIN_MS ||
	                                     age >= MODEL_DEDUPE_MS + MODEL_MARGIN_MS);
}

/* resend_pick_mine finds a remembered request another token sent with
 * success, to send again with that token: the newest one, or any; -1 if
 * none. */
static int64_t resend_pick_mine(const driver *d, uint64_t *r, bool newest)
{
	int64_t n = d->nring < DRIVER_RING ? (int64_t)d->nring : DRIVER_RING, v[DRIVER_RING];
	int64_t nv = 0;
	for (int64_t k = 0; k < n; k++) {
		const sent *s = driver_sent(d, k);
		if (s->other && s->secret != NULL && s->code == 0 && resend_age_ok(d, s)) {
			if (newest)
				return k;
			v[nv++] = k;
		}
	}
	return nv > 0 ? v[pick(r, nv)] : -1;
}

/* resend_pick finds a remembered request to send again whose fate is clear;
 * -1 if none. */
static int64_t resend_pick(const driver *d, uint64_t *r, bool other)
{
	int64_t n = d->nring < DRIVER_RING ? (int64_t)d->nring : DRIVER_RING;
	for (int tries = 0; tries < 8 && n > 0; tries++) {
		int64_t k = pick(r, n);
		const sent *s = driver_sent(d, k);
		int64_t age = d->m->now - s->at;
		bool fresh =
		    s->epoch == d->epoch && s->code == 0 && age < MODEL_DEDUPE_MS - MODEL_MARGIN_MS;
		if (other && !fresh)
			continue;
		if (!resend_age_ok(d, s))
			continue;
		return k;
	}
	return -1;
}

/* gen_as sends some operations with a token of the run instead of the
 * admin's ("as"): the operation's own arguments, the token's slot in a[10],
 * its kind in a[11]. */
static void gen_as(driver *d, uint64_t *r, op *o)
{
	if (!d->srv.tokens || o->kind == OP_SWEEP_UPDATE || o->kind == OP_WAIT || o->a[10] != 0 ||
	    o->a[11] != 0 || !chance(r, 15))
		return;
	o->a[10] = pick(r, MODEL_NTOKENS);
	o->a[11] = o->kind;
	o->kind = OP_AS;
}

static const struct {
	int kind, weight;
} weights[] = {
    {OP_P_CREATE, 3},     {OP_P_UPDATE, 3},  {OP_P_DELETE, 1},     {OP_T_CREATE, 4},
    {OP_T_UPDATE, 2},     {OP_T_DELETE, 1},  {OP_SUBMIT, 16},      {OP_BATCH, 5},
    {OP_CANCEL, 3},       {OP_RETRY, 3},     {OP_REMOVE, 2},       {OP_PRIORITY, 2},
    {OP_FETCH, 16},       {OP_HEARTBEAT, 6}, {OP_COMPLETE, 14},    {OP_COMPLETE_BATCH, 3},
    {OP_RELEASE, 3},      {OP_CLEAR, 1},     {OP_POP, 2},          {OP_JOIN, 3},
    {OP_LEAVE, 1},        {OP_DRAIN, 1},     {OP_SWEEP_UPDATE, 2}, {OP_RESEND, 4},
    {OP_ADVANCE, 5},      {OP_RESTART, 2},   {OP_CHECK, 1},        {OP_TOKEN_CREATE, 2},
    {OP_TOKEN_REVOKE, 1}, {OP_LOG, 4},       {OP_WAIT, 3},         {OP_HISTORY, 3},
    {OP_TOKEN_REVOKE, 1}, {OP_LOG, 4},       {OP_APUT, 6},         {OP_AGET, 4},
    {OP_RESUME, 1},       {OP_WREMOVE, 1},   {OP_BULK, 4},         {OP_UPDATE, 2},
    {OP_WALL_STEP, 2},
};

/* weight returns the weight of kind i in the run's profile. */
static int weight(const driver *d, size_t i)
{
	static const struct {
		int profile, kind, times;
	} more[] = {
	    {1, OP_SUBMIT, 2},  {1, OP_RETRY, 4},        {1, OP_CANCEL, 3},   {1, OP_BATCH, 2},
	    {2, OP_JOIN, 4},    {2, OP_HEARTBEAT, 3},    {2, OP_ADVANCE, 3},  {2, OP_DRAIN, 3},
	    {2, OP_LEAVE, 3},   {2, OP_T_UPDATE, 3},     {3, OP_P_DELETE, 5}, {3, OP_T_DELETE, 5},
	    {3, OP_CLEAR, 5},   {3, OP_POP, 3},          {3, OP_RESTART, 2},  {3, OP_REMOVE, 3},
	    {3, OP_RESEND, 2},  {3, OP_SWEEP_UPDATE, 2}, {1, OP_BULK, 3},     {2, OP_RESUME, 3},
	    {2, OP_WREMOVE, 3},
	};
	int w = weights[i].weight;
	if ((weights[i].kind == OP_TOKEN_CREATE || weights[i].kind == OP_TOKEN_REVOKE) &&
	    !d->srv.tokens)
		return 0;
	for (size_t k = 0; k < sizeof(more) / sizeof(more[0]); k++)
		if (more[k].profile == d->profile && more[k].kind == weights[i].kind)
			w *= more[k].times;
	return w;
}

/* gen_resend picks a remembered request to send again: as it was, or (a[1])
 * another method under its id, or (a[2]) another token's by that token;
 * a check when there is none. */
static void gen_resend(driver *d, uint64_t *r, op *o)
{
	o->a[1] = chance(r, 15);
	/* half the time another token's request by that token */
	o->a[2] = o->a[1] == 0 && chance(r, 50);
	o->a[0] = o->a[2] ? resend_pick_mine(d, r, false) : -1;
	if (o->a[0] < 0) {
		o->a[2] = 0;
		o->a[0] = resend_pick(d, r, o->a[1] != 0);
	}
	if (o->a[0] < 0)
		o->kind = OP_CHECK;
}

/* gen_scene plays, one step per operation, the order of things that
 * random ones reach too seldom: a token made, the wall clock stepped back
 * past its making, a Submit with it, a restart, and the Submit resent by
 * that token: the resend must get its job, though the job is dated before
 * the token (the job's id, not its time, says the token made it). */
static void gen_scene(driver *d, uint64_t *r, op *o)
{
	switch (d->scene++) {
	case 1:
		o->kind = OP_TOKEN_CREATE;
		o->a[0] = d->scene_slot;
		o->a[1] = chance(r, 50) ? 1 : 2; /* an admin, or a user of every project */
		break;
	case 2:
		o->kind = OP_WALL_STEP;
		o->a[0] = -3 * 60000;
		break;
	case 3:
		o->kind = OP_SUBMIT;
		gen_job_ops(d, r, o);
		o->a[10] = d->scene_slot;
		o->a[11] = OP_SUBMIT;
		o->kind = OP_AS;
		break;
	case 4:
		o->kind = OP_RESTART;
		o->a[0] = pick(r, 3);
		break;
	default:
		d->scene = 0;
		o->kind = OP_RESEND;
		o->a[2] = 1;
		o->a[0] = resend_pick_mine(d, r, true);
		if (o->a[0] < 0)
			o->kind = OP_CHECK;
	}
}

/* Steps of the scene of a run outside its worker (a SLURM job), cancelled
 * while its worker is away for longer than the lease. */
enum { SCENE_OUT = 100, SCENE_OUT_END = SCENE_OUT + 6 };

/* worker_index returns the index model_wname gives name, or -1. */
static int64_t worker_index(const char *name)
{
	for (int64_t i = 0; i < MODEL_NWORKER; i++)
		if (strcmp(model_wname(i), name) == 0)
			return i;
	return -1;
}

/* scene_out_start picks a RUNNING job leased to a known worker for the
 * scene of a run outside its worker; false if there is none. */
static bool scene_out_start(driver *d, uint64_t *r)
{
	const model *m = d->m;
	int64_t n = 0;
	for (size_t i = 0; i < m->njobs; i++)
		n += m->jobs[i]->live && m->jobs[i]->status == ST_RUNNING &&
		     worker_index(m->jobs[i]->worker) >= 0;
	if (n == 0)
		return false;
	int64_t k = pick(r, n);
	for (size_t i = 0; i < m->njobs; i++)
		if (m->jobs[i]->live && m->jobs[i]->status == ST_RUNNING &&
		    worker_index(m->jobs[i]->worker) >= 0 && k-- == 0)
			d->scene_job = (int64_t)i;
	d->scene = SCENE_OUT;
	return true;
}

/* gen_scene_out plays, one step per operation, a run outside its worker
 * cancelled while the worker is away: its worker says where it runs (an
 * external id), the job is cancelled, the lease runs out, wnd may restart,
 * and the worker joins again: it must be told to stop the run (Join's
 * held), and the job says it is stopping until the run reports. */
static void gen_scene_out(driver *d, uint64_t *r, op *o)
{
	const model_job *j = d->scene_job < (int64_t)d->m->njobs ? d->m->jobs[d->scene_job] : NULL;
	int64_t w = j != NULL ? worker_index(j->worker) : -1;
	int step = d->scene++ - SCENE_OUT;
	if (step >= SCENE_OUT_END - SCENE_OUT - 1)
		d->scene = 0;
	if (w < 0) { /* the job went meanwhile */
		d->scene = 0;
		o->kind = OP_CHECK;
		return;
	}
	switch (step) {
	case 0: /* one lease, the current attempt, external id "ext-<job>" */
		o->kind = OP_HEARTBEAT;
		o->a[0] = w;
		o->a[1] = 1;
		o->a[2] = d->scene_job * 16 + 1;
		break;
	case 1:
		o->kind = OP_CANCEL;
		o->a[0] = d->scene_job;
		break;
	case 2:
		o->kind = OP_ADVANCE;
		o->a[0] = 11 * 60000; /* past the lease */
		break;
	case 3:
		o->kind = OP_RESTART;
		o->a[0] = pick(r, 3);
		break;
	case 4:
		o->kind = OP_JOIN;
		o->a[0] = w;
		o->a[3] = 1;
		break;
	default:
		o->kind = OP_CHECK;
	}
}

/* gen_scenes begins a scene now and then, and plays the next step of the
 * one under way into o; false when there is none. */
static bool gen_scenes(driver *d, uint64_t *r, op *o)
{
	if (d->scene == 0 && d->srv.tokens && chance(r, 1) && chance(r, 25)) {
		d->scene = 1;
		d->scene_slot = (int)pick(r, MODEL_NTOKENS);
	}
	if (d->scene == 0 && chance(r, 1) && chance(r, 50) && scene_out_start(d, r)) {
		gen_scene_out(d, r, o);
		return true;
	}
	if (d->scene >= SCENE_OUT) {
		gen_scene_out(d, r, o);
		return true;
	}
	if (d->scene > 0) {
		gen_scene(d, r, o);
		return true;
	}
	return false;
}

static void gen_one(driver *d, uint64_t *r, op *o)
{
	memset(o, 0, sizeof(*o));
	o->code = -1;
	o->reqid = rng_next(r) | 1;
	if (d->m->settle) {
		/* retention became due at once: let time pass before anything else */
		o->kind = OP_ADVANCE;
		return;
	}
	if (gen_scenes(d, r, o))
		return;
	int total = 0;
	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		total += weight(d, i);
	int64_t k = pick(r, total);
	for (size_t i = 0; i < sizeof(weights) / sizeof(weights[0]); i++)
		if ((k -= weight(d, i)) < 0) {
			o->kind = weights[i].kind;
			break;
		}
	/* a lease to report on, mostly */
	bool leased = false;
	for (size_t i = 0; i < d->m->njobs && !leased; i++)
		leased = is_running(d->m->jobs[i]);
	if (!leased &&
	    (o->kind == OP_COMPLETE || o->kind == OP_RELEASE || o->kind == OP_COMPLETE_BATCH ||
	     o->kind == OP_HEARTBEAT) &&
	    chance(r, 85))
		o->kind = OP_FETCH;
	/* build some structure first */
	if (d->m->nprojects < 2 && chance(r, 40))
		o->kind = OP_P_CREATE;
	else if (d->m->ntasks < 3 && chance(r, 40))
		o->kind = OP_T_CREATE;
	switch (o->kind) {
	case OP_RESEND:
		gen_resend(d, r, o);
		break;
	case OP_ADVANCE: {
		static const int64_t steps[] = {5000,      60000,      3 * 60000,  5 * 60000,
		                                9 * 60000, 11 * 60000, 45 * 60000, 2 * 3600000};
		o->a[0] = steps[pick(r, 8)];
		break;
	}
	case OP_WALL_STEP: {
		/* the system's clock stepped (an NTP correction), either way; the
		 * driver keeps its steps within WALL_MAX_MS in all */
		static const int64_t steps[] = {-20 * 60000, -3 * 60000, -45000,    -2000,
		                                2000,        45000,      3 * 60000, 20 * 60000};
		o->a[0] = steps[pick(r, 8)];
		break;
	}
	case OP_RESTART:
		o->a[0] = pick(r, 3); /* SIGTERM, kill -9 after a look, kill -9 at once */
		break;
	case OP_CHECK:
		break;
	case OP_TOKEN_CREATE:
		/* a slot, a role, for a user one project (or all), for a worker a name */
		o->a[0] = pick(r, MODEL_NTOKENS);
		o->a[1] = 1 + pick(r, 4);
		o->a[2] = chance(r, 50) ? 1 + pick(r, MODEL_NPROJ) : 0;
		o->a[3] = pick(r, MODEL_NWORKER);
		break;
	case OP_TOKEN_REVOKE:
		o->a[0] = pick(r, MODEL_NTOKENS);
		break;
	default:
		gen_admin_ops(d, r, o);
		gen_job_ops(d, r, o);
		gen_queue_ops(d, r, o);
		gen_as(d, r, o);
	}
}

/* gen_faults draws the store faults of the start restart o makes (driver.h):
 * read faults, scan faults or both, 1 to 3 of them, after a number of calls
 * spread over orders of magnitude (the operations that follow, or a look at
 * everything). A start stops when it cannot read the bound of the job ids
 * (its second read): reads fail only after those. */
static void gen_faults(uint64_t *r, op *o)
{
	int64_t which = 1 + pick(r, 3); /* bit 0 read, bit 1 scan */
	o->a[6] = chance(r, 25);        /* on the look after the restart, too */
	if (which & 1) {
		o->a[1] = 1 + pick(r, 3);
		o->a[2] = 2 + pick(r, (int64_t)1 << (1 + pick(r, o->a[6] ? 11 : 7)));
	}
	if (which & 2) {
		o->a[3] = 1 + pick(r, 3);
		o->a[4] = pick(r, (int64_t)1 << (1 + pick(r, o->a[6] ? 14 : 10)));
	}
	o->a[5] = pick(r, 4);
}

void gen_op(driver *d, uint64_t *r, op *o)
{
	bool first = true;
	for (int k = 0; k < OP_NKINDS; k++)
		first = first && d->ops[k] == 0;
	if (d->faults && first) {
		/* the first start has no faults: a restart gives them at once */
		memset(o, 0, sizeof(*o));
		o->code = -1;
		o->reqid = rng_next(r) | 1;
		o->kind = OP_RESTART;
	} else {
		gen_one(d, r, o);
	}
	if (d->faults && o->kind == OP_RESTART)
		gen_faults(r, o);
}
