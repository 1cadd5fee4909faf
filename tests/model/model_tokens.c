/* model_tokens: named tokens in the model test. Tokens are made and revoked
 * with the bootstrap admin token the driver starts wnd with, and any
 * generated operation may be sent with one of them instead ("as"): the
 * model says, from docs/server.md's rules written here again (not from
 * methods.def), whether it is refused UNAUTHENTICATED (a token never made,
 * or revoked), PERMISSION_DENIED (its role, a user's project, a worker's
 * name) or let through, and then judges it as usual. A refused call must
 * change nothing: the comparisons of the whole state that follow see to it.
 * The tokens themselves are compared with TokenService/List at every check,
 * across restarts and kill -9. */
#include "driver.h"

#include "err.h"
#include "methods.h"
#include "pool.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ROLE_ADMIN  WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN
#define ROLE_USER   WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER
#define ROLE_WORKER WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER
#define ROLE_READER WHATSNEXT__V1__TOKEN_ROLE__ROLE_READER

#define R_A (1u << ROLE_ADMIN)
#define R_U (1u << ROLE_USER)
#define R_W (1u << ROLE_WORKER)
#define R_R (1u << ROLE_READER)

#define CODE_DENIED 7
#define CODE_UNAUTH 16

/* Who may call the methods the operations send. */
static const struct {
	const char *method;
	unsigned roles;
} roles[] = {
    {"ProjectService/Create", R_A | R_U},
    {"ProjectService/Update", R_A | R_U},
    {"ProjectService/Delete", R_A | R_U},
    {"TaskService/Create", R_A | R_U},
    {"TaskService/Update", R_A | R_U},
    {"TaskService/Delete", R_A | R_U},
    {"JobService/Submit", R_A | R_U},
    {"JobService/SubmitBatch", R_A | R_U},
    {"JobService/Cancel", R_A | R_U},
    {"JobService/Retry", R_A | R_U},
    {"JobService/Remove", R_A | R_U},
    {"JobService/SetPriority", R_A | R_U},
    {"JobService/Bulk", R_A | R_U},
    {"JobService/Update", R_A | R_U},
    {"SweepService/Update", R_A | R_U},
    {"QueueService/Fetch", R_A | R_W},
    {"QueueService/Heartbeat", R_A | R_W},
    {"QueueService/Complete", R_A | R_W},
    {"QueueService/Release", R_A | R_W},
    {"QueueService/CompleteBatch", R_A | R_W},
    {"QueueService/Clear", R_A},
    {"QueueService/Pop", R_A},
    {"WorkerService/Join", R_A | R_W},
    {"WorkerService/Leave", R_A | R_W},
    {"WorkerService/Drain", R_A},
    {"WorkerService/Resume", R_A},
    {"WorkerService/Remove", R_A},
    {"JobService/Log", R_A | R_U | R_R},
    {"JobService/History", R_A | R_U | R_R},
    {"JobService/GetArtifact", R_A | R_U | R_R},
    {"QueueService/PutArtifact", R_A | R_W},
};

const char *tokens_name(int64_t slot)
{
	static const char *const v[MODEL_NTOKENS] = {"k0", "k1", "k2", "k3"};
	return v[(slot < 0 ? -slot : slot) % MODEL_NTOKENS];
}

