/* build: the request of each operation, resolved against the model: jobs
 * are named by creation order, attempts relative to the current one, texts
 * and bad inputs by variant number. */
#include "driver.h"
#include "pool.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* build_id_of resolves job number sym (creation order): an id never used when
 * there is no such job, 0 for sym < 0. */
uint64_t build_id_of(const driver *d, int64_t sym)
{
	if (sym < 0)
		return 0;
	if ((uint64_t)sym < d->m->njobs)
		return d->m->jobs[sym]->id;
	return d->m->max_id + 1000 + (uint64_t)sym;
}

static model_job *job_of(const driver *d, int64_t sym)
{
	return sym >= 0 && (uint64_t)sym < d->m->njobs ? d->m->jobs[sym] : NULL;
}

/* attempt: the current attempt of job sym, one before (1) or after (2). */
static uint32_t attempt_of(const driver *d, int64_t sym, int64_t delta)
{
	model_job *j = job_of(d, sym);
	uint32_t a = j ? j->attempt : 1;
	return delta == 1 ? a - 1 : delta == 2 ? a + 1 : a;
}

/* build_text returns text variant v: 0 empty, 1 short, 2 over 4096 bytes, 3 over
 * 64 KiB, 4 over 128 bytes. */
char *build_text(int64_t v, const char *what, int64_t seed)
{
	size_t n = v == 2 ? 4097 : v == 3 ? 70000 + (size_t)(seed % 100) : v == 4 ? 129 : 0;
	if (v <= 0)
		return "";
	if (v == 1)
		return pool_printf("%s %lld", what, (long long)seed);
	char *s = pool_alloc(n + 1);
	for (size_t i = 0; i < n; i++)
		s[i] = (char)('a' + (i * 7 + (size_t)seed) % 26);
	return s;
}

static const char *worker_for(const driver *d, int64_t w, int64_t sym)
{
	model_job *j = job_of(d, sym);
	if (w == 100) /* the holder (a copy: the model changes its own) */
		return pool_strdup(j && j->worker[0] ? j->worker : "w0");
	return model_wname(w);
}

static uint64_t local_next(uint64_t *s)
{
	return rng_next(s);
}

static Whatsnext__V1__JobSpec__ParamsEntry **params(int64_t seed, size_t *n)
{
	uint64_t r = (uint64_t)(seed < 0 ? -seed : seed) * 7919 + 1;
	*n = seed < 0 ? 2 : local_next(&r) % 4;
	Whatsnext__V1__JobSpec__ParamsEntry **v = pool_alloc((*n + 1) * sizeof(*v));
	static const char *const keys[] = {"lr", "bs", "seed", "model"};
	for (size_t i = 0; i < *n; i++) {
		v[i] = pool_alloc(sizeof(**v));
		whatsnext__v1__job_spec__params_entry__init(v[i]);
		v[i]->key = (char *)keys[i];
		v[i]->value = pool_printf("%llu", (unsigned long long)(local_next(&r) % 1000));
	}
	if (seed == -1) /* an invalid parameter name */
		v[1]->key = "bad key";
	else if (seed == -2) /* a parameter given twice */
		v[1]->key = "lr";
	else if (seed == -3) /* a value over 1 MiB */
		v[1]->value = memset(pool_alloc((1 << 20) + 2), 'v', (1 << 20) + 1);
	return v;
}

static Whatsnext__V1__Dependency *dep(const driver *d, int64_t enc)
{
	Whatsnext__V1__Dependency *x = pool_alloc(sizeof(*x));
	whatsnext__v1__dependency__init(x);
	x->job_id = build_id_of(d, enc / 4);
	x->condition = (Whatsnext__V1__DepCondition)(enc % 4 == 3 ? 7 : enc % 4);
	return x;
}

static Whatsnext__V1__JobSpec *spec(const driver *d, const op *o)
{
	Whatsnext__V1__JobSpec *s = pool_alloc(sizeof(*s));
	whatsnext__v1__job_spec__init(s);
	s->project = (char *)model_pname(o->a[0]);
	s->task = (char *)model_tname(o->a[1]);
	s->name = o->a[2] == 0   ? ""
	          : o->a[2] == 1 ? pool_printf("j%lld", (long long)o->a[3])
	          : o->a[2] == 2 ? pool_printf("lr=0.%lld,bs:32+x@y", (long long)o->a[3])
	                         : (char *)model_bad_name(o->a[2]);
	s->params = params(o->a[3], &s->n_params);
	s->priority = (int32_t)o->a[4];
	size_t nd = (size_t)(o->a[5] < 0 ? 0 : o->a[5] > 3 ? 3 : o->a[5]);
	s->after = pool_alloc((nd + 2) * sizeof(*s->after));
	for (size_t i = 0; i < nd; i++)
		s->after[s->n_after++] = dep(d, o->a[6 + i]);
	if ((o->a[9] & 8) && s->n_after > 0) /* the same dependency twice */
		s->after[s->n_after++] = s->after[0];
	if (o->a[9] & 2) { /* a reference by name outside a batch */
		Whatsnext__V1__Dependency *x = dep(d, 0);
		x->job_id = 0;
		x->ref = "j1";
		s->after[s->n_after++] = x;
	}
	return s;
}

