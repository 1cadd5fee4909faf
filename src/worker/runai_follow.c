/* runai_follow: the runai program called, and a submitted workload followed
 * to its end: described every poll_ms, deleted to cancel it, when the task's
 * timeout passes while it runs, when it has not run pending_timeout_ms after
 * its submission, or when describe has answered for status_timeout_ms
 * without its status; how it ended read for the result. */
#include "fmt_runai_impl.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "proc.h"
#include "runai.h"
#include "safepath.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

int wn_runai_call(const runai_conf *c, char *const *argv, int wake_fd, char **out, char **msg)
{
	int status = 0;
	char *o = NULL, *e = NULL;
	int rc = wn_fmt_capture_wake(argv, (int)c->call_ms, wake_fd, &status, &o, &e);
	if (rc == WN_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
		if (out)
			*out = o;
		else
			free(o);
		if (msg)
			*msg = NULL;
		free(e);
		return 0;
	}
	if (msg) {
		char *line = wn_one_line(e && e[0] ? e : o, RUNAI_REASON_MAX);
		if (line[0] == '\0') {
			free(line);
			line = rc != WN_OK         ? wn_xstrdup(e ? e : "cannot run it")
			       : WIFEXITED(status) ? wn_xasprintf("%s exited with status %d",
			                                          argv[0], WEXITSTATUS(status))
			                           : wn_xasprintf("%s was killed", argv[0]);
		}
		*msg = line;
	}
	if (out)
		*out = NULL;
	free(o);
	free(e);
	return rc != WN_OK ? rc : 1;
}

char *wn_runai_printed(const char *out)
{
	char *line = wn_one_line(out, 200);
	char *s = line[0] ? wn_xasprintf("\"%s\"", line) : wn_xstrdup("nothing");
	free(line);
	return s;
}

char **wn_runai_argv(const runai_conf *c, const char *verb, bool job_word, const char *name,
                     const char *project, const char *const *more)
{
	wn_argv a = {NULL, 0};
	bool legacy = strcmp(c->cli, "legacy") == 0;
	wn_argv_push(&a, wn_xstrdup(c->runai));
	if (!legacy)
		wn_argv_push(&a, wn_xstrdup("training"));
	wn_argv_push(&a, wn_xstrdup(verb));
	if (legacy && job_word)
		wn_argv_push(&a, wn_xstrdup("job"));
	wn_argv_push(&a, wn_xstrdup(name));
	wn_argv_push(&a, wn_xstrdup("-p"));
	wn_argv_push(&a, wn_xstrdup(project));
	for (size_t i = 0; more != NULL && more[i] != NULL; i++)
		wn_argv_push(&a, wn_xstrdup(more[i]));
	return a.v;
}

/* follow_argv is wn_runai_argv for r's workload. */
static char **follow_argv(const runai_run *r, const char *verb, bool job_word,
                          const char *const *more)
{
	return wn_runai_argv(r->conf, verb, job_word, r->name, r->project, more);
}

/* wn_runai_not_found tells whether msg, the error of a runai call that ran
 * (rc 1, not a runai that could not be started), says that workload name
 * does not exist: it names the workload and says so. Any other failure (a
 * token "not found" in the kubeconfig, the cluster out of reach) is not
 * taken for the workload gone. */
bool wn_runai_not_found(int rc, const char *msg, const char *name)
{
	return rc == 1 && msg != NULL && strstr(msg, name) != NULL &&
	       (strcasestr(msg, "not found") != NULL || strcasestr(msg, "does not exist") != NULL ||
	        strcasestr(msg, "notfound") != NULL);
}

/* follow_status records st (which it takes) and code, what describe said. */
static void follow_status(runai_run *r, char *st, int code)
{
	if (r->down)
		wn_info("job %llu: RUNAI answers again about workload %s",
		        (unsigned long long)r->job_id, r->name);
	r->down = false;
	r->blind_since = 0;
	free(r->said);
	r->said = NULL;
	free(r->status);
	r->status = st;
	if (code >= 0)
		r->exit_code = code;
	if (r->running_since == 0 && strcasecmp(st, "running") == 0)
		r->running_since = wn_mono_ms();
	if (wn_runai_status_end(st) != WN_RUNAI_ACTIVE)
		r->ended = true;
}