static int fail(driver *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(driver *d, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char buf[4096];
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	free(d->err);
	d->err = wn_xstrdup(buf);
	return -1;
}

/* admin_call sends in to method mid with the admin token; the code, and
 * the reply in *out if out. */
static int admin_call(driver *d, int mid, const ProtobufCMessage *in, ProtobufCMessage **out,
                      char **msg)
{
	const wn_method *m = &wn_methods[mid];
	ProtobufCMessage *o = NULL;
	int code = wn_rpc_call(d->srv.rpc, m->path, in, m->reply, &o, msg, 0, 0);
	if (out != NULL)
		*out = o;
	else if (o != NULL)
		protobuf_c_message_free_unpacked(o, NULL);
	return code;
}

/* token_create: token-create SLOT ROLE PROJECT+1 WORKER */
static int token_create(driver *d, const op *o)
{
	mtoken *t = &d->tokens[o->a[0] % MODEL_NTOKENS];
	Whatsnext__V1__Token tk = WHATSNEXT__V1__TOKEN__INIT;
	tk.name = (char *)tokens_name(o->a[0]);
	tk.role = (Whatsnext__V1__TokenRole)o->a[1];
	char *project = (char *)model_pname(o->a[2] - 1), *worker = (char *)model_wname(o->a[3]);
	if (tk.role == ROLE_USER && o->a[2] > 0) {
		tk.projects = &project;
		tk.n_projects = 1;
	}
	if (tk.role == ROLE_WORKER) {
		tk.workers = &worker;
		tk.n_workers = 1;
	}
	Whatsnext__V1__CreateTokenRequest rq = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	rq.token = &tk;
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int code = admin_call(d, WN_MID_TOKEN_CREATE, &rq.base, &out, &msg);
	int want = t->live ? 6 : 0; /* ALREADY_EXISTS while the name is taken */
	int rv = 0;
	if (code != want)
		rv =
		    fail(d, "token-create %s: expected %s, got %s: %s", tk.name, wn_code_name(want),
		         code >= 0 ? wn_code_name(code) : "no reply", msg ? msg : "");
	else if (code == 0) {
		free(t->secret);
		t->secret = wn_xstrdup(((Whatsnext__V1__CreateTokenResponse *)out)->secret);
		t->live = true;
		t->role = (int)tk.role;
		t->project = tk.n_projects > 0 ? o->a[2] - 1 : -1;
		t->worker = tk.role == ROLE_WORKER ? o->a[3] : -1;
	}
	free(msg);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	return rv;
}

/* token_revoke: token-revoke SLOT; the secret is kept, to be refused. */
static int token_revoke(driver *d, const op *o)
{
	mtoken *t = &d->tokens[o->a[0] % MODEL_NTOKENS];
	Whatsnext__V1__RevokeTokenRequest rq = WHATSNEXT__V1__REVOKE_TOKEN_REQUEST__INIT;
	rq.name = (char *)tokens_name(o->a[0]);
	char *msg = NULL;
	int code = admin_call(d, WN_MID_TOKEN_REVOKE, &rq.base, NULL, &msg);
	int want = t->live ? 0 : 5; /* NOT_FOUND */
	int rv = code == want ? 0
	                      : fail(d, "token-revoke %s: expected %s, got %s: %s", rq.name,
	                             wn_code_name(want),
	                             code >= 0 ? wn_code_name(code) : "no reply", msg ? msg : "");
	t->live = false;
	free(msg);
	return rv;
}

/* project_denied: a user token limited to a project names another one. */
static bool project_denied(const mtoken *t, const char *p)
{
	return t->role == ROLE_USER && t->project >= 0 && p != NULL && p[0] != '\0' &&
	       strcmp(p, model_pname(t->project)) != 0;
}

/* job_denied: the job id names a live job of a project t may not name. */
static bool job_denied(const driver *d, const mtoken *t, uint64_t id)
{
	const model_job *j = id != 0 ? model_job_get(d->m, id) : NULL;
	return j != NULL && project_denied(t, j->project);
}

/* bulk_denied: a Bulk names a job, sweep or project outside t, or, with t
 * limited to projects, names none of them. */
static bool bulk_denied(const driver *d, const mtoken *t, const Whatsnext__V1__BulkRequest *rq)
{
	bool named = rq->project[0] != '\0' || rq->n_projects > 0;
	for (size_t i = 0; i < rq->n_ids; i++) {
		named |= model_job_get(d->m, rq->ids[i]) != NULL;
		if (job_denied(d, t, rq->ids[i]))
			return true;
	}
	const model_sweep *s = rq->sweep_id ? model_sweep_get(d->m, rq->sweep_id) : NULL;
	if (s != NULL && project_denied(t, s->project))
		return true;
	named |= s != NULL;
	if (rq->project[0] != '\0' && project_denied(t, rq->project))
		return true;
	for (size_t i = 0; i < rq->n_projects; i++)
		if (project_denied(t, rq->projects[i]))
			return true;
	return !named && t->role == ROLE_USER && t->project >= 0;
}

/* scope_denied says whether what msg (of method) names is outside t. */
static bool scope_denied(const driver *d, const mtoken *t, const char *method,
                         const ProtobufCMessage *msg)
{
	if (strcmp(method, "ProjectService/Create") == 0)
		return project_denied(t, ((const Whatsnext__V1__CreateProjectRequest *)msg)->name);
	if (strcmp(method, "ProjectService/Update") == 0)
		return project_denied(t, ((const Whatsnext__V1__UpdateProjectRequest *)msg)->name);
	if (strcmp(method, "ProjectService/Delete") == 0)
		return project_denied(t, ((const Whatsnext__V1__DeleteProjectRequest *)msg)->name);
	if (strcmp(method, "TaskService/Create") == 0 ||
	    strcmp(method, "TaskService/Update") == 0) {
		const Whatsnext__V1__Task *tk =
		    strcmp(method, "TaskService/Create") == 0
		        ? ((const Whatsnext__V1__CreateTaskRequest *)msg)->task
		        : ((const Whatsnext__V1__UpdateTaskRequest *)msg)->task;
		return tk != NULL && project_denied(t, tk->project);
	}
	if (strcmp(method, "TaskService/Delete") == 0)
		return project_denied(t, ((const Whatsnext__V1__DeleteTaskRequest *)msg)->project);
	if (strcmp(method, "JobService/Submit") == 0) {
		const Whatsnext__V1__JobSpec *s = ((const Whatsnext__V1__SubmitRequest *)msg)->job;
		return s != NULL && project_denied(t, s->project);
	}
	if (strcmp(method, "JobService/SubmitBatch") == 0) {
		const Whatsnext__V1__SubmitBatchRequest *b = (const void *)msg;
		for (size_t i = 0; i < b->n_jobs; i++)
			if (b->jobs[i] != NULL && project_denied(t, b->jobs[i]->project))
				return true;
		return false;
	}
	if (strcmp(method, "JobService/Bulk") == 0)
		return bulk_denied(d, t, (const void *)msg);
	if (strcmp(method, "JobService/Update") == 0)
		return job_denied(d, t, ((const Whatsnext__V1__UpdateJobRequest *)msg)->id);
	if (strcmp(method, "JobService/SetPriority") == 0)
		return job_denied(d, t, ((const Whatsnext__V1__SetPriorityRequest *)msg)->id);
	if (strcmp(method, "JobService/Log") == 0)
		return job_denied(d, t, ((const Whatsnext__V1__LogRequest *)msg)->id);
	if (strcmp(method, "JobService/History") == 0)
		return job_denied(d, t, ((const Whatsnext__V1__HistoryRequest *)msg)->id);
	if (strcmp(method, "JobService/GetArtifact") == 0)
		return job_denied(d, t, ((const Whatsnext__V1__GetArtifactRequest *)msg)->job_id);
	if (strcmp(method, "QueueService/PutArtifact") == 0)
		return job_denied(d, t, ((const Whatsnext__V1__PutArtifactRequest *)msg)->job_id);
	if (strncmp(method, "JobService/", 11) == 0)
		return job_denied(d, t, ((const Whatsnext__V1__JobIdRequest *)msg)->id);
	return false;
}

/* worker_denied: a worker token names another worker (or none). */
static bool worker_denied(const mtoken *t, const char *w)
{
	return t->role == ROLE_WORKER && (w == NULL || strcmp(w, model_wname(t->worker)) != 0);
}

static bool complete_denied(const mtoken *t, const Whatsnext__V1__CompleteRequest *c)
{
	return c != NULL && (worker_denied(t, c->worker) ||
	                     (c->next != NULL && worker_denied(t, c->next->worker)));
}

/* workers_denied says whether a worker name in msg is not t's. */
static bool workers_denied(const mtoken *t, const char *method, const ProtobufCMessage *msg)
{
	if (strcmp(method, "QueueService/Fetch") == 0)
		return worker_denied(t, ((const Whatsnext__V1__FetchRequest *)msg)->worker);
	if (strcmp(method, "QueueService/Heartbeat") == 0)
		return worker_denied(t, ((const Whatsnext__V1__HeartbeatRequest *)msg)->worker);
	if (strcmp(method, "QueueService/Complete") == 0)
		return complete_denied(t, (const void *)msg);
	if (strcmp(method, "QueueService/CompleteBatch") == 0) {
		const Whatsnext__V1__CompleteBatchRequest *b = (const void *)msg;
		for (size_t i = 0; i < b->n_results; i++)
			if (complete_denied(t, b->results[i]))
				return true;
		return false;
	}
	if (strcmp(method, "QueueService/Release") == 0)
		return worker_denied(t, ((const Whatsnext__V1__ReleaseRequest *)msg)->worker);
	if (strcmp(method, "QueueService/PutArtifact") == 0)
		return worker_denied(t, ((const Whatsnext__V1__PutArtifactRequest *)msg)->worker);
	if (strcmp(method, "WorkerService/Join") == 0) {
		const Whatsnext__V1__Worker *w = ((const Whatsnext__V1__JoinRequest *)msg)->worker;
		return w != NULL && worker_denied(t, w->name);
	}
	if (strcmp(method, "WorkerService/Leave") == 0)
		return worker_denied(t, ((const Whatsnext__V1__WorkerNameRequest *)msg)->name);
	return false;
}

/* expect says what a call of method with msg by t gets before it runs:
 * UNAUTHENTICATED, PERMISSION_DENIED, or 0 (it runs). */
static int expect(const driver *d, const mtoken *t, const char *method, const ProtobufCMessage *msg)
{
	if (!t->live)
		return CODE_UNAUTH;
	unsigned allowed = 0;
	for (size_t i = 0; i < WN_ARRAY_LEN(roles); i++)
		if (strcmp(roles[i].method, method) == 0)
			allowed = roles[i].roles;
	if (!(allowed & (1u << t->role)))
		return CODE_DENIED;
	if (scope_denied(d, t, method, msg) || workers_denied(t, method, msg))
		return CODE_DENIED;
	return 0;
}

/* token_as: OP_AS, the operation in a[0..9] (kind a[11]) sent with token
 * a[10]. */
static int token_as(driver *d, op *o)
{
	mtoken *t = &d->tokens[o->a[10] % MODEL_NTOKENS];
	op sub = *o;
	sub.kind = (int)o->a[11];
	sub.a[10] = sub.a[11] = 0;
	const char *method = NULL;
	ProtobufCMessage *msg = NULL;
	if (sub.kind == OP_AS || build_request(d, &sub, &method, &msg) != 0)
		return fail(d, "as: cannot build operation %d", sub.kind);
	int want = expect(d, t, method, msg);
	wn_rpc *r = NULL;
	char *err = NULL;
	const char *secret = t->secret != NULL ? t->secret : "wn_a_token_never_made";
	if (wn_rpc_open(d->srv.url, secret, WN_RPC_DIRECT, &r, &err) != 0) {
		int rv = fail(d, "as %s: cannot connect: %s", tokens_name(o->a[10]), err);
		free(err);
		pool_reset();
		return rv;
	}
	d->as_secret = secret;
	int rv = driver_exec_as(d, r, method, msg, o->reqid, want);
	d->as_secret = NULL;
	o->code = d->last_code;
	wn_rpc_close(r);
	pool_reset();
	return rv;
}

int tokens_run(driver *d, op *o)
{
	if (!d->srv.tokens)
		return 0;
	switch (o->kind) {
	case OP_TOKEN_CREATE:
		return token_create(d, o);
	case OP_TOKEN_REVOKE:
		return token_revoke(d, o);
	default:
		return token_as(d, o);
	}
}

int tokens_compare(driver *d)
{
	if (!d->srv.tokens)
		return 0;
	Whatsnext__V1__ListTokensRequest rq = WHATSNEXT__V1__LIST_TOKENS_REQUEST__INIT;
	ProtobufCMessage *out = NULL;
	char *msg = NULL;
	int code = admin_call(d, WN_MID_TOKEN_LIST, &rq.base, &out, &msg);
	if (code != 0) {
		int rv = fail(d, "TokenService/List: %s", msg ? msg : "no reply");
		free(msg);
		return rv;
	}
	const Whatsnext__V1__ListTokensResponse *l = (const void *)out;
	char got[256] = "", want[256] = "";
	for (size_t i = 0; i < l->n_tokens; i++) {
		const Whatsnext__V1__Token *t = l->tokens[i];
		size_t n = strlen(got);
		snprintf(got + n, sizeof(got) - n, "%s:%d:%s:%s ", t->name, (int)t->role,
		         t->n_projects ? t->projects[0] : "", t->n_workers ? t->workers[0] : "");
	}
	for (int i = 0; i < MODEL_NTOKENS; i++) {
		const mtoken *t = &d->tokens[i];
		size_t n = strlen(want);
		if (t->live)
			snprintf(want + n, sizeof(want) - n, "%s:%d:%s:%s ", tokens_name(i),
			         t->role, t->project >= 0 ? model_pname(t->project) : "",
			         t->worker >= 0 ? model_wname(t->worker) : "");
	}
	protobuf_c_message_free_unpacked(out, NULL);
	if (strcmp(got, want) != 0)
		return fail(d, "tokens: the server lists [%s], the model holds [%s]", got, want);
	return 0;
}

void tokens_free(driver *d)
{
	for (int i = 0; i < MODEL_NTOKENS; i++)
		free(d->tokens[i].secret);
}
