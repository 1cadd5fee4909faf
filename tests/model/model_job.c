/* model_job: ProjectService, TaskService, JobService and SweepService as
 * docs/protocol.md sections 7.1 to 7.5 describe them. */
#include "compare.h"
#include "model.h"

#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define C_OK        0
#define C_INVALID   3
#define C_NOT_FOUND 5
#define C_EXISTS    6
#define C_STATE     9

#define WANT(code, why) return model_want(m, c, code, why)

/* --------------------------------------------------------------- projects */

static int project_create(model *m, const model_call *c)
{
	const Whatsnext__V1__CreateProjectRequest *rq = (const void *)c->rq;
	if (!model_name_ok(rq->name))
		WANT(C_INVALID, "invalid project name");
	if (strlen(rq->description) > 4096)
		WANT(C_INVALID, "description over 4096 bytes");
	if (model_project_get(m, rq->name) != NULL)
		WANT(C_EXISTS, "the project exists");
	if (c->code != C_OK)
		WANT(C_OK, "a new project");
	model_project *p = wn_xcalloc(1, sizeof(*p));
	p->name = model_strdup(rq->name);
	p->desc = model_strdup(rq->description);
	p->status = 1;
	p->created = p->updated = model_wall(m);
	m->projects[m->nprojects++] = p;
	return compare_project(m, p, (const void *)c->rp, "reply");
}

/* project_find does the checks every method naming a project does. */
static int project_find(model *m, const model_call *c, const char *name, model_project **out)
{
	*out = NULL;
	if (!model_name_ok(name))
		WANT(C_INVALID, "invalid project name");
	if ((*out = model_project_get(m, name)) == NULL)
		WANT(C_NOT_FOUND, "no such project");
	return 0;
}

static int project_update(model *m, const model_call *c)
{
	const Whatsnext__V1__UpdateProjectRequest *rq = (const void *)c->rq;
	model_project *p;
	int rv = project_find(m, c, rq->name, &p);
	if (p == NULL)
		return rv;
	if ((int)rq->status < 0 || rq->status > 2)
		WANT(C_INVALID, "unknown status");
	if (rq->set_description && strlen(rq->description) > 4096)
		WANT(C_INVALID, "description over 4096 bytes");
	if (c->code != C_OK)
		WANT(C_OK, "a valid update");
	if (rq->set_description) {
		free(p->desc);
		p->desc = model_strdup(rq->description);
	}
	if (rq->status != 0)
		p->status = (int)rq->status;
	p->updated = model_wall(m);
	return compare_project(m, p, (const void *)c->rp, "reply");
}

static void sweeps_drop(model *m, const char *project)
{
	size_t k = 0;
	for (size_t i = 0; i < m->nsweeps; i++) {
		model_sweep *s = m->sweeps[i];
		if (strcmp(s->project, project) == 0) {
			free(s->project);
			free(s->name);
			free(s);
		} else {
			m->sweeps[k++] = s;
		}
	}
	m->nsweeps = k;
}

static void task_drop(model *m, size_t i)
{
	model_task *t = m->tasks[i];
	free(t->project);
	free(t->name);
	free(t->desc);
	for (size_t k = 0; k < t->need.nlabels; k++) {
		free(t->need.labels[k].k);
		free(t->need.labels[k].v);
	}
	free(t);
	m->tasks[i] = m->tasks[--m->ntasks];
}

