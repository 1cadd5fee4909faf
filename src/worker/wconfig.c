#include "wconfig.h"

#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const wconfig_levels[] = {"error", "warn", "info", "debug", NULL};

#define TOP(field) offsetof(wn_wconfig, field)

static const wn_conf_key wconfig_keys[] = {
    {"server", WN_CONF_T_STR, TOP(server), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "address of wnd (tcp://HOST:PORT, ipc://PATH, tls+tcp://HOST:PORT); --server and "
     "$WN_SERVER override it; default tcp://127.0.0.1:7640"},
    {"token", WN_CONF_T_STR, TOP(token), NULL, 0, 0, 0, NULL,
     "the token, when the server requires one (this file must then be readable by its "
     "owner only); default $WN_TOKEN"},
    {"token_file", WN_CONF_T_STR, TOP(token_file), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "file holding the token on its first line, readable by its owner only"},
    {"name", WN_CONF_T_STR, TOP(name), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the worker's name, unique in the fleet; default <host>-<pid>"},
    {"projects", WN_CONF_T_STRLIST, TOP(projects), NULL, 0, 0, 0, NULL,
     "project(s) to take jobs from, in turn (a name or a list)"},
    {"slots", WN_CONF_T_INT, TOP(slots), "1", 1, 256, 0, NULL, "jobs run at the same time"},
    {"log_level", WN_CONF_T_STR, TOP(log_level), "info", 0, 0, 0, wconfig_levels,
     "error, warn, info or debug (-v raises it)"},
    {"log_dir", WN_CONF_T_STR, TOP(log_dir), "wn-logs", 0, 0, WN_CONF_NONEMPTY, NULL,
     "directory of the job log files"},
    {"lock_dir", WN_CONF_T_STR, TOP(lock_dir), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "directory of the GPU devices' lock files, shared by the workers of one machine; "
     "default log_dir"},
    {"fetch_wait_ms", WN_CONF_T_INT, TOP(fetch_wait_ms), "10000", 100, 60000, 0, NULL,
     "how long one fetch waits on the server for a job"},
    {"heartbeat_ms", WN_CONF_T_INT, TOP(heartbeat_ms), "0", 0, 600000, 0, NULL,
     "interval of lease heartbeats; 0 = a third of the server's lease"},
    {"output_ms", WN_CONF_T_INT, TOP(output_ms), "2000", 0, 600000, 0, NULL,
     "a running job's new output goes to the server within this long; 0 = with heartbeats"},
    {"kill_grace_s", WN_CONF_T_INT, TOP(kill_grace_s), "10", 0, 3600, 0, NULL,
     "seconds between SIGTERM and SIGKILL when a job is stopped"},
    {"tail_bytes", WN_CONF_T_INT, TOP(tail_bytes), "4096", 0, 65536, 0, NULL,
     "bytes of output sent with each result"},
    {"rpc_timeout_ms", WN_CONF_T_INT, TOP(rpc_timeout_ms), "10000", 100, 600000, 0, NULL,
     "how long one call waits for the server before it is retried"},
    {"tls", WN_CONF_T_SKIP, 0, NULL, 0, 0, 0, NULL,
     "tls+tcp:// servers: ca, cert, key, server_name (see wconfig_tls_keys)"},
    {"resources", WN_CONF_T_SKIP, 0, NULL, 0, 0, 0, NULL,
     "what the worker offers: cpu, gpus, memory, labels; left out: detected"},
    {"tasks", WN_CONF_T_SKIP, 0, NULL, 0, 0, 0, NULL,
     "task name -> how its jobs run (formatter and its keys)"},
};

#define TLS(field) offsetof(wn_wtls, field)

static const wn_conf_key wconfig_tls_keys[] = {
    {"ca", WN_CONF_T_STR, TLS(ca), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "CA file (PEM) that signed the server's certificate; default $WN_TLS_CA, else the "
     "system's CA list"},
    {"cert", WN_CONF_T_STR, TLS(cert), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the worker's certificate (PEM), for a server that requires one; default $WN_TLS_CERT"},
    {"key", WN_CONF_T_STR, TLS(key), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the key (PEM) of cert; default $WN_TLS_KEY"},
    {"server_name", WN_CONF_T_STR, TLS(server_name), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the name the server's certificate must hold; default the host of server"},
};

/* wconfig_tls reads the `tls:` mapping (node, may be NULL) into c->tls, its
 * files relative to the config's directory. */
static int wconfig_tls(const wn_conf_doc *doc, const wn_conf_node *node, wn_wconfig *c,
                       char **errmsg)
{
	int rc = wn_conf_apply(doc, wn_conf_is_null(node) ? NULL : node, wconfig_tls_keys,
	                       WN_ARRAY_LEN(wconfig_tls_keys), &c->tls, errmsg);
	char **files[3] = {&c->tls.ca, &c->tls.cert, &c->tls.key};
	for (size_t i = 0; rc == WN_OK && i < 3; i++) {
		if (*files[i] == NULL)
			continue;
		char *abs = wn_path_join(c->base_dir, *files[i]);
		free(*files[i]);
		*files[i] = abs;
	}
	return rc;
}

const wn_conf_key *wn_wconfig_keys(size_t *n)
{
	*n = WN_ARRAY_LEN(wconfig_keys);
	return wconfig_keys;
}

void wn_wconfig_free(wn_wconfig *c)
{
	if (c == NULL)
		return;
	wn_conf_release(wconfig_keys, WN_ARRAY_LEN(wconfig_keys), c);
	wn_conf_release(wconfig_tls_keys, WN_ARRAY_LEN(wconfig_tls_keys), &c->tls);
	wn_capacity_conf_release(&c->resources);
	for (size_t i = 0; i < c->ntasks; i++) {
		free(c->task_names[i]);
		wn_fmt_free(c->task_fmts[i]);
	}
	free(c->task_names);
	free(c->task_fmts);
	free(c->path);
	free(c->base_dir);
	free(c);
}

/* wconfig_tasks loads the formatter of each task of the mapping tasks into c. */
static int wconfig_tasks(const wn_conf_doc *doc, const wn_conf_node *tasks, wn_wconfig *c,
                         char **errmsg)
{
	if (wn_conf_is_null(tasks)) {
		*errmsg = wn_conf_error(doc, tasks,
		                        "'tasks' is required: say how the jobs of each task run");
		return WN_EINVAL;
	}
	if (tasks->kind != WN_CONF_MAP || tasks->n == 0) {
		*errmsg = wn_conf_error(
		    doc, tasks, "expected a mapping of task names for 'tasks', got %s",
		    tasks->kind == WN_CONF_MAP ? "an empty one" : wn_conf_kind_name(tasks->kind));
		return WN_EINVAL;
	}
	wn_fmt_env env = {.base_dir = c->base_dir,
	                  .log_dir = c->log_dir,
	                  .tail_bytes = (size_t)c->tail_bytes,
	                  .kill_grace_ms = (int)c->kill_grace_s * 1000,
	                  .slots = (int)c->slots};
	c->task_names = wn_xcalloc(tasks->n, sizeof(char *));
	c->task_fmts = wn_xcalloc(tasks->n, sizeof(wn_fmt *));
	for (size_t i = 0; i < tasks->n; i++) {
		const wn_conf_node *kn = tasks->items[2 * i], *vn = tasks->items[2 * i + 1];
		const char *why = wn_name_check(kn->str);
		if (why != NULL || strlen(kn->str) != kn->len) {
			*errmsg = wn_conf_error(doc, kn, "invalid task name '%s': %s", kn->str,
			                        why ? why : "it holds a NUL byte");
			return WN_EINVAL;
		}
		if (vn->kind != WN_CONF_MAP) {
			*errmsg = wn_conf_error(
			    doc, vn, "expected a mapping for task '%s', got %s", kn->str,
			    wn_conf_is_null(vn) ? "nothing" : wn_conf_kind_name(vn->kind));
			return WN_EINVAL;
		}
		int rc = wn_fmt_load(doc, vn, &env, &c->task_fmts[i], errmsg);
		if (rc != WN_OK)
			return rc;
		c->task_names[i] = wn_xstrdup(kn->str);
		c->ntasks++;
	}
	return WN_OK;
}

static int wconfig_from_doc(const wn_conf_doc *doc, const char *base_dir, wn_wconfig **out,
                            char **errmsg)
{
	const wn_conf_node *root = wn_conf_root(doc);
	wn_wconfig *c = wn_xcalloc(1, sizeof(*c));
	c->base_dir = wn_xstrdup(base_dir);
	int rc;
	if (root->kind != WN_CONF_MAP) {
		*errmsg = wn_conf_error(doc, root, "expected a mapping at the top level, got %s",
		                        wn_conf_kind_name(root->kind));
		rc = WN_EINVAL;
		goto fail;
	}
	rc = wn_conf_apply(doc, root, wconfig_keys, WN_ARRAY_LEN(wconfig_keys), c, errmsg);
	if (rc != WN_OK)
		goto fail;
	rc = wn_capacity_conf_load(doc, wn_conf_get(root, "resources"), &c->resources, errmsg);
	if (rc == WN_OK)
		rc = wconfig_tls(doc, wn_conf_get(root, "tls"), c, errmsg);
	if (rc != WN_OK)
		goto fail;
	if (c->name != NULL && wn_name_check(c->name) != NULL) {
		*errmsg =
		    wn_conf_error(doc, wn_conf_get(root, "name"), "invalid worker name '%s': %s",
		                  c->name, wn_name_check(c->name));
		rc = WN_EINVAL;
		goto fail;
	}
	const wn_conf_node *pn = wn_conf_get(root, "projects");
	for (size_t i = 0; i < c->projects.n; i++) {
		const char *why = wn_name_check(c->projects.v[i]);
		if (why != NULL) {
			*errmsg =
			    wn_conf_error(doc, pn->kind == WN_CONF_SEQ ? pn->items[i] : pn,
			                  "invalid project name '%s': %s", c->projects.v[i], why);
			rc = WN_EINVAL;
			goto fail;
		}
	}
	char *abs = wn_path_join(base_dir, c->log_dir);
	free(c->log_dir);
	c->log_dir = abs;
	abs = wn_path_join(base_dir, c->lock_dir != NULL ? c->lock_dir : c->log_dir);
	free(c->lock_dir);
	c->lock_dir = abs;

	rc = wconfig_tasks(doc, wn_conf_get(root, "tasks"), c, errmsg);
	if (rc != WN_OK)
		goto fail;
	*out = c;
	return WN_OK;
fail:
	wn_wconfig_free(c);
	return rc;
}

int wn_wconfig_parse(const char *name, const char *text, size_t len, const char *base_dir,
                     wn_wconfig **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	wn_conf_doc *doc = NULL;
	int rc = wn_conf_load_string(name, text, len, &doc, errmsg);
	if (rc != WN_OK)
		return rc;
	rc = wconfig_from_doc(doc, base_dir, out, errmsg);
	wn_conf_free(doc);
	return rc;
}

/* wconfig_token reads c's token from its token_file, or checks that the
 * config file (path) holding a token is private to its owner. */
static int wconfig_token(wn_wconfig *c, const char *path, char **errmsg)
{
	if (c->token != NULL && c->token_file != NULL) {
		*errmsg = wn_xasprintf("%s: set 'token' or 'token_file', not both", path);
		return WN_EINVAL;
	}
	if (c->token != NULL && wn_file_private_check(path, "worker config", errmsg) != WN_OK) {
		char *why = *errmsg;
		*errmsg = wn_xasprintf("%s holds a token: %s (or keep the token in a token_file)",
		                       path, why);
		free(why);
		return WN_EPERM;
	}
	if (c->token != NULL)
		return WN_OK;
	if (c->token_file == NULL)
		return WN_OK;
	char *abs = wn_path_join(c->base_dir, c->token_file);
	free(c->token_file);
	c->token_file = abs;
	return wn_secret_file_read(c->token_file, "token_file", &c->token, errmsg);
}

int wn_wconfig_load(const char *path, wn_wconfig **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	char cwd[PATH_MAX];
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		*errmsg = wn_xasprintf("cannot get the current directory: %s", strerror(errno));
		return WN_EIO;
	}
	wn_conf_doc *doc = NULL;
	int rc = wn_conf_load_file(path, &doc, errmsg);
	if (rc != WN_OK)
		return rc;
	rc = wconfig_from_doc(doc, cwd, out, errmsg);
	wn_conf_free(doc);
	if (rc == WN_OK)
		(*out)->path = wn_xstrdup(path);
	if (rc == WN_OK && (rc = wconfig_token(*out, path, errmsg)) != WN_OK) {
		wn_wconfig_free(*out);
		*out = NULL;
	}
	return rc;
}

/* wconfig_log_dir_check: log_dir, where it exists, must be a directory
 * (followed: the operator's, it may be a link); else every job would fail
 * with it, one after the other. */
static int wconfig_log_dir_check(const char *dir, char **errmsg)
{
	struct stat st;
	if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		*errmsg = wn_xasprintf("log_dir %s is not a directory", dir);
	else if (stat(dir, &st) != 0 && errno == ENOTDIR)
		*errmsg =
		    wn_xasprintf("log_dir %s cannot be made: a part of its path is a file", dir);
	return *errmsg == NULL ? WN_OK : WN_EINVAL;
}

/* wconfig_tls_check: the files tls names can be read (--check says so, not
 * the first connection). */
static int wconfig_tls_check(const wn_wtls *t, char **errmsg)
{
	const char *const names[] = {"ca", "cert", "key"};
	const char *const files[] = {t->ca, t->cert, t->key};
	for (size_t i = 0; i < WN_ARRAY_LEN(files); i++)
		if (files[i] != NULL && access(files[i], R_OK) != 0) {
			*errmsg = wn_xasprintf("tls %s %s cannot be read: %s", names[i], files[i],
			                       strerror(errno));
			return WN_EINVAL;
		}
	return WN_OK;
}

int wn_wconfig_check(const wn_wconfig *c, char **errmsg)
{
	*errmsg = NULL;
	if (c->projects.n == 0) {
		*errmsg = wn_xstrdup("no project to serve: set 'projects' in the config or pass "
		                     "--project NAME");
		return WN_EINVAL;
	}
	for (size_t i = 0; i < c->projects.n; i++) {
		const char *why = wn_name_check(c->projects.v[i]);
		if (why != NULL) {
			*errmsg =
			    wn_xasprintf("invalid project name '%s': %s", c->projects.v[i], why);
			return WN_EINVAL;
		}
	}
	if (c->name != NULL && wn_name_check(c->name) != NULL) {
		*errmsg =
		    wn_xasprintf("invalid worker name '%s': %s", c->name, wn_name_check(c->name));
		return WN_EINVAL;
	}
	if (c->ntasks == 0) {
		*errmsg = wn_xstrdup("no task configured: say in 'tasks' how jobs run");
		return WN_EINVAL;
	}
	/* past them, the server refuses the worker's Join */
	if (c->projects.n > WN_JOIN_PROJECTS_MAX || c->ntasks > WN_JOIN_TASKS_MAX) {
		*errmsg =
		    wn_xasprintf("%zu %s: a worker serves at most %d projects and %d tasks",
		                 c->projects.n > WN_JOIN_PROJECTS_MAX ? c->projects.n : c->ntasks,
		                 c->projects.n > WN_JOIN_PROJECTS_MAX ? "projects" : "tasks",
		                 WN_JOIN_PROJECTS_MAX, WN_JOIN_TASKS_MAX);
		return WN_EINVAL;
	}
	wn_wire_url url;
	char *why = NULL;
	if (c->server != NULL && wn_wire_url_parse(c->server, &url, &why) != WN_OK) {
		*errmsg = wn_xasprintf("bad server address %s: %s", c->server, why);
		free(why);
		return WN_EINVAL;
	}
	if (c->server != NULL && url.tls && wconfig_tls_check(&c->tls, errmsg) != WN_OK)
		return WN_EINVAL;
	return wconfig_log_dir_check(c->log_dir, errmsg);
}

const wn_fmt *wn_wconfig_task(const wn_wconfig *c, const char *name)
{
	for (size_t i = 0; i < c->ntasks; i++)
		if (strcmp(c->task_names[i], name) == 0)
			return c->task_fmts[i];
	return NULL;
}