/* follow_no_status notes a describe that answered without a status. */
static void follow_no_status(runai_run *r, const char *out)
{
	free(r->said);
	r->said = wn_runai_printed(out);
	if (r->blind_since == 0)
		r->blind_since = wn_mono_ms();
	if (!r->down)
		wn_warn("job %llu: cannot find the status of RUNAI workload %s in what describe "
		        "prints (%s); asking again every %lld ms, for %lld s at most",
		        (unsigned long long)r->job_id, r->name, r->said,
		        (long long)r->conf->poll_ms, (long long)(r->conf->status_ms / 1000));
	r->down = true;
}

/* follow_poll describes the workload once and records its status; false
 * when the call was given up for the runner's wake descriptor. */
static bool follow_poll(runai_run *r)
{
	static const char *const json[] = {"-o", "json", NULL};
	char **argv = follow_argv(r, "describe", true, json);
	char *out = NULL, *msg = NULL;
	int rc = wn_runai_call(r->conf, argv, r->wake_fd, &out, &msg);
	wn_argv_free(argv);
	int code = -1;
	char *st = rc == 0 ? wn_runai_parse_describe(out, &code) : NULL;
	if (rc == WN_ESTATE) {
		/* the worker stops, or the job was cancelled or lost: asked
		 * again at the next wait */
	} else if (st != NULL) {
		follow_status(r, st, code);
	} else if (wn_runai_not_found(rc, msg, r->name)) {
		r->gone = true;
		r->ended = true;
	} else if (rc == 0) {
		follow_no_status(r, out);
	} else if (!r->down) {
		wn_warn(
		    "job %llu: cannot describe RUNAI workload %s: %s; asking again every %lld ms",
		    (unsigned long long)r->job_id, r->name, msg, (long long)r->conf->poll_ms);
		r->down = true;
	}
	free(out);
	free(msg);
	return rc != WN_ESTATE;
}

/* follow_delete asks RUNAI to delete r's workload, which has ended once
 * RUNAI takes it (or has no such workload); a delete that fails (the
 * cluster cannot be reached, a login expired) is tried again every poll_ms
 * (wn_runai_wait), the failures after the first logged quietly; false when
 * the call was given up for the runner's wake descriptor (it is made again
 * at the next wait). */
static bool follow_delete(runai_run *r, bool again)
{
	char **argv = follow_argv(r, "delete", true, NULL);
	char *msg = NULL;
	int rc = wn_runai_call(r->conf, argv, r->wake_fd, NULL, &msg);
	wn_argv_free(argv);
	if (rc == WN_ESTATE) {
		r->redelete_at = wn_mono_ms();
	} else if (rc != 0 && !wn_runai_not_found(rc, msg, r->name)) {
		wn_log(
		    r->redelete_at > 0 ? WN_LOG_DEBUG : WN_LOG_WARN,
		    "job %llu: cannot delete RUNAI workload %s%s: %s; trying again every %lld ms",
		    (unsigned long long)r->job_id, r->name, again ? " (again)" : "", msg,
		    (long long)r->conf->poll_ms);
		r->redelete_at = wn_mono_ms() + r->conf->poll_ms;
	} else {
		/* RUNAI took it: the workload ends, whatever describe says
		 * after (or cannot say) */
		r->redelete_at = 0;
		r->gone = true;
		r->ended = true;
	}
	free(msg);
	return rc != WN_ESTATE;
}

/* follow_fetch_logs saves the workload's logs to its log file; true once
 * saved. */
