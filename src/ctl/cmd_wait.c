/* wnctl job wait: until jobs (by ids, a sweep or a project) have ended, by
 * long polls of JobService/Wait (the server answers when the last one ends),
 * riding out a restart of the server; prints how they ended. */
#include "ctl.h"
#include "map.h"
#include "err.h"
#include "methods.h"
#include "strbuf.h"
#include "table.h"
#include "util.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef Whatsnext__V1__WaitRequest WaitRq;
typedef Whatsnext__V1__WaitResponse WaitRs;

/* One long poll waits at most this long (the server's limit is 60 s). */
#define WAIT_POLL_MS 30000
#define WAIT_MIN_MS  100 /* between two calls, however soon the first was answered */
/* The ids one Wait names at most (the server's limit). */
#define WAIT_CHUNK 1000
/* Without --timeout, a server silent this long is given up on. */
#define WAIT_LOST_MAX_MS (5 * 60 * 1000)
/* Jobs listed that did not complete, at most. */
#define WAIT_LIST_MAX 20

enum {
	OPT_SWEEP = 1,
	OPT_PROJECT,
	OPT_TIMEOUT,
};

const struct option wn_ctl_job_wait_opts[] = {
    {"sweep", required_argument, NULL, OPT_SWEEP},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"timeout", required_argument, NULL, OPT_TIMEOUT},
    {NULL, 0, NULL, 0},
};

const struct wn_ctl_opthelp wn_ctl_job_wait_help[] = {
    {"ID...", "the jobs to wait for"},
    {"--sweep ID", "wait for every job of this sweep (exit 4 when none is left: all removed)"},
    {"--project P", "wait for every job of this project (jobs submitted meanwhile too)"},
    {"--timeout DURATION", "give up after this long (exit 10): 90 (seconds), 90s, 15m, 2h, "
                           "1h30m, 500ms; 0 looks once. Default: no limit"},
    {NULL, NULL},
};

/* A wait in progress: its deadline (monotonic ms, INT64_MAX: none) and since
 * when the server has not answered (0: it does). */
struct waiting {
	wn_ctl *c;
	int64_t deadline;
	int64_t lost_since;
	int backoff_ms;
	bool answered; /* the server answered a call */
};

/* wait_duration parses "90", "90s", "15m", "2h", "1h30m", "500ms", "1d" into ms. */
static int64_t wait_duration(wn_ctl *c, const char *s)
{
	const char *p = s;
	int64_t total = 0;
	if (*p == '\0')
		wn_ctl_usage(c, "invalid --timeout '': give a duration such as 90s, 15m or 2h");
	while (*p != '\0') {
		char *end = NULL;
		if (*p < '0' || *p > '9')
			break;
		unsigned long long v = strtoull(p, &end, 10);
		int64_t unit = 1000;
		if (strncmp(end, "ms", 2) == 0) {
			unit = 1, end += 2;
		} else if (*end == 's') {
			end++;
		} else if (*end == 'm') {
			unit = 60 * 1000, end++;
		} else if (*end == 'h') {
			unit = 3600 * 1000, end++;
		} else if (*end == 'd') {
			unit = 24 * 3600 * 1000, end++;
		} else if (*end != '\0' || p != s) {
			break;
		}
		if (v > 366ULL * 24 * 3600 * 1000 / (unsigned long long)unit)
			wn_ctl_usage(c, "invalid --timeout '%s': at most a year", s);
		total += (int64_t)v * unit;
		p = end;
		if (total > 366LL * 24 * 3600 * 1000)
			wn_ctl_usage(c, "invalid --timeout '%s': at most a year", s);
	}
	if (*p != '\0')
		wn_ctl_usage(
		    c, "invalid --timeout '%s': give a duration such as 90s, 15m, 2h or 1h30m", s);
	return total;
}

