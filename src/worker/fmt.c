#include "fmt.h"

#include "err.h"
#include "fmt_cli.h"
#include "template.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The formatters, by name. */
static const wn_fmt_ops *const fmt_table[] = {
    &wn_fmt_cli_ops,
};

struct wn_fmt {
	const wn_fmt_ops *ops;
	void *conf;
};

struct wn_fmt_run {
	const wn_fmt_ops *ops;
	void *run;
};

const char *wn_fmt_names(void)
{
	static char names[256];
	if (names[0] == '\0') {
		size_t len = 0;
		for (size_t i = 0; i < WN_ARRAY_LEN(fmt_table) && len < sizeof(names); i++)
			len += (size_t)snprintf(names + len, sizeof(names) - len, "%s%s",
			                        i ? ", " : "", fmt_table[i]->name);
	}
	return names;
}

int wn_fmt_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                wn_fmt **out, char **err)
{
	*out = NULL;
	*err = NULL;
	if (task == NULL || task->kind != WN_CONF_MAP) {
		*err = wn_conf_error(doc, task, "expected a mapping for the task, got %s",
		                     task ? wn_conf_kind_name(task->kind) : "nothing");
		return WN_EINVAL;
	}
	const char *name = "cli";
	const wn_conf_node *fn = wn_conf_get(task, "formatter");
	if (!wn_conf_is_null(fn)) {
		if (fn->kind != WN_CONF_SCALAR) {
			*err = wn_conf_error(doc, fn, "expected a string for 'formatter', got %s",
			                     wn_conf_kind_name(fn->kind));
			return WN_EINVAL;
		}
		name = fn->str;
	}
	const wn_fmt_ops *ops = NULL;
	for (size_t i = 0; i < WN_ARRAY_LEN(fmt_table); i++)
		if (strcmp(fmt_table[i]->name, name) == 0)
			ops = fmt_table[i];
	if (ops == NULL) {
		*err = wn_conf_error(doc, fn, "unknown formatter '%s' (known: %s)", name,
		                     wn_fmt_names());
		return WN_EINVAL;
	}
	void *conf = NULL;
	int rc = ops->load(doc, task, env, &conf, err);
	if (rc != WN_OK)
		return rc;
	wn_fmt *f = wn_xcalloc(1, sizeof(*f));
	f->ops = ops;
	f->conf = conf;
	*out = f;
	return WN_OK;
}

void wn_fmt_free(wn_fmt *f)
{
	if (f == NULL)
		return;
	f->ops->unload(f->conf);
	free(f);
}

const char *wn_fmt_name(const wn_fmt *f)
{
	return f->ops->name;
}

int wn_fmt_prepare(const wn_fmt *f, const wn_fmt_job *job, wn_fmt_run **out, char **reason)
{
	*out = NULL;
	*reason = NULL;
	void *run = NULL;
	int rc = f->ops->prepare(f->conf, job, &run, reason);
	if (rc != WN_OK)
		return rc;
	wn_fmt_run *r = wn_xcalloc(1, sizeof(*r));
	r->ops = f->ops;
	r->run = run;
	*out = r;
	return WN_OK;
}

bool wn_fmt_can_resume(const wn_fmt *f)
{
	return f->ops->resume != NULL;
}

int wn_fmt_resume(const wn_fmt *f, const wn_fmt_job *job, const char *external_id, wn_fmt_run **out,
                  char **reason)
{
	*out = NULL;
	*reason = NULL;
	if (f->ops->resume == NULL) {
		*reason = wn_xasprintf("a %s run does not outlive the worker", f->ops->name);
		return WN_EUNIMPL;
	}
	void *run = NULL;
	int rc = f->ops->resume(f->conf, job, external_id ? external_id : "", &run, reason);
	if (rc != WN_OK)
		return rc;
	wn_fmt_run *r = wn_xcalloc(1, sizeof(*r));
	r->ops = f->ops;
	r->run = run;
	*out = r;
	return WN_OK;
}

int wn_fmt_start(wn_fmt_run *r, char **reason)
{
	*reason = NULL;
	return r->ops->start(r->run, reason);
}

const char *wn_fmt_describe(wn_fmt_run *r)
{
	return r->ops->describe(r->run);
}

