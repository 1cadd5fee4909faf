/* wnbench: the wnd target (SubmitBatch, Fetch, Complete over the direct or nng client). */
#include "bench.h"
#include "err.h"
#include "methods.h"
#include "util.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* wnd_call performs one call; 0 or the failure code, reported to the row. */
static int wnd_call(bench_thread *t, const char *method, const ProtobufCMessage *in,
                    const ProtobufCMessageDescriptor *out_desc, ProtobufCMessage **out,
                    int extra_ms)
{
	char *err = NULL;
	ProtobufCMessage *reply = NULL;
	int rv = wn_rpc_call(t->rpc, method, in, out_desc, &reply, &err, 0, extra_ms);
	if (rv != 0) {
		bench_fail(t->row, strrchr(method, '/') + 1, rv, err);
		free(err);
		return rv;
	}
	if (out != NULL)
		*out = reply;
	else
		protobuf_c_message_free_unpacked(reply, NULL);
	return 0;
}

/* wnd_open connects one client with the given wn_rpc_open flags; exits the
 * program on failure. */
static wn_rpc *wnd_open(const char *url, int flags)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	if (wn_rpc_open(url, getenv("WN_TOKEN"), flags, &r, &err) != 0) {
		fprintf(stderr, "wnbench: %s\n", err);
		exit(1);
	}
	return r;
}

/* wnd_project creates project name with the benchmark task over r; an
 * existing one is fine when may_exist. */
int wnd_project(wn_rpc *r, const char *name, bool may_exist)
{
	Whatsnext__V1__CreateProjectRequest preq = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	preq.name = (char *)name;
	preq.description = "load generator";
	Whatsnext__V1__Task task = WHATSNEXT__V1__TASK__INIT;
	task.project = (char *)name;
	task.name = BENCH_TASK;
	Whatsnext__V1__CreateTaskRequest treq = WHATSNEXT__V1__CREATE_TASK_REQUEST__INIT;
	treq.task = &task;

	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(r, WN_PATH_PROJECT_CREATE, &preq.base,
	                     &whatsnext__v1__project__descriptor, &out, &err, 0, 0);
	if (rv == WHATSNEXT__V1__CODE__ALREADY_EXISTS && may_exist)
		rv = 0;
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	if (rv == 0) {
		free(err);
		err = NULL;
		rv = wn_rpc_call(r, WN_PATH_TASK_CREATE, &treq.base,
		                 &whatsnext__v1__task__descriptor, &out, &err, 0, 0);
		if (rv == WHATSNEXT__V1__CODE__ALREADY_EXISTS && may_exist)
			rv = 0;
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
	}
	if (rv != 0)
		fprintf(stderr, "wnbench: cannot create project %s: %s\n", name, err);
	free(err);
	return rv;
}

static int wnd_setup(bench_target *tg, bench_row *row)
{
	if (row->queue[0] != '\0')
		return 0; /* a given project (scale runs) */
	snprintf(row->queue, sizeof(row->queue), "wnbench-%016" PRIx64, wn_random_u64());
	int rv = wnd_project(tg->ctl, row->queue, false);
	if (rv != 0)
		return rv;
	if (tg->n_queues == tg->cap_queues) {
		tg->cap_queues = tg->cap_queues ? 2 * tg->cap_queues : 32;
		tg->queues = wn_xrealloc(tg->queues, tg->cap_queues * sizeof(*tg->queues));
	}
	memcpy(tg->queues[tg->n_queues++], row->queue, sizeof(row->queue));
	return 0;
}

static int wnd_connect(bench_thread *t)
{
	const bench_target *tg = t->row->target;
	t->rpc = wnd_open(tg->addr, t->row->spec->nng ? 0 : tg->rpc_flags);
	return 0;
}

static void wnd_disconnect(bench_thread *t)
{
	wn_rpc_close(t->rpc);
	t->rpc = NULL;
}

static void wnd_wake(bench_thread *t)
{
	(void)t; /* a waiting Fetch comes back within the row's wait */
}

static void wnd_spec(bench_thread *t, Whatsnext__V1__JobSpec *spec,
                     Whatsnext__V1__JobSpec__ParamsEntry *kv,
                     Whatsnext__V1__JobSpec__ParamsEntry **kvs, char *payload)
{
	whatsnext__v1__job_spec__params_entry__init(kv);
	kv->key = "payload";
	kv->value = payload;
	kvs[0] = kv;
	whatsnext__v1__job_spec__init(spec);
	spec->project = t->row->queue;
	spec->task = BENCH_TASK;
	spec->n_params = 1;
	spec->params = kvs;
	spec->priority = t->row->spec->priority;
}

/* wnd_noop calls a method the server does not have: answered at once, before
 * any lock or storage, so the round trip is all transport and envelope. */
