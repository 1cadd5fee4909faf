/* check_fix: the repairs `wnd --check --repair` plans and writes, and the
 * passes of a check (check.h). A repair never deletes a job record: what a
 * job names is recreated, or the job is put where a user sees it. */
#include "check_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Rounds of repair: a repair may reveal another (a sweep recreated for its
 * jobs, then a job outside it); each round fixes what the last look found. */
#define CHECK_ROUNDS 6
/* Changes per write batch. */
#define CHECK_BATCH 1000

#define RECREATED "recreated by wnd --check --repair"

/* ------------------------------------------------------------ planning */

struct fix *wn_check_plan(struct check *k, int kind, const char *key, size_t klen)
{
	char name[1400];
	wn_key_name(name, sizeof(name), key, klen);
	struct fix *f = wn_map_get_str(k->fixmap, name);
	if (f != NULL) {
		if (f->kind == FIX_NONE)
			f->kind = kind;
		return f;
	}
	f = wn_arena_alloc(k->arena, sizeof(*f));
	f->kind = kind;
	f->key = wn_arena_alloc(k->arena, klen + 1);
	memcpy(f->key, key, klen);
	f->klen = klen;
	f->name = wn_arena_strdup(k->arena, name);
	wn_map_put_str(k->fixmap, name, f);
	if (k->fix_tail != NULL)
		k->fix_tail->next = f;
	else
		k->fix_head = f;
	k->fix_tail = f;
	return f;
}

void wn_check_plan_del(struct check *k, const char *key, size_t klen, const char *why)
{
	wn_check_plan(k, FIX_DEL, key, klen)->why = why;
}

void wn_check_plan_aside(struct check *k, const char *key, size_t klen)
{
	wn_check_plan(k, FIX_NONE, key, klen)->aside = true;
}

void wn_check_plan_project(struct check *k, const char *name)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_project(key, name);
	wn_check_plan(k, FIX_PROJECT, key, kl)->project = wn_arena_strdup(k->arena, name);
}

void wn_check_plan_task(struct check *k, const char *project, const char *name)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_task(key, project, name);
	struct fix *f = wn_check_plan(k, FIX_TASK, key, kl);
	f->project = wn_arena_strdup(k->arena, project);
	f->task = wn_arena_strdup(k->arena, name);
}

void wn_check_plan_sweep(struct check *k, uint64_t id, const char *project, uint64_t total)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_sweep(key, id);
	struct fix *f = wn_check_plan(k, FIX_SWEEP, key, kl);
	f->id = id;
	if (project != NULL)
		f->project = wn_arena_strdup(k->arena, project);
	if (total > f->total)
		f->total = total;
}

void wn_check_plan_job(struct check *k, struct cjob *j, unsigned mask, const char *reason)
{
	char key[WN_KEY_MAX];
	size_t kl = wn_key_job(key, j->id);
	struct fix *f = wn_check_plan(k, FIX_JOB, key, kl);
	f->id = j->id;
	f->mask |= mask;
	if (reason != NULL && f->reason == NULL)
		f->reason = wn_arena_strdup(k->arena, reason);
	if (mask & JF_BLOCK)
		j->plan = BLOCKED;
}

void wn_check_plan_meta(struct check *k, const char *key, const char *value)
{
	wn_check_plan(k, FIX_META, key, strlen(key))->value = wn_arena_strdup(k->arena, value);
}

/* ------------------------------------------------------------ writing */

/* One round of writes: the batch being filled and what it says. */
struct writer {
	struct check *k;
	wn_batch *b;
	wn_arena *scratch; /* records unpacked for this batch */
	ProtobufCAllocator *pa;
	long long done;
};

static int writer_flush(struct writer *w, char **errmsg)
{
	int rv = WN_OK;
	if (wn_batch_count(w->b) > 0) {
		uint64_t seq = 0;
		rv = wn_store_write(w->k->store, w->b, &seq);
		if (rv == WN_OK)
			rv = wn_store_wait(w->k->store, seq);
		char why[512];
		if (rv != WN_OK)
			*errmsg = wn_xasprintf(
			    "cannot write the repairs: %s",
			    wn_store_failed(w->k->store, why, sizeof(why)) ? why : wn_strerror(rv));
	}
	wn_batch_free(w->b);
	wn_arena_free(w->scratch);
	w->b = wn_batch_new();
	w->scratch = wn_arena_new();
	w->pa = wn_arena_allocator(w->scratch);
	return rv;
}

