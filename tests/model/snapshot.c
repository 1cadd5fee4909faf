/* snapshot: taking every Get/List answer, rendering them as text, and the
 * comparison across a restart. */
#include "snapshot.h"

#include "pbjson.h"

#include "err.h"
#include "methods.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static snap_entry *entry_add(snapshot *s, int kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static snap_entry *entry_add(snapshot *s, int kind, const char *fmt, ...)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 256;
		s->v = wn_xrealloc(s->v, s->cap * sizeof(*s->v));
	}
	snap_entry *e = &s->v[s->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->label, sizeof(e->label), fmt, ap);
	va_end(ap);
	return e;
}

void snapshot_free(snapshot *s)
{
	for (size_t i = 0; i < s->n; i++) {
		snap_entry *e = &s->v[i];
		if (e->msg != NULL)
			protobuf_c_message_free_unpacked(e->msg, NULL);
		for (size_t k = 0; k < e->npages; k++)
			protobuf_c_message_free_unpacked(e->pages[k], NULL);
		free(e->pages);
		free(e->jobs);
	}
	free(s->v);
	memset(s, 0, sizeof(*s));
}

/* how many times a request answered UNAVAILABLE is asked again (store
 * faults: they run out) */
static int ask_tries;
static uint64_t asked_again;

uint64_t snapshot_asked_again(void)
{
	return asked_again;
}