static ProtobufCMessage *build_submit(const driver *d, const op *o)
{
	Whatsnext__V1__SubmitRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__submit_request__init(rq);
	rq->job = (o->a[9] & 4) ? NULL : spec(d, o);
	rq->brief = (o->a[9] & 1) != 0;
	return &rq->base;
}

/* batch_names gives each job of a batch its name: "b<i>", or none. */
static void batch_names(Whatsnext__V1__JobSpec **v, size_t n, uint64_t *r)
{
	for (size_t i = 0; i < n; i++)
		v[i]->name = local_next(r) % 4 == 0 ? "" : pool_printf("b%zu", i);
}

/* batch_size: how many jobs batch op o sends (at least what its bad
 * variant needs). */
static size_t batch_size(const op *o)
{
	size_t n = (size_t)(o->a[1] < 0 ? 0 : o->a[1] > 8 ? 8 : o->a[1]);
	int64_t bad = o->a[5];
	if (bad == 3 && n < 3)
		n = 3;
	if ((bad == 1 || bad == 4) && n < 2)
		n = 2;
	if (bad == 2 && n < 1)
		n = 1;
	return n;
}

/* batch_order fills perm with a random order of n jobs and rank with each
 * job's place in it. */
static void batch_order(size_t n, uint64_t *r, size_t *perm, size_t *rank)
{
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n; i > 1; i--) {
		size_t k = local_next(r) % i, t = perm[i - 1];
		perm[i - 1] = perm[k];
		perm[k] = t;
	}
	for (size_t i = 0; i < n; i++)
		rank[perm[i]] = i;
}

/* batch_spec: a job of project p, of a task the project has (if any). */
static Whatsnext__V1__JobSpec *batch_spec(const driver *d, const char *p, uint64_t *r)
{
	Whatsnext__V1__JobSpec *s = pool_alloc(sizeof(*s));
	whatsnext__v1__job_spec__init(s);
	s->project = (char *)p;
	size_t nt = 0;
	const char *tasks[16];
	for (size_t t = 0; t < d->m->ntasks && nt < 16; t++)
		if (strcmp(d->m->tasks[t]->project, p) == 0)
			tasks[nt++] = d->m->tasks[t]->name;
	s->task = pool_strdup(nt ? tasks[local_next(r) % nt] : "t0");
	s->params = params((int64_t)(local_next(r) % 1000), &s->n_params);
	s->priority = (int32_t)(local_next(r) % 4) - 1;
	s->after = pool_alloc(8 * sizeof(*s->after));
	return s;
}

/* batch_deps gives job i of the batch its dependencies: now and then one by
 * name on a job before it in the order (rank), one on a job of the project
 * that exists already. */
static void batch_deps(const driver *d, Whatsnext__V1__SubmitBatchRequest *rq, size_t i,
                       const size_t *perm, const size_t *rank, uint64_t *r)
{
	Whatsnext__V1__JobSpec *s = rq->jobs[i];
	if (rank[i] > 0 && local_next(r) % 3 == 0) {
		size_t k = perm[local_next(r) % rank[i]];
		if (rq->jobs[k]->name[0] != '\0') {
			Whatsnext__V1__Dependency *x = dep(d, 0);
			x->job_id = 0;
			x->ref = rq->jobs[k]->name;
			x->condition = (Whatsnext__V1__DepCondition)(local_next(r) % 3);
			s->after[s->n_after++] = x;
		}
	}
	if (d->m->njobs > 0 && local_next(r) % 5 == 0) {
		for (size_t tries = 0; tries < 8; tries++) {
			model_job *j = d->m->jobs[local_next(r) % d->m->njobs];
			if (j->live && strcmp(j->project, s->project) == 0) {
				Whatsnext__V1__Dependency *x = dep(d, 0);
				x->job_id = j->id;
				x->condition = (Whatsnext__V1__DepCondition)(local_next(r) % 3);
				s->after[s->n_after++] = x;
				break;
			}
		}
	}
}

