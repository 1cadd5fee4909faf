#include "agent_impl.h"

#include "envelope.h"
#include "err.h"
#include "log.h"
#include "util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- task settings */

static agent_project *agent_project_of(wn_agent *a, const char *name)
{
	for (size_t i = 0; i < a->cfg->projects.n; i++)
		if (strcmp(a->projects[i].name, name) == 0)
			return &a->projects[i];
	return NULL;
}

/* wn_agent_project_refresh learns which of the worker's tasks exist in project
 * p, their timeouts and needs. Returns wn_rpc_call's value; *errmsg on failure. */
int wn_agent_project_refresh(wn_agent *a, agent_project *p, char **errmsg)
{
	Whatsnext__V1__ListTasksRequest req = WHATSNEXT__V1__LIST_TASKS_REQUEST__INIT;
	req.project = (char *)p->name;
	ProtobufCMessage *out = NULL;
	int rc = wn_agent_call(a, WN_MID_TASK_LIST, &req.base, &out, 0, 0, errmsg);
	if (rc != WN_OK)
		return rc;
	const Whatsnext__V1__ListTasksResponse *r = (const Whatsnext__V1__ListTasksResponse *)out;
	const wn_wconfig *cfg = a->cfg;
	const char **tasks = wn_xcalloc(cfg->ntasks, sizeof(*tasks));
	uint32_t *timeouts = wn_xcalloc(cfg->ntasks, sizeof(*timeouts));
	agent_need *needs = wn_xcalloc(cfg->ntasks, sizeof(*needs));
	size_t n = 0;
	for (size_t i = 0; i < cfg->ntasks; i++)
		for (size_t k = 0; k < r->n_tasks; k++)
			if (r->tasks[k]->name &&
			    strcmp(r->tasks[k]->name, cfg->task_names[i]) == 0) {
				const Whatsnext__V1__Resources *res = r->tasks[k]->resources;
				if (res != NULL)
					needs[n] = (agent_need){res->cpu, res->gpu, res->memory_mb};
				tasks[n] = cfg->task_names[i];
				timeouts[n++] = r->tasks[k]->timeout_s;
				break;
			}
	protobuf_c_message_free_unpacked(out, NULL);
	pthread_mutex_lock(&a->mu);
	free(p->tasks);
	free(p->timeouts);
	free(p->needs);
	p->tasks = tasks;
	p->timeouts = timeouts;
	p->needs = needs;
	p->n = n;
	p->fetched_ms = wn_mono_ms();
	pthread_mutex_unlock(&a->mu);
	return WN_OK;
}

/* wn_agent_project_stale tells whether p should be refreshed (lock held). */
bool wn_agent_project_stale(const agent_project *p)
{
	return p->fetched_ms == 0 || wn_mono_ms() - p->fetched_ms >= AGENT_TASK_CACHE_MS;
}

/* agent_project_task returns the index of task in p, or -1 (lock held). */
static ssize_t agent_project_task(const agent_project *p, const char *task)
{
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->tasks[i], task) == 0)
			return (ssize_t)i;
	return -1;
}

/* wn_agent_task_settings gives the timeout in seconds (0 = none) and the needs
 * of j's task, from what the agent knows or, when that is old or lacks the
 * task, from the server. */
void wn_agent_task_settings(wn_agent *a, const agent_job *j, uint32_t *timeout_s, agent_need *need)
{
	*timeout_s = 0;
	*need = (agent_need){0, 0, 0};
	agent_project *p = agent_project_of(a, j->project);
	if (p == NULL)
		return;
	if (j->has_task) {
		/* as the task was when the job was handed out */
		*timeout_s = j->task_timeout_s;
		*need = (agent_need){j->need_cpu, j->need_gpu, j->need_mem};
		return;
	}
	pthread_mutex_lock(&a->mu);
	bool stale = wn_agent_project_stale(p) || agent_project_task(p, j->task) < 0;
	pthread_mutex_unlock(&a->mu);
	if (stale) {
		char *errmsg = NULL;
		if (wn_agent_project_refresh(a, p, &errmsg) != WN_OK)
			wn_warn("job %llu: cannot read the settings of task %s: %s; using what was "
			        "known before",
			        (unsigned long long)j->id, j->task,
			        errmsg ? errmsg : "unknown error");
		free(errmsg);
	}
	pthread_mutex_lock(&a->mu);
	ssize_t i = agent_project_task(p, j->task);
	if (i >= 0) {
		*timeout_s = p->timeouts[i];
		*need = p->needs[i];
	}
	pthread_mutex_unlock(&a->mu);
}