/* ask calls method; anything but OK is a failure of the snapshot. */
static int ask(wn_rpc *r, const char *method, const ProtobufCMessage *in,
               const ProtobufCMessageDescriptor *od, ProtobufCMessage **out, char **err)
{
	char *msg = NULL;
	int code = wn_rpc_call(r, method, in, od, out, &msg, 0, 0);
	for (int i = 0; code == 14 && i < ask_tries; i++) {
		free(msg);
		msg = NULL;
		if (*out != NULL)
			protobuf_c_message_free_unpacked(*out, NULL);
		*out = NULL;
		asked_again++;
		code = wn_rpc_call(r, method, in, od, out, &msg, 0, 0);
	}
	if (code != 0) {
		*err =
		    wn_xasprintf("%s: %s: %s", method,
		                 code > 0 ? wn_code_name(code) : wn_strerror(code), msg ? msg : "");
		free(msg);
		return -1;
	}
	free(msg);
	return 0;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

/* sort_worker puts a worker's job ids in order: the server lists them in
 * no particular order. */
static void sort_worker(Whatsnext__V1__Worker *w)
{
	if (w->n_jobs > 1) /* jobs is NULL when there are none */
		qsort(w->jobs, w->n_jobs, sizeof(*w->jobs), u64_cmp);
}

static int take_jobs(wn_rpc *r, snapshot *s, const char *project, const char *task, int status,
                     uint64_t sweep, char **err)
{
	snap_entry *e = entry_add(s, SE_JLIST,
	                          "JobService/List project=%s task=%s status=%d "
	                          "sweep=%llu",
	                          project, task, status, (unsigned long long)sweep);
	snprintf(e->project, sizeof(e->project), "%s", project);
	snprintf(e->task, sizeof(e->task), "%s", task);
	e->status = status;
	e->id = sweep;
	Whatsnext__V1__ListJobsRequest rq = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
	rq.project = (char *)project;
	rq.task = (char *)task;
	rq.status = (Whatsnext__V1__JobStatus)status;
	rq.sweep_id = sweep;
	rq.page_size = 37; /* several pages: paging is part of what is checked */
	for (int guard = 0; guard < 10000; guard++) {
		ProtobufCMessage *out = NULL;
		if (ask(r, WN_PATH_JOB_LIST, &rq.base,
		        &whatsnext__v1__list_jobs_response__descriptor, &out, err) != 0)
			return -1;
		e->pages = wn_xrealloc(e->pages, (e->npages + 1) * sizeof(*e->pages));
		e->pages[e->npages++] = out;
		Whatsnext__V1__ListJobsResponse *p = (void *)out;
		e->jobs = wn_xrealloc(e->jobs, (e->njobs + p->n_jobs + 1) * sizeof(*e->jobs));
		for (size_t i = 0; i < p->n_jobs; i++)
			e->jobs[e->njobs++] = p->jobs[i];
		if (p->next_after_id == 0)
			return 0;
		if (p->next_after_id <= rq.after_id) {
			*err = wn_xasprintf(
			    "JobService/List: next_after_id %llu does not move past %llu",
			    (unsigned long long)p->next_after_id, (unsigned long long)rq.after_id);
			return -1;
		}
		rq.after_id = p->next_after_id;
	}
	*err = wn_xasprintf("JobService/List: more than 10000 pages");
	return -1;
}

static int take_projects(wn_rpc *r, snapshot *s, char **err)
{
	for (int st = 0; st <= 2; st++) {
		Whatsnext__V1__ListProjectsRequest rq = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
		rq.status = (Whatsnext__V1__ProjectStatus)st;
		snap_entry *e = entry_add(s, SE_PLIST, "ProjectService/List status=%d", st);
		e->status = st;
		if (ask(r, WN_PATH_PROJECT_LIST, &rq.base,
		        &whatsnext__v1__list_projects_response__descriptor, &e->msg, err) != 0)
			return -1;
	}
	const Whatsnext__V1__ListProjectsResponse *all = (const void *)s->v[s->n - 3].msg;
	for (size_t i = 0; i < all->n_projects; i++) {
		const char *p = all->projects[i]->name;
		Whatsnext__V1__GetProjectRequest g = WHATSNEXT__V1__GET_PROJECT_REQUEST__INIT;
		g.name = (char *)p;
		snap_entry *e = entry_add(s, SE_PGET, "ProjectService/Get %s", p);
		snprintf(e->project, sizeof(e->project), "%s", p);
		if (ask(r, WN_PATH_PROJECT_GET, &g.base, &whatsnext__v1__project__descriptor,
		        &e->msg, err) != 0)
			return -1;
		Whatsnext__V1__ListTasksRequest lt = WHATSNEXT__V1__LIST_TASKS_REQUEST__INIT;
		lt.project = (char *)p;
		e = entry_add(s, SE_TLIST, "TaskService/List %s", p);
		snprintf(e->project, sizeof(e->project), "%s", p);
		if (ask(r, WN_PATH_TASK_LIST, &lt.base,
		        &whatsnext__v1__list_tasks_response__descriptor, &e->msg, err) != 0)
			return -1;
		const Whatsnext__V1__ListTasksResponse *tl = (const void *)e->msg;
		for (size_t k = 0; k < tl->n_tasks; k++) {
			const char *t = tl->tasks[k]->name;
			Whatsnext__V1__GetTaskRequest gt = WHATSNEXT__V1__GET_TASK_REQUEST__INIT;
			gt.project = (char *)p;
			gt.name = (char *)t;
			snap_entry *te = entry_add(s, SE_TGET, "TaskService/Get %s/%s", p, t);
			snprintf(te->project, sizeof(te->project), "%s", p);
			snprintf(te->task, sizeof(te->task), "%s", t);
			if (ask(r, WN_PATH_TASK_GET, &gt.base, &whatsnext__v1__task__descriptor,
			        &te->msg, err) != 0 ||
			    take_jobs(r, s, p, t, 0, 0, err) != 0)
				return -1;
		}
		if (take_jobs(r, s, p, "", 0, 0, err) != 0)
			return -1;
	}
	return 0;
}

static int take_each_job(wn_rpc *r, snapshot *s, const snap_entry *all, char **err)
{
	size_t n = all->njobs;
	uint64_t *ids = wn_xcalloc(n + 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = all->jobs[i]->id;
	int rv = 0;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
		g.id = ids[i];
		snap_entry *e =
		    entry_add(s, SE_JGET, "JobService/Get %llu", (unsigned long long)g.id);
		e->id = g.id;
		rv =
		    ask(r, WN_PATH_JOB_GET, &g.base, &whatsnext__v1__job__descriptor, &e->msg, err);
		if (rv != 0)
			break;
		e = entry_add(s, SE_DEPS, "JobService/Deps %llu", (unsigned long long)g.id);
		e->id = g.id;
		rv = ask(r, WN_PATH_JOB_DEPS, &g.base, &whatsnext__v1__deps_response__descriptor,
		         &e->msg, err);
	}
	free(ids);
	return rv;
}

static int take_sweeps(wn_rpc *r, snapshot *s, char **err)
{
	const Whatsnext__V1__ListProjectsResponse *all = (const void *)s->v[0].msg;
	for (size_t i = 0; i <= all->n_projects; i++) {
		const char *p = i < all->n_projects ? all->projects[i]->name : "";
		Whatsnext__V1__ListSweepsRequest rq = WHATSNEXT__V1__LIST_SWEEPS_REQUEST__INIT;
		rq.project = (char *)p;
		snap_entry *e = entry_add(s, SE_SLIST, "SweepService/List project=%s", p);
		snprintf(e->project, sizeof(e->project), "%s", p);
		if (ask(r, WN_PATH_SWEEP_LIST, &rq.base,
		        &whatsnext__v1__list_sweeps_response__descriptor, &e->msg, err) != 0)
			return -1;
	}
	const Whatsnext__V1__ListSweepsResponse *sl = (const void *)s->v[s->n - 1].msg;
	size_t n = sl->n_sweeps;
	uint64_t *ids = wn_xcalloc(n + 1, sizeof(*ids));
	for (size_t i = 0; i < n; i++)
		ids[i] = sl->sweeps[i]->id;
	int rv = 0;
	for (size_t i = 0; rv == 0 && i < n; i++) {
		Whatsnext__V1__GetSweepRequest g = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
		g.id = ids[i];
		snap_entry *e =
		    entry_add(s, SE_SGET, "SweepService/Get %llu", (unsigned long long)g.id);
		e->id = g.id;
		rv = ask(r, WN_PATH_SWEEP_GET, &g.base, &whatsnext__v1__sweep__descriptor, &e->msg,
		         err);
		if (rv == 0)
			rv = take_jobs(r, s, "", "", 0, g.id, err);
	}
	free(ids);
	return rv;
}

static int take_workers(wn_rpc *r, snapshot *s, char **err)
{
	for (int st = 0; st <= 3; st++) {
		Whatsnext__V1__ListWorkersRequest rq = WHATSNEXT__V1__LIST_WORKERS_REQUEST__INIT;
		rq.state = (Whatsnext__V1__WorkerState)st;
		snap_entry *e = entry_add(s, SE_WLIST, "WorkerService/List state=%d", st);
		e->status = st;
		if (ask(r, WN_PATH_WORKER_LIST, &rq.base,
		        &whatsnext__v1__list_workers_response__descriptor, &e->msg, err) != 0)
			return -1;
		Whatsnext__V1__ListWorkersResponse *l = (void *)e->msg;
		for (size_t i = 0; i < l->n_workers; i++)
			sort_worker(l->workers[i]);
	}
	const Whatsnext__V1__ListWorkersResponse *all = (const void *)s->v[s->n - 4].msg;
	for (size_t i = 0; i < all->n_workers; i++) {
		Whatsnext__V1__WorkerNameRequest g = WHATSNEXT__V1__WORKER_NAME_REQUEST__INIT;
		g.name = all->workers[i]->name;
		snap_entry *e = entry_add(s, SE_WGET, "WorkerService/Get %s", g.name);
		snprintf(e->task, sizeof(e->task), "%s", g.name);
		if (ask(r, WN_PATH_WORKER_GET, &g.base, &whatsnext__v1__worker__descriptor, &e->msg,
		        err) != 0)
			return -1;
		sort_worker((void *)e->msg);
	}
	return 0;
}

static int take_queue(wn_rpc *r, snapshot *s, const char *p, char **err)
{
	Whatsnext__V1__StatsRequest st = WHATSNEXT__V1__STATS_REQUEST__INIT;
	st.project = (char *)p;
	snap_entry *e = entry_add(s, SE_STATS, "QueueService/Stats project=%s", p);
	snprintf(e->project, sizeof(e->project), "%s", p);
	if (ask(r, WN_PATH_QUEUE_STATS, &st.base, &whatsnext__v1__stats_response__descriptor,
	        &e->msg, err) != 0)
		return -1;
	if (p[0] == '\0')
		return 0;
	static const struct {
		bool waiting;
		int64_t offset;
		int32_t limit;
	} views[] = {{false, 0, 10000}, {true, 0, 10000}, {false, 1, 2}, {true, 2, 3}};
	for (size_t i = 0; i < WN_ARRAY_LEN(views); i++) {
		Whatsnext__V1__QueueListRequest q = WHATSNEXT__V1__QUEUE_LIST_REQUEST__INIT;
		q.project = (char *)p;
		q.include_waiting = views[i].waiting;
		q.offset = views[i].offset;
		q.limit = views[i].limit;
		e = entry_add(s, SE_QLIST, "QueueService/List %s waiting=%d offset=%lld limit=%d",
		              p, q.include_waiting, (long long)q.offset, q.limit);
		snprintf(e->project, sizeof(e->project), "%s", p);
		e->waiting = q.include_waiting;
		e->offset = q.offset;
		e->limit = q.limit;
		if (ask(r, WN_PATH_QUEUE_LIST, &q.base,
		        &whatsnext__v1__queue_list_response__descriptor, &e->msg, err) != 0)
			return -1;
	}
	return 0;
}

int snapshot_take(wn_rpc *r, snapshot *s, int tries, char **err)
{
	memset(s, 0, sizeof(*s));
	ask_tries = tries;
	*err = NULL;
	if (take_projects(r, s, err) != 0)
		return -1;
	if (take_jobs(r, s, "", "", 0, 0, err) != 0)
		return -1;
	/* the list of every job: its jobs are each asked for below */
	size_t all = s->n - 1;
	for (int st = 1; st <= 6; st++)
		if (take_jobs(r, s, "", "", st, 0, err) != 0)
			return -1;
	snap_entry copy = s->v[all]; /* the array may move while it grows */
	if (take_each_job(r, s, &copy, err) != 0 || take_sweeps(r, s, err) != 0 ||
	    take_workers(r, s, err) != 0)
		return -1;
	const Whatsnext__V1__ListProjectsResponse *pl = (const void *)s->v[0].msg;
	size_t np = pl->n_projects;
	char **names = wn_xcalloc(np + 1, sizeof(*names));
	for (size_t i = 0; i < np; i++)
		names[i] = wn_xstrdup(pl->projects[i]->name);
	int rv = take_queue(r, s, "", err);
	for (size_t i = 0; rv == 0 && i < np; i++)
		rv = take_queue(r, s, names[i], err);
	for (size_t i = 0; i < np; i++)
		free(names[i]);
	free(names);
	return rv;
}

/* ------------------------------------------------------------------ render */

typedef struct lines {
	char **v;
	size_t n, cap;
} lines;

static void line_add(lines *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void line_add(lines *l, const char *fmt, ...)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 1024;
		l->v = wn_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	va_list ap;
	va_start(ap, fmt);
	char buf[512];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	l->v[l->n++] = wn_xstrdup(buf);
}

static void lines_free(lines *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
}

/* Whether the restart being compared was a crash (kill -9). */
static bool render_crash;

/* restart_skips lists the fields a restart changes, as documented:
 *  - Job.lease_expires_ms of a RUNNING job: "After a server restart every
 *    RUNNING job gets a fresh full lease" (protocol.md section 9);
 *  - Worker.last_seen_ms after a crash: it is stored at least once a minute
 *    while the worker is heard from, so after a crash it may be up to about
 *    a minute older (protocol.md section 7.6); a clean stop keeps it exact.
 *    The model checks how much older. */
static bool restart_skips(const ProtobufCMessage *msg, const ProtobufCFieldDescriptor *f)
{
	if (msg->descriptor == &whatsnext__v1__job__descriptor &&
	    strcmp(f->name, "lease_expires_ms") == 0)
		return ((const Whatsnext__V1__Job *)msg)->status ==
		       WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING;
	return render_crash && msg->descriptor == &whatsnext__v1__worker__descriptor &&
	       strcmp(f->name, "last_seen_ms") == 0;
}

static void render_msg(lines *l, const char *path, const ProtobufCMessage *msg);

/* render_value adds one value of field f at p, if it is not the default. */
static void render_value(lines *l, const char *path, const ProtobufCFieldDescriptor *f,
                         const void *p)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		if (*(const int32_t *)p)
			line_add(l, "%s=%d", path, *(const int32_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		if (*(const uint32_t *)p)
			line_add(l, "%s=%u", path, *(const uint32_t *)p);
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		if (*(const int64_t *)p)
			line_add(l, "%s=%lld", path, (long long)*(const int64_t *)p);
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		if (*(const uint64_t *)p)
			line_add(l, "%s=%llu", path, (unsigned long long)*(const uint64_t *)p);
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (*(const protobuf_c_boolean *)p)
			line_add(l, "%s=true", path);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		int v = *(const int *)p;
		const ProtobufCEnumValue *ev = protobuf_c_enum_descriptor_get_value(
		    (const ProtobufCEnumDescriptor *)f->descriptor, v);
		if (v)
			line_add(l, "%s=%s", path, ev ? ev->name : "?");
		break;
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)p;
		size_t n = s ? strlen(s) : 0;
		uint64_t h = 1469598103934665603ULL; /* FNV-1a, for long texts */
		for (size_t i = 0; i < n; i++)
			h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
		if (n > 200)
			line_add(l, "%s=<%zu bytes, fnv %016llx>", path, n, (unsigned long long)h);
		else if (n > 0)
			line_add(l, "%s=\"%s\"", path, s);
		break;
	}
	case PROTOBUF_C_TYPE_BYTES:
		if (((const ProtobufCBinaryData *)p)->len)
			line_add(l, "%s=<%zu bytes>", path, ((const ProtobufCBinaryData *)p)->len);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		if (*(ProtobufCMessage *const *)p != NULL)
			render_msg(l, path, *(ProtobufCMessage *const *)p);
		break;
	default:
		line_add(l, "%s=<type %d>", path, (int)f->type);
	}
}