static int project_delete(model *m, const model_call *c)
{
	const Whatsnext__V1__DeleteProjectRequest *rq = (const void *)c->rq;
	model_project *p;
	int rv = project_find(m, c, rq->name, &p);
	if (p == NULL)
		return rv;
	if (!rq->force && model_project_count(m, p->name, ST_RUNNING) > 0)
		WANT(C_STATE, "the project has RUNNING jobs and no force");
	if (c->code != C_OK)
		WANT(C_OK, "a valid delete");
	const Whatsnext__V1__DeleteProjectResponse *r = (const void *)c->rp;
	uint32_t ntasks = 0;
	uint64_t njobs = 0;
	for (size_t i = 0; i < m->ntasks;) {
		if (strcmp(m->tasks[i]->project, p->name) == 0) {
			task_drop(m, i);
			ntasks++;
		} else {
			i++;
		}
	}
	for (size_t i = 0; i < m->njobs; i++) {
		if (m->jobs[i]->live && strcmp(m->jobs[i]->project, p->name) == 0) {
			model_job_remove(m, m->jobs[i]);
			njobs++;
		}
	}
	sweeps_drop(m, p->name);
	for (size_t i = 0; i < m->nprojects; i++) {
		if (m->projects[i] == p) {
			m->projects[i] = m->projects[--m->nprojects];
			break;
		}
	}
	free(p->name);
	free(p->desc);
	free(p);
	if (r->tasks_removed != ntasks || r->jobs_removed != njobs)
		return model_fail(m,
		                  "project Delete removed %u task(s), %llu job(s); the model "
		                  "expected %u, %llu",
		                  r->tasks_removed, (unsigned long long)r->jobs_removed, ntasks,
		                  (unsigned long long)njobs);
	return 0;
}

int model_exec_project(model *m, const model_call *c)
{
	if (strcmp(c->method, "ProjectService/Create") == 0)
		return project_create(m, c);
	if (strcmp(c->method, "ProjectService/Update") == 0)
		return project_update(m, c);
	if (strcmp(c->method, "ProjectService/Delete") == 0)
		return project_delete(m, c);
	return model_fail(m, "the model has no method %s", c->method);
}

/* ------------------------------------------------------------------ tasks */

/* task_values_ok checks what a Task may carry (description, limits, labels). */
static bool task_values_ok(const Whatsnext__V1__Task *t)
{
	if (strlen(t->description) > 4096 || t->max_attempts > 1000 || t->retries > 1000)
		return false;
	for (size_t i = 0; t->resources != NULL && i < t->resources->n_labels; i++)
		if (!model_name_ok(t->resources->labels[i]->key) ||
		    strlen(t->resources->labels[i]->value) > 128 ||
		    !model_label_value_ok(t->resources->labels[i]->value))
			return false;
	return true;
}

static void need_from(model_need *n, const Whatsnext__V1__Resources *r)
{
	for (size_t i = 0; i < n->nlabels; i++) {
		free(n->labels[i].k);
		free(n->labels[i].v);
	}
	memset(n, 0, sizeof(*n));
	if (r == NULL)
		return;
	n->set = true;
	n->cpu = r->cpu;
	n->gpu = r->gpu;
	n->mem = r->memory_mb;
	for (size_t i = 0; i < r->n_labels && i < 4; i++) {
		n->labels[i].k = model_strdup(r->labels[i]->key);
		n->labels[i].v = model_strdup(r->labels[i]->value);
		n->nlabels++;
	}
}

/* task_find does the checks of a method naming a project and a task. */
static int task_find(model *m, const model_call *c, const char *project, const char *name,
                     model_task **out)
{
	model_project *p;
	*out = NULL;
	int rv = project_find(m, c, project, &p);
	if (p == NULL)
		return rv;
	if (!model_name_ok(name))
		WANT(C_INVALID, "invalid task name");
	if ((*out = model_task_get(m, project, name)) == NULL)
		WANT(C_NOT_FOUND, "no such task");
	return 0;
}

static int task_create(model *m, const model_call *c)
{
	const Whatsnext__V1__Task *t = ((const Whatsnext__V1__CreateTaskRequest *)c->rq)->task;
	if (t == NULL)
		WANT(C_INVALID, "task missing");
	model_project *p;
	int rv = project_find(m, c, t->project, &p);
	if (p == NULL)
		return rv;
	if (!model_name_ok(t->name))
		WANT(C_INVALID, "invalid task name");
	if (!task_values_ok(t))
		WANT(C_INVALID, "a value over a limit or an invalid label");
	if (model_task_get(m, t->project, t->name) != NULL)
		WANT(C_EXISTS, "the task exists");
	if (c->code != C_OK)
		WANT(C_OK, "a new task");
	model_task *k = wn_xcalloc(1, sizeof(*k));
	k->project = model_strdup(t->project);
	k->name = model_strdup(t->name);
	k->desc = model_strdup(t->description);
	need_from(&k->need, t->resources);
	k->max_attempts = t->max_attempts ? t->max_attempts : 3;
	k->retries = t->retries;
	k->timeout_s = t->timeout_s;
	k->created = k->updated = model_wall(m);
	m->tasks[m->ntasks++] = k;
	return compare_task(m, k, (const void *)c->rp, "reply");
}

