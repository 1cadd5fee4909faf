#include "fmt_runai_impl.h"

#include "err.h"
#include "kit.h"
#include "runai.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How many attempts are described, the latest first: one describe (a call
 * over the network) each. A job handed back while describe failed climbs
 * one attempt each time. */
#define RUNAI_FIND_MAX 32

/* find_names renders the workload name and project of job at attempt. */
static int find_names(const runai_conf *c, const wn_fmt_job *job, uint32_t attempt, char **name,
                      char **project, char **reason)
{
	wn_fmt_job at = *job;
	at.attempt = attempt;
	const char *tmpls[] = {c->name, c->project};
	char *vals[2] = {NULL, NULL};
	int rc = wn_fmt_expand(&at, tmpls, 2, vals, reason);
	if (rc != WN_OK)
		return rc;
	*name = wn_runai_name(vals[0]);
	free(vals[0]);
	*project = vals[1];
	return WN_OK;
}

/* find_describe asks RUNAI for the status of workload name: WN_OK with
 * *status (malloc'd), or NULL when it does not exist; WN_EUNAVAIL when
 * describe fails otherwise or prints no status. */
static int find_describe(const runai_conf *c, const wn_fmt_job *job, const char *name,
                         const char *project, char **status, char **reason)
{
	static const char *const json[] = {"-o", "json", NULL};
	*status = NULL;
	char **argv = wn_runai_argv(c, "describe", true, name, project, json);
	char *out = NULL, *msg = NULL;
	int rc = wn_runai_call(c, argv, job->wake_fd > 0 ? job->wake_fd : -1, &out, &msg);
	wn_argv_free(argv);
	int code = -1;
	if (rc == 0)
		*status = wn_runai_parse_describe(out, &code);
	if ((rc == 0 && *status != NULL) || wn_runai_not_found(rc, msg, name)) {
		rc = WN_OK;
	} else if (rc == WN_ESTATE) {
		*reason = wn_xasprintf("looking for job %llu in RUNAI given up (%s)",
		                       (unsigned long long)job->id, msg);
	} else {
		char *said = rc == 0 ? wn_runai_printed(out) : NULL;
		*reason = wn_xasprintf("cannot tell whether RUNAI has job %llu already "
		                       "(describe %s: %s%s)",
		                       (unsigned long long)job->id, name,
		                       rc == 0 ? "no status in what it prints: " : msg,
		                       rc == 0 ? said : "");
		free(said);
		rc = WN_EUNAVAIL;
	}
	free(out);
	free(msg);
	return rc;
}

int wn_runai_find(const runai_conf *c, const wn_fmt_job *job, bool same, wn_runai_found *found,
                  char **reason)
{
	memset(found, 0, sizeof(*found));
	char *mine = NULL, *project = NULL, *last = NULL;
	int rc = find_names(c, job, job->attempt, &mine, &project, reason);
	free(project);
	if (rc != WN_OK)
		return rc;
	uint32_t top = same ? job->attempt : job->attempt - 1;
	for (uint32_t att = top; att >= 1 && top - att < RUNAI_FIND_MAX && rc == WN_OK; att--) {
		char *name = NULL, *status = NULL;
		project = NULL;
		rc = find_names(c, job, att, &name, &project, reason);
		/* a name without {attempt}: described once for all */
		if (rc == WN_OK && (last == NULL || strcmp(last, name) != 0))
			rc = find_describe(c, job, name, project, &status, reason);
		free(project);
		free(last);
		last = name;
		if (rc != WN_OK || status == NULL)
			continue;
		/* the first that exists: a later attempt was submitted only
		 * after the earlier ones were looked at */
		wn_runai_end end = wn_runai_status_end(status);
		bool follow =
		    att == job->attempt || end == WN_RUNAI_ACTIVE || end == WN_RUNAI_SUCCEEDED;
		if (follow || strcmp(name, mine) == 0) {
			found->name = wn_xstrdup(name);
			found->status = status;
			found->attempt = att;
			found->replace = !follow;
		} else {
			free(status);
		}
		break;
	}
	free(last);
	free(mine);
	return rc;
}

void wn_runai_found_release(wn_runai_found *found)
{
	free(found->name);
	free(found->status);
	memset(found, 0, sizeof(*found));
}
