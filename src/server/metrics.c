/* metrics: wnd's metrics and their Prometheus text (metrics.h). */
#include "metrics.h"

#include "clock.h"
#include "engine_state.h"
#include "envelope.h"
#include "histo.h"
#include "kit.h"
#include "map.h"
#include "status.h"
#include "util.h"

#include <ctype.h>
#include <dirent.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Request counters are kept in this many shards; a thread always counts in
 * the same one, so that the threads of the event loops seldom share a cache
 * line. */
#define METRICS_SHARDS 8
/* The codes of the .proto's Code enum: 0 (OK) to 16 (UNAUTHENTICATED). */
#define METRICS_CODES 17
/* A row per method, and one more for requests that named no method found. */
#define METRICS_ROWS (WN_METHOD_COUNT + 1)

struct reqshard {
	_Atomic uint64_t count[METRICS_ROWS][METRICS_CODES];
	wn_histo latency[METRICS_ROWS];
};

/* What is counted of the jobs of one task of one project. */
struct series {
	char *project, *task;
	/* changed under the engine lock, read by a scrape without it */
	_Atomic uint64_t submitted;
	_Atomic uint64_t finished[3]; /* COMPLETED, FAILED, CANCELLED */
	wn_histo run;                 /* run time of the runs that ended COMPLETED or FAILED */
	struct series *next;          /* in the retired list, once its project or task went */
};

struct wn_metrics {
	struct reqshard *shards; /* METRICS_SHARDS of them */
	int64_t start_ms;        /* real wall clock when the engine opened */
	/* under the engine lock */
	wn_histo dispatch;      /* a claimed job's wait since it became PENDING */
	wn_map *series;         /* "project/task" -> struct series */
	wn_map *requeued;       /* job id -> wall-clock ms + 1 when it became PENDING again */
	unsigned pages;         /* pages being written from a shot, which points at series */
	struct series *retired; /* series of a deleted project or task, freed at 0 pages */
};

struct wn_metrics *wn_metrics_new(void)
{
	struct wn_metrics *m = wn_xcalloc(1, sizeof(*m));
	m->shards = wn_xcalloc(METRICS_SHARDS, sizeof(*m->shards));
	m->start_ms = wn_now_ms();
	m->series = wn_map_new_str();
	m->requeued = wn_map_new_u64();
	return m;
}

static void series_free(struct series *s)
{
	free(s->project);
	free(s->task);
	free(s);
}

/* metrics_retired_free frees the retired series, once no page reads them. */
static void metrics_retired_free(struct wn_metrics *m)
{
	while (m->pages == 0 && m->retired != NULL) {
		struct series *s = m->retired;
		m->retired = s->next;
		series_free(s);
	}
}

void wn_metrics_free(struct wn_metrics *m)
{
	if (m == NULL)
		return;
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(m->series, &pos, &uk, &sk, &val))
		series_free(val);
	m->pages = 0;
	metrics_retired_free(m);
	wn_map_free(m->series);
	wn_map_free(m->requeued);
	free(m->shards);
	free(m);
}

/* ------------------------------------------------------------ recording */

/* metrics_shard returns the calling thread's shard. */
static struct reqshard *metrics_shard(struct wn_metrics *m)
{
	static atomic_uint next;
	static _Thread_local unsigned mine = METRICS_SHARDS;
	if (mine == METRICS_SHARDS)
		mine = atomic_fetch_add_explicit(&next, 1, memory_order_relaxed) % METRICS_SHARDS;
	return &m->shards[mine];
}

/* reply_code reads the code of a packed Response envelope (field 2, a
 * varint; absent means OK), skipping the fields before it. */
static int reply_code(const uint8_t *p, size_t len)
{
	const uint8_t *end = p + len;
	while (p < end) {
		uint64_t v[2] = {0, 0}; /* the tag, then a varint value */
		for (int k = 0; k < 2; k++) {
			int shift = 0;
			do {
				if (p >= end || shift > 63)
					return WHATSNEXT__V1__CODE__UNKNOWN;
				v[k] |= (uint64_t)(*p & 0x7f) << shift;
				shift += 7;
			} while (*p++ & 0x80);
			if (k == 0 && (v[0] & 7) != 0 && (v[0] & 7) != 2)
				return WHATSNEXT__V1__CODE__UNKNOWN; /* no fixed-size fields before
				                                      */
			if (k == 0 && (v[0] >> 3) > 2)
				return WHATSNEXT__V1__CODE__OK;
		}
		if ((v[0] >> 3) == 2)
			return v[1] < METRICS_CODES ? (int)v[1] : WHATSNEXT__V1__CODE__UNKNOWN;
		if ((v[0] & 7) == 2) { /* length-delimited: skip its bytes */
			if (v[1] > (uint64_t)(end - p))
				return WHATSNEXT__V1__CODE__UNKNOWN;
			p += v[1];
		}
	}
	return WHATSNEXT__V1__CODE__OK;
}