static int task_update(model *m, const model_call *c)
{
	const Whatsnext__V1__UpdateTaskRequest *rq = (const void *)c->rq;
	const Whatsnext__V1__Task *u = rq->task;
	if (u == NULL)
		WANT(C_INVALID, "task missing");
	model_task *t;
	int rv = task_find(m, c, u->project, u->name, &t);
	if (t == NULL)
		return rv;
	if (!task_values_ok(u))
		WANT(C_INVALID, "a value over a limit or an invalid label");
	static const char *const fields[] = {"description", "resources", "max_attempts", "retries",
	                                     "timeout_s"};
	for (size_t i = 0; i < rq->n_update_mask; i++) {
		bool known = false;
		for (size_t f = 0; f < WN_ARRAY_LEN(fields); f++)
			known |= strcmp(rq->update_mask[i], fields[f]) == 0;
		if (!known)
			WANT(C_INVALID, "unknown update_mask entry");
	}
	if (c->code != C_OK)
		WANT(C_OK, "a valid update");
	for (size_t i = 0; i < rq->n_update_mask; i++) {
		const char *f = rq->update_mask[i];
		if (strcmp(f, "description") == 0) {
			free(t->desc);
			t->desc = model_strdup(u->description);
		} else if (strcmp(f, "resources") == 0) {
			need_from(&t->need, u->resources);
		} else if (strcmp(f, "max_attempts") == 0) {
			t->max_attempts = u->max_attempts ? u->max_attempts : 3;
		} else if (strcmp(f, "retries") == 0) {
			t->retries = u->retries;
		} else {
			t->timeout_s = u->timeout_s;
		}
	}
	t->updated = model_wall(m);
	return compare_task(m, t, (const void *)c->rp, "reply");
}

static int task_delete(model *m, const model_call *c)
{
	const Whatsnext__V1__DeleteTaskRequest *rq = (const void *)c->rq;
	model_task *t;
	int rv = task_find(m, c, rq->project, rq->name, &t);
	if (t == NULL)
		return rv;
	uint64_t running = 0, n = 0;
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		running += j->live && j->status == ST_RUNNING &&
		           strcmp(j->project, t->project) == 0 && strcmp(j->task, t->name) == 0;
	}
	if (running > 0 && !rq->force)
		WANT(C_STATE, "the task has RUNNING jobs and no force");
	if (c->code != C_OK)
		WANT(C_OK, "a valid delete");
	for (size_t i = 0; i < m->njobs; i++) {
		model_job *j = m->jobs[i];
		if (j->live && strcmp(j->project, t->project) == 0 &&
		    strcmp(j->task, t->name) == 0) {
			model_job_remove(m, j);
			n++;
		}
	}
	for (size_t i = 0; i < m->ntasks; i++)
		if (m->tasks[i] == t)
			task_drop(m, i);
	const Whatsnext__V1__DeleteTaskResponse *r = (const void *)c->rp;
	if (r->jobs_removed != n)
		return model_fail(m, "task Delete removed %llu job(s); the model expected %llu",
		                  (unsigned long long)r->jobs_removed, (unsigned long long)n);
	return 0;
}

int model_exec_task(model *m, const model_call *c)
{
	if (strcmp(c->method, "TaskService/Create") == 0)
		return task_create(m, c);
	if (strcmp(c->method, "TaskService/Update") == 0)
		return task_update(m, c);
	if (strcmp(c->method, "TaskService/Delete") == 0)
		return task_delete(m, c);
	return model_fail(m, "the model has no method %s", c->method);
}
