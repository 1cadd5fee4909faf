/* model_wait: JobService/Wait as the documentation defines it (the counts
 * of the jobs named, done when none is PENDING or RUNNING), and a long poll
 * that a restart of wnd interrupts: answered with the state before a
 * SIGTERM, or ended with an error a client retries. */
#include "driver.h"

#include "err.h"
#include "methods.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef Whatsnext__V1__WaitRequest WaitRq;
typedef Whatsnext__V1__WaitResponse WaitRs;

/* wait_counts fills n[status] with the jobs rq names; the code the server
 * must answer (0, INVALID_ARGUMENT 3, NOT_FOUND 5) and why in *why. */
static int wait_counts(const model *m, const WaitRq *rq, uint64_t *n, const char **why)
{
	bool by_project = rq->project != NULL && rq->project[0] != '\0';
	*why = "one of ids, sweep_id, project";
	if ((rq->n_ids > 0) + (rq->sweep_id != 0) + by_project != 1)
		return 3;
	*why = "more than 1000 ids or wait_ms over 60000";
	if (rq->n_ids > 1000 || rq->wait_ms > 60000)
		return 3;
	if (by_project && !model_name_ok(rq->project)) {
		*why = "an invalid project name";
		return 3;
	}
	*why = "a job, the sweep or the project does not exist";
	for (size_t i = 0; i < rq->n_ids; i++) {
		bool again = false;
		for (size_t k = 0; k < i && !again; k++)
			again = rq->ids[k] == rq->ids[i];
		int st = model_dep_status(m, rq->ids[i]);
		if (st == 0)
			return 5;
		n[st] += !again;
	}
	if (rq->sweep_id != 0 && model_sweep_get(m, rq->sweep_id) == NULL)
		return 5;
	if (by_project && model_project_get(m, rq->project) == NULL)
		return 5;
	for (int st = ST_PENDING; st <= ST_CANCELLED && rq->n_ids == 0; st++)
		n[st] = rq->sweep_id != 0 ? model_sweep_count(m, rq->sweep_id, st)
		                          : model_project_count(m, rq->project, st);
	*why = "";
	return 0;
}

/* wait_same tells how r differs from the counts n (NULL: it does not). */
static const char *wait_same(const WaitRs *r, const uint64_t *n)
{
	uint64_t total = 0;
	for (int st = ST_PENDING; st <= ST_CANCELLED; st++)
		total += n[st];
	if (r->pending != n[ST_PENDING] || r->running != n[ST_RUNNING] ||
	    r->completed != n[ST_COMPLETED] || r->failed != n[ST_FAILED] ||
	    r->blocked != n[ST_BLOCKED] || r->cancelled != n[ST_CANCELLED])
		return "counts by status";
	if (r->total != total)
		return "total";
	if (r->removed != 0)
		return "removed (nothing was removed while it waited)";
	if (r->done != (n[ST_PENDING] + n[ST_RUNNING] == 0))
		return "done";
	return NULL;
}

int model_exec_wait(model *m, const model_call *c)
{
	const WaitRq *rq = (const void *)c->rq;
	uint64_t n[ST_CANCELLED + 1] = {0};
	const char *why = NULL;
	int code = wait_counts(m, rq, n, &why);
	if (model_want(m, c, code, why) != 0)
		return -1;
	if (code != 0)
		return 0;
	const char *diff = wait_same((const WaitRs *)c->rp, n);
	if (diff != NULL)
		return model_fail(m, "JobService/Wait: the reply's %s differs from the model's",
		                  diff);
	return 0;
}

/* ------------------------------------------------------ across a restart */

/* The long poll of a restart: on a connection of its own (the direct
 * client: a broken connection is an error, not a silent resend). */
struct longpoll {
	pthread_t thread;
	bool started;
	wn_rpc *rpc;
	WaitRq rq;
	char project[16];
	uint64_t n[ST_CANCELLED + 1]; /* the counts when it was sent */
	int code;                     /* the reply's code, or a negative WN_E* */
	WaitRs *reply;
	char *err;
};

static struct longpoll lp;

static void *longpoll_main(void *arg)
{
	(void)arg;
	ProtobufCMessage *out = NULL;
	lp.code = wn_rpc_call(lp.rpc, WN_PATH_JOB_WAIT, &lp.rq.base,
	                      &whatsnext__v1__wait_response__descriptor, &out, &lp.err, 0, 60000);
	lp.reply = (WaitRs *)out;
	return NULL;
}

void driver_longpoll_start(driver *d)
{
	memset(&lp, 0, sizeof(lp));
	/* a project with a job that has not ended: the wait parks */
	for (size_t i = 0; i < d->m->nprojects && lp.project[0] == '\0'; i++) {
		const char *p = d->m->projects[i]->name;
		if (model_project_count(d->m, p, ST_PENDING) +
		    model_project_count(d->m, p, ST_RUNNING))
			snprintf(lp.project, sizeof(lp.project), "%s", p);
	}
	char *err = NULL;
	if (lp.project[0] == '\0' ||
	    wn_rpc_open(d->srv.url, d->srv.tokens ? SERVER_ADMIN_SECRET : NULL, WN_RPC_DIRECT,
	                &lp.rpc, &err) != WN_OK) {
		free(err);
		return;
	}
	whatsnext__v1__wait_request__init(&lp.rq);
	lp.rq.project = lp.project;
	lp.rq.wait_ms = 60000;
	const char *why;
	wait_counts(d->m, &lp.rq, lp.n, &why);
	lp.started = pthread_create(&lp.thread, NULL, longpoll_main, NULL) == 0;
}

int driver_longpoll_finish(driver *d, bool kill9)
{
	if (!lp.started) {
		wn_rpc_close(lp.rpc);
		return 0;
	}
	pthread_join(lp.thread, NULL);
	if (d->verbose)
		fprintf(stderr, "    a Wait parked across the restart: %s%s%s\n",
		        lp.code >= 0 ? wn_code_name(lp.code) : "no reply", lp.err ? ": " : "",
		        lp.err ? lp.err : "");
	int rv = 0;
	const char *diff = NULL;
	if (lp.code == 0 && kill9)
		diff = lp.reply->done ? "done (the jobs had not ended)" : NULL;
	else if (lp.code == 0)
		diff = wait_same(lp.reply, lp.n);
	if (diff != NULL)
		rv = model_fail(
		    d->m, "a Wait parked across a %s: the reply's %s differs from the model's",
		    kill9 ? "kill -9" : "SIGTERM", diff);
	else if (lp.code > 0 && lp.code != 14)
		rv = model_fail(d->m, "a Wait parked across a restart: answered %s: %s",
		                wn_code_name(lp.code), lp.err ? lp.err : "");
	if (lp.reply != NULL)
		protobuf_c_message_free_unpacked(&lp.reply->base, NULL);
	free(lp.err);
	wn_rpc_close(lp.rpc);
	if (rv != 0)
		return rv;
	/* the client asks again, on the new wnd: the model judges the answer */
	WaitRq rq = WHATSNEXT__V1__WAIT_REQUEST__INIT;
	rq.project = lp.project;
	return driver_exec_as(d, d->srv.rpc, "JobService/Wait", &rq.base, 0, 0);
}