/* batch_bad makes the batch of n jobs bad as variant bad says. */
static void batch_bad(const driver *d, Whatsnext__V1__SubmitBatchRequest *rq, const op *o, size_t n,
                      int64_t bad)
{
	Whatsnext__V1__Dependency *x = dep(d, 0);
	x->job_id = 0;
	switch (bad) {
	case 1: /* a cycle: the first two wait for each other */
		rq->jobs[0]->name = "c0";
		rq->jobs[1]->name = "c1";
		rq->jobs[0]->n_after = rq->jobs[1]->n_after = 0;
		x->ref = "c1";
		rq->jobs[0]->after[rq->jobs[0]->n_after++] = x;
		x = dep(d, 0);
		x->job_id = 0;
		x->ref = "c0";
		rq->jobs[1]->after[rq->jobs[1]->n_after++] = x;
		break;
	case 2: /* a name no job of the batch has */
		x->ref = "nope";
		rq->jobs[n - 1]->after[rq->jobs[n - 1]->n_after++] = x;
		break;
	case 3: /* a name two jobs share */
		rq->jobs[0]->name = rq->jobs[1]->name = "dup";
		rq->jobs[2]->name = "c2";
		rq->jobs[2]->n_after = 0;
		x->ref = "dup";
		rq->jobs[2]->after[rq->jobs[2]->n_after++] = x;
		break;
	case 4: /* a job of another project, depended on by name */
		rq->jobs[1]->project = (char *)model_pname((o->a[0] + 1) % MODEL_NPROJ);
		rq->jobs[1]->task = "t0";
		rq->jobs[1]->name = "other";
		rq->jobs[1]->n_after = 0;
		rq->jobs[0]->n_after = 0;
		x->ref = "other";
		rq->jobs[0]->after[rq->jobs[0]->n_after++] = x;
		break;
	}
}

static ProtobufCMessage *build_batch(const driver *d, const op *o)
{
	Whatsnext__V1__SubmitBatchRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__submit_batch_request__init(rq);
	size_t n = batch_size(o);
	int64_t bad = o->a[5];
	uint64_t r = (uint64_t)o->a[2] * 2654435761u + 17;
	const char *p = model_pname(o->a[0]);
	rq->jobs = pool_alloc((n + 1) * sizeof(*rq->jobs));
	rq->n_jobs = n;
	/* a random order: a job refers only to jobs before it in that order,
	 * earlier or later in the batch */
	size_t *perm = pool_alloc((n + 1) * sizeof(size_t)),
	       *rank = pool_alloc((n + 1) * sizeof(size_t));
	batch_order(n, &r, perm, rank);
	for (size_t i = 0; i < n; i++)
		rq->jobs[i] = batch_spec(d, p, &r);
	batch_names(rq->jobs, n, &r);
	for (size_t i = 0; i < n; i++)
		batch_deps(d, rq, i, perm, rank, &r);
	if (o->a[3] != 0 || bad == 5) {
		rq->sweep = pool_alloc(sizeof(*rq->sweep));
		whatsnext__v1__sweep_spec__init(rq->sweep);
		rq->sweep->name = bad == 5       ? "-bad"
		                  : o->a[3] == 2 ? pool_printf("lr=%lld", (long long)o->a[2])
		                                 : "";
		rq->sweep->max_running = (uint32_t)o->a[4];
	}
	batch_bad(d, rq, o, n, bad);
	return &rq->base;
}

/* progress returns the progress of job id at attempt that ships output
 * variant v (0: none): v % 10000 bytes of what the run printed, from the end
 * the model keeps (v / 10000 == 0), a few bytes before it (1, a resend and
 * more) or from the start (2). */
static Whatsnext__V1__JobProgress *progress(const driver *d, int64_t sym, uint64_t id,
                                            uint32_t attempt, int64_t v)
{
	Whatsnext__V1__JobProgress *pg = pool_alloc(sizeof(*pg));
	whatsnext__v1__job_progress__init(pg);
	pg->job_id = id;
	pg->attempt = attempt;
	uint64_t end = model_output_end(job_of(d, sym), attempt);
	uint64_t from = v / 10000 == 0 ? end : v / 10000 == 1 ? (end > 10 ? end - 10 : 0) : 0;
	size_t n = (size_t)(v % 10000) + (size_t)(end - from);
	pg->output_offset = from;
	pg->output.len = v > 0 ? n : 0;
	pg->output.data = pool_alloc(n + 1);
	for (size_t i = 0; i < pg->output.len; i++)
		pg->output.data[i] = model_output_byte(id, attempt, from + i);
	model_results_fill(pg, v, pool_alloc);
	return pg;
}

