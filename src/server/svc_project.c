/* ProjectService: create, get, list, update, delete. */
#include "engine_int.h"

#include <stdlib.h>
#include <string.h>

static int project_name_ok(struct call *c, const char *name)
{
	const char *why = wn_name_check(name);
	if (why != NULL)
		return call_fail(c, WN_EINVAL, "invalid project name \"%.140s\": %s",
		                 name ? name : "", why);
	return WN_OK;
}

static int project_read(struct call *c, const char *name, Project **out)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, name);
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(c->e->store, key, kl, &val, &len);
	if (rv == WN_ENOTFOUND)
		return call_fail(c, rv, "project \"%s\" not found", name);
	if (rv != WN_OK)
		return call_fail(c, rv, "cannot read project \"%s\"", name);
	*out = whatsnext__v1__project__unpack(c->pa, len, (uint8_t *)val);
	free(val);
	if (*out == NULL)
		return call_fail(c, WN_EINTERNAL, "project \"%s\": stored record is corrupt", name);
	return WN_OK;
}

int svc_project_create(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__CreateProjectRequest *rq = (const void *)in;
	int rv = project_name_ok(c, rq->name);
	if (rv != WN_OK)
		return rv;
	if (strlen(rq->description) > WN_DESC_MAX)
		return call_fail(c, WN_EINVAL, "description is longer than %d bytes", WN_DESC_MAX);
	if (wn_map_get_str(c->e->projects, rq->name) != NULL)
		return call_fail(c, WN_EEXIST, "project \"%s\" already exists", rq->name);
	Project *p = wn_arena_alloc(c->arena, sizeof(*p));
	whatsnext__v1__project__init(p);
	p->name = rq->name;
	p->description = rq->description;
	p->status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE;
	p->created_ms = p->updated_ms = engine_now(c->e);
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, p->name);
	wn_batch *b = wn_batch_new();
	record_put(b, key, kl, &p->base);
	rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	engine_project_new(c->e, p->name, false);
	*out = &p->base;
	return WN_OK;
}

int svc_project_get(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__GetProjectRequest *rq = (const void *)in;
	int rv = WN_OK;
	if (engine_project(c, rq->name, &rv) == NULL)
		return rv;
	Project *p = NULL;
	rv = project_read(c, rq->name, &p);
	if (rv == WN_OK)
		*out = &p->base;
	return rv;
}

int svc_project_list(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__ListProjectsRequest *rq = (const void *)in;
	if ((int)rq->status < 0 || rq->status > WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED)
		return call_fail(c, WN_EINVAL, "unknown project status %d", (int)rq->status);
	Whatsnext__V1__ListProjectsResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__list_projects_response__init(r);
	size_t cap = wn_map_count(c->e->projects) + 1;
	r->projects = wn_arena_alloc(c->arena, cap * sizeof(*r->projects));
	const char *k, *v;
	size_t kl, vl;
	wn_store_iter *it = wn_store_iter_new(c->e->store, wn_key_prefix(WN_KEY_PROJECT),
	                                      WN_KEY_PREFIX_LEN, NULL, 0);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl) && r->n_projects < cap) {
		Project *p = whatsnext__v1__project__unpack(c->pa, vl, (const uint8_t *)v);
		if (p == NULL)
			continue;
		if (rq->status != 0 && p->status != rq->status)
			continue;
		r->projects[r->n_projects++] = p;
	}
	wn_store_iter_free(it);
	*out = &r->base;
	return WN_OK;
}

int svc_project_update(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__UpdateProjectRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *mp = engine_project(c, rq->name, &rv);
	if (mp == NULL)
		return rv;
	if ((int)rq->status < 0 || rq->status > WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED)
		return call_fail(c, WN_EINVAL, "unknown project status %d", (int)rq->status);
	if (rq->set_description && strlen(rq->description) > WN_DESC_MAX)
		return call_fail(c, WN_EINVAL, "description is longer than %d bytes", WN_DESC_MAX);
	Project *p = NULL;
	rv = project_read(c, rq->name, &p);
	if (rv != WN_OK)
		return rv;
	if (rq->set_description)
		p->description = rq->description;
	if (rq->status != 0)
		p->status = rq->status;
	p->updated_ms = engine_now(c->e);
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, p->name);
	wn_batch *b = wn_batch_new();
	record_put(b, key, kl, &p->base);
	rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	bool was = mp->archived;
	mp->archived = p->status == WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED;
	if (was && !mp->archived) {
		mp->feed = true;
		wn_batch *none = wn_batch_new();
		call_commit(c, none);
	}
	*out = &p->base;
	return WN_OK;
}

int svc_project_delete(struct call *c, const ProtobufCMessage *in, ProtobufCMessage **out)
{
	const Whatsnext__V1__DeleteProjectRequest *rq = (const void *)in;
	int rv = WN_OK;
	struct project *p = engine_project(c, rq->name, &rv);
	if (p == NULL)
		return rv;
	uint64_t running = p->counts[WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING];
	if (running > 0 && !rq->force)
		return call_fail(c, WN_ESTATE,
		                 "project \"%s\" has %llu running job(s); cancel them or force the "
		                 "delete",
		                 p->name, (unsigned long long)running);
	Whatsnext__V1__DeleteProjectResponse *r = wn_arena_alloc(c->arena, sizeof(*r));
	whatsnext__v1__delete_project_response__init(r);
	wn_batch *b = wn_batch_new();
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task_prefix(key, p->name);
	const char *k, *v;
	size_t tkl, vl;
	wn_store_iter *it = wn_store_iter_new(c->e->store, key, kl, NULL, 0);
	while (wn_store_iter_next(it, &k, &tkl, &v, &vl)) {
		wn_batch_del(b, k, tkl);
		r->tasks_removed++;
	}
	wn_store_iter_free(it);
	r->jobs_removed = project_remove_jobs(c, p, NULL, b);
	/* its sweeps go with it (engine_project_drop forgets them in memory) */
	size_t pos = 0;
	uint64_t sid;
	const char *sk;
	void *sv;
	while (wn_map_next(c->e->sweeps, &pos, &sid, &sk, &sv)) {
		if (((struct sweep *)sv)->proj != p)
			continue;
		kl = wn_key_sweep(key, sid);
		wn_batch_del(b, key, kl);
	}
	kl = wn_key_project(key, p->name);
	wn_batch_del(b, key, kl);
	rv = engine_write(c, b);
	wn_batch_free(b);
	if (rv != WN_OK)
		return rv;
	engine_project_drop(c, p);
	*out = &r->base;
	return WN_OK;
}
