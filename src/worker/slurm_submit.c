#include "fmt_slurm_impl.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "proc.h"
#include "safepath.h"
#include "slurm_script.h"
#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <unistd.h>

/* What a run of a SLURM job requeued (scontrol requeue, a node that
 * failed, preemption) writes first: SLURM runs the script again, its output
 * appended to the runs' before it (--open-mode=append: the worker ships the
 * file as one stream, which a file truncated under it would break), and
 * this line says where the new run starts. */
static const char slurm_requeue_note[] =
    "if [ \"${SLURM_RESTART_COUNT:-0}\" != 0 ]; then\n"
    "\techo \"WhatsNext: SLURM job ${SLURM_JOB_ID:-} was requeued: run "
    "$((SLURM_RESTART_COUNT + 1)) of it starts here\"\n"
    "fi\n";

/* slurm_head writes the #! line, the job name and the options of r. */
static void slurm_head(wn_strbuf *b, const slurm_run *r)
{
	wn_strbuf_addf(b, "#!%s\n", r->conf->shell);
	char *arg = wn_xasprintf("--job-name=%s", r->job_name);
	wn_slurm_script_directive(b, arg);
	free(arg);
}

static void slurm_options(wn_strbuf *b, const slurm_run *r)
{
	for (size_t i = 0; i < r->nopts; i++)
		wn_slurm_script_directive(b, r->opts[i]);
}

char *wn_slurm_submit_script(const void *p)
{
	const slurm_run *r = p;
	wn_strbuf b = WN_STRBUF_INIT;
	slurm_head(&b, r);
	char *pct = wn_slurm_script_pct(r->output);
	char *arg = wn_xasprintf("--output=%s", pct);
	wn_slurm_script_directive(&b, arg);
	free(arg);
	free(pct);
	if (r->error != NULL) {
		pct = wn_slurm_script_pct(r->error);
		arg = wn_xasprintf("--error=%s", pct);
		wn_slurm_script_directive(&b, arg);
		free(arg);
		free(pct);
	}
	wn_strbuf_adds(&b, "#SBATCH --open-mode=append\n");
	slurm_options(&b, r);
	wn_strbuf_addf(&b, "# WhatsNext job %llu, attempt %u (project %s, task %s)\n",
	               (unsigned long long)r->job_id, (unsigned)r->attempt, r->project, r->task);
	wn_strbuf_adds(&b, r->exports);
	wn_strbuf_adds(&b, slurm_requeue_note);
	wn_strbuf_adds(&b, r->body);
	if (b.len > 0 && b.s[b.len - 1] != '\n')
		wn_strbuf_adds(&b, "\n");
	return wn_strbuf_take(&b);
}

char *wn_slurm_submit_array_script(void *const *runs, size_t n, uint32_t max_running)
{
	const slurm_run *first = runs[0];
	wn_strbuf b = WN_STRBUF_INIT;
	slurm_head(&b, first);
	if (max_running > 0 && max_running < n)
		wn_strbuf_addf(&b, "#SBATCH --array=0-%zu%%%u\n", n - 1, (unsigned)max_running);
	else
		wn_strbuf_addf(&b, "#SBATCH --array=0-%zu\n", n - 1);
	/* each element sends its output to its job's own files, below */
	wn_strbuf_adds(&b, "#SBATCH --output=/dev/null\n");
	slurm_options(&b, first);
	wn_strbuf_addf(&b, "# WhatsNext jobs of project %s, task %s, as one job array:\n",
	               first->project, first->task);
	wn_strbuf_adds(&b, "# each element runs the script of its job in a shell of its own.\n");
	wn_strbuf_adds(&b, "case ${SLURM_ARRAY_TASK_ID:-} in\n");
	for (size_t i = 0; i < n; i++) {
		const slurm_run *r = runs[i];
		char *out = wn_slurm_script_quote(r->output);
		char *err = r->error ? wn_slurm_script_quote(r->error) : NULL;
		char *body = wn_slurm_script_quote(r->body);
		char *shell = wn_slurm_script_quote(r->conf->shell);
		wn_strbuf_addf(&b, "%zu) # job %llu, attempt %u\n", i,
		               (unsigned long long)r->job_id, (unsigned)r->attempt);
		wn_strbuf_addf(&b, "exec >>%s 2>%s%s\n", out, err ? ">" : "", err ? err : "&1");
		wn_strbuf_adds(&b, r->exports);
		wn_strbuf_adds(&b, slurm_requeue_note);
		wn_strbuf_addf(&b, "exec %s -c %s %s\n;;\n", shell, body, shell);
		free(out);
		free(err);
		free(body);
		free(shell);
	}
	wn_strbuf_adds(&b, "*)\n\techo \"no WhatsNext job for array index "
	                   "${SLURM_ARRAY_TASK_ID:-}\" >&2\n\texit 1\n\t;;\nesac\n");
	return wn_strbuf_take(&b);
}