/* artifacts_of lists in rq the files of mask, as the worker would (stored:
 * it uploaded them; the server decides); bit MODEL_NART: one without a path. */
static void artifacts_of(Whatsnext__V1__CompleteRequest *rq, int64_t mask)
{
	rq->artifacts = pool_alloc((MODEL_NART + 2) * sizeof(*rq->artifacts));
	for (int k = 0; k <= MODEL_NART; k++) {
		if (!(mask & (1 << k)))
			continue;
		Whatsnext__V1__Artifact *a = pool_alloc(sizeof(*a));
		whatsnext__v1__artifact__init(a);
		a->path = k < MODEL_NART ? (char *)model_art_path(k) : "";
		a->size = model_art_size(rq->job_id, rq->attempt, k);
		a->sha256 = pool_alloc(65);
		model_art_sha(rq->job_id, rq->attempt, k, a->sha256);
		a->stored = true;
		rq->artifacts[rq->n_artifacts++] = a;
	}
}

/* build_artifact: an upload of a run's file a[1] in one chunk (a[2]: 1 a
 * wrong sha256, 2 a path out of the working directory, 3 another attempt)
 * or a read of it from an offset (a[3]) of at most a[4] bytes. */
static ProtobufCMessage *build_artifact(const driver *d, const op *o)
{
	const int64_t *a = o->a;
	int idx = (int)(a[1] % MODEL_NART);
	if (o->kind == OP_AGET) {
		Whatsnext__V1__GetArtifactRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__get_artifact_request__init(rq);
		rq->job_id = build_id_of(d, a[0]);
		rq->path = (char *)model_art_path(idx);
		rq->offset = (uint64_t)a[3];
		rq->max_bytes = (uint32_t)a[4];
		return &rq->base;
	}
	Whatsnext__V1__PutArtifactRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__put_artifact_request__init(rq);
	rq->worker = (char *)worker_for(d, 100, a[0]);
	rq->job_id = build_id_of(d, a[0]);
	rq->attempt = attempt_of(d, a[0], a[2] == 3 ? 2 : 0);
	rq->path = a[2] == 2 ? "../escape" : (char *)model_art_path(idx);
	uint32_t att = attempt_of(d, a[0], 0);
	rq->size = model_art_size(rq->job_id, att, idx);
	rq->sha256 = pool_alloc(65);
	model_art_sha(rq->job_id, att, idx, rq->sha256);
	if (a[2] == 1)
		rq->sha256[0] = rq->sha256[0] == 'a' ? 'b' : 'a';
	rq->data.len = (size_t)rq->size;
	rq->data.data = pool_alloc(rq->data.len + 1);
	for (size_t i = 0; i < rq->data.len; i++)
		rq->data.data[i] = model_art_byte(rq->job_id, att, idx, i);
	return &rq->base;
}

static ProtobufCMessage *build_complete_one(const driver *d, const int64_t *a)
{
	Whatsnext__V1__CompleteRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__complete_request__init(rq);
	rq->job_id = build_id_of(d, a[0]);
	rq->attempt = attempt_of(d, a[0], a[1]);
	rq->worker = (char *)worker_for(d, a[2], a[0]);
	rq->success = a[3] == 0;
	rq->cancelled = a[3] == 2;
	rq->exit_code = a[3] == 0 ? 0 : (int32_t)a[4] + 1;
	rq->reason = build_text(a[5], "reason", a[0]);
	rq->output_tail = build_text(a[6] == 2 ? 3 : a[6], "output", a[0]);
	rq->duration_ms = a[0] * 10;
	rq->external_id = a[7] == 2   ? build_text(4, "", 0)
	                  : a[7] == 1 ? pool_printf("slurm-%lld", (long long)a[0])
	                              : "";
	rq->brief = (a[8] & 1) != 0;
	if (a[8] > 1) /* the files of the run listed, a[8] >> 1 a mask of them */
		artifacts_of(rq, a[8] >> 1);
	if (a[10] != 0)
		rq->progress = progress(d, a[0], rq->job_id, rq->attempt, a[10]);
	if (a[9] != 0) {
		model_job *j = job_of(d, a[0]);
		rq->next = pool_alloc(sizeof(*rq->next));
		whatsnext__v1__fetch_request__init(rq->next);
		rq->next->worker = rq->worker;
		rq->next->project = a[9] == 2 ? "p5" : j ? j->project : "p0";
		rq->next->max_jobs = a[9] == 3 ? 1000000 : 0; /* ignored: one job */
	}
	return &rq->base;
}