static bool follow_fetch_logs(runai_run *r)
{
	char **argv = follow_argv(r, "logs", false, NULL);
	char *out = NULL, *msg = NULL;
	int rc = wn_runai_call(r->conf, argv, r->wake_fd, &out, &msg);
	wn_argv_free(argv);
	bool saved = false;
	if (rc != 0) {
		wn_debug("job %llu: cannot fetch the logs of RUNAI workload %s: %s",
		         (unsigned long long)r->job_id, r->name, msg);
	} else {
		int fd = wn_safepath_open(r->log_root, r->log_path, &msg);
		FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (f != NULL) {
			fputs(out, f);
			saved = fclose(f) == 0;
		} else {
			wn_warn("job %llu: cannot save the logs of RUNAI workload %s: %s",
			        (unsigned long long)r->job_id, r->name,
			        msg ? msg : strerror(errno));
			if (fd >= 0)
				close(fd);
		}
	}
	free(out);
	free(msg);
	return saved;
}

/* follow_pending_due returns when r's workload is to be deleted for not
 * running pending_timeout_ms after its submission; -1: never. */
static int64_t follow_pending_due(const runai_run *r)
{
	if (r->conf->pending_ms <= 0 || r->running_since > 0 || r->pending_since <= 0)
		return -1;
	return r->pending_since + r->conf->pending_ms;
}

/* follow_due returns when r's workload is to be deleted for the task's
 * timeout (once it runs), for not running in pending_timeout_ms, or for
 * describes without a status; -1: never. */
static int64_t follow_due(const runai_run *r)
{
	if (r->deleting || r->ended)
		return -1;
	int64_t due[] = {r->timeout_s > 0 && r->running_since > 0
	                     ? r->running_since + (int64_t)r->timeout_s * 1000
	                     : -1,
	                 follow_pending_due(r),
	                 r->blind_since > 0 ? r->blind_since + r->conf->status_ms : -1};
	int64_t first = -1;
	for (size_t i = 0; i < WN_ARRAY_LEN(due); i++)
		if (due[i] >= 0 && (first < 0 || due[i] < first))
			first = due[i];
	return first;
}

/* follow_ms_text says ms in seconds for a message: "2", "1.5" (malloc'd). */
static char *follow_ms_text(int64_t ms)
{
	return wn_xasprintf("%.10g", (double)ms / 1000.0);
}

/* follow_overdue deletes r's workload when its time is past (follow_due):
 * the task's timeout (its logs fetched first, for the output tail), not
 * running in pending_timeout_ms, or no status for status_timeout_ms. True
 * when it asked for the delete. */
static bool follow_overdue(runai_run *r, int64_t now)
{
	int64_t due = follow_due(r);
	if (due < 0 || now < due)
		return false;
	r->deleting = true;
	if (due == follow_pending_due(r)) {
		r->unstarted = true;
		char *secs = follow_ms_text(r->conf->pending_ms);
		wn_warn("job %llu: RUNAI workload %s has not run in the %s s since its submission "
		        "(pending_timeout_ms; describe says %s); deleting it",
		        (unsigned long long)r->job_id, r->name, secs,
		        r->status ? r->status : "no status");
		free(secs);
	} else if (r->blind_since > 0 && due == r->blind_since + r->conf->status_ms) {
		r->blind = true;
		wn_warn("job %llu: describe has printed no status of RUNAI workload %s for %lld s "
		        "(%s); deleting it: the worker cannot follow it",
		        (unsigned long long)r->job_id, r->name,
		        (long long)(r->conf->status_ms / 1000), r->said);
	} else {
		r->timed_out = true;
		wn_info("job %llu: timed out; stopping it (%s)", (unsigned long long)r->job_id,
		        r->desc);
		r->logs_saved = r->conf->logs && r->conf->tail_bytes > 0 && follow_fetch_logs(r);
	}
	follow_delete(r, false);
	return true;
}