/* ---------------------------------------------------------------- fetching */

/* fetch_task_of gives j the settings of its task if tasks[0..n), from the
 * answer that brought j, carry them. */
static void fetch_task_of(agent_job *j, Whatsnext__V1__Task *const *tasks, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const Whatsnext__V1__Task *t = tasks[i];
		if (strcmp(t->project, j->project) != 0 || strcmp(t->name, j->task) != 0)
			continue;
		j->has_task = true;
		j->task_timeout_s = t->timeout_s;
		if (t->resources != NULL) {
			j->need_cpu = t->resources->cpu;
			j->need_gpu = t->resources->gpu;
			j->need_mem = t->resources->memory_mb;
		}
		return;
	}
}

/* agent_fetch_error logs a fetch error (from project, or NULL for the whole
 * fetch); a repeat of the last one quietly. */
static void agent_fetch_error(wn_agent *a, const char *project, const char *msg)
{
	char *line = project ? wn_xasprintf("cannot fetch from project %s: %s", project, msg)
	                     : wn_xasprintf("cannot fetch: %s", msg);
	pthread_mutex_lock(&a->mu);
	bool repeat = a->last_error != NULL && strcmp(a->last_error, line) == 0;
	free(a->last_error);
	a->last_error = line;
	wn_log(repeat ? WN_LOG_DEBUG : WN_LOG_WARN, "%s", line);
	pthread_mutex_unlock(&a->mu);
}

/* agent_projects_refresh learns the tasks of every project whose knowledge
 * is old. A project that is missing or has none of the worker's tasks is
 * logged and left out of the fetch (a missing one is asked again next time).
 * Returns AGENT_FETCH_DOWN when the server cannot be reached. */
static fetch_rc agent_projects_refresh(wn_agent *a)
{
	for (size_t i = 0; i < a->cfg->projects.n; i++) {
		agent_project *p = &a->projects[i];
		pthread_mutex_lock(&a->mu);
		bool stale = wn_agent_project_stale(p);
		pthread_mutex_unlock(&a->mu);
		if (!stale)
			continue;
		char *errmsg = NULL;
		int rc = wn_agent_project_refresh(a, p, &errmsg);
		if (wn_agent_unreachable(rc)) {
			free(errmsg);
			return AGENT_FETCH_DOWN;
		}
		if (rc != WN_OK) {
			agent_fetch_error(a, p->name, errmsg ? errmsg : wn_strerror(rc));
			pthread_mutex_lock(&a->mu);
			p->n = 0;
			pthread_mutex_unlock(&a->mu);
		} else if (p->n == 0) {
			char *names = wn_xstrdup("");
			for (size_t k = 0; k < a->cfg->ntasks; k++) {
				char *more = wn_xasprintf("%s%s%s", names, k ? ", " : "",
				                          a->cfg->task_names[k]);
				free(names);
				names = more;
			}
			char *why =
			    wn_xasprintf("it has none of the tasks this worker runs (%s)", names);
			agent_fetch_error(a, p->name, why);
			free(why);
			free(names);
		}
		free(errmsg);
	}
	return AGENT_FETCH_EMPTY;
}

/* fetch_request_fill names in rq (lock held) the worker, the projects it
 * serves that have tasks of its own, and those tasks. */
static void fetch_request_fill(wn_agent *a, Whatsnext__V1__FetchRequest *rq)
{
	const wn_wconfig *cfg = a->cfg;
	rq->worker = a->name;
	rq->projects = wn_xcalloc(cfg->projects.n + 1, sizeof(char *));
	rq->tasks = wn_xcalloc(cfg->ntasks + 1, sizeof(char *));
	for (size_t i = 0; i < cfg->projects.n; i++) {
		const agent_project *p = &a->projects[i];
		if (p->n == 0)
			continue;
		rq->projects[rq->n_projects++] = (char *)p->name;
		for (size_t k = 0; k < p->n; k++) {
			bool seen = false;
			for (size_t m = 0; m < rq->n_tasks && !seen; m++)
				seen = strcmp(rq->tasks[m], p->tasks[k]) == 0;
			if (!seen)
				rq->tasks[rq->n_tasks++] = (char *)p->tasks[k];
		}
	}
}

/* wn_agent_next_request fills rq, a Complete's `next`, to claim one job as
 * a fetch would (lock not held). */
