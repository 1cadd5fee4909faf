/* artifact_put: after a run, the agent finds its artifacts (artifact_find.h),
 * uploads those marked to the server in chunks (QueueService.PutArtifact)
 * and hands the list to the job's Complete. A refused upload is a note on
 * its artifact, never a failure of the job. */
#include "agent_impl.h"
#include "artifact_find.h"

#include "err.h"
#include "pbcheck.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The bytes of one PutArtifact. */
#define PUT_CHUNK (1u << 20)
/* Tries of a chunk while the server cannot be reached. */
#define PUT_TRIES 6

/* put_call sends one chunk, again with the same request id while the
 * server cannot be reached; the call's result, with *errmsg on failure. */
static int put_call(wn_agent *a, agent_job *j, const Whatsnext__V1__PutArtifactRequest *rq,
                    Whatsnext__V1__PutArtifactResponse **out, char **errmsg)
{
	uint64_t id = wn_request_id();
	int64_t backoff = AGENT_BACKOFF_MIN_MS;
	for (int tries = 1;; tries++) {
		ProtobufCMessage *reply = NULL;
		*errmsg = NULL;
		int rc =
		    wn_agent_call(a, WN_MID_QUEUE_PUT_ARTIFACT, &rq->base, &reply, id, 0, errmsg);
		if (rc == WN_OK) {
			*out = (Whatsnext__V1__PutArtifactResponse *)reply;
			return rc;
		}
		pthread_mutex_lock(&a->mu);
		bool give_up = j->lost || a->stop >= AGENT_FORCE || tries >= PUT_TRIES;
		if (!give_up && wn_agent_unreachable(rc))
			wn_agent_sleep(a, backoff, a->stop);
		pthread_mutex_unlock(&a->mu);
		if (give_up || !wn_agent_unreachable(rc))
			return rc;
		free(*errmsg);
		backoff = backoff * 2 > AGENT_BACKOFF_MAX_MS ? AGENT_BACKOFF_MAX_MS : backoff * 2;
	}
}

/* put_file uploads artifact x (open as fd); returns false when the server
 * takes no more uploads of the job (cancelled, the lease gone): x's note
 * says why, and so will those of the files not sent. */
static bool put_file(wn_agent *a, agent_job *j, wn_artifact *x, int fd, uint8_t *buf)
{
	Whatsnext__V1__PutArtifactRequest rq = WHATSNEXT__V1__PUT_ARTIFACT_REQUEST__INIT;
	rq.worker = a->name;
	rq.job_id = j->id;
	rq.attempt = j->attempt;
	rq.path = x->path;
	rq.size = x->size;
	rq.sha256 = x->sha256;
	for (;;) {
		ssize_t n = pread(fd, buf, PUT_CHUNK, (off_t)rq.offset);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 || (uint64_t)n > x->size - rq.offset) {
			x->note = wn_xasprintf("not uploaded: %s",
			                       n < 0 ? strerror(errno)
			                             : "the file grew after it was read");
			return true;
		}
		rq.data.data = buf;
		rq.data.len = (size_t)n;
		Whatsnext__V1__PutArtifactResponse *r = NULL;
		char *errmsg = NULL;
		int rc = put_call(a, j, &rq, &r, &errmsg);
		if (rc != WN_OK) {
			x->note = wn_xasprintf("not uploaded: %s", errmsg ? errmsg : "no reply");
			free(errmsg);
			return rc != WHATSNEXT__V1__CODE__FAILED_PRECONDITION;
		}
		rq.offset += (uint64_t)n;
		x->stored = r->stored;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (x->stored || n == 0)
			break;
	}
	if (!x->stored)
		x->note = wn_xstrdup("not uploaded: the file shrank after it was read");
	return true;
}

