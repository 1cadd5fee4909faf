#include "fmt_slurm_impl.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define FIND_SQUEUE_FORMAT "JobID:|,JobArrayID:|,State:|,exit_code:|,Comment:|"

/* find_element tells whether row is the SLURM job of the run at index of
 * the count a tag names: a plain job for one, element index of an array
 * for more. */
static bool find_element(const wn_slurm_row *row, size_t index, size_t count)
{
	const char *us = strchr(row->id, '_');
	if (count == 1)
		return us == NULL;
	char want[32];
	snprintf(want, sizeof(want), "_%zu", index);
	return us != NULL && strcmp(us, want) == 0;
}

/* find_adoptable tells whether the SLURM job of row, tagged with attempt
 * att of a job now at attempt: the same attempt, whatever its state; an
 * earlier one that still runs, or that completed (a success the server
 * never learnt: it would have ended the job), and that no run of this
 * worker follows (that run stops it or reports it). An earlier attempt
 * that failed was, or may have been, reported: the new attempt runs anew. */
static bool find_adoptable(const slurm_conf *c, const wn_slurm_row *row, uint32_t att,
                           uint32_t attempt)
{
	if (att == attempt)
		return true;
	if (att > attempt || wn_slurm_poll_follows(c->poll, row->id))
		return false;
	wn_slurm_end end = wn_slurm_state_end(row->state);
	return end == WN_SLURM_ACTIVE || end == WN_SLURM_COMPLETED;
}

int wn_slurm_find(const slurm_conf *c, const char *owner, uint64_t job, uint32_t attempt,
                  int wake_fd, wn_slurm_found *found, char **reason)
{
	memset(found, 0, sizeof(*found));
	/* the worker's own jobs: -u takes a uid (older squeue has no --me) */
	char uid[32];
	snprintf(uid, sizeof(uid), "%u", (unsigned)geteuid());
	char *argv[] = {c->squeue,    (char *)"-h",  (char *)"-r",
	                (char *)"-t", (char *)"all", (char *)"-u",
	                uid,          (char *)"-O",  (char *)FIND_SQUEUE_FORMAT,
	                NULL};
	int status = 0;
	char *out = NULL, *err = NULL;
	int rc = wn_fmt_capture_wake(argv, WN_SLURM_QUERY_MS, wake_fd, &status, &out, &err);
	if (rc == WN_ESTATE) {
		*reason = wn_xasprintf("looking for job %llu in SLURM given up (%s)",
		                       (unsigned long long)job, err);
		free(out);
		free(err);
		return rc;
	}
	if (rc != WN_OK || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *line = wn_one_line(err, WN_SLURM_REASON_MAX);
		*reason =
		    wn_xasprintf("cannot tell whether SLURM has job %llu already (%s: %s)",
		                 (unsigned long long)job, c->squeue, line[0] ? line : "failed");
		free(line);
		free(out);
		free(err);
		return WN_EUNAVAIL;
	}
	wn_slurm_row *rows = NULL;
	size_t n = 0;
	wn_slurm_parse_squeue(out, &rows, &n);
	free(out);
	free(err);
	const wn_slurm_row *best = NULL;
	for (size_t i = 0; i < n; i++) {
		uint32_t att = 0;
		size_t index = 0, count = 0;
		if (!wn_slurm_tag_find(rows[i].reason, owner, job, &att, &index, &count) ||
		    !find_element(&rows[i], index, count) ||
		    !find_adoptable(c, &rows[i], att, attempt) ||
		    (best != NULL && att <= found->attempt))
			continue;
		best = &rows[i];
		found->attempt = att;
	}
	if (best != NULL) {
		found->id = wn_xstrdup(best->id);
		found->state = wn_xstrdup(best->state);
	}
	wn_slurm_rows_free(rows, n);
	return WN_OK;
}

bool wn_slurm_find_cut(slurm_run *r)
{
	wn_slurm_found found;
	char *reason = NULL;
	int rc =
	    wn_slurm_find(r->conf, r->owner, r->job_id, r->attempt, r->wake_fd, &found, &reason);
	if (rc == WN_ESTATE) {
		/* the worker stops, or news of the job: asked again at the next
		 * wait */
		wn_debug("job %llu: %s", (unsigned long long)r->job_id, reason);
		free(reason);
		r->refind_at = wn_mono_ms();
		return false;
	}
	if (rc != WN_OK) {
		wn_warn("job %llu: %s; asking again every %lld ms", (unsigned long long)r->job_id,
		        reason, (long long)r->conf->poll_ms);
		free(reason);
		r->refind_at = wn_mono_ms() + r->conf->poll_ms;
		return false;
	}
	bool ours = found.id != NULL && found.attempt == r->attempt;
	int64_t now = wn_mono_ms();
	if (!ours && now < r->cut_at + SLURM_CUT_FIND_MS) {
		int64_t again =
		    r->conf->poll_ms < SLURM_CUT_AGAIN_MS ? r->conf->poll_ms : SLURM_CUT_AGAIN_MS;
		wn_debug("job %llu: squeue lists no SLURM job of its sbatch, given up, yet; "
		         "looking again in %lld ms",
		         (unsigned long long)r->job_id, (long long)again);
		r->refind_at = now + again;
		wn_slurm_found_release(&found);
		return false;
	}
	r->cut = false;
	r->refind_at = 0;
	if (ours) {
		wn_info("job %llu: its sbatch, given up, had submitted SLURM job %s (%s)",
		        (unsigned long long)r->job_id, found.id, found.state);
		wn_slurm_submit_started(r, found.id);
	} else {
		wn_info(
		    "job %llu: its sbatch, given up, had submitted nothing (squeue lists no SLURM "
		    "job tagged with attempt %u in the %lld s since)",
		    (unsigned long long)r->job_id, (unsigned)r->attempt,
		    (long long)(SLURM_CUT_FIND_MS / 1000));
	}
	wn_slurm_found_release(&found);
	return ours;
}

void wn_slurm_found_release(wn_slurm_found *found)
{
	free(found->id);
	free(found->state);
	memset(found, 0, sizeof(*found));
}