bool wn_agent_next_request(wn_agent *a, Whatsnext__V1__FetchRequest *rq)
{
	pthread_mutex_lock(&a->mu);
	bool take = a->stop == AGENT_RUN && !a->draining && !a->opts.once && !a->refused &&
	            a->releasing == 0 && !a->need_join && !wn_agent_paused(a);
	/* what the worker knows of a project grows old: the fetch loop learns
	 * it again before it fetches */
	for (size_t i = 0; take && i < a->cfg->projects.n; i++)
		take = !wn_agent_project_stale(&a->projects[i]);
	if (take)
		fetch_request_fill(a, rq);
	pthread_mutex_unlock(&a->mu);
	if (take && rq->n_projects > 0)
		return true;
	free(rq->projects);
	free(rq->tasks);
	rq->projects = NULL;
	rq->tasks = NULL;
	rq->n_projects = rq->n_tasks = 0;
	return false;
}

agent_admit wn_agent_admit(wn_agent *a, const agent_job *j, size_t room, const char **why)
{
	for (const agent_job *h = a->jobs; h != NULL; h = h->next) {
		if (h == j || h->id != j->id)
			continue;
		if (h->attempt == j->attempt)
			return AGENT_ADMIT_DROP;
		if (!h->reporting && !h->done) {
			*why = "an older attempt of the job still runs on this worker";
			return AGENT_ADMIT_BACK;
		}
	}
	if (agent_project_of(a, j->project) == NULL) {
		*why = "the worker does not serve the job's project";
		return AGENT_ADMIT_BACK;
	}
	if (room == 0) {
		*why = "more jobs than the worker asked for";
		return AGENT_ADMIT_BACK;
	}
	return AGENT_ADMIT_RUN;
}

void wn_agent_drop_twice(agent_job *j)
{
	wn_warn("job %llu attempt %u: the server handed it out twice; it runs once",
	        (unsigned long long)j->id, (unsigned)j->attempt);
	wn_agent_job_free(j);
}

void wn_agent_admit_all(wn_agent *a, agent_job **jobs, size_t *n, size_t max_jobs,
                        agent_job ***back, size_t *nback)
{
	*back = wn_xcalloc(*n, sizeof(**back));
	*nback = 0;
	size_t kept = 0;
	pthread_mutex_lock(&a->mu);
	for (size_t i = 0; i < *n; i++) {
		agent_job *j = jobs[i];
		bool twice = false; /* the jobs kept are not in a->jobs yet */
		for (size_t k = 0; k < kept; k++)
			twice |= jobs[k]->id == j->id;
		agent_admit ad =
		    twice ? AGENT_ADMIT_DROP : wn_agent_admit(a, j, max_jobs - kept, &j->back_why);
		if (ad == AGENT_ADMIT_RUN)
			jobs[kept++] = j;
		else if (ad == AGENT_ADMIT_BACK)
			(*back)[(*nback)++] = j;
		else
			wn_agent_drop_twice(j);
	}
	pthread_mutex_unlock(&a->mu);
	*n = kept;
}

/* wn_agent_next_job copies the job a Complete's reply claimed. */
agent_job *wn_agent_next_job(wn_agent *a, const Whatsnext__V1__CompleteResponse *r)
{
	if (r->next == NULL || r->next->id == 0)
		return NULL;
	agent_job *j = wn_agent_job_from(a, r->next);
	fetch_task_of(j, r->next_tasks, r->n_next_tasks);
	return j;
}

/* wn_agent_fetch asks the server for up to max_jobs jobs of the worker's tasks
 * in every project it serves (one request: the server picks the highest
 * priority, taking turns across projects among equals), waiting up to
 * wait_ms. id is the request id: the same one again after a failure to reach
 * the server, so that jobs leased by a call whose answer was lost come back.
 * On AGENT_FETCH_JOB, *out holds *nout malloc'd jobs. */