void wn_metrics_request(struct wn_metrics *m, const wn_method *md, const wn_reply *reply,
                        int64_t t0)
{
	int64_t ns = wn_histo_clock() - t0;
	size_t row = md != NULL ? (size_t)(md - wn_methods) : WN_METHOD_COUNT;
	int code = reply->buf != NULL ? reply_code(reply->buf, reply->len) : 0;
	struct reqshard *s = metrics_shard(m);
	atomic_fetch_add_explicit(&s->count[row][code], 1, memory_order_relaxed);
	wn_histo_observe(&s->latency[row], &wn_histo_fast, ns);
}

/* metrics_series returns the series of task of project, created if new. */
static struct series *metrics_series(struct wn_metrics *m, const char *project, const char *task)
{
	char key[2 * WN_NAME_MAX + 8];
	wn_join(key, sizeof(key), project, '/', task);
	struct series *s = wn_map_get_str(m->series, key);
	if (s == NULL) {
		s = wn_xcalloc(1, sizeof(*s));
		s->project = wn_xstrdup(project);
		s->task = wn_xstrdup(task);
		wn_map_put_str(m->series, key, s);
	}
	return s;
}

void wn_metrics_forget(wn_engine *e, const char *project, const char *task)
{
	struct wn_metrics *m = e->metrics;
	size_t pos = 0, n = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	struct series **gone = wn_xmalloc((wn_map_count(m->series) + 1) * sizeof(*gone));
	while (wn_map_next(m->series, &pos, &uk, &sk, &val)) {
		struct series *s = val;
		if (strcmp(s->project, project) == 0 &&
		    (task == NULL || strcmp(s->task, task) == 0))
			gone[n++] = s;
	}
	for (size_t i = 0; i < n; i++) {
		char key[2 * WN_NAME_MAX + 8];
		wn_join(key, sizeof(key), gone[i]->project, '/', gone[i]->task);
		wn_map_del_str(m->series, key);
		gone[i]->next = m->retired;
		m->retired = gone[i];
	}
	free(gone);
	metrics_retired_free(m);
}

/* metrics_claimed observes the wait of job j, claimed at now (wall ms), since
 * it became PENDING: its submission for a first attempt, else the time noted
 * when it came back (unknown for a job that came back before wnd started:
 * not observed). */
static void metrics_claimed(struct wn_metrics *m, const Job *j, uintptr_t back, int64_t now)
{
	int64_t since = back != 0 ? (int64_t)(back - 1) : j->attempt <= 1 ? j->created_ms : -1;
	if (since >= 0)
		wn_histo_observe(&m->dispatch, &wn_histo_wait, (now - since) * 1000000LL);
}

void wn_metrics_job(wn_engine *e, const char *project, const Job *j, int from, int to)
{
	struct wn_metrics *m = e->metrics;
	if (from == to)
		return;
	if (from == PENDING) {
		uintptr_t back = (uintptr_t)wn_map_del_u64(m->requeued, j->id);
		if (to == RUNNING)
			metrics_claimed(m, j, back, wn_engine_now(e));
	} else if (to == PENDING && from != 0) {
		wn_map_put_u64(m->requeued, j->id, (void *)(uintptr_t)(wn_engine_now(e) + 1));
	}
	if (from == 0 && (to == PENDING || to == BLOCKED)) {
		atomic_fetch_add_explicit(&metrics_series(m, project, j->task)->submitted, 1,
		                          memory_order_relaxed);
	} else if (to == COMPLETED || to == FAILED || to == CANCELLED) {
		struct series *s = metrics_series(m, project, j->task);
		atomic_fetch_add_explicit(&s->finished[to == COMPLETED ? 0
		                                       : to == FAILED  ? 1
		                                                       : 2],
		                          1, memory_order_relaxed);
		if (from == RUNNING && to != CANCELLED)
			wn_histo_observe(&s->run, &wn_histo_run,
			                 (wn_engine_now(e) - j->started_ms) * 1000000LL);
	}
}