static ProtobufCMessage *build_complete_batch(const driver *d, const op *o)
{
	Whatsnext__V1__CompleteBatchRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__complete_batch_request__init(rq);
	size_t n = (size_t)(o->a[0] < 0 ? 0 : o->a[0] > 6 ? 6 : o->a[0]);
	rq->results = pool_alloc((n + 1) * sizeof(*rq->results));
	uint64_t r = (uint64_t)o->a[1] * 40503 + 3;
	for (size_t i = 0; i < n; i++) {
		int64_t a[OP_NARGS] = {0};
		a[0] = o->a[2 + i % 6];
		a[1] = local_next(&r) % 8 == 0 ? 1 : 0;
		a[2] = 100;
		a[3] = (int64_t)(local_next(&r) % 3);
		a[4] = (int64_t)(local_next(&r) % 3);
		a[5] = (int64_t)(local_next(&r) % 2);
		a[6] = (int64_t)(local_next(&r) % 2);
		a[8] = (int64_t)(local_next(&r) % 2);
		if (local_next(&r) % 6 == 0) /* one file, or one refused */
			a[8] += local_next(&r) % 2 ? 2 : 2 * (1 + (1 << MODEL_NART));
		a[9] = local_next(&r) % 20 == 0 ? 1 : 0;
		if (local_next(&r) % 4 == 0) /* some output and results */
			a[10] = 1 + (int64_t)(local_next(&r) % 3000);
		rq->results[rq->n_results++] = (void *)build_complete_one(d, a);
	}
	return &rq->base;
}

static ProtobufCMessage *build_fetch(const driver *d, const op *o)
{
	(void)d;
	Whatsnext__V1__FetchRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__fetch_request__init(rq);
	rq->worker = (char *)model_wname(o->a[0]);
	rq->project = o->a[2] < 0 ? "" : (char *)model_pname(o->a[2]);
	rq->projects = pool_alloc(8 * sizeof(char *));
	for (int i = 0; i < 5; i++)
		if (o->a[1] & (1 << i))
			rq->projects[rq->n_projects++] = (char *)model_pname(i == 4 ? 5 : i);
	rq->tasks = pool_alloc(8 * sizeof(char *));
	for (int i = 0; i < 4; i++)
		if (o->a[3] & (1 << i))
			rq->tasks[rq->n_tasks++] = i == 3 ? "bad task" : (char *)model_tname(i);
	rq->max_jobs = (uint32_t)o->a[4];
	rq->wait_ms = o->a[5] == 1   ? 60001
	              : o->a[5] == 2 ? 30
	                             : 0; /* over the limit; a short wait */
	return &rq->base;
}

static ProtobufCMessage *build_heartbeat(const driver *d, const op *o)
{
	Whatsnext__V1__HeartbeatRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__heartbeat_request__init(rq);
	rq->worker = (char *)model_wname(o->a[0]);
	size_t n = (size_t)(o->a[1] < 0 ? 0 : o->a[1] > 4 ? 4 : o->a[1]);
	rq->leases = pool_alloc((n + 1) * sizeof(*rq->leases));
	for (size_t i = 0; i < n; i++) {
		int64_t enc = o->a[2 + i];
		Whatsnext__V1__Lease *l = pool_alloc(sizeof(*l));
		whatsnext__v1__lease__init(l);
		l->job_id = build_id_of(d, enc / 16);
		l->attempt = attempt_of(d, enc / 16, (enc / 4) % 4);
		l->external_id = enc % 4 == 1   ? pool_printf("ext-%lld", (long long)(enc / 16))
		                 : enc % 4 == 2 ? "ext-b"
		                 : enc % 4 == 3 ? build_text(4, "", 1)
		                                : "";
		rq->leases[rq->n_leases++] = l;
	}
	/* what the runs printed; a[10]: one job's progress twice (refused) */
	rq->progress = pool_alloc((n + 2) * sizeof(*rq->progress));
	for (size_t i = 0; i < n; i++)
		if (o->a[6 + i] != 0)
			rq->progress[rq->n_progress++] =
			    progress(d, o->a[2 + i] / 16, rq->leases[i]->job_id,
			             rq->leases[i]->attempt, o->a[6 + i]);
	if (o->a[10] != 0 && rq->n_progress > 0)
		rq->progress[rq->n_progress++] = rq->progress[0];
	const model_worker *w = model_worker_get(d->m, rq->worker);
	if (o->a[11] == 1 || o->a[11] == 2) {
		/* the server holds a heartbeat only while it has no news: a
		 * worker that believes the opposite of its drain has some */
		rq->wait_ms = o->a[11] == 2 ? 60001 : 30000;
		rq->draining = !(w != NULL && w->draining);
	} else if (o->a[11] == 3 && model_unnamed_held(d->m, rq, MODEL_FRESH_LEASE_MS / 2)) {
		/* so has a worker leased a job just now that its heartbeat does
		 * not name (its fetch raced ahead of the heartbeat); well within
		 * the server's bound, as time runs on between the calls (with an
		 * older lease the server would hold the heartbeat, and answer it
		 * held all the same when its wait is over: kept short, a call
		 * slower than expected costs the run 2 s, not its timeout) */
		rq->wait_ms = 2000;
		rq->draining = w != NULL && w->draining;
	}
	return &rq->base;
}

