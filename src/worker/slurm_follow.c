/* slurm_follow: a submitted SLURM job waited for (the poller says when it
 * ended), stopped (scancel, tried again while it fails; also when it has
 * not started pending_timeout_ms after its submission), and its end read
 * for the result; a run whose sbatch was given up is first looked for in
 * squeue by its tag. */
#include "fmt_slurm_impl.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "proc.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* slurm_scancel asks SLURM to cancel r's job; one that fails (the
 * controller cannot be reached) is tried again every poll_ms while the job
 * runs (slurm_wait), the failures after the first logged quietly; one given
 * up for r's wake descriptor (the worker stops, news of the job) is made
 * again at the next wait. */
static void slurm_scancel(slurm_run *r, bool again)
{
	char *argv[] = {r->conf->scancel, r->ext_id, NULL};
	int status = 0;
	char *out = NULL, *err = NULL;
	int rc = wn_fmt_capture_wake(argv, WN_SLURM_QUERY_MS, r->wake_fd, &status, &out, &err);
	if (rc == WN_ESTATE) {
		wn_debug("job %llu: scancel %s given up; made again at the next wait",
		         (unsigned long long)r->job_id, r->ext_id);
		r->rescancel_at = wn_mono_ms();
	} else if (rc != WN_OK || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *line = wn_one_line(err, WN_SLURM_REASON_MAX);
		wn_log(r->rescancel_at > 0 ? WN_LOG_DEBUG : WN_LOG_WARN,
		       "job %llu: cannot cancel SLURM job %s%s: %s; trying again every %lld ms",
		       (unsigned long long)r->job_id, r->ext_id, again ? " (again)" : "",
		       line[0] ? line : "scancel failed", (long long)r->conf->poll_ms);
		free(line);
		r->rescancel_at = wn_mono_ms() + r->conf->poll_ms;
	} else {
		wn_debug("job %llu: scancel %s", (unsigned long long)r->job_id, r->ext_id);
		r->rescancel_at = 0;
	}
	free(out);
	free(err);
	/* look again soon rather than at the next round */
	wn_slurm_poll_kick(r->conf->poll);
}

/* slurm_wait_cut waits for r, whose sbatch was given up, until squeue says
 * whether SLURM took it (asked again after a failure: wn_slurm_find_cut):
 * 1 then (r follows the SLURM job found, if any), 0 when wake_fd became
 * readable first. */
static int slurm_wait_cut(slurm_run *r, int wake_fd)
{
	while (r->cut && r->refind_at > 0) {
		int64_t left = r->refind_at - wn_mono_ms();
		struct pollfd pf = {.fd = wake_fd, .events = POLLIN};
		if (poll(&pf, wake_fd >= 0 ? 1 : 0, left > 0 ? (int)left : 0) > 0)
			return 0; /* news first: a squeue made now would be given up */
		if (left <= 0 && wn_slurm_find_cut(r) && r->cancelling)
			slurm_scancel(r, false);
	}
	return 1;
}

/* slurm_pending_due returns when r's job is to be cancelled if it has not
 * started (pending_timeout_ms after its submission); -1: never. */
static int64_t slurm_pending_due(const slurm_run *r)
{
	if (r->conf->pending_ms <= 0 || r->ran || r->cancelling)
		return -1;
	return r->pending_since + r->conf->pending_ms;
}

/* slurm_pending_check cancels r's job once its pending_timeout_ms is past
 * while squeue has said PENDING of it only. */
static void slurm_pending_check(slurm_run *r, int64_t now)
{
	int64_t due = slurm_pending_due(r);
	if (due < 0 || now < due)
		return;
	char *why = NULL;
	if (!wn_slurm_poll_waiting(r->conf->poll, r->watch, &why)) {
		r->ran = true;
		free(why);
		return;
	}
	r->unstarted = true;
	r->cancelling = true;
	r->wait_reason = why;
	wn_warn("job %llu: SLURM job %s has not started in the %.10g s since its submission "
	        "(pending_timeout_ms; squeue says PENDING%s%s%s); cancelling it",
	        (unsigned long long)r->job_id, r->ext_id, (double)r->conf->pending_ms / 1000.0,
	        why[0] ? " (" : "", why, why[0] ? ")" : "");
	slurm_scancel(r, false);
}