/* record_get reads and unpacks f's record as desc, or NULL. */
static ProtobufCMessage *record_get(struct writer *w, const struct fix *f,
                                    const ProtobufCMessageDescriptor *desc)
{
	char *val = NULL;
	size_t len = 0;
	if (wn_store_get(w->k->store, f->key, f->klen, &val, &len) != WN_OK)
		return NULL;
	ProtobufCMessage *m = protobuf_c_message_unpack(desc, w->pa, len, (uint8_t *)val);
	free(val);
	return m;
}

static void put(struct writer *w, const struct fix *f, const ProtobufCMessage *m)
{
	wn_records_put(w->b, f->key, f->klen, m);
}

static void said(struct writer *w, const struct fix *f, const char *what)
{
	fprintf(w->k->out, "repaired %s: %s\n", f->name, what);
	w->done++;
}

static void fix_project(struct writer *w, const struct fix *f)
{
	Project *p = (Project *)record_get(w, f, &whatsnext__v1__project__descriptor);
	if (p != NULL) {
		p->name = f->project;
		if (p->status != WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE)
			p->status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED;
		put(w, f, &p->base);
		said(w, f, "record rewritten with the key's name and a known status");
		return;
	}
	Project np = WHATSNEXT__V1__PROJECT__INIT;
	np.name = f->project;
	np.description = RECREATED;
	np.status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED;
	np.created_ms = np.updated_ms = wn_now_ms();
	put(w, f, &np.base);
	said(w, f,
	     "project recreated, archived, for the records that name it (unarchive or "
	     "delete it)");
}

static void fix_task(struct writer *w, const struct fix *f)
{
	Task *t = (Task *)record_get(w, f, &whatsnext__v1__task__descriptor);
	if (t != NULL) {
		t->project = f->project;
		t->name = f->task;
		put(w, f, &t->base);
		said(w, f, "record rewritten with the key's project and name");
		return;
	}
	Task nt = WHATSNEXT__V1__TASK__INIT;
	nt.project = f->project;
	nt.name = f->task;
	nt.description = RECREATED;
	nt.max_attempts = WN_DEFAULT_MAX_ATTEMPTS;
	nt.created_ms = nt.updated_ms = wn_now_ms();
	put(w, f, &nt.base);
	said(w, f, "task recreated with default settings for the jobs that name it");
}

static void fix_sweep(struct writer *w, const struct fix *f)
{
	Whatsnext__V1__Sweep *s =
	    (Whatsnext__V1__Sweep *)record_get(w, f, &whatsnext__v1__sweep__descriptor);
	if (s != NULL) {
		s->id = f->id;
		s->pending = s->running = s->completed = s->failed = s->blocked = s->cancelled = 0;
		if (f->total > s->total)
			s->total = f->total;
		put(w, f, &s->base);
		said(w, f,
		     wn_arena_printf(w->scratch, "record rewritten: id %llu, size %llu, no counts",
		                     (unsigned long long)s->id, (unsigned long long)s->total));
		return;
	}
	Whatsnext__V1__Sweep ns = WHATSNEXT__V1__SWEEP__INIT;
	ns.id = f->id;
	ns.project = f->project ? f->project : "";
	ns.name = wn_arena_printf(w->scratch, "sweep-%llu", (unsigned long long)f->id);
	ns.total = f->total ? f->total : 1;
	ns.created_ms = wn_now_ms();
	put(w, f, &ns.base);
	said(w, f,
	     wn_arena_printf(w->scratch,
	                     "sweep recreated for its jobs: project %s, jobs %llu to %llu",
	                     ns.project, (unsigned long long)ns.id,
	                     (unsigned long long)(ns.id + ns.total - 1)));
}