/* instance_of: no instance id (0), "i1", "i2", or an invalid one (< 0). */
static const char *instance_of(int64_t v)
{
	return v == 0 ? "" : v == 1 ? "i1" : v == 2 ? "i2" : "bad instance";
}

static ProtobufCMessage *build_join(const driver *d, const op *o)
{
	(void)d;
	Whatsnext__V1__JoinRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__join_request__init(rq);
	if (o->a[4] == 1)
		return &rq->base; /* no worker at all */
	Whatsnext__V1__Worker *w = pool_alloc(sizeof(*w));
	whatsnext__v1__worker__init(w);
	w->name = (char *)model_wname(o->a[0]);
	w->host = pool_printf("host-%lld", (long long)o->a[1]);
	w->version = "test";
	w->capacity = model_cap_variant(o->a[1]);
	w->projects = pool_alloc(8 * sizeof(char *));
	for (int i = 0; i < 4; i++)
		if (o->a[2] & (1 << i))
			w->projects[w->n_projects++] = (char *)model_pname(i);
	if (o->a[4] == 2)
		w->projects[w->n_projects++] = "bad project";
	w->tasks = pool_alloc(8 * sizeof(char *));
	for (int i = 0; i < 3; i++)
		if (o->a[6] & (1 << i))
			w->tasks[w->n_tasks++] = (char *)model_tname(i);
	if (o->a[4] == 3)
		w->tasks[w->n_tasks++] = "bad task";
	w->slots = (uint32_t)o->a[3];
	w->instance = (char *)instance_of(o->a[5]);
	rq->worker = w;
	return &rq->base;
}

static ProtobufCMessage *build_task(const op *o, bool update)
{
	Whatsnext__V1__Task *t = pool_alloc(sizeof(*t));
	whatsnext__v1__task__init(t);
	t->project = (char *)model_pname(o->a[0]);
	t->name = (char *)model_tname(o->a[1]);
	int64_t base = update ? 3 : 2;
	t->resources = model_res_variant(o->a[base]);
	t->max_attempts = (uint32_t)o->a[base + 1];
	t->retries = (uint32_t)o->a[base + 2];
	t->timeout_s = (uint32_t)o->a[base + 3];
	t->description = build_text(o->a[base + 4], "task", o->a[1]);
	if (!update) {
		Whatsnext__V1__CreateTaskRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__create_task_request__init(rq);
		rq->task = o->a[7] ? NULL : t;
		return &rq->base;
	}
	static const char *const fields[] = {"description", "resources", "max_attempts",
	                                     "retries",     "timeout_s", "priority"};
	Whatsnext__V1__UpdateTaskRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__update_task_request__init(rq);
	rq->task = t;
	rq->update_mask = pool_alloc(8 * sizeof(char *));
	for (int i = 0; i < 6; i++)
		if (o->a[2] & (1 << i))
			rq->update_mask[rq->n_update_mask++] = (char *)fields[i];
	return &rq->base;
}

/* build_project builds the ProjectService requests. */
static ProtobufCMessage *build_project(const op *o)
{
	const char *name = model_pname(o->a[0]);
	if (o->kind == OP_P_CREATE) {
		Whatsnext__V1__CreateProjectRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__create_project_request__init(rq);
		rq->name = (char *)name;
		rq->description = build_text(o->a[1], "project", o->a[0]);
		return &rq->base;
	}
	if (o->kind == OP_P_UPDATE) {
		Whatsnext__V1__UpdateProjectRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__update_project_request__init(rq);
		rq->name = (char *)name;
		rq->set_description = o->a[1] != 0;
		rq->description = build_text(o->a[2], "changed", o->a[0]);
		rq->status = (Whatsnext__V1__ProjectStatus)o->a[3];
		return &rq->base;
	}
	Whatsnext__V1__DeleteProjectRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__delete_project_request__init(rq);
	rq->name = (char *)name;
	rq->force = o->a[1] != 0;
	return &rq->base;
}