int wn_fmt_wait(wn_fmt_run *r, int wake_fd, int timeout_ms)
{
	return r->ops->wait(r->run, wake_fd, timeout_ms);
}

void wn_fmt_stop(wn_fmt_run *r, bool force)
{
	r->ops->stop(r->run, force);
}

void wn_fmt_collect(wn_fmt_run *r, wn_fmt_result *res)
{
	memset(res, 0, sizeof(*res));
	r->ops->result(r->run, res);
}

void wn_fmt_result_release(wn_fmt_result *res)
{
	free(res->reason);
	free(res->output_tail);
	free(res->external_id);
	memset(res, 0, sizeof(*res));
}

void wn_fmt_run_free(wn_fmt_run *r)
{
	if (r == NULL)
		return;
	r->ops->release(r->run);
	free(r);
}

const char *wn_fmt_job_value(const wn_fmt_job *job, const char *name, char *buf, size_t n)
{
	if (strcmp(name, "job.id") == 0) {
		snprintf(buf, n, "%llu", (unsigned long long)job->id);
		return buf;
	}
	if (strcmp(name, "job.name") == 0)
		return job->name;
	if (strcmp(name, "job.priority") == 0) {
		snprintf(buf, n, "%d", (int)job->priority);
		return buf;
	}
	if (strcmp(name, "project") == 0)
		return job->project;
	if (strcmp(name, "task") == 0)
		return job->task;
	if (strcmp(name, "attempt") == 0) {
		snprintf(buf, n, "%u", (unsigned)job->attempt);
		return buf;
	}
	if (strcmp(name, "worker") == 0)
		return job->worker;
	const char *param = strncmp(name, "param.", 6) == 0 ? name + 6 : name;
	for (size_t i = 0; i < job->nparams; i++)
		if (strcmp(job->param_keys[i], param) == 0)
			return job->param_vals[i];
	return NULL;
}

/* Template lookups over one job, gathering the names that are missing. */
typedef struct fmt_vars {
	const wn_fmt_job *job;
	char num[32];
	char *missing; /* "'a', 'b'" */
	size_t nmissing;
} fmt_vars;

static const char *fmt_lookup(void *ctx, const char *name)
{
	fmt_vars *v = ctx;
	const char *val = wn_fmt_job_value(v->job, name, v->num, sizeof(v->num));
	if (val != NULL)
		return val;
	char *quoted = wn_xasprintf("'%s'", name);
	if (v->missing == NULL) {
		v->missing = quoted;
		v->nmissing = 1;
		return NULL;
	}
	/* Each missing name once. */
	const char *p = v->missing;
	size_t ql = strlen(quoted);
	for (;;) {
		if (strncmp(p, quoted, ql) == 0 && (p[ql] == '\0' || p[ql] == ',')) {
			free(quoted);
			return NULL;
		}
		p = strstr(p, ", ");
		if (p == NULL)
			break;
		p += 2;
	}
	char *joined = wn_xasprintf("%s, %s", v->missing, quoted);
	free(v->missing);
	free(quoted);
	v->missing = joined;
	v->nmissing++;
	return NULL;
}

int wn_fmt_expand(const wn_fmt_job *job, const char *const *tmpls, size_t n, char **out,
                  char **reason)
{
	*reason = NULL;
	fmt_vars v = {.job = job};
	int rc = WN_OK;
	size_t i;
	for (i = 0; i < n; i++) {
		char *err = NULL;
		out[i] = NULL;
		int r = wn_template_render(tmpls[i], fmt_lookup, &v, &out[i], &err);
		free(err);
		if (r == WN_EINVAL) {
			char *why = NULL;
			wn_template_check(tmpls[i], &why);
			*reason = wn_xasprintf("malformed template '%s': %s", tmpls[i],
			                       why ? why : "invalid");
			free(why);
			rc = WN_EINVAL;
			break;
		}
		if (r != WN_OK)
			rc = r;
	}
	if (rc == WN_OK) {
		free(v.missing);
		return WN_OK;
	}
	for (size_t j = 0; j < n && j <= i; j++) {
		free(out[j]);
		out[j] = NULL;
	}
	if (*reason == NULL)
		*reason = wn_xasprintf("missing parameter%s %s", v.nmissing > 1 ? "s" : "",
		                       v.missing ? v.missing : "''");
	free(v.missing);
	return rc;
}