int wn_runai_wait(void *p, int wake_fd, int timeout_ms)
{
	runai_run *r = p;
	if (!r->started)
		return 1;
	r->wake_fd = wake_fd;
	int64_t deadline = timeout_ms >= 0 ? wn_mono_ms() + timeout_ms : -1;
	for (;;) {
		if (r->ended)
			return 1;
		int64_t now = wn_mono_ms();
		if (r->redelete_at > 0 && now >= r->redelete_at) {
			if (!follow_delete(r, true))
				return 0;
			continue;
		}
		if (now >= r->next_poll) {
			if (!follow_poll(r))
				return 0;
			r->next_poll = wn_mono_ms() + r->conf->poll_ms;
			continue;
		}
		if (follow_overdue(r, now))
			continue;
		if (deadline >= 0 && now >= deadline)
			return 0;
		int64_t until = deadline >= 0 && deadline < r->next_poll ? deadline : r->next_poll;
		if (r->redelete_at > 0 && r->redelete_at < until)
			until = r->redelete_at;
		int64_t due = follow_due(r);
		if (due >= 0 && due < until)
			until = due;
		struct pollfd pf = {.fd = wake_fd, .events = POLLIN};
		int n = poll(&pf, wake_fd >= 0 ? 1 : 0, (int)(until - now));
		if (n > 0)
			return 0;
	}
}

void wn_runai_stop(void *p, bool force)
{
	runai_run *r = p;
	if (!r->started || r->ended)
		return;
	r->deleting = true;
	follow_delete(r, force);
}

/* follow_deleted_reason says why the worker deleted r's workload itself:
 * its timeout, or describes without a status (malloc'd); NULL otherwise. */
static char *follow_deleted_reason(const runai_run *r)
{
	if (r->timed_out)
		return wn_xasprintf("timed out after %u s", (unsigned)r->timeout_s);
	if (r->unstarted) {
		char *secs = follow_ms_text(r->conf->pending_ms);
		char *s = wn_xasprintf("RUNAI workload %s never started: still %s %s s "
		                       "after its submission (pending_timeout_ms); deleted",
		                       r->name, r->status ? r->status : "not Running", secs);
		free(secs);
		return s;
	}
	if (r->blind)
		return wn_xasprintf(
		    "RUNAI workload %s deleted: describe printed no status of it for "
		    "%lld s (%s)",
		    r->name, (long long)(r->conf->status_ms / 1000), r->said);
	return NULL;
}

void wn_runai_result(void *p, wn_fmt_result *res)
{
	runai_run *r = p;
	res->exit_code = -1;
	if (!r->started)
		return;
	res->external_id = wn_xstrdup(r->name);
	if (!r->ended) {
		res->reason = wn_xasprintf("RUNAI workload %s: not followed to its end", r->name);
		return;
	}
	if ((res->reason = follow_deleted_reason(r)) != NULL) {
		if (r->logs_saved)
			res->output_tail = wn_proc_tail(r->log_path, r->conf->tail_bytes);
		return;
	}
	if (r->conf->logs && !r->gone && r->conf->tail_bytes > 0) {
		r->wake_fd = -1; /* the run is over: its report waits for its tail */
		follow_fetch_logs(r);
		res->output_tail = wn_proc_tail(r->log_path, r->conf->tail_bytes);
	}
	wn_runai_end end = r->gone ? WN_RUNAI_CANCELLED : wn_runai_status_end(r->status);
	switch (end) {
	case WN_RUNAI_SUCCEEDED:
		res->success = true;
		res->exit_code = 0; /* an exitCode elsewhere is an earlier restart's */
		break;
	case WN_RUNAI_FAILED:
		res->exit_code = r->exit_code;
		res->reason = r->exit_code > 0
		                  ? wn_xasprintf("RUNAI workload %s %s: exit status %d", r->name,
		                                 r->status, r->exit_code)
		                  : wn_xasprintf("RUNAI workload %s %s", r->name, r->status);
		break;
	default:
		/* a workload followed for an earlier attempt may be deleted by the
		 * worker that submitted it, alive after all: the attempt fails */
		res->cancelled = !r->deleting && !r->adopted;
		res->reason = r->gone ? wn_xasprintf("RUNAI workload %s was deleted outside "
		                                     "WhatsNext",
		                                     r->name)
		                      : wn_xasprintf("RUNAI workload %s %s outside WhatsNext",
		                                     r->name, r->status);
		break;
	}
}
