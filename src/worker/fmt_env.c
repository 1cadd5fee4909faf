/* fmt_env: the checks of a task's 'env' mapping (fmt.h), shared by the
 * formatters. */
#include "fmt.h"

#include "err.h"
#include "util.h"

#include <stddef.h>
#include <string.h>

static bool fmt_env_name_ok(const char *s)
{
	if (s[0] == '\0' || (s[0] >= '0' && s[0] <= '9'))
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_'))
			return false;
	return true;
}

/* The variables the worker gives each run itself (docs/worker.md): a task's
 * env that set one would take the run's results file, log, mark or devices
 * from under the worker (WN_RESULTS elsewhere: its results lost; another
 * CUDA_VISIBLE_DEVICES: a device another job holds). */
static const char *const fmt_env_own[] = {
    "WN_JOB_ID",           "WN_JOB_NAME", "WN_PROJECT", "WN_TASK", "WN_ATTEMPT", "WN_WORKER",
    "WN_SERVER",           "WN_LOG",      "WN_RESULTS", "WN_RUN",  "WN_CPUS",    "WN_MEMORY_MB",
    "CUDA_VISIBLE_DEVICES"};

static bool fmt_env_is_own(const char *s)
{
	for (size_t i = 0; i < WN_ARRAY_LEN(fmt_env_own); i++)
		if (strcmp(s, fmt_env_own[i]) == 0)
			return true;
	return false;
}

int wn_fmt_check_env(const wn_conf_doc *doc, const wn_conf_node *task, const wn_conf_strmap *env,
                     char **errmsg)
{
	const wn_conf_node *envn = wn_conf_get(task, "env");
	for (size_t i = 0; i < env->n; i++) {
		if (!fmt_env_name_ok(env->keys[i])) {
			*errmsg = wn_conf_error(doc, envn->items[2 * i],
			                        "invalid environment variable name '%s' in 'env'",
			                        env->keys[i]);
			return WN_EINVAL;
		}
		if (fmt_env_is_own(env->keys[i])) {
			*errmsg = wn_conf_error(
			    doc, envn->items[2 * i],
			    "'env' cannot set %s: the worker sets it for each run", env->keys[i]);
			return WN_EINVAL;
		}
		int rc = wn_fmt_check_template(doc, envn->items[2 * i + 1], env->keys[i],
		                               env->vals[i], errmsg);
		if (rc != WN_OK)
			return rc;
	}
	return WN_OK;
}