static void wait_sleep(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* wait_lost notes a call that got no answer (or UNAVAILABLE) and sleeps a
 * little before the next; it exits when the server was never reached (no
 * connection was ever made) or, with no deadline, has not answered for
 * WAIT_LOST_MAX_MS. A server lost during the first call is waited for too. */
static void wait_lost(struct waiting *w, int code)
{
	wn_ctl *c = w->c;
	int64_t now = wn_mono_ms();
	if (!wn_ctl_reached(c))
		wn_ctl_die(c, wn_ctl_exit_code(code), "%s", wn_ctl_call_error(c));
	if (w->lost_since == 0) {
		w->lost_since = now;
		w->backoff_ms = 100;
		fprintf(stderr, "wnctl: lost the server (%s); still waiting\n",
		        wn_ctl_call_error(c));
	} else if (w->deadline == INT64_MAX && now - w->lost_since > WAIT_LOST_MAX_MS) {
		wn_ctl_die(c, WN_CTL_EXIT_UNREACHABLE,
		           "no answer from the server for %d minutes: %s", WAIT_LOST_MAX_MS / 60000,
		           wn_ctl_call_error(c));
	}
	int ms = w->backoff_ms;
	if (w->deadline != INT64_MAX && now + ms > w->deadline)
		ms = w->deadline > now ? (int)(w->deadline - now) : 0;
	wait_sleep(ms);
	w->backoff_ms = w->backoff_ms >= 1000 ? 2000 : w->backoff_ms * 2;
}

/* wait_drop_gone takes the jobs of rq that no longer exist out of it (a copy
 * of its ids); returns how many, 0 if every one is there. */
static uint64_t wait_drop_gone(wn_ctl *c, WaitRq *rq)
{
	uint64_t *keep = wn_ctl_alloc(c, (rq->n_ids + 1) * sizeof(*keep));
	size_t n = 0;
	for (size_t i = 0; i < rq->n_ids; i++) {
		Whatsnext__V1__GetJobRequest g = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
		g.id = rq->ids[i];
		int code = 0;
		void *j = wn_ctl_call_try(c, WN_PATH_JOB_GET, &g.base,
		                          &whatsnext__v1__job__descriptor, 0, &code);
		if (j != NULL)
			wn_ctl_release(c, j);
		if (j != NULL || code != WHATSNEXT__V1__CODE__NOT_FOUND)
			keep[n++] = rq->ids[i];
	}
	uint64_t gone = rq->n_ids - n;
	rq->ids = keep;
	rq->n_ids = n;
	return gone;
}

/* wait_end completes the reply r that ends wait_one: the jobs removed that
 * the calls before it counted (a sweep or project: in replies that did not
 * end the wait) or that were found gone when asked again (ids). */
static WaitRs *wait_end(wn_ctl *c, WaitRs *r, uint64_t carried, uint64_t gone)
{
	if (r == NULL) { /* every id named was gone */
		r = wn_ctl_alloc(c, sizeof(*r));
		whatsnext__v1__wait_response__init(r);
		r->done = true;
	}
	r->removed += carried + gone;
	r->total += gone; /* by ids: taken out of the call */
	return r;
}

/* wait_one long-polls rq until it is done or the deadline passes (then the
 * last state known, with done false). A job removed while it waits counts as
 * removed however many calls that takes: by a sweep or project, the removals
 * each answer counted are kept; by ids, a job gone when asked again (the
 * server checks that each exists) is taken out of the call and counted. */
static WaitRs *wait_one(struct waiting *w, WaitRq *rq)
{
	WaitRs *last = NULL;
	uint64_t carried = 0, gone = 0;
	bool asked = false; /* a call was answered, or the server lost: the next asks again */
	for (;;) {
		if (rq->n_ids == 0 && gone > 0)
			return wait_end(w->c, NULL, carried, gone);
		int64_t left = w->deadline - wn_mono_ms();
		uint32_t ms = left <= 0 ? 0 : left < WAIT_POLL_MS ? (uint32_t)left : WAIT_POLL_MS;
		/* the first call is answered at once, and one that gets no answer ends wnctl
		 * (exit 3): what takes connections at the address but never answers (not wnd)
		 * is not waited for; a server lost later, during a long poll, is */
		rq->wait_ms = w->answered ? ms : 0;
		int code = 0;
		int64_t asked_at = wn_mono_ms();
		WaitRs *r = wn_ctl_call_soft(w->c, WN_PATH_JOB_WAIT, &rq->base,
		                             &whatsnext__v1__wait_response__descriptor,
		                             (int)rq->wait_ms, &code, w->answered);
		if (r != NULL) {
			if (w->lost_since != 0)
				fprintf(stderr, "wnctl: the server answers again\n");
			w->lost_since = 0;
			asked = true;
			w->answered = true;
			if (last != NULL) { /* a wait of hours keeps one reply, not one a poll */
				carried += rq->n_ids == 0 ? last->removed : 0;
				wn_ctl_release(w->c, last);
			}
			last = r;
			if (r->done || ms == 0)
				return wait_end(w->c, r, carried, gone);
			/* a server that answers a long poll at once, with nothing
			 * done, is not asked again at once */
			int64_t took = wn_mono_ms() - asked_at;
			if (rq->wait_ms > 0 && took < WAIT_MIN_MS)
				wait_sleep((int)(WAIT_MIN_MS - took));
			continue;
		}
		if (code == WHATSNEXT__V1__CODE__NOT_FOUND && rq->n_ids > 0 && asked) {
			uint64_t n = wait_drop_gone(w->c, rq);
			if (n > 0) { /* the last answer counted them: the next one will not */
				gone += n;
				if (last != NULL)
					wn_ctl_release(w->c, last);
				last = NULL;
				continue;
			}
		}
		if (code > 0 && code != WHATSNEXT__V1__CODE__UNAVAILABLE)
			wn_ctl_die(w->c, wn_ctl_exit_code(code), "%s", wn_ctl_call_error(w->c));
		wait_lost(w, code);
		asked = true;
		if (w->deadline != INT64_MAX && wn_mono_ms() >= w->deadline && last != NULL)
			return wait_end(w->c, last, carried, gone);
		if (w->deadline != INT64_MAX && wn_mono_ms() >= w->deadline)
			wn_ctl_die(w->c, WN_CTL_EXIT_TIMEOUT,
			           "timed out with no answer from the server: %s",
			           wn_ctl_call_error(w->c));
	}
}

static void wait_sum(WaitRs *into, const WaitRs *r)
{
	into->total += r->total;
	into->pending += r->pending;
	into->running += r->running;
	into->completed += r->completed;
	into->failed += r->failed;
	into->blocked += r->blocked;
	into->cancelled += r->cancelled;
	into->removed += r->removed;
}

/* wait_ids waits for the n ids, WAIT_CHUNK at a time, into sum. */
static void wait_ids(struct waiting *w, uint64_t *ids, size_t n, WaitRs *sum)
{
	sum->done = true;
	for (size_t at = 0; at < n; at += WAIT_CHUNK) {
		WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
		rq.ids = ids + at;
		rq.n_ids = n - at < WAIT_CHUNK ? n - at : WAIT_CHUNK;
		WaitRs *r = wait_one(w, &rq);
		wait_sum(sum, r);
		if (!r->done) {
			sum->done = false;
			w->deadline = 0; /* the rest: how they are now */
		}
	}
}

/* wait_summary prints "N jobs: 4 completed, 1 failed" on stdout. */
static void wait_summary(const WaitRs *r)
{
	struct {
		const char *name;
		uint64_t n;
	} parts[] = {{"completed", r->completed}, {"failed", r->failed},
	             {"cancelled", r->cancelled}, {"blocked", r->blocked},
	             {"removed", r->removed},     {"running", r->running},
	             {"pending", r->pending}};
	wn_strbuf sb = WN_STRBUF_INIT;
	wn_strbuf_addf(&sb, "%llu job%s", (unsigned long long)r->total, r->total == 1 ? "" : "s");
	const char *sep = ": ";
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (parts[i].n == 0)
			continue;
		wn_strbuf_addf(&sb, "%s%llu %s", sep, (unsigned long long)parts[i].n,
		               parts[i].name);
		sep = ", ";
	}
	printf("%s\n", wn_strbuf_str(&sb));
	wn_strbuf_free(&sb);
}