static int wnd_noop(bench_thread *t)
{
	Whatsnext__V1__StatsRequest in = WHATSNEXT__V1__STATS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(t->rpc, "/whatsnext.v1.Bench/Noop", &in.base,
	                     &whatsnext__v1__stats_response__descriptor, &out, &err, 0, 0);
	if (rv != WHATSNEXT__V1__CODE__UNIMPLEMENTED)
		bench_fail(t->row, "no-op request", rv, rv < 0 ? err : "expected UNIMPLEMENTED");
	free(err);
	if (rv == WHATSNEXT__V1__CODE__UNIMPLEMENTED)
		return 0;
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv == 0 ? WN_EINTERNAL : rv;
}

static int wnd_submit(bench_thread *t, size_t n, uint64_t *first_id)
{
	char *pay = bench_payloads(t, n);
	ProtobufCMessage *out = NULL;
	if (n == 1) {
		Whatsnext__V1__JobSpec spec;
		Whatsnext__V1__JobSpec__ParamsEntry kv, *kvs[1];
		wnd_spec(t, &spec, &kv, kvs, pay);
		Whatsnext__V1__SubmitRequest req = WHATSNEXT__V1__SUBMIT_REQUEST__INIT;
		req.job = &spec;
		req.brief = 1; /* the id is all a producer needs back */
		int rv = wnd_call(t, WN_PATH_JOB_SUBMIT, &req.base,
		                  &whatsnext__v1__submit_response__descriptor, &out, 0);
		if (rv != 0)
			return rv;
		Whatsnext__V1__SubmitResponse *resp = (Whatsnext__V1__SubmitResponse *)out;
		*first_id = resp->job ? resp->job->id : 0;
		protobuf_c_message_free_unpacked(out, NULL);
		return 0;
	}
	Whatsnext__V1__JobSpec *spec = wn_xmalloc(n * sizeof(*spec));
	Whatsnext__V1__JobSpec **specs = wn_xmalloc(n * sizeof(*specs));
	Whatsnext__V1__JobSpec__ParamsEntry *kv = wn_xmalloc(n * sizeof(*kv));
	Whatsnext__V1__JobSpec__ParamsEntry **kvs = wn_xmalloc(n * sizeof(*kvs));
	for (size_t i = 0; i < n; i++) {
		wnd_spec(t, &spec[i], &kv[i], &kvs[i], pay + i * (BENCH_PAYLOAD + 1));
		specs[i] = &spec[i];
	}
	Whatsnext__V1__SubmitBatchRequest req = WHATSNEXT__V1__SUBMIT_BATCH_REQUEST__INIT;
	req.jobs = specs;
	req.n_jobs = n;
	int rv = wnd_call(t, WN_PATH_JOB_SUBMIT_BATCH, &req.base,
	                  &whatsnext__v1__submit_batch_response__descriptor, &out, 0);
	free(kvs);
	free(kv);
	free(specs);
	free(spec);
	if (rv != 0)
		return rv;
	Whatsnext__V1__SubmitBatchResponse *resp = (Whatsnext__V1__SubmitBatchResponse *)out;
	size_t got = resp->n_ids;
	*first_id = got ? resp->ids[0] : 0;
	protobuf_c_message_free_unpacked(out, NULL);
	if (got != n) {
		bench_fail(t->row, "SubmitBatch", WHATSNEXT__V1__CODE__INTERNAL,
		           "reply does not hold one id per job");
		return WN_EINTERNAL;
	}
	return 0;
}

static void wnd_job(const bench_row *row, const Whatsnext__V1__Job *j, bench_job *out)
{
	out->id = j->id;
	out->attempt = j->attempt;
	out->due_ns = 0;
	for (size_t i = 0; row->stamps && i < j->n_params; i++)
		if (strcmp(j->params[i]->key, "payload") == 0)
			out->due_ns = bench_due(j->params[i]->value);
}

static void wnd_fetch_init(bench_thread *t, Whatsnext__V1__FetchRequest *f, size_t max, int wait_ms)
{
	whatsnext__v1__fetch_request__init(f);
	f->project = t->row->queue;
	f->worker = t->worker;
	f->wait_ms = (uint32_t)wait_ms;
	f->max_jobs = max > 1 ? (uint32_t)max : 0;
}

static int wnd_claim(bench_thread *t, size_t max, bench_job *jobs, size_t *got)
{
	Whatsnext__V1__FetchRequest freq;
	wnd_fetch_init(t, &freq, max, t->row->wait_ms);
	ProtobufCMessage *out = NULL;
	*got = 0;
	int rv = wnd_call(t, WN_PATH_QUEUE_FETCH, &freq.base,
	                  &whatsnext__v1__fetch_response__descriptor, &out, t->row->wait_ms);
	if (rv != 0)
		return rv;
	Whatsnext__V1__FetchResponse *r = (Whatsnext__V1__FetchResponse *)out;
	if (r->job != NULL) {
		wnd_job(t->row, r->job, &jobs[(*got)++]);
		for (size_t i = 0; i < r->n_more && *got < max; i++)
			wnd_job(t->row, r->more[i], &jobs[(*got)++]);
	}
	protobuf_c_message_free_unpacked(out, NULL);
	return 0;
}