/* slurm_write writes text to path inside root (creating its directories,
 * following no symbolic link below root). */
static int slurm_write(const char *root, const char *path, const char *text, char **reason)
{
	int fd = wn_safepath_open(root, path, reason);
	FILE *f = fd < 0 ? NULL : fdopen(fd, "w");
	if (f == NULL) {
		if (fd >= 0) {
			*reason = wn_xasprintf("cannot write %s: %s", path, strerror(errno));
			close(fd);
		}
		return WN_EIO;
	}
	size_t len = strlen(text);
	bool ok = fwrite(text, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		*reason = wn_xasprintf("cannot write %s: %s", path, strerror(errno));
		return WN_EIO;
	}
	return WN_OK;
}

/* slurm_empty creates the file path inside root (and its directories),
 * empty: the job appends to it (an earlier attempt's output under the same
 * name is gone, as when SLURM truncated it). */
static int slurm_empty(const char *root, const char *path, char **reason)
{
	int fd = wn_safepath_open(root, path, reason);
	if (fd < 0)
		return WN_EIO;
	int rc = WN_OK;
	if (ftruncate(fd, 0) != 0) {
		*reason = wn_xasprintf("cannot empty %s: %s", path, strerror(errno));
		rc = WN_EIO;
	}
	close(fd);
	return rc;
}

/* slurm_files creates r's output and error files (and their directories)
 * inside their roots, empty, so that SLURM finds files of this user there
 * and no symbolic link planted in their place. */
static int slurm_files(const slurm_run *r, char **reason)
{
	int rc = slurm_empty(r->out_root, r->output, reason);
	if (rc == WN_OK && r->error != NULL)
		rc = slurm_empty(r->err_root, r->error, reason);
	return rc;
}

/* What sbatch says when it could not connect to the controller, and when
 * it lost the connection with the job on its way (SLURM's messages). */
static const char *const slurm_unreached[] = {"Unable to contact slurm controller",
                                              "Communication connection failure", NULL};
static const char *const slurm_lost[] = {"Socket timed out on send/recv operation",
                                         "Zero Bytes were transmitted or received", NULL};

/* slurm_said tells whether err holds one of the messages of list. */
static bool slurm_said(const char *err, const char *const *list)
{
	for (size_t i = 0; err != NULL && list[i] != NULL; i++)
		if (strstr(err, list[i]) != NULL)
			return true;
	return false;
}

/* slurm_pause waits ms, or until wake_fd (-1: none) is readable (the
 * worker stops, the job was cancelled or lost): then true. */
static bool slurm_pause(int wake_fd, int ms)
{
	int64_t until = wn_mono_ms() + ms;
	for (;;) {
		int64_t left = until - wn_mono_ms();
		if (left <= 0)
			return false;
		struct pollfd pf = {.fd = wake_fd, .events = POLLIN};
		int n = poll(&pf, wake_fd >= 0 ? 1 : 0, (int)left);
		if (n > 0)
			return true;
		if (n < 0 && errno != EINTR)
			return false;
	}
}

/* slurm_sbatch runs argv, sbatch, and gives the SLURM job id it prints. */
static int slurm_sbatch(char *const *argv, int wake_fd, char **id, char **reason)
{
	for (int attempt = 0;; attempt++) {
		int status = 0;
		char *out = NULL, *err = NULL;
		int rc = wn_fmt_capture_wake(argv, SLURM_SUBMIT_MS, wake_fd, &status, &out, &err);
		if (rc == WN_ESTATE) {
			/* the worker stops, or the job was cancelled or lost: the
			 * controller may have taken the job all the same */
			*reason = wn_xasprintf("its submission to SLURM was given up (%s)", err);
			free(out);
			free(err);
			return rc;
		}
		if (rc != WN_OK) {
			*reason = wn_xasprintf("cannot submit to SLURM: %s", err);
			free(out);
			free(err);
			/* sbatch killed for its time (it may have submitted the job:
			 * the next attempt finds it by its tag), or not started for
			 * want of memory or processes: not the job's doing */
			return rc == WN_ETIMEDOUT ? WN_EUNAVAIL : rc;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			size_t n = strspn(out, "0123456789");
			if (n > 0 && n <= 18 &&
			    (out[n] == ';' || out[n] == '\n' || out[n] == '\0')) {
				*id = strndup(out, n);
				free(out);
				free(err);
				return WN_OK;
			}
			char *line = wn_one_line(out, WN_SLURM_REASON_MAX);
			*reason = wn_xasprintf("cannot submit to SLURM: sbatch printed no job id "
			                       "(\"%s\")",
			                       line);
			free(line);
			free(out);
			free(err);
			return WN_EPROTO;
		}
		/* no connection to the controller: nothing was submitted, sbatch
		 * may be run again; the connection lost on the way (the
		 * controller may have taken the job): not again, the job is
		 * handed back and its next attempt finds that SLURM job by its
		 * tag */
		bool again = slurm_said(err, slurm_unreached);
		bool unsure = slurm_said(err, slurm_lost);
		bool woken = false;
		if (again && attempt < 3) {
			wn_warn("sbatch cannot reach the SLURM controller; trying again in %d s",
			        1 << attempt);
			woken = slurm_pause(wake_fd, 1000 << attempt);
			if (!woken) {
				free(out);
				free(err);
				continue;
			}
		}
		char *line = wn_one_line(err && err[0] ? err : out, WN_SLURM_REASON_MAX);
		if (line[0] == '\0') {
			free(line);
			line = WIFEXITED(status) ? wn_xasprintf("sbatch exited with status %d",
			                                        WEXITSTATUS(status))
			                         : wn_xstrdup("sbatch was killed");
		}
		*reason = wn_xasprintf("cannot submit to SLURM: %s", line);
		free(line);
		free(out);
		free(err);
		/* a controller out of reach (or a pause cut short: nothing
		 * was submitted): the job waits for it */
		return again || unsure || woken ? WN_EUNAVAIL : WN_EINVAL;
	}
}