static void wait_row(wn_ctl *c, wn_table *t, const Whatsnext__V1__Job *j)
{
	wn_table_add(t, "%llu", (unsigned long long)j->id);
	wn_table_add(t, "%s", j->name ? j->name : "");
	wn_table_add(t, "%s", wn_ctl_enum(c, &whatsnext__v1__job_status__descriptor, j->status));
	wn_table_add(t, "%s", j->reason ? wn_ctl_states(c, j->reason) : "");
}

/* wait_unended lists the jobs that ended without completing, of which r counts the
 * failed, cancelled and blocked ones: by ids, each looked up until those are found (not
 * every id of thousands for the one that failed); by sweep or project, those failed,
 * cancelled or blocked. */
static void wait_unended(wn_ctl *c, const WaitRs *r, const uint64_t *ids, size_t n, uint64_t sweep,
                         const char *project)
{
	static const char *const heads[] = {"ID", "NAME", "STATE", "REASON", NULL};
	wn_table *t = wn_table_new(heads);
	uint64_t want = r->failed + r->cancelled + r->blocked; /* removed ones are not found */
	if (want > WAIT_LIST_MAX)
		want = WAIT_LIST_MAX;
	size_t shown = 0;
	for (size_t i = 0; i < n && shown < want; i++) {
		Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
		rq.id = ids[i];
		int code = 0;
		Whatsnext__V1__Job *j = wn_ctl_call_try(c, WN_PATH_JOB_GET, &rq.base,
		                                        &whatsnext__v1__job__descriptor, 0, &code);
		if (j != NULL && j->status != WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED) {
			wait_row(c, t, j);
			shown++;
		}
	}
	static const int bad[] = {WHATSNEXT__V1__JOB_STATUS__JOB_FAILED,
	                          WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED,
	                          WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED};
	for (size_t k = 0; n == 0 && k < 3 && shown < want; k++) {
		Whatsnext__V1__ListJobsRequest rq = WHATSNEXT__V1__LIST_JOBS_REQUEST__INIT;
		rq.sweep_id = sweep;
		rq.project = (char *)(project ? project : "");
		rq.status = (Whatsnext__V1__JobStatus)bad[k];
		rq.page_size = WAIT_LIST_MAX;
		int code = 0;
		Whatsnext__V1__ListJobsResponse *l =
		    wn_ctl_call_try(c, WN_PATH_JOB_LIST, &rq.base,
		                    &whatsnext__v1__list_jobs_response__descriptor, 0, &code);
		for (size_t i = 0; l != NULL && i < l->n_jobs && shown < WAIT_LIST_MAX;
		     i++, shown++)
			wait_row(c, t, l->jobs[i]);
	}
	if (shown > 0)
		wn_table_print(t, stdout);
	wn_table_free(t);
}