int wn_slurm_wait(void *p, int wake_fd, int timeout_ms)
{
	slurm_run *r = p;
	r->wake_fd = wake_fd;
	if (r->watch == NULL && slurm_wait_cut(r, wake_fd) == 0)
		return 0;
	if (r->watch == NULL)
		return 1; /* nothing to follow */
	int64_t deadline = timeout_ms >= 0 ? wn_mono_ms() + timeout_ms : -1;
	for (;;) {
		if (wn_slurm_poll_ended(r->conf->poll, r->watch))
			return 1;
		if (r->rescancel_at > 0 && wn_mono_ms() >= r->rescancel_at)
			slurm_scancel(r, true);
		slurm_pending_check(r, wn_mono_ms());
		int64_t now = wn_mono_ms();
		if (deadline >= 0 && now >= deadline)
			return 0;
		int64_t until = deadline, due = slurm_pending_due(r);
		if (r->rescancel_at > 0 && (until < 0 || r->rescancel_at < until))
			until = r->rescancel_at;
		if (due >= 0 && (until < 0 || due < until))
			until = due;
		int left = -1;
		if (until >= 0) {
			int64_t l = until - now;
			left = l <= 0 ? 0 : l > INT32_MAX ? INT32_MAX : (int)l;
		}
		struct pollfd pf[2] = {{.fd = r->efd, .events = POLLIN},
		                       {.fd = wake_fd, .events = POLLIN}};
		int n = poll(pf, wake_fd >= 0 ? 2 : 1, left);
		if (n < 0 && errno != EINTR)
			return 0;
		if (n > 0 && (pf[0].revents & POLLIN)) {
			uint64_t v;
			ssize_t rd = read(r->efd, &v, sizeof(v));
			(void)rd;
		}
		if (n > 0 && wake_fd >= 0 && pf[1].revents != 0) {
			return wn_slurm_poll_ended(r->conf->poll, r->watch) ? 1 : 0;
		}
	}
}

void wn_slurm_stop(void *p, bool force)
{
	slurm_run *r = p;
	if (r->ext_id == NULL && r->cut) {
		r->cancelling = true; /* what squeue finds of it is cancelled */
		if (r->refind_at > 0 || !wn_slurm_find_cut(r))
			return; /* nothing submitted, or squeue asked again (slurm_wait) */
	}
	if (r->ext_id == NULL)
		return;
	r->cancelling = true;
	if (!wn_slurm_poll_ended(r->conf->poll, r->watch))
		slurm_scancel(r, force);
}

/* slurm_tail returns the end of the job's output (and error) file. */
static char *slurm_tail(const slurm_run *r)
{
	size_t max = r->conf->tail_bytes;
	if (max == 0 || r->output == NULL)
		return wn_xstrdup("");
	if (r->error == NULL)
		return wn_proc_tail(r->output, max);
	char *o = wn_proc_tail(r->output, max / 2);
	char *e = wn_proc_tail(r->error, max - max / 2);
	char *t = e[0] == '\0' ? wn_xstrdup(o) : wn_xasprintf("%s%s%s", o, o[0] ? "\n" : "", e);
	free(o);
	free(e);
	return t;
}

void wn_slurm_result(void *p, wn_fmt_result *res)
{
	slurm_run *r = p;
	res->exit_code = -1;
	if (r->ext_id == NULL)
		return;
	res->external_id = wn_xstrdup(r->ext_id);
	wn_slurm_row row = {0};
	if (!wn_slurm_poll_end(r->conf->poll, r->watch, &row)) {
		res->reason = wn_xasprintf("SLURM job %s: not followed to its end", r->ext_id);
	} else if (strcmp(row.state, "UNKNOWN") == 0) {
		res->reason = wn_xasprintf("SLURM job %s: its end is unknown (squeue no longer "
		                           "lists it and sacct has no record of it)",
		                           r->ext_id);
	} else {
		wn_slurm_outcome(&row, res);
		if (r->cancelling)
			res->cancelled = false; /* the worker's own cancel: the agent says why */
		if (r->unstarted && wn_slurm_state_end(row.state) == WN_SLURM_CANCELLED) {
			free(res->reason);
			res->reason = wn_xasprintf(
			    "SLURM job %s never started: still PENDING%s%s%s %.10g s after its "
			    "submission (pending_timeout_ms); cancelled",
			    r->ext_id, r->wait_reason[0] ? " (" : "", r->wait_reason,
			    r->wait_reason[0] ? ")" : "", (double)r->conf->pending_ms / 1000.0);
			res->success = false;
			res->exit_code = -1;
		}
	}
	wn_slurm_row_release(&row);
	res->output_tail = slurm_tail(r);
}