/* slurm_submit runs sbatch on script_path, tagged with tag (its comment,
 * given on the command line: it wins over the script's #SBATCH lines and
 * SBATCH_COMMENT), and gives the SLURM job id. A controller that cannot be
 * reached is tried again a few times (the job was not submitted then), then
 * WN_EUNAVAIL, as for an sbatch that does not finish in time or cannot be
 * started for want of memory or processes; any other failure gives
 * sbatch's message. */
static int slurm_submit(const slurm_conf *c, const char *script_path, const char *tag, int wake_fd,
                        char **id, char **reason)
{
	*id = NULL;
	char *comment = wn_xasprintf("--comment=%s", tag);
	char *argv[] = {c->sbatch, (char *)"--parsable", comment, (char *)script_path, NULL};
	int rc = slurm_sbatch(argv, wake_fd, id, reason);
	free(comment);
	return rc;
}

/* slurm_cut notes that r's sbatch was given up: SLURM may have the job,
 * found by its tag if the run is to be stopped (wn_slurm_find_cut). */
static void slurm_cut(slurm_run *r)
{
	r->cut = true;
	r->cut_at = wn_mono_ms();
	free(r->desc);
	r->desc = wn_xstrdup("its SLURM job id unknown: sbatch was given up");
}

/* wn_slurm_submit_started records that r is SLURM job id and starts following it. */
void wn_slurm_submit_started(slurm_run *r, const char *id)
{
	r->ext_id = wn_xstrdup(id);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		fprintf(stderr, "wnworker: cannot make an eventfd: %s\n", strerror(errno));
		abort();
	}
	free(r->desc);
	r->desc = wn_xasprintf("SLURM job %s, output %s", id, r->output ? r->output : "unknown");
	r->pending_since = wn_mono_ms(); /* a job followed again: its wait counted anew */
	r->watch = wn_slurm_poll_follow(r->conf->poll, id, r->efd);
}

int wn_slurm_submit_start(void *p, int wake_fd, char **reason)
{
	slurm_run *r = p;
	if (r->ext_id != NULL)
		return WN_OK; /* submitted before: found by its tag and followed */
	char *script = wn_slurm_submit_script(r);
	int rc = slurm_write(r->out_root, r->script_path, script, reason);
	free(script);
	if (rc == WN_OK)
		rc = slurm_files(r, reason);
	char *id = NULL;
	char *tag = wn_slurm_tag(r->owner, &r->job_id, &r->attempt, 1, r->comment);
	if (rc == WN_OK && tag == NULL) {
		*reason = wn_xasprintf("the task's --comment is too long: with the worker's tag "
		                       "before it, a SLURM job's comment holds %d bytes at most",
		                       WN_SLURM_TAG_MAX);
		rc = WN_EINVAL;
	}
	if (rc == WN_OK)
		rc = slurm_submit(r->conf, r->script_path, tag, wake_fd, &id, reason);
	free(tag);
	if (rc == WN_ESTATE)
		slurm_cut(r);
	if (rc != WN_OK)
		return rc;
	wn_slurm_submit_started(r, id);
	free(id);
	return WN_OK;
}

