/* TaskService: create, get, list, update, delete. */
#include "svc.h"

#include "clock.h"
#include "deps.h"
#include "engine_state.h"
#include "fleet.h"
#include "jobs.h"
#include "metrics.h"
#include "project.h"
#include "queue.h"
#include "replay.h"

#include <stdlib.h>
#include <string.h>

static int task_check(struct call *c, const Task *t)
{
	if (strlen(t->description) > WN_DESC_MAX)
		return wn_call_fail(c, WN_EINVAL, "description is longer than %d bytes",
		                    WN_DESC_MAX);
	if (t->max_attempts > WN_LIMIT_MAX)
		return wn_call_fail(c, WN_EINVAL, "max_attempts %u is over the limit of %d",
		                    t->max_attempts, WN_LIMIT_MAX);
	if (t->retries > WN_LIMIT_MAX)
		return wn_call_fail(c, WN_EINVAL, "retries %u is over the limit of %d", t->retries,
		                    WN_LIMIT_MAX);
	if (t->resources != NULL) {
		for (size_t i = 0; i < t->resources->n_labels; i++) {
			char *why = wn_fleet_label_check(t->resources->labels[i]->key,
			                                 t->resources->labels[i]->value);
			if (why != NULL) {
				int rv = wn_call_fail(c, WN_EINVAL, "%s", why);
				free(why);
				return rv;
			}
		}
	}
	return WN_OK;
}

static int task_read(struct call *c, const char *project, const char *name, Task **out)
{
	int rv = wn_records_task_get(&c->rec, project, name, out);
	if (rv == WN_ENOTFOUND)
		return wn_call_fail(c, rv, "task \"%s\" not found in project \"%s\"", name,
		                    project);
	if (rv == WN_EINTERNAL)
		return wn_call_fail(c, rv, "task \"%s\": stored record is corrupt", name);
	if (rv != WN_OK)
		return wn_call_fail(c, rv, "cannot read task \"%s\"", name);
	return WN_OK;
}

static int task_write(struct call *c, Task *t)
{
	wn_batch *b = wn_batch_new();
	wn_records_task_put(c->e->rec, b, t);
	int rv = wn_engine_write(c, b);
	wn_batch_free(b);
	return rv;
}

int wn_svc_task_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CreateTaskRequest *rq = (const void *)in;
	Task *t = rq->task;
	if (t == NULL)
		return wn_call_fail(c, WN_EINVAL, "task is missing");
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, t->project, &rv);
	if (p == NULL)
		return rv;
	const char *why = wn_name_check(t->name);
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "invalid task name \"%.140s\": %s", t->name, why);
	if ((rv = task_check(c, t)) != WN_OK)
		return rv;
	if (wn_map_get_str(p->tasks, t->name) != NULL)
		return wn_call_fail(c, WN_EEXIST, "task \"%s\" already exists in project \"%s\"",
		                    t->name, p->name);
	if (t->max_attempts == 0)
		t->max_attempts = WN_DEFAULT_MAX_ATTEMPTS;
	t->created_ms = t->updated_ms = wn_engine_now(c->e);
	t->created_by = (char *)(c->caller != NULL ? c->caller : "");
	if ((rv = task_write(c, t)) != WN_OK)
		return rv;
	wn_engine_task_new(p, t);
	*out = &t->base;
	return WN_OK;
}

int wn_svc_task_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetTaskRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->project, &rv);
	if (p == NULL || wn_engine_task(c, p, rq->name, &rv) == NULL)
		return rv;
	Task *t = NULL;
	rv = task_read(c, rq->project, rq->name, &t);
	if (rv == WN_OK)
		*out = &t->base;
	return rv;
}

int wn_svc_task_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListTasksRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->project, &rv);
	if (p == NULL)
		return rv;
	Whatsnext__V1__ListTasksResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_tasks_response__init(r);
	r->tasks = wn_arena_alloc(c->arena, (wn_map_count(p->tasks) + 1) * sizeof(*r->tasks));
	r->n_tasks = wn_records_task_list(&c->rec, p->name, r->tasks, wn_map_count(p->tasks));
	*out = &r->base;
	return WN_OK;
}

int wn_svc_task_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__UpdateTaskRequest *rq = (const void *)in;
	const Task *u = rq->task;
	if (u == NULL)
		return wn_call_fail(c, WN_EINVAL, "task is missing");
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, u->project, &rv);
	struct task *tq = p ? wn_engine_task(c, p, u->name, &rv) : NULL;
	if (tq == NULL)
		return rv;
	if ((rv = task_check(c, u)) != WN_OK)
		return rv;
	Task *t = NULL;
	if ((rv = task_read(c, u->project, u->name, &t)) != WN_OK)
		return rv;
	for (size_t i = 0; i < rq->n_update_mask; i++) {
		const char *f = rq->update_mask[i];
		if (strcmp(f, "description") == 0)
			t->description = u->description;
		else if (strcmp(f, "resources") == 0)
			t->resources = u->resources;
		else if (strcmp(f, "max_attempts") == 0)
			t->max_attempts =
			    u->max_attempts ? u->max_attempts : WN_DEFAULT_MAX_ATTEMPTS;
		else if (strcmp(f, "retries") == 0)
			t->retries = u->retries;
		else if (strcmp(f, "timeout_s") == 0)
			t->timeout_s = u->timeout_s;
		else
			return wn_call_fail(c, WN_EINVAL,
			                    "update_mask names unknown field \"%.64s\"", f);
	}
	t->updated_ms = wn_engine_now(c->e);
	if ((rv = task_write(c, t)) != WN_OK)
		return rv;
	tq->max_attempts = t->max_attempts;
	tq->retries = t->retries;
	struct need was = {
	    .cpu = tq->need.cpu, .gpu = tq->need.gpu, .memory_mb = tq->need.memory_mb};
	wn_need_set(&tq->need, t->resources);
	wn_fleet_retask(c, p, tq, &was);
	*out = &t->base;
	return WN_OK;
}

int wn_svc_task_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__DeleteTaskRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->project, &rv);
	struct task *tq = p ? wn_engine_task(c, p, rq->name, &rv) : NULL;
	if (tq == NULL)
		return rv;
	wn_batch *b = wn_batch_new();
	if (!rq->force) {
		/* refuse while any of its jobs runs */
		uint64_t running = 0;
		if (p->counts[WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING] > 0 &&
		    wn_records_job_count(c->e->rec, p->name, tq->name,
		                         WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING,
		                         &running) != WN_OK) {
			wn_batch_free(b);
			return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
		}
		if (running > 0) {
			wn_batch_free(b);
			return wn_call_fail(
			    c, WN_ESTATE,
			    "task \"%s\" has %llu running job(s); cancel them or force "
			    "the delete",
			    tq->name, (unsigned long long)running);
		}
	}
	Whatsnext__V1__DeleteTaskResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__delete_task_response__init(r);
	uint64_t njobs = 0;
	if ((rv = wn_project_remove_jobs(c, p, tq->name, b, &njobs)) != WN_OK) {
		wn_batch_free(b);
		return rv;
	}
	r->jobs_removed = njobs;
	wn_records_task_del(c->e->rec, b, p->name, tq->name);
	rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	wn_metrics_forget(c->e, p->name, tq->name);
	wn_engine_task_drop(p, tq);
	*out = &r->base;
	return WN_OK;
}