static ProtobufCMessage *build_queue_misc(const driver *d, const op *o)
{
	if (o->kind == OP_BULK)
		return build_bulk(d, o);
	if (o->kind == OP_UPDATE)
		return build_update(d, o);
	if (o->kind == OP_APUT || o->kind == OP_AGET)
		return build_artifact(d, o);
	if (o->kind == OP_RELEASE) {
		Whatsnext__V1__ReleaseRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__release_request__init(rq);
		rq->job_id = build_id_of(d, o->a[0]);
		rq->attempt = attempt_of(d, o->a[0], o->a[1]);
		rq->worker = (char *)worker_for(d, o->a[2], o->a[0]);
		rq->reason = build_text(o->a[3], "busy", o->a[0]);
		return &rq->base;
	}
	if (o->kind == OP_CLEAR) {
		Whatsnext__V1__ClearRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__clear_request__init(rq);
		rq->project = (char *)model_pname(o->a[0]);
		rq->task =
		    o->a[1] == 0 ? "" : (char *)model_tname(o->a[1] > 0 ? o->a[1] - 1 : o->a[1]);
		return &rq->base;
	}
	if (o->kind == OP_POP) {
		Whatsnext__V1__PopRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__pop_request__init(rq);
		rq->project = (char *)model_pname(o->a[0]);
		rq->position = (uint64_t)o->a[1];
		return &rq->base;
	}
	if (o->kind == OP_SWEEP_UPDATE) {
		Whatsnext__V1__UpdateSweepRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__update_sweep_request__init(rq);
		rq->id = o->a[0] >= 0 && (size_t)o->a[0] < d->m->nsweeps ? d->m->sweeps[o->a[0]]->id
		                                                         : d->m->max_id + 5000;
		rq->set_priority = o->a[1] != 0;
		rq->priority = (int32_t)o->a[2];
		rq->set_max_running = o->a[3] != 0;
		rq->max_running = (uint32_t)o->a[4];
		return &rq->base;
	}
	Whatsnext__V1__WorkerNameRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__worker_name_request__init(rq);
	rq->name = (char *)model_wname(o->a[0]);
	rq->instance = (char *)(o->kind == OP_LEAVE ? instance_of(o->a[1]) : "");
	return &rq->base;
}

/* build_wait: a Wait with wait_ms 0 (or, when the model says the jobs have
 * ended, a long one, answered at once) for a[1] (1-4) jobs a[2..5], sweep
 * a[6] or project a[7] as a[0] says (0, 1, 2; 3 none, 4 two of them, 5
 * wait_ms too long, 6 a sweep that does not exist); a[8] long. */
static ProtobufCMessage *build_wait(const driver *d, const op *o)
{
	Whatsnext__V1__WaitRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__wait_request__init(rq);
	int64_t mode = o->a[0];
	if (mode == 0 || mode == 4) {
		rq->n_ids = (size_t)(o->a[1] < 1 || o->a[1] > 4 ? 1 : o->a[1]);
		rq->ids = pool_alloc(rq->n_ids * sizeof(*rq->ids));
		for (size_t i = 0; i < rq->n_ids; i++)
			rq->ids[i] = build_id_of(d, o->a[2 + i]);
	}
	if (mode == 1 || mode == 5)
		rq->sweep_id = o->a[6] >= 0 && (size_t)o->a[6] < d->m->nsweeps
		                   ? d->m->sweeps[o->a[6]]->id
		                   : d->m->max_id + 5000;
	if (mode == 6)
		rq->sweep_id = d->m->max_id + 5000;
	if (mode == 2 || mode == 4)
		rq->project = (char *)model_pname(o->a[7]);
	if (mode == 5)
		rq->wait_ms = 60001;
	bool ended = true;
	for (size_t i = 0; i < rq->n_ids; i++) {
		int st = model_dep_status(d->m, rq->ids[i]);
		ended &= st != ST_PENDING && st != ST_RUNNING;
	}
	if (rq->sweep_id != 0)
		ended &= model_sweep_count(d->m, rq->sweep_id, ST_PENDING) +
		             model_sweep_count(d->m, rq->sweep_id, ST_RUNNING) ==
		         0;
	if (rq->project != NULL && model_project_get(d->m, rq->project) != NULL)
		ended &= model_project_count(d->m, rq->project, ST_PENDING) +
		             model_project_count(d->m, rq->project, ST_RUNNING) ==
		         0;
	if (mode != 5 && ended && o->a[8] != 0)
		rq->wait_ms = 30000;
	return &rq->base;
}