static void fix_worker(struct writer *w, const struct fix *f)
{
	Whatsnext__V1__Worker *r =
	    (Whatsnext__V1__Worker *)record_get(w, f, &whatsnext__v1__worker__descriptor);
	if (r == NULL)
		return;
	r->name = wn_arena_strdup(w->scratch, f->key + WN_KEY_PREFIX_LEN);
	r->n_jobs = 0;
	r->used = NULL;
	if (r->state < WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE ||
	    r->state > WHATSNEXT__V1__WORKER_STATE__WORKER_GONE)
		r->state = WHATSNEXT__V1__WORKER_STATE__WORKER_LOST; /* it joins again */
	bool tasks = !wn_check_worker_tasks_ok(r);
	if (tasks) { /* any task, until it joins again and names its own */
		r->n_tasks = 0;
		r->tasks = NULL;
	}
	put(w, f, &r->base);
	said(w, f,
	     tasks ? "record rewritten with the key's name, a known state, no held-job list (wnd "
	             "derives it from the jobs) and no task list (it names its tasks when it "
	             "joins again)"
	           : "record rewritten with the key's name, a known state and no held-job list "
	             "(wnd derives it from the jobs)");
}

/* job_drop_deps drops the dependencies of j that job_deps found invalid
 * (the same tests, on the record). */
static void job_drop_deps(struct writer *w, Job *j)
{
	size_t n = 0;
	for (size_t i = 0; i < j->n_deps; i++) {
		const Whatsnext__V1__Dependency *d = j->deps[i];
		struct cjob *y = wn_check_job(w->k, d->job_id);
		bool bad =
		    d->job_id == j->id || d->condition > WHATSNEXT__V1__DEP_CONDITION__AFTERNOTOK ||
		    (y != NULL && y->task != NULL && strcmp(y->task->proj->name, j->project) != 0);
		for (size_t q = 0; q < n && !bad; q++)
			bad = j->deps[q]->job_id == d->job_id;
		if (!bad)
			j->deps[n++] = j->deps[i];
	}
	j->n_deps = n;
}

/* fix_unreadable puts a FAILED job of project lost-and-found in the place of
 * the unreadable record of job f->id (set aside by then), where a user sees
 * it and can remove it; the next round recreates that project and task. */
static void fix_unreadable(struct writer *w, const struct fix *f)
{
	Job j = WHATSNEXT__V1__JOB__INIT;
	j.id = f->id;
	j.project = CHECK_LOST_PROJECT;
	j.task = CHECK_LOST_TASK;
	j.name = wn_arena_printf(w->scratch, "unreadable-%llu", (unsigned long long)f->id);
	j.status = FAILED;
	j.reason =
	    wn_arena_printf(w->scratch,
	                    "the record of job %llu could not be read; wnd --check --repair "
	                    "kept its bytes under the key %s%s and put this job in its place",
	                    (unsigned long long)f->id, wn_key_prefix(WN_KEY_ASIDE), f->name);
	j.created_ms = j.finished_ms = wn_now_ms();
	put(w, f, &j.base);
	said(w, f, "replaced by a FAILED job of project " CHECK_LOST_PROJECT " (remove it there)");
}

static void fix_job(struct writer *w, const struct fix *f)
{
	if (f->mask & JF_UNREADABLE) {
		fix_unreadable(w, f);
		return;
	}
	Job *j = (Job *)record_get(w, f, &whatsnext__v1__job__descriptor);
	if (j == NULL)
		return;
	char what[512] = "";
	size_t o = 0;
#define SAY(...)                                                                                   \
	o += (size_t)snprintf(what + o, o < sizeof(what) ? sizeof(what) - o : 0, __VA_ARGS__)
	if (f->mask & JF_ID) {
		j->id = f->id;
		SAY("%sid set to its key's", o ? "; " : "");
	}
	if (f->mask & JF_STATUS) {
		j->status = FAILED;
		j->reason = "its status was unknown; set to FAILED by wnd --check --repair";
		j->finished_ms = wn_now_ms();
		SAY("%sstatus set to FAILED (retry it to run it)", o ? "; " : "");
	}
	if (f->mask & JF_LEASE) {
		j->status = PENDING;
		j->lease_expires_ms = 0;
		j->reason = "its lease named no worker or attempt; queued again by wnd --check "
		            "--repair";
		SAY("%squeued again (PENDING)", o ? "; " : "");
	}
	if (f->mask & JF_DEPS) {
		job_drop_deps(w, j);
		SAY("%sinvalid dependencies dropped", o ? "; " : "");
	}
	if (f->mask & JF_SWEEP) {
		j->sweep_id = 0;
		SAY("%staken out of the sweep it named", o ? "; " : "");
	}
	if (f->mask & JF_HELD) {
		j->held = false;
		SAY("%sno longer held", o ? "; " : "");
	}
	if (f->mask & JF_STOPPING) {
		j->stopping = false;
		SAY("%sno run to stop", o ? "; " : "");
	}
	if ((f->mask & JF_BLOCK) && j->status == PENDING) {
		j->status = BLOCKED;
		j->reason = f->reason;
		SAY("%sBLOCKED: %s", o ? "; " : "", f->reason);
	}
#undef SAY
	put(w, f, &j->base);
	said(w, f, what);
}