/* wait_parse_ids parses the n ids of a into ids, each once (a job named
 * twice counts once, whichever requests its ids go in); returns how many. */
static size_t wait_parse_ids(wn_ctl *c, char **a, size_t n, uint64_t *ids)
{
	wn_map *seen = wn_map_new_u64();
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t id = wn_ctl_parse_id(c, "job id", a[i]);
		if (wn_map_get_u64(seen, id) != NULL)
			continue;
		wn_map_put_u64(seen, id, seen);
		ids[k++] = id;
	}
	wn_map_free(seen);
	return k;
}

/* wait_no_jobs exits 4 on sweep, which had no job when the wait began (all of them
 * removed before it): there is nothing to wait for, as for a job removed before it. */
__attribute__((noreturn)) static void wait_no_jobs(wn_ctl *c, uint64_t sweep)
{
	Whatsnext__V1__GetSweepRequest rq = WHATSNEXT__V1__GET_SWEEP_REQUEST__INIT;
	rq.id = sweep;
	int code = 0;
	Whatsnext__V1__Sweep *s = wn_ctl_call_try(c, WN_PATH_SWEEP_GET, &rq.base,
	                                          &whatsnext__v1__sweep__descriptor, 0, &code);
	const char *why = "";
	if (s != NULL && s->total > 0)
		why = wn_ctl_printf(c, ": its %s %s removed before the wait",
		                    wn_ctl_count(c, s->total, "job", NULL),
		                    s->total == 1 ? "was" : "were");
	wn_ctl_die(c, WN_CTL_EXIT_NOT_FOUND, "sweep %llu has no jobs to wait for%s",
	           (unsigned long long)sweep, why);
}

int wn_ctl_job_wait(wn_ctl *c)
{
	struct waiting w = {.c = c, .deadline = INT64_MAX};
	uint64_t sweep = 0;
	const char *project = NULL;
	int64_t timeout = -1;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_SWEEP)
			sweep = wn_ctl_once_id(c, "--sweep", sweep,
			                       wn_ctl_parse_id(c, "sweep id", optarg));
		else if (ch == OPT_PROJECT)
			project = wn_ctl_once(c, "--project", project,
			                      wn_ctl_filter(c, "--project", optarg));
		else if (ch == OPT_TIMEOUT)
			timeout = wait_duration(c, optarg);
	}
	int n = 0;
	char **a = wn_ctl_args(c, 0, -1, &n);
	if ((n > 0) + (sweep != 0) + (project != NULL) != 1)
		wn_ctl_usage(c,
		             "name the jobs to wait for: job ids, --sweep ID or --project P (one "
		             "of them)");
	uint64_t *ids = wn_ctl_alloc(c, ((size_t)n + 1) * sizeof(*ids));
	n = (int)wait_parse_ids(c, a, (size_t)n, ids);
	if (timeout >= 0)
		w.deadline = wn_mono_ms() + timeout;
	WaitRs sum = WHATSNEXT__V1__WAIT_RESPONSE__INIT;
	if (n > 0) {
		wait_ids(&w, ids, (size_t)n, &sum);
	} else {
		WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
		rq.sweep_id = sweep;
		rq.project = (char *)(project ? project : "");
		sum = *wait_one(&w, &rq);
		sum.total += sum.removed; /* the server counts the jobs there now */
		if (sweep != 0 && sum.total == 0)
			wait_no_jobs(c, sweep);
	}
	bool all = sum.done && sum.completed == sum.total && sum.removed == 0;
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&sum.base);
	} else {
		wait_summary(&sum);
		if (sum.done && !all)
			wait_unended(c, &sum, ids, (size_t)n, sweep, project);
	}
	if (!sum.done) {
		fprintf(stderr, "wnctl: timed out: %llu job%s not ended yet\n",
		        (unsigned long long)(sum.pending + sum.running),
		        sum.pending + sum.running == 1 ? " has" : "s have");
		return WN_CTL_EXIT_TIMEOUT;
	}
	return all ? WN_CTL_EXIT_OK : WN_CTL_EXIT_JOB_FAILED;
}