/* The method of each kind of operation. */
static const char *const op_methods[OP_NKINDS] = {
    [OP_P_CREATE] = "ProjectService/Create",
    [OP_P_UPDATE] = "ProjectService/Update",
    [OP_P_DELETE] = "ProjectService/Delete",
    [OP_T_CREATE] = "TaskService/Create",
    [OP_T_UPDATE] = "TaskService/Update",
    [OP_T_DELETE] = "TaskService/Delete",
    [OP_SUBMIT] = "JobService/Submit",
    [OP_BATCH] = "JobService/SubmitBatch",
    [OP_CANCEL] = "JobService/Cancel",
    [OP_RETRY] = "JobService/Retry",
    [OP_REMOVE] = "JobService/Remove",
    [OP_PRIORITY] = "JobService/SetPriority",
    [OP_FETCH] = "QueueService/Fetch",
    [OP_HEARTBEAT] = "QueueService/Heartbeat",
    [OP_COMPLETE] = "QueueService/Complete",
    [OP_COMPLETE_BATCH] = "QueueService/CompleteBatch",
    [OP_RELEASE] = "QueueService/Release",
    [OP_CLEAR] = "QueueService/Clear",
    [OP_POP] = "QueueService/Pop",
    [OP_JOIN] = "WorkerService/Join",
    [OP_LEAVE] = "WorkerService/Leave",
    [OP_DRAIN] = "WorkerService/Drain",
    [OP_RESUME] = "WorkerService/Resume",
    [OP_WREMOVE] = "WorkerService/Remove",
    [OP_SWEEP_UPDATE] = "SweepService/Update",
    [OP_LOG] = "JobService/Log",
    [OP_WAIT] = "JobService/Wait",
    [OP_HISTORY] = "JobService/History",
    [OP_APUT] = "QueueService/PutArtifact",
    [OP_AGET] = "JobService/GetArtifact",
    [OP_BULK] = "JobService/Bulk",
    [OP_UPDATE] = "JobService/Update",
};

int build_request(driver *d, const op *o, const char **method, ProtobufCMessage **msg)
{
	if (o->kind < 0 || o->kind >= OP_NKINDS || op_methods[o->kind] == NULL)
		return -1;
	*method = op_methods[o->kind];
	switch (o->kind) {
	case OP_P_CREATE:
	case OP_P_UPDATE:
	case OP_P_DELETE:
		*msg = build_project(o);
		break;
	case OP_T_CREATE:
		*msg = build_task(o, false);
		break;
	case OP_T_UPDATE:
		*msg = build_task(o, true);
		break;
	case OP_T_DELETE: {
		Whatsnext__V1__DeleteTaskRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__delete_task_request__init(rq);
		rq->project = (char *)model_pname(o->a[0]);
		rq->name = (char *)model_tname(o->a[1]);
		rq->force = o->a[2] != 0;
		*msg = &rq->base;
		break;
	}
	case OP_SUBMIT:
		*msg = build_submit(d, o);
		break;
	case OP_BATCH:
		*msg = build_batch(d, o);
		break;
	case OP_CANCEL:
	case OP_RETRY:
	case OP_REMOVE:
	case OP_PRIORITY:
		*msg = build_job_change(d, o);
		break;
	case OP_FETCH:
		*msg = build_fetch(d, o);
		break;
	case OP_HEARTBEAT:
		*msg = build_heartbeat(d, o);
		break;
	case OP_COMPLETE:
		*msg = build_complete_one(d, o->a);
		break;
	case OP_COMPLETE_BATCH:
		*msg = build_complete_batch(d, o);
		break;
	case OP_JOIN:
		*msg = build_join(d, o);
		break;
	case OP_HISTORY: {
		Whatsnext__V1__HistoryRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__history_request__init(rq);
		rq->id = build_id_of(d, o->a[0]);
		*msg = &rq->base;
		break;
	}
	case OP_LOG: {
		/* a job's output from an offset; a[3]: a bad max_bytes or wait_ms */
		Whatsnext__V1__LogRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__log_request__init(rq);
		rq->id = build_id_of(d, o->a[0]);
		rq->offset = (uint64_t)o->a[1];
		rq->max_bytes = o->a[3] == 1 ? (4u << 20) + 1 : (uint32_t)o->a[2];
		rq->wait_ms = o->a[3] == 2 ? 60001 : 0;
		rq->attempt = o->a[4] == 0 ? 0 : attempt_of(d, o->a[0], o->a[4] - 1);
		*msg = &rq->base;
		break;
	}
	case OP_WAIT:
		*msg = build_wait(d, o);
		break;
	default:
		*msg = build_queue_misc(d, o);
	}
	return 0;
}
