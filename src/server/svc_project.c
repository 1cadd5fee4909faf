/* ProjectService: create, get, list, update, delete. */
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

static int project_name_ok(struct call *c, const char *name)
{
	const char *why = wn_name_check(name);
	if (why != NULL)
		return wn_call_fail(c, WN_EINVAL, "invalid project name \"%.140s\": %s",
		                    name ? name : "", why);
	return WN_OK;
}

static int project_read(struct call *c, const char *name, Project **out)
{
	int rv = wn_records_project_get(&c->rec, name, out);
	if (rv == WN_ENOTFOUND)
		return wn_call_fail(c, rv, "project \"%s\" not found", name);
	if (rv == WN_EINTERNAL)
		return wn_call_fail(c, rv, "project \"%s\": stored record is corrupt", name);
	if (rv != WN_OK)
		return wn_call_fail(c, rv, "cannot read project \"%s\"", name);
	return WN_OK;
}

int wn_svc_project_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CreateProjectRequest *rq = (const void *)in;
	int rv = project_name_ok(c, rq->name);
	if (rv != WN_OK)
		return rv;
	if (strlen(rq->description) > WN_DESC_MAX)
		return wn_call_fail(c, WN_EINVAL, "description is longer than %d bytes",
		                    WN_DESC_MAX);
	if (wn_map_get_str(c->e->proj.byname, rq->name) != NULL)
		return wn_call_fail(c, WN_EEXIST, "project \"%s\" already exists", rq->name);
	Project *p = wn_arena_alloc(c->arena, sizeof(*p));
	whatsnext__v1__project__init(p);
	p->name = rq->name;
	p->description = rq->description;
	p->status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE;
	p->created_ms = p->updated_ms = wn_engine_now(c->e);
	p->created_by = (char *)(c->caller != NULL ? c->caller : "");
	wn_batch *b = wn_batch_new();
	wn_records_project_put(b, p);
	rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	wn_engine_project_new(c->e, p->name, false);
	*out = &p->base;
	return WN_OK;
}

int wn_svc_project_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetProjectRequest *rq = (const void *)in;
	int rv = WN_OK;
	if (wn_engine_project(c, rq->name, &rv) == NULL)
		return rv;
	Project *p = NULL;
	rv = project_read(c, rq->name, &p);
	if (rv == WN_OK)
		*out = &p->base;
	return rv;
}

int wn_svc_project_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListProjectsRequest *rq = (const void *)in;
	if ((int)rq->status < 0 || rq->status > WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED)
		return wn_call_fail(c, WN_EINVAL, "unknown project status %d", (int)rq->status);
	Whatsnext__V1__ListProjectsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_projects_response__init(r);
	size_t cap = wn_map_count(c->e->proj.byname) + 1;
	r->projects = wn_arena_alloc(c->arena, cap * sizeof(*r->projects));
	r->n_projects = wn_records_project_list(&c->rec, (int)rq->status, r->projects, cap);
	*out = &r->base;
	return WN_OK;
}

int wn_svc_project_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__UpdateProjectRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *mp = wn_engine_project(c, rq->name, &rv);
	if (mp == NULL)
		return rv;
	if ((int)rq->status < 0 || rq->status > WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED)
		return wn_call_fail(c, WN_EINVAL, "unknown project status %d", (int)rq->status);
	if (rq->set_description && strlen(rq->description) > WN_DESC_MAX)
		return wn_call_fail(c, WN_EINVAL, "description is longer than %d bytes",
		                    WN_DESC_MAX);
	Project *p = NULL;
	rv = project_read(c, rq->name, &p);
	if (rv != WN_OK)
		return rv;
	if (rq->set_description)
		p->description = rq->description;
	if (rq->status != 0)
		p->status = rq->status;
	p->updated_ms = wn_engine_now(c->e);
	wn_batch *b = wn_batch_new();
	wn_records_project_put(b, p);
	rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	bool was = mp->archived;
	mp->archived = p->status == WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED;
	if (was && !mp->archived) {
		mp->feed = true;
		wn_batch *none = wn_batch_new();
		wn_call_commit(c, none);
	}
	*out = &p->base;
	return WN_OK;
}

int wn_svc_project_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__DeleteProjectRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = wn_engine_project(c, rq->name, &rv);
	if (p == NULL)
		return rv;
	uint64_t running = p->counts[WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING];
	if (running > 0 && !rq->force)
		return wn_call_fail(
		    c, WN_ESTATE,
		    "project \"%s\" has %llu running job(s); cancel them or force the "
		    "delete",
		    p->name, (unsigned long long)running);
	Whatsnext__V1__DeleteProjectResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__delete_project_response__init(r);
	wn_batch *b = wn_batch_new();
	uint64_t ntasks = 0, njobs = 0;
	if (wn_records_task_del_all(c->e->rec, b, p->name, &ntasks) != WN_OK) {
		wn_batch_free(b);
		return wn_call_fail(c, WN_EUNAVAIL, WN_STORE_UNREADABLE);
	}
	if ((rv = wn_project_remove_jobs(c, p, NULL, b, &njobs)) != WN_OK) {
		wn_batch_free(b);
		return rv;
	}
	r->tasks_removed = ntasks;
	r->jobs_removed = njobs;
	/* its sweeps go with it (wn_engine_project_drop forgets them in memory) */
	size_t pos = 0;
	uint64_t sid;
	const char *sk;
	void *sv;
	while (wn_map_next(c->e->proj.sweeps, &pos, &sid, &sk, &sv)) {
		if (((struct sweep *)sv)->proj != p)
			continue;
		wn_records_sweep_del(b, sid);
	}
	wn_records_project_del(b, p->name);
	rv = wn_engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	wn_metrics_forget(c->e, p->name, NULL);
	wn_engine_project_drop(c, p);
	*out = &r->base;
	return WN_OK;
}