/* set_aside keeps the bytes of f's record under x/KEY. */
static void set_aside(struct writer *w, const struct fix *f)
{
	char *val = NULL;
	size_t len = 0;
	if (wn_store_get(w->k->store, f->key, f->klen, &val, &len) != WN_OK)
		return;
	char *key = wn_arena_alloc(w->scratch, f->klen + WN_KEY_PREFIX_LEN);
	size_t kl = wn_key_aside(key, f->key, f->klen);
	wn_batch_put(w->b, key, kl, val, len);
	free(val);
	fprintf(w->k->out, "repaired %s: unreadable record kept under %s%s\n", f->name,
	        wn_key_prefix(WN_KEY_ASIDE), f->name);
	w->done++;
}

static void fix_one(struct writer *w, const struct fix *f)
{
	if (f->kind == FIX_NONE)
		return;
	if (f->aside)
		set_aside(w, f);
	switch (f->kind) {
	case FIX_NONE:
		break;
	case FIX_DEL:
		wn_batch_del(w->b, f->key, f->klen);
		said(w, f, wn_arena_printf(w->scratch, "deleted (%s)", f->why));
		break;
	case FIX_PROJECT:
		fix_project(w, f);
		break;
	case FIX_TASK:
		fix_task(w, f);
		break;
	case FIX_SWEEP:
		fix_sweep(w, f);
		break;
	case FIX_WORKER:
		fix_worker(w, f);
		break;
	case FIX_JOB:
		fix_job(w, f);
		break;
	case FIX_META:
		wn_batch_put(w->b, f->key, f->klen, f->value, strlen(f->value));
		said(w, f, wn_arena_printf(w->scratch, "set to %s", f->value));
		break;
	}
}

long long wn_check_apply(struct check *k, char **errmsg)
{
	struct writer w = {.k = k, .b = wn_batch_new(), .scratch = wn_arena_new()};
	w.pa = wn_arena_allocator(w.scratch);
	int rv = WN_OK, n = 0;
	for (const struct fix *f = k->fix_head; f != NULL && rv == WN_OK; f = f->next) {
		fix_one(&w, f);
		if (++n % CHECK_BATCH == 0)
			rv = writer_flush(&w, errmsg);
	}
	if (rv == WN_OK)
		rv = writer_flush(&w, errmsg);
	wn_batch_free(w.b);
	wn_arena_free(w.scratch);
	return rv == WN_OK ? w.done : rv;
}

/* ------------------------------------------------------------ the passes */

static void summary(struct check *k, const char *dir, FILE *out)
{
	fprintf(out,
	        "checked %s: %llu key(s) (%llu project(s), %llu task(s), %llu job(s), %llu "
	        "sweep(s), %llu worker(s), %llu request id(s), %llu token(s))",
	        dir, (unsigned long long)k->nkeys, (unsigned long long)k->counts[0],
	        (unsigned long long)k->counts[1], (unsigned long long)k->counts[2],
	        (unsigned long long)k->counts[3], (unsigned long long)k->counts[4],
	        (unsigned long long)k->counts[5], (unsigned long long)k->counts[8]);
	if (k->counts[9] > 0)
		fprintf(out, ", %llu live output record(s) (o/)", (unsigned long long)k->counts[9]);
	if (k->counts[7] > 0)
		fprintf(out, ", %llu record(s) set aside by --repair (x/)",
		        (unsigned long long)k->counts[7]);
	if (k->counts[11] > 0)
		fprintf(out, ", %llu key(s) of artifacts (b/)", (unsigned long long)k->counts[11]);
}

/* look runs a pass over k; WN_EIO, with *errmsg, if the store could not be
 * read to the end (then nothing it found is trusted). */
static int look(struct check *k, const char *dir, char **errmsg)
{
	wn_check_pass(k);
	if (k->read_error == NULL)
		return WN_OK;
	*errmsg = wn_xasprintf("cannot read every key of %s: %s", dir, k->read_error);
	return WN_EIO;
}