static void wnd_complete_init(bench_thread *t, Whatsnext__V1__CompleteRequest *c,
                              const bench_job *j)
{
	whatsnext__v1__complete_request__init(c);
	c->job_id = j->id;
	c->attempt = j->attempt;
	c->worker = t->worker;
	c->success = 1;
	c->brief = 1; /* a worker has the job already */
}

static int wnd_complete(bench_thread *t, const bench_job *jobs, size_t n, bench_job *next,
                        bool *have_next)
{
	ProtobufCMessage *out = NULL;
	if (n == 1) {
		Whatsnext__V1__CompleteRequest creq;
		Whatsnext__V1__FetchRequest freq;
		wnd_complete_init(t, &creq, &jobs[0]);
		if (next != NULL) {
			wnd_fetch_init(t, &freq, 1, 0);
			creq.next = &freq;
		}
		int rv = wnd_call(t, WN_PATH_QUEUE_COMPLETE, &creq.base,
		                  &whatsnext__v1__complete_response__descriptor, &out, 0);
		if (rv != 0)
			return rv;
		Whatsnext__V1__CompleteResponse *r = (Whatsnext__V1__CompleteResponse *)out;
		if (next != NULL) {
			*have_next = r->next != NULL;
			if (r->next != NULL)
				wnd_job(t->row, r->next, next);
		}
		protobuf_c_message_free_unpacked(out, NULL);
		return 0;
	}
	Whatsnext__V1__CompleteRequest *cs = wn_xmalloc(n * sizeof(*cs));
	Whatsnext__V1__CompleteRequest **cps = wn_xmalloc(n * sizeof(*cps));
	for (size_t i = 0; i < n; i++) {
		wnd_complete_init(t, &cs[i], &jobs[i]);
		cps[i] = &cs[i];
	}
	Whatsnext__V1__CompleteBatchRequest req = WHATSNEXT__V1__COMPLETE_BATCH_REQUEST__INIT;
	req.results = cps;
	req.n_results = n;
	int rv = wnd_call(t, WN_PATH_QUEUE_COMPLETE_BATCH, &req.base,
	                  &whatsnext__v1__complete_batch_response__descriptor, &out, 0);
	free(cps);
	free(cs);
	if (rv != 0)
		return rv;
	Whatsnext__V1__CompleteBatchResponse *r = (Whatsnext__V1__CompleteBatchResponse *)out;
	for (size_t i = 0; i < r->n_results && rv == 0; i++) {
		if (r->results[i]->code != WHATSNEXT__V1__CODE__OK) {
			bench_fail(t->row, "CompleteBatch", (int)r->results[i]->code,
			           r->results[i]->message);
			rv = WN_EINTERNAL;
		}
	}
	if (rv == 0 && r->n_results != n) {
		bench_fail(t->row, "CompleteBatch", WHATSNEXT__V1__CODE__INTERNAL,
		           "reply does not hold one result per job");
		rv = WN_EINTERNAL;
	}
	protobuf_c_message_free_unpacked(out, NULL);
	if (next != NULL)
		*have_next = false;
	return rv;
}

/* ------------------------------------------------------------------ targets */

void bench_target_wnd(bench_target *tg, const char *url, int64_t pid, int rpc_flags)
{
	memset(tg, 0, sizeof(*tg));
	tg->name = "wnd";
	tg->addr = url;
	tg->pid = pid;
	tg->ctl = wnd_open(url, 0);
	tg->rpc_flags = rpc_flags;
	tg->setup = wnd_setup;
	tg->connect = wnd_connect;
	tg->disconnect = wnd_disconnect;
	tg->wake = wnd_wake;
	tg->submit = wnd_submit;
	tg->claim = wnd_claim;
	tg->complete = wnd_complete;
	tg->noop = wnd_noop;
}

/* bench_target_release deletes the projects the rows created (unless keep). */
void bench_target_release(bench_target *tg, bool keep)
{
	if (tg->ctl != NULL && !keep) {
		wn_rpc_set_timeout(tg->ctl, 120000);
		for (size_t i = 0; i < tg->n_queues; i++) {
			Whatsnext__V1__DeleteProjectRequest req =
			    WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
			req.name = tg->queues[i];
			req.force = 1;
			ProtobufCMessage *out = NULL;
			char *err = NULL;
			int rv = wn_rpc_call(tg->ctl, WN_PATH_PROJECT_DELETE, &req.base,
			                     &whatsnext__v1__delete_project_response__descriptor,
			                     &out, &err, 0, 0);
			if (rv == 0)
				protobuf_c_message_free_unpacked(out, NULL);
			else
				fprintf(stderr, "wnbench: cannot delete project %s: %s\n",
				        tg->queues[i], err);
			free(err);
		}
	}
	free(tg->queues);
	wn_rpc_close(tg->ctl);
	memset(tg, 0, sizeof(*tg));
}