/* slurm_start_array submits runs[0..n) (same options) as one job array. */
static void slurm_start_array(slurm_run **runs, size_t n, uint32_t max_running, int wake_fd,
                              int *rcs, char **reasons)
{
	const slurm_run *first = runs[0];
	uint64_t *ids = wn_xcalloc(n, sizeof(*ids));
	uint32_t *atts = wn_xcalloc(n, sizeof(*atts));
	for (size_t i = 0; i < n; i++) {
		ids[i] = runs[i]->job_id;
		atts[i] = runs[i]->attempt;
	}
	char *tag = wn_slurm_tag(first->owner, ids, atts, n, first->comment);
	free(ids);
	free(atts);
	if (tag == NULL && n == 1) {
		rcs[0] = wn_slurm_submit_start(runs[0], wake_fd, &reasons[0]); /* says why */
		return;
	}
	if (tag == NULL) {
		/* too many runs for one comment: two arrays, sharing the cap */
		size_t h = n / 2;
		uint32_t m1 = max_running / 2, m2 = max_running - m1;
		slurm_start_array(runs, h, max_running > 0 && m1 == 0 ? 1 : m1, wake_fd, rcs,
		                  reasons);
		slurm_start_array(runs + h, n - h, m2, wake_fd, rcs + h, reasons + h);
		return;
	}
	char *dir = wn_xstrdup(first->output);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	char *path = wn_xasprintf("%s/array.%llu.%u.sbatch", dir, (unsigned long long)first->job_id,
	                          (unsigned)first->attempt);
	free(dir);
	char *script = wn_slurm_submit_array_script((void *const *)runs, n, max_running);
	char *reason = NULL, *id = NULL;
	int rc = slurm_write(first->out_root, path, script, &reason);
	free(script);
	for (size_t i = 0; rc == WN_OK && i < n; i++)
		rc = slurm_files(runs[i], &reason);
	if (rc == WN_OK)
		rc = slurm_submit(first->conf, path, tag, wake_fd, &id, &reason);
	free(tag);
	if (rc == WN_OK) {
		wn_info("submitted %zu jobs (%llu to %llu) as SLURM job array %s%s, script %s", n,
		        (unsigned long long)runs[0]->job_id,
		        (unsigned long long)runs[n - 1]->job_id, id,
		        max_running > 0 && max_running < n ? " (capped)" : "", path);
		for (size_t i = 0; i < n; i++) {
			char *eid = wn_xasprintf("%s_%zu", id, i);
			free(runs[i]->script_path);
			runs[i]->script_path = wn_xstrdup(path);
			wn_slurm_submit_started(runs[i], eid);
			free(eid);
			rcs[i] = WN_OK;
			reasons[i] = NULL;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			rcs[i] = rc;
			reasons[i] = wn_xstrdup(reason);
			if (rc == WN_ESTATE)
				slurm_cut(runs[i]);
		}
	}
	free(reason);
	free(id);
	free(path);
}

void wn_slurm_submit_group(void **runs, size_t n, uint32_t max_running, int wake_fd, int *rcs,
                           char **reasons)
{
	slurm_run **rs = (slurm_run **)runs;
	bool *done = wn_xcalloc(n, sizeof(*done));
	slurm_run **set = wn_xcalloc(n, sizeof(*set));
	size_t *at = wn_xcalloc(n, sizeof(*at));
	int *src = wn_xcalloc(n, sizeof(*src));
	char **srs = wn_xcalloc(n, sizeof(*srs));
	/* in job id order, so that element i is the i-th job */
	size_t *order = wn_xcalloc(n, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		size_t k = i;
		while (k > 0 && rs[order[k - 1]]->job_id > rs[i]->job_id) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (size_t i = 0; i < n; i++) {
		if (rs[i]->ext_id != NULL) { /* submitted before: found by its tag */
			done[i] = true;
			rcs[i] = WN_OK;
			reasons[i] = NULL;
		}
	}
	for (size_t oi = 0; oi < n; oi++) {
		size_t i = order[oi];
		if (done[i])
			continue;
		/* runs with the same options (and config) share an array */
		size_t ns = 0;
		for (size_t ok = oi; ok < n && ns < (size_t)rs[i]->conf->array_max; ok++) {
			size_t k = order[ok];
			if (!done[k] && rs[k]->conf == rs[i]->conf &&
			    strcmp(rs[k]->opts_key, rs[i]->opts_key) == 0) {
				set[ns] = rs[k];
				at[ns++] = k;
				done[k] = true;
			}
		}
		if (ns == 1 || !rs[i]->conf->array) {
			for (size_t k = 0; k < ns; k++) {
				reasons[at[k]] = NULL;
				rcs[at[k]] =
				    wn_slurm_submit_start(set[k], wake_fd, &reasons[at[k]]);
			}
			continue;
		}
		slurm_start_array(set, ns, max_running, wake_fd, src, srs);
		for (size_t k = 0; k < ns; k++) {
			rcs[at[k]] = src[k];
			reasons[at[k]] = srs[k];
		}
	}
	free(order);
	free(srs);
	free(src);
	free(at);
	free(set);
	free(done);
}