static void render_msg(lines *l, const char *path, const ProtobufCMessage *msg)
{
	const ProtobufCMessageDescriptor *d = msg->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		if (restart_skips(msg, f))
			continue;
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)((const char *)msg + f->quantifier_offset) != f->id)
			continue; /* a member of a oneof that holds another */
		char sub[400];
		const char *base = (const char *)msg + f->offset;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
			const char *arr = *(char *const *)base;
			for (size_t k = 0; k < n; k++) {
				snprintf(sub, sizeof(sub), "%s.%s[%zu]", path, f->name, k);
				render_value(l, sub, f, arr + k * wn_pbjson_elem_size(f->type));
			}
		} else {
			snprintf(sub, sizeof(sub), "%s.%s", path, f->name);
			render_value(l, sub, f, base);
		}
	}
}

static void render(const snapshot *s, lines *l)
{
	for (size_t i = 0; i < s->n; i++) {
		const snap_entry *e = &s->v[i];
		line_add(l, "== %s", e->label);
		if (e->msg != NULL)
			render_msg(l, "", e->msg);
		for (size_t k = 0; k < e->njobs; k++) {
			char path[32];
			snprintf(path, sizeof(path), ".jobs[%zu]", k);
			render_msg(l, path, &e->jobs[k]->base);
		}
	}
}