/* repair opens dir for writing and repairs in rounds until a look finds
 * nothing more it can fix; the findings left are printed. */
static int repair(const char *dir, bool no_version, FILE *out, wn_check_result *res, char **errmsg)
{
	wn_store *s = NULL;
	int rv = wn_store_open(dir, WN_DURABILITY_SYNC, 0, &s, errmsg);
	if (rv != WN_OK)
		return rv;
	if (no_version) { /* the open writes it */
		fprintf(out, "repaired m/version: set to %d\n", WN_STORE_VERSION);
		res->repairs++;
	}
	struct check k;
	bool clean = false;
	for (int round = 0; round < CHECK_ROUNDS && rv == WN_OK && !clean; round++) {
		wn_check_init(&k, s, out, "", true);
		rv = look(&k, dir, errmsg);
		clean = k.findings == 0;
		if (rv != WN_OK || (!clean && k.fix_head == NULL)) {
			wn_check_release(&k);
			break;
		}
		long long n = clean ? 0 : wn_check_apply(&k, errmsg);
		wn_check_release(&k);
		if (n < 0)
			rv = (int)n;
		else
			res->repairs += (unsigned long long)n;
	}
	if (rv == WN_OK) {
		wn_check_init(&k, s, out, "left ", false);
		rv = look(&k, dir, errmsg);
		res->left = k.findings;
		if (rv == WN_OK) {
			summary(&k, dir, out);
			fprintf(out, "; %llu finding(s), %llu change(s) written; ", res->findings,
			        res->repairs);
			if (res->left == 0)
				fprintf(out, "clean now\n");
			else
				fprintf(out, "%llu finding(s) left that --repair cannot fix\n",
				        res->left);
		}
		wn_check_release(&k);
	}
	wn_store_close(s);
	return rv;
}

int wn_check_run(const char *dir, bool do_repair, FILE *out, wn_check_result *res, char **errmsg)
{
	memset(res, 0, sizeof(*res));
	struct stat st;
	char *current = wn_xasprintf("%s/CURRENT", dir);
	bool have = stat(current, &st) == 0;
	free(current);
	char *lost = have ? NULL : wn_store_lost_current(dir);
	if (lost != NULL) {
		*errmsg = wn_xasprintf("cannot check %s: its CURRENT file is missing, while %s "
		                       "and maybe more of the database's files are there; a file "
		                       "of it is damaged: restore a backup",
		                       dir, lost);
		free(lost);
		return WN_EIO;
	}
	char *foreign = have ? wn_store_foreign_log(dir) : NULL;
	if (foreign != NULL) {
		*errmsg = wn_xasprintf("cannot check %s: %s; restore the backup into a new, "
		                       "empty directory",
		                       dir, foreign);
		free(foreign);
		return WN_EIO;
	}
	if (!have) {
		*errmsg =
		    stat(dir, &st) == 0
		        ? wn_xasprintf("cannot check %s: not a data directory (no database in it)",
		                       dir)
		        : wn_xasprintf("cannot check %s: %s", dir, strerror(errno));
		return WN_ENOTFOUND;
	}
	wn_store *s = NULL;
	int rv = wn_store_open_readonly(dir, &s, errmsg);
	if (rv != WN_OK)
		return rv;
	struct check k;
	wn_check_init(&k, s, out, "", false);
	rv = look(&k, dir, errmsg);
	if (rv != WN_OK) {
		wn_check_release(&k);
		wn_store_close(s);
		return rv;
	}
	res->findings = res->left = k.findings;
	bool known = !k.have_version || k.version_ok;
	bool no_version = !k.have_version && k.has_data;
	if (!do_repair || k.findings == 0) {
		summary(&k, dir, out);
		if (k.findings == 0)
			fprintf(out, ": clean\n");
		else
			fprintf(out, ": %llu finding(s)\n", res->findings);
	}
	wn_check_release(&k);
	wn_store_close(s);
	if (!do_repair || res->findings == 0)
		return WN_OK;
	if (!known) {
		*errmsg = wn_xasprintf(
		    "cannot repair %s: its data layout is not one this wnd knows", dir);
		return WN_EINVAL;
	}
	return repair(dir, no_version, out, res, errmsg);
}