/* put_all uploads the artifacts of l marked to upload, below workdir. */
static void put_all(wn_agent *a, agent_job *j, const char *workdir, wn_artifact_list *l)
{
	int root = open(workdir[0] ? workdir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	const char *refused = NULL; /* the note of the upload the server refused */
	uint8_t *buf = wn_xmalloc(PUT_CHUNK);
	for (size_t i = 0; i < l->n; i++) {
		wn_artifact *x = &l->v[i];
		if (!x->upload)
			continue;
		if (refused != NULL) {
			x->note = wn_xstrdup(refused);
			continue;
		}
		int fd = root >= 0 ? wn_artifacts_open(root, x->path) : -1;
		if (fd < 0) {
			x->note = wn_xasprintf("not uploaded: %s", strerror(errno));
			continue;
		}
		if (!put_file(a, j, x, fd, buf))
			refused = x->note;
		close(fd);
	}
	free(buf);
	if (root >= 0)
		close(root);
}

/* put_list gives j the list of l for its Complete (which takes the strings). */
static void put_list(agent_job *j, wn_artifact_list *l)
{
	j->arts = wn_xcalloc(l->n + 1, sizeof(*j->arts));
	for (size_t i = 0; i < l->n; i++) {
		wn_artifact *x = &l->v[i];
		Whatsnext__V1__Artifact *p = wn_xcalloc(1, sizeof(*p));
		whatsnext__v1__artifact__init(p);
		p->path = x->path;
		p->size = x->size;
		p->sha256 = wn_xstrdup(x->sha256);
		p->stored = x->stored;
		p->note = x->note ? x->note : wn_xstrdup("");
		x->path = x->note = NULL;
		j->arts[j->narts++] = p;
	}
	wn_artifact_list_release(l);
}

void wn_agent_artifacts(wn_agent *a, agent_job *j, const wn_fmt *f, wn_fmt_run *run)
{
	const wn_artifacts_conf *ac = wn_fmt_artifacts(f);
	if (ac == NULL || run == NULL)
		return;
	size_t n = 0;
	char *const *globs = wn_fmt_run_artifacts(run, &n);
	const char *workdir = wn_fmt_workdir(run);
	wn_artifact_list l;
	memset(&l, 0, sizeof(l));
	if (workdir == NULL) {
		char *note =
		    wn_xasprintf("not looked for: the %s formatter has no working directory "
		                 "the worker can read",
		                 wn_fmt_name(f));
		for (size_t i = 0; i < n; i++) {
			if (l.n == l.cap)
				l.v = wn_xrealloc(l.v,
				                  (l.cap = l.cap ? 2 * l.cap : 4) * sizeof(*l.v));
			l.v[l.n++] =
			    (wn_artifact){.path = wn_xstrdup(globs[i]), .note = wn_xstrdup(note)};
		}
		free(note);
	} else {
		wn_artifacts_find(ac, workdir, globs, n, &l);
		put_all(a, j, workdir, &l);
	}
	size_t stored = 0;
	for (size_t i = 0; i < l.n; i++)
		stored += l.v[i].stored;
	wn_info("job %llu: %zu artifact(s) recorded, %zu stored on the server",
	        (unsigned long long)j->id, l.n, stored);
	put_list(j, &l);
}

void wn_agent_artifacts_refused(agent_job *j, const char *refused)
{
	char *shown = wn_utf8_escape(refused, AGENT_QUOTE_MAX);
	wn_warn("job %llu: the server refused the result with its artifacts: %s; reporting it "
	        "again without them",
	        (unsigned long long)j->id, shown);
	wn_agent_artifacts_free(j);
	Whatsnext__V1__Artifact *p = wn_xcalloc(1, sizeof(*p));
	whatsnext__v1__artifact__init(p);
	p->path = wn_xstrdup(".");
	p->sha256 = wn_xstrdup("");
	p->note = wn_xasprintf("not recorded: the server refused the list: %s", shown);
	j->arts = wn_xcalloc(1, sizeof(*j->arts));
	j->arts[j->narts++] = p;
	free(shown);
}

void wn_agent_artifacts_free(agent_job *j)
{
	for (size_t i = 0; i < j->narts; i++) {
		free(j->arts[i]->path);
		free(j->arts[i]->sha256);
		free(j->arts[i]->note);
		free(j->arts[i]);
	}
	free(j->arts);
	j->arts = NULL;
	j->narts = 0;
}