char *snapshot_diff(const snapshot *a, const snapshot *b, bool kill9)
{
	lines la = {0}, lb = {0};
	render_crash = kill9;
	render(a, &la);
	render(b, &lb);
	size_t i = 0;
	while (i < la.n && i < lb.n && strcmp(la.v[i], lb.v[i]) == 0)
		i++;
	char *out = NULL;
	if (i < la.n || i < lb.n) {
		/* the entry the difference is in, then a few lines of each side */
		size_t h = i;
		while (h > 0 && strncmp(la.v[h < la.n ? h : la.n - 1], "== ", 3) != 0)
			h--;
		size_t len = 0, cap = 8192;
		out = wn_xmalloc(cap);
		len += (size_t)snprintf(out + len, cap - len, "in %s\n  before the restart:\n",
		                        h < la.n ? la.v[h] : "(end)");
		for (size_t k = i; k < la.n && k < i + 6 && len < cap - 600; k++)
			len += (size_t)snprintf(out + len, cap - len, "    %s\n", la.v[k]);
		len += (size_t)snprintf(out + len, cap - len, "  after the restart:\n");
		for (size_t k = i; k < lb.n && k < i + 6 && len < cap - 600; k++)
			len += (size_t)snprintf(out + len, cap - len, "    %s\n", lb.v[k]);
	}
	lines_free(&la);
	lines_free(&lb);
	render_crash = false;
	return out;
}

void snapshot_dump(const snapshot *s, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return;
	lines l = {0};
	render(s, &l);
	for (size_t i = 0; i < l.n; i++)
		fprintf(f, "%s\n", l.v[i]);
	lines_free(&l);
	fclose(f);
}

void snapshot_line(const ProtobufCMessage *msg, char *buf, size_t len)
{
	lines l = {0};
	render_msg(&l, "", msg);
	size_t n = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l.n && n + 1 < len; i++)
		n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? " " : "", l.v[i] + 1);
	lines_free(&l);
}