fetch_rc wn_agent_fetch(wn_agent *a, uint32_t wait_ms, uint32_t max_jobs, uint64_t id,
                        agent_job ***out, size_t *nout)
{
	*out = NULL;
	*nout = 0;
	fetch_rc fr = agent_projects_refresh(a);
	if (fr != AGENT_FETCH_EMPTY)
		return fr;
	const wn_wconfig *cfg = a->cfg;
	Whatsnext__V1__FetchRequest req = WHATSNEXT__V1__FETCH_REQUEST__INIT;
	req.wait_ms = wait_ms;
	req.max_jobs = max_jobs > 1 ? max_jobs : 0;
	pthread_mutex_lock(&a->mu);
	fetch_request_fill(a, &req);
	pthread_mutex_unlock(&a->mu);
	if (req.n_projects == 0) {
		/* every project was logged as unusable */
		free(req.projects);
		free(req.tasks);
		return AGENT_FETCH_ERROR;
	}
	ProtobufCMessage *out_msg = NULL;
	char *errmsg = NULL;
	/* a request resent by nng after a reconnect waits wait_ms again on the
	 * server: leave room for that before giving up on the reply */
	int rc = wn_agent_call(a, WN_MID_QUEUE_FETCH, &req.base, &out_msg, id, 2 * (int)wait_ms,
	                       &errmsg);
	free(req.projects);
	free(req.tasks);
	if (rc != WN_OK) {
		fr = AGENT_FETCH_DOWN;
		if (!wn_agent_unreachable(rc)) {
			agent_fetch_error(a, NULL, errmsg ? errmsg : wn_strerror(rc));
			fr = AGENT_FETCH_ERROR;
			/* A project or task may have been removed: learn them again. */
			pthread_mutex_lock(&a->mu);
			for (size_t i = 0; i < cfg->projects.n; i++)
				a->projects[i].fetched_ms = 0;
			pthread_mutex_unlock(&a->mu);
		}
		free(errmsg);
		return fr;
	}
	pthread_mutex_lock(&a->mu);
	free(a->last_error);
	a->last_error = NULL;
	pthread_mutex_unlock(&a->mu);
	const Whatsnext__V1__FetchResponse *resp = (const Whatsnext__V1__FetchResponse *)out_msg;
	fr = AGENT_FETCH_EMPTY;
	/* every job it names (`more` without `job` too: leased to this worker
	 * all the same), for wn_agent_admit_all to sort out */
	*out = wn_xcalloc(resp->n_more + 1, sizeof(agent_job *));
	for (size_t i = 0; i <= resp->n_more; i++) {
		const Whatsnext__V1__Job *pj = i == 0 ? resp->job : resp->more[i - 1];
		if (pj != NULL && pj->id != 0) {
			(*out)[*nout] = wn_agent_job_from(a, pj);
			fetch_task_of((*out)[(*nout)++], resp->tasks, resp->n_tasks);
		}
	}
	if (*nout > 0) {
		fr = AGENT_FETCH_JOB;
	} else {
		free(*out);
		*out = NULL;
	}
	protobuf_c_message_free_unpacked(out_msg, NULL);
	return fr;
}

/* agent_sweep_cap returns the running cap of a sweep, 0 if none or unknown. */
static uint32_t agent_sweep_cap(wn_agent *a, uint64_t sweep_id)
{
	Whatsnext__V1__GetSweepRequest req = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
	req.id = sweep_id;
	ProtobufCMessage *out = NULL;
	char *errmsg = NULL;
	uint32_t cap = 0;
	if (wn_agent_call(a, WN_MID_SWEEP_GET, &req.base, &out, 0, 0, &errmsg) == WN_OK) {
		cap = ((const Whatsnext__V1__Sweep *)out)->max_running;
		protobuf_c_message_free_unpacked(out, NULL);
	} else {
		wn_debug("cannot read sweep %llu: %s", (unsigned long long)sweep_id,
		         errmsg ? errmsg : "unknown error");
	}
	free(errmsg);
	return cap;
}

/* wn_agent_group makes the jobs of one sweep, project and task among
 * jobs[0..n) a group when their formatter starts such runs together (a
 * SLURM job array): each member starts once all of them are prepared. */
void wn_agent_group(wn_agent *a, agent_job **jobs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		agent_job *j = jobs[i];
		if (j->sweep_id == 0 || j->group != NULL)
			continue;
		const wn_fmt *f = wn_wconfig_task(a->cfg, j->task);
		if (f == NULL || !wn_fmt_can_group(f))
			continue;
		size_t members = 0;
		for (size_t k = i; k < n; k++)
			members += jobs[k]->group == NULL && jobs[k]->sweep_id == j->sweep_id &&
			           strcmp(jobs[k]->task, j->task) == 0 &&
			           strcmp(jobs[k]->project, j->project) == 0;
		if (members < 2)
			continue;
		uint32_t cap = agent_sweep_cap(a, j->sweep_id);
		wn_fmt_group *g = wn_fmt_group_new(f, members, cap);
		for (size_t k = i; k < n; k++)
			if (jobs[k]->group == NULL && jobs[k]->sweep_id == j->sweep_id &&
			    strcmp(jobs[k]->task, j->task) == 0 &&
			    strcmp(jobs[k]->project, j->project) == 0)
				jobs[k]->group = g;
		wn_info("%zu jobs of sweep %llu (task %s) start together", members,
		        (unsigned long long)j->sweep_id, j->task);
	}
}