/* ------------------------------------------------------------ the text */

void wn_metrics_label(wn_strbuf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			wn_strbuf_adds(out, "\\\\");
		else if (*s == '"')
			wn_strbuf_adds(out, "\\\"");
		else if (*s == '\n')
			wn_strbuf_adds(out, "\\n");
		else
			wn_strbuf_addc(out, *s);
	}
}

/* metrics_head appends the HELP and TYPE lines of metric name. */
static void metrics_head(wn_strbuf *out, const char *name, const char *type, const char *help)
{
	wn_strbuf_addf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* The le texts of a scale's bounds, made once per page. */
struct les {
	char v[WN_HISTO_MAX][24];
};

static void metrics_les(const wn_histo_scale *sc, struct les *le)
{
	for (size_t i = 0; i < sc->n; i++)
		snprintf(le->v[i], sizeof(le->v[i]), "%g", (double)sc->le_ns[i] / 1e9);
}

/* metrics_histo appends the lines of histogram name with labels (text of
 * "k=\"v\"," pairs, each ending with a comma, or ""): one per bucket of scale
 * sc (bounds le), the sum and the count. */
static void metrics_histo(wn_strbuf *out, const char *name, const char *labels,
                          const wn_histo_scale *sc, const struct les *le, const wn_histo_snap *snap)
{
	for (size_t i = 0; i < sc->n; i++)
		wn_strbuf_addf(out, "%s_bucket{%sle=\"%s\"} %llu\n", name, labels, le->v[i],
		               (unsigned long long)snap->cum[i]);
	wn_strbuf_addf(out, "%s_bucket{%sle=\"+Inf\"} %llu\n", name, labels,
	               (unsigned long long)snap->count);
	size_t n = strlen(labels);
	const char *open = n > 0 ? "{" : "", *close = n > 0 ? "}" : "";
	int len = n > 0 ? (int)n - 1 : 0; /* without the last comma */
	wn_strbuf_addf(out, "%s_sum%s%.*s%s %.9g\n", name, open, len, labels, close, snap->sum_s);
	wn_strbuf_addf(out, "%s_count%s%.*s%s %llu\n", name, open, len, labels, close,
	               (unsigned long long)snap->count);
}

/* What a page shows of one project, copied under the engine lock. */
struct pshot {
	char *name;
	uint64_t counts[WN_NSTATUS];
	size_t ready;
};

/* What a page shows of the engine's state, taken under the engine lock (held
 * for that moment only) and written out after. */
struct shot {
	struct pshot *p; /* the projects, by name */
	size_t np;
	uint64_t workers[4]; /* active, draining, lost, gone */
	uint64_t parked;     /* requests waiting: fetches, waits, logs */
	struct series **s;   /* the series by project and task (kept while the page is written) */
	size_t ns;
};

/* shot_workers counts e's workers by state into n. Called under the engine lock. */
static void shot_workers(wn_engine *e, uint64_t n[4])
{
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	while (wn_map_next(e->fleet.workers, &pos, &uk, &sk, &val)) {
		const struct wrk *w = val;
		if (w->rec->state == WHATSNEXT__V1__WORKER_STATE__WORKER_ACTIVE)
			n[w->rec->draining ? 1 : 0]++;
		else
			n[w->rec->state == WHATSNEXT__V1__WORKER_STATE__WORKER_LOST ? 2 : 3]++;
	}
}

static int pshot_cmp(const void *a, const void *b)
{
	return strcmp(((const struct pshot *)a)->name, ((const struct pshot *)b)->name);
}

static int series_cmp(const void *a, const void *b)
{
	const struct series *x = *(struct series *const *)a, *y = *(struct series *const *)b;
	int c = strcmp(x->project, y->project);
	return c != 0 ? c : strcmp(x->task, y->task);
}

/* shot_take fills *sh from e, under the engine lock, and sorts it after. */
static void shot_take(wn_engine *e, struct shot *sh)
{
	memset(sh, 0, sizeof(*sh));
	size_t pos = 0;
	uint64_t uk;
	const char *sk;
	void *val;
	pthread_mutex_lock(&e->mu);
	sh->p = wn_xcalloc(wn_map_count(e->proj.byname) + 1, sizeof(*sh->p));
	while (wn_map_next(e->proj.byname, &pos, &uk, &sk, &val)) {
		const struct project *p = val;
		struct pshot *ps = &sh->p[sh->np++];
		ps->name = wn_xstrdup(p->name);
		memcpy(ps->counts, p->counts, sizeof(ps->counts));
		/* what a worker could claim now: not an archived project's
		 * jobs, nor those of a sweep at its running cap */
		for (size_t q = 0; q < p->nq && !p->archived; q++)
			if (!wn_queue_capped(p->qv[q]))
				ps->ready += wn_index_count(p->qv[q]->ready);
	}
	shot_workers(e, sh->workers);
	sh->parked = e->w.nparked;
	const wn_map *series = e->metrics->series;
	sh->s = wn_xmalloc((wn_map_count(series) + 1) * sizeof(*sh->s));
	for (pos = 0; wn_map_next(series, &pos, &uk, &sk, &val);)
		sh->s[sh->ns++] = val;
	e->metrics->pages++; /* a series deleted meanwhile is freed after the page */
	pthread_mutex_unlock(&e->mu);
	qsort(sh->p, sh->np, sizeof(*sh->p), pshot_cmp);
	qsort(sh->s, sh->ns, sizeof(*sh->s), series_cmp);
}

static void shot_free(wn_engine *e, struct shot *sh)
{
	for (size_t i = 0; i < sh->np; i++)
		free(sh->p[i].name);
	free(sh->p);
	free(sh->s);
	pthread_mutex_lock(&e->mu);
	e->metrics->pages--;
	metrics_retired_free(e->metrics);
	pthread_mutex_unlock(&e->mu);
}

/* metrics_lower appends name in lower case. */
static void metrics_lower(wn_strbuf *out, const char *name)
{
	for (; *name; name++)
		wn_strbuf_addc(out, (char)tolower((unsigned char)*name));
}

/* metrics_projects appends the jobs of each project by status, its queue
 * depth, and the workers by state. */
static void metrics_projects(const struct shot *sh, wn_strbuf *out)
{
	metrics_head(out, "whatsnext_jobs", "gauge",
	             "Jobs kept by the server, by project and status.");
	for (size_t i = 0; i < sh->np; i++)
		for (int st = 1; st < WN_NSTATUS; st++) {
			wn_strbuf_adds(out, "whatsnext_jobs{project=\"");
			wn_metrics_label(out, sh->p[i].name);
			wn_strbuf_adds(out, "\",state=\"");
			metrics_lower(out, wn_status_name(st));
			wn_strbuf_addf(out, "\"} %llu\n", (unsigned long long)sh->p[i].counts[st]);
		}
	metrics_head(out, "whatsnext_queue_depth", "gauge",
	             "Jobs a worker could claim now: PENDING with their dependencies met, not "
	             "held back by an archived project or a sweep at its cap, by project.");
	for (size_t i = 0; i < sh->np; i++) {
		wn_strbuf_adds(out, "whatsnext_queue_depth{project=\"");
		wn_metrics_label(out, sh->p[i].name);
		wn_strbuf_addf(out, "\"} %zu\n", sh->p[i].ready);
	}
	metrics_head(out, "whatsnext_workers", "gauge",
	             "Workers that joined, by state (draining: active, taking no new jobs).");
	static const char *const states[] = {"active", "draining", "lost", "gone"};
	for (int i = 0; i < 4; i++)
		wn_strbuf_addf(out, "whatsnext_workers{state=\"%s\"} %llu\n", states[i],
		               (unsigned long long)sh->workers[i]);
	metrics_head(out, "whatsnext_waiting_requests", "gauge",
	             "Requests waiting for an event: fetches waiting for a job, waits, log follows "
	             "(max_parked_fetches bounds them).");
	wn_strbuf_addf(out, "whatsnext_waiting_requests %llu\n", (unsigned long long)sh->parked);
}

/* metrics_series_labels makes the label text of s (project and task). */
static void metrics_series_labels(wn_strbuf *lb, const struct series *s)
{
	wn_strbuf_reset(lb);
	wn_strbuf_adds(lb, "project=\"");
	wn_metrics_label(lb, s->project);
	wn_strbuf_adds(lb, "\",task=\"");
	wn_metrics_label(lb, s->task);
	wn_strbuf_adds(lb, "\",");
}

static uint64_t load(_Atomic uint64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

/* metrics_jobs appends what was counted of the jobs of each task and the
 * dispatch latency. */
static void metrics_jobs(struct wn_metrics *m, const struct shot *sh, wn_strbuf *out)
{
	wn_strbuf lb = WN_STRBUF_INIT;
	metrics_head(out, "whatsnext_jobs_submitted_total", "counter",
	             "Jobs submitted since the server started, by project and task.");
	for (size_t i = 0; i < sh->ns; i++) {
		metrics_series_labels(&lb, sh->s[i]);
		wn_strbuf_addf(out, "whatsnext_jobs_submitted_total{%.*s} %llu\n",
		               (int)strlen(wn_strbuf_str(&lb)) - 1, wn_strbuf_str(&lb),
		               (unsigned long long)load(&sh->s[i]->submitted));
	}
	metrics_head(out, "whatsnext_jobs_finished_total", "counter",
	             "Jobs that ended since the server started, by project, task and final "
	             "status (completed, failed, cancelled).");
	static const char *const ends[] = {"completed", "failed", "cancelled"};
	for (size_t i = 0; i < sh->ns; i++) {
		metrics_series_labels(&lb, sh->s[i]);
		for (int k = 0; k < 3; k++)
			wn_strbuf_addf(out, "whatsnext_jobs_finished_total{%sstate=\"%s\"} %llu\n",
			               wn_strbuf_str(&lb), ends[k],
			               (unsigned long long)load(&sh->s[i]->finished[k]));
	}
	metrics_head(out, "whatsnext_job_run_duration_seconds", "histogram",
	             "Run time of the jobs that ended COMPLETED or FAILED, from their hand-out "
	             "to their worker's report, by project and task.");
	struct les le;
	metrics_les(&wn_histo_run, &le);
	wn_histo_snap snap;
	for (size_t i = 0; i < sh->ns; i++) {
		metrics_series_labels(&lb, sh->s[i]);
		wn_histo_read(&sh->s[i]->run, &wn_histo_run, &snap);
		metrics_histo(out, "whatsnext_job_run_duration_seconds", wn_strbuf_str(&lb),
		              &wn_histo_run, &le, &snap);
	}
	wn_strbuf_free(&lb);
	metrics_head(out, "whatsnext_dispatch_latency_seconds", "histogram",
	             "Time a job waited from becoming PENDING (its submission, or its return "
	             "to the queue) to its hand-out to a worker.");
	metrics_les(&wn_histo_wait, &le);
	wn_histo_read(&m->dispatch, &wn_histo_wait, &snap);
	metrics_histo(out, "whatsnext_dispatch_latency_seconds", "", &wn_histo_wait, &le, &snap);
}

/* metrics_method appends the label text of request row r. */
static void metrics_method(wn_strbuf *lb, size_t r)
{
	wn_strbuf_reset(lb);
	if (r < WN_METHOD_COUNT)
		wn_strbuf_addf(lb, "method=\"%s/%s\",", wn_methods[r].service, wn_methods[r].name);
	else
		wn_strbuf_adds(lb, "method=\"unknown\",");
}

/* metrics_requests appends the requests by method and code and their latency. */
static void metrics_requests(struct wn_metrics *m, wn_strbuf *out)
{
	wn_strbuf lb = WN_STRBUF_INIT;
	metrics_head(out, "whatsnext_requests_total", "counter",
	             "Requests answered, by method (Service/Method; unknown: none found) and "
	             "code.");
	for (size_t r = 0; r < METRICS_ROWS; r++)
		for (int code = 0; code < METRICS_CODES; code++) {
			uint64_t n = 0;
			for (int k = 0; k < METRICS_SHARDS; k++)
				n += atomic_load_explicit(&m->shards[k].count[r][code],
				                          memory_order_relaxed);
			if (n == 0)
				continue;
			const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(
			    &whatsnext__v1__code__descriptor, code);
			metrics_method(&lb, r);
			wn_strbuf_addf(out, "whatsnext_requests_total{%scode=\"%s\"} %llu\n",
			               wn_strbuf_str(&lb), v != NULL ? v->name : "UNKNOWN",
			               (unsigned long long)n);
		}
	metrics_head(out, "whatsnext_request_duration_seconds", "histogram",
	             "Time a request took in the server, from its bytes to its reply's, not "
	             "counting the wait for its write to be synced, by method.");
	struct les le;
	metrics_les(&wn_histo_fast, &le);
	for (size_t r = 0; r < METRICS_ROWS; r++) {
		wn_histo_snap snap = {0}, one;
		for (int k = 0; k < METRICS_SHARDS; k++) {
			wn_histo_read(&m->shards[k].latency[r], &wn_histo_fast, &one);
			wn_histo_snap_add(&snap, &one, &wn_histo_fast);
		}
		if (snap.count == 0)
			continue;
		metrics_method(&lb, r);
		metrics_histo(out, "whatsnext_request_duration_seconds", wn_strbuf_str(&lb),
		              &wn_histo_fast, &le, &snap);
	}
	wn_strbuf_free(&lb);
}

/* metrics_store appends the store's syncs and size. */
static void metrics_store(wn_engine *e, wn_strbuf *out)
{
	metrics_head(out, "whatsnext_store_fsync_duration_seconds", "histogram",
	             "Time of each sync of the store's write-ahead log (one per group commit).");
	wn_histo_snap snap;
	struct les le;
	metrics_les(&wn_histo_fast, &le);
	wn_histo_read(wn_store_sync_histo(e->store), &wn_histo_fast, &snap);
	metrics_histo(out, "whatsnext_store_fsync_duration_seconds", "", &wn_histo_fast, &le,
	              &snap);
	uint64_t sz[3];
	if (wn_store_disk_usage(e->store, &sz[0], &sz[1], &sz[2]) != WN_OK)
		return;
	metrics_head(out, "whatsnext_store_size_bytes", "gauge",
	             "Bytes of the store's RocksDB files in the data directory, by kind (sst: "
	             "tables, wal: write-ahead logs, other: manifest, options, logs).");
	static const char *const kinds[] = {"sst", "wal", "other"};
	for (int k = 0; k < 3; k++)
		wn_strbuf_addf(out, "whatsnext_store_size_bytes{kind=\"%s\"} %llu\n", kinds[k],
		               (unsigned long long)sz[k]);
}

/* metrics_process appends the build and the process's basics. */
static void metrics_process(struct wn_metrics *m, wn_strbuf *out)
{
	metrics_head(out, "whatsnext_build_info", "gauge", "The version of wnd, as a label.");
	wn_strbuf_addf(out, "whatsnext_build_info{version=\"%s\"} 1\n", WN_VERSION);
	metrics_head(out, "process_start_time_seconds", "gauge",
	             "Start time of the process since the Unix epoch, in seconds.");
	wn_strbuf_addf(out, "process_start_time_seconds %.3f\n", (double)m->start_ms / 1000);
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) == 0) {
		metrics_head(out, "process_cpu_seconds_total", "counter",
		             "User and system CPU time spent, in seconds.");
		wn_strbuf_addf(out, "process_cpu_seconds_total %.6f\n",
		               (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
		                   (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	}
	unsigned long long vsz, rss;
	FILE *f = fopen("/proc/self/statm", "r");
	if (f != NULL && fscanf(f, "%llu %llu", &vsz, &rss) == 2) {
		metrics_head(out, "process_resident_memory_bytes", "gauge",
		             "Resident memory size, in bytes.");
		wn_strbuf_addf(out, "process_resident_memory_bytes %llu\n",
		               rss * (unsigned long long)sysconf(_SC_PAGESIZE));
	}
	if (f != NULL)
		fclose(f);
	DIR *d = opendir("/proc/self/fd");
	if (d != NULL) {
		unsigned long long fds = 0;
		while (readdir(d) != NULL)
			fds++;
		closedir(d);
		metrics_head(out, "process_open_fds", "gauge", "Open file descriptors.");
		wn_strbuf_addf(out, "process_open_fds %llu\n", fds > 3 ? fds - 3 : 0);
	}
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		metrics_head(out, "process_max_fds", "gauge",
		             "Most open file descriptors allowed.");
		wn_strbuf_addf(out, "process_max_fds %llu\n", (unsigned long long)rl.rlim_cur);
	}
}

void wn_metrics_render(wn_engine *e, wn_strbuf *out)
{
	struct shot sh;
	shot_take(e, &sh);
	metrics_process(e->metrics, out);
	metrics_projects(&sh, out);
	metrics_jobs(e->metrics, &sh, out);
	metrics_requests(e->metrics, out);
	metrics_store(e, out);
	shot_free(e, &sh);
}
