/* build_bulk: the requests of the changes to jobs (Cancel, Retry, Remove,
 * SetPriority, Bulk, Update), resolved against the model as build.c does. */
#include "driver.h"
#include "pool.h"

#include <stdio.h>

/* build_job_change: Cancel, Retry, Remove or SetPriority of job a[0]. */
ProtobufCMessage *build_job_change(const driver *d, const op *o)
{
	if (o->kind == OP_PRIORITY) {
		Whatsnext__V1__SetPriorityRequest *rq = pool_alloc(sizeof(*rq));
		whatsnext__v1__set_priority_request__init(rq);
		rq->id = build_id_of(d, o->a[0]);
		rq->priority = (int32_t)o->a[1];
		return &rq->base;
	}
	Whatsnext__V1__JobIdRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__job_id_request__init(rq);
	rq->id = build_id_of(d, o->a[0]);
	if (o->kind == OP_CANCEL)
		rq->reason = build_text(o->a[1], "stop", o->a[0]);
	if (o->kind == OP_REMOVE)
		rq->force = o->a[1] != 0;
	return &rq->base;
}

/* build_bulk: JobService/Bulk of gen_bulk's arguments. */
ProtobufCMessage *build_bulk(const driver *d, const op *o)
{
	Whatsnext__V1__BulkRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__bulk_request__init(rq);
	rq->action = (Whatsnext__V1__BulkAction)o->a[0];
	if (o->a[1] == 0) {
		rq->ids = pool_alloc(3 * sizeof(*rq->ids));
		for (int k = 2; k <= 4; k++)
			if (o->a[k] >= 0)
				rq->ids[rq->n_ids++] = build_id_of(d, o->a[k]);
	} else if (o->a[1] == 1) {
		rq->sweep_id = (uint64_t)o->a[5] < d->m->nsweeps ? d->m->sweeps[o->a[5]]->id
		                                                 : d->m->max_id + 777;
	}
	if (o->a[1] != 3) {
		rq->statuses = pool_alloc(7 * sizeof(*rq->statuses));
		for (int st = 1; st <= 6; st++)
			if (o->a[6] & (1 << st))
				rq->statuses[rq->n_statuses++] = (Whatsnext__V1__JobStatus)st;
		rq->project = o->a[7] >= 0 ? (char *)model_pname(o->a[7]) : "";
		if (o->a[9] >> 1)
			rq->name_glob = pool_printf("%s-*", model_tname((o->a[9] >> 1) - 1));
	}
	rq->priority = (int32_t)o->a[8];
	rq->force = (o->a[9] & 1) != 0;
	rq->reason = o->a[0] == 1 ? pool_printf("bulk %lld", (long long)o->a[8]) : "";
	return &rq->base;
}

/* build_update: JobService/Update of job a[0], a[1] parameters, a name
 * variant a[2] (2: invalid), a value variant a[3]. */
ProtobufCMessage *build_update(const driver *d, const op *o)
{
	static const char *const names[] = {"lr", "seed", "bad name"};
	Whatsnext__V1__UpdateJobRequest *rq = pool_alloc(sizeof(*rq));
	whatsnext__v1__update_job_request__init(rq);
	rq->id = build_id_of(d, o->a[0]);
	rq->n_params = (size_t)o->a[1];
	rq->params = pool_alloc((rq->n_params + 1) * sizeof(*rq->params));
	for (size_t i = 0; i < rq->n_params; i++) {
		Whatsnext__V1__UpdateJobRequest__ParamsEntry *e = pool_alloc(sizeof(*e));
		whatsnext__v1__update_job_request__params_entry__init(e);
		e->key = (char *)(i == 0 ? names[o->a[2] % 3] : "extra");
		e->value = pool_printf("v%lld", (long long)(o->a[3] + (int64_t)i));
		rq->params[i] = e;
	}
	return &rq->base;
}
