/* wnctl project: create, show, list, update, archive, unarchive, delete. */
#include "ctl.h"
#include "methods.h"
#include "table.h"
#include "util.h"

#include <string.h>

enum { OPT_DESCRIPTION = 1, OPT_STATUS, OPT_FORCE };

static const struct option project_desc_opts[] = {
    {"description", required_argument, NULL, OPT_DESCRIPTION},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp project_create_help[] = {
    {"--description T", "what the project is for"},
    {NULL, NULL},
};

static const struct wn_ctl_opthelp project_update_help[] = {
    {"--description T", "the new description (required)"},
    {NULL, NULL},
};

static const struct option project_list_opts[] = {
    {"status", required_argument, NULL, OPT_STATUS},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp project_list_help[] = {
    {"--status S", "only projects in this state: active or archived"},
    {NULL, NULL},
};

static const struct option project_delete_opts[] = {
    {"force", no_argument, NULL, OPT_FORCE},
    WN_CTL_YES_OPT,
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp project_delete_help[] = {
    {"--force", "delete even while jobs of the project are running"},
    WN_CTL_YES_HELP,
    {NULL, NULL},
};

/* project_print prints a project as "key: value" lines, or as JSON. */
static void project_print(wn_ctl *c, const Whatsnext__V1__Project *p)
{
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&p->base);
		return;
	}
	wn_ctl_field("name", "%s", p->name);
	wn_ctl_field("status", "%s",
	             wn_ctl_enum(c, &whatsnext__v1__project_status__descriptor, p->status));
	wn_ctl_field("description", "%s", p->description);
	wn_ctl_field("created", "%s", wn_ctl_time(c, p->created_ms));
	wn_ctl_field("updated", "%s", wn_ctl_time(c, p->updated_ms));
}

static int project_create(wn_ctl *c)
{
	Whatsnext__V1__CreateProjectRequest req = WHATSNEXT__V1__CREATE_PROJECT_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_DESCRIPTION)
			req.description = optarg;
	char **a = wn_ctl_args(c, 1, 1, NULL);
	req.name = a[0];
	Whatsnext__V1__Project *p = wn_ctl_call(c, WN_PATH_PROJECT_CREATE, &req.base,
	                                        &whatsnext__v1__project__descriptor, 0);
	if (wn_ctl_json(c))
		project_print(c, p);
	else
		printf("created project %s\n", p->name);
	return WN_CTL_EXIT_OK;
}

static int project_show(wn_ctl *c)
{
	Whatsnext__V1__GetProjectRequest req = WHATSNEXT__V1__GET_PROJECT_REQUEST__INIT;
	req.name = wn_ctl_args(c, 1, 1, NULL)[0];
	Whatsnext__V1__Project *p =
	    wn_ctl_call(c, WN_PATH_PROJECT_GET, &req.base, &whatsnext__v1__project__descriptor, 0);
	project_print(c, p);
	return WN_CTL_EXIT_OK;
}

static int project_list(wn_ctl *c)
{
	Whatsnext__V1__ListProjectsRequest req = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_STATUS)
			req.status = wn_ctl_parse_enum(
			    c, "--status", &whatsnext__v1__project_status__descriptor, optarg);
	wn_ctl_args(c, 0, 0, NULL);
	Whatsnext__V1__ListProjectsResponse *r =
	    wn_ctl_call(c, WN_PATH_PROJECT_LIST, &req.base,
	                &whatsnext__v1__list_projects_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	static const char *const cols[] = {"NAME", "STATUS", "CREATED", "DESCRIPTION", NULL};
	wn_table *t = wn_table_new(cols);
	for (size_t i = 0; i < r->n_projects; i++) {
		const Whatsnext__V1__Project *p = r->projects[i];
		wn_table_add(t, "%s", p->name);
		wn_table_add(t, "%s",
		             wn_ctl_enum(c, &whatsnext__v1__project_status__descriptor, p->status));
		wn_table_add(t, "%s", wn_ctl_time(c, p->created_ms));
		wn_table_add(t, "%s", p->description);
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	return WN_CTL_EXIT_OK;
}

/* project_set sends an UpdateProjectRequest and prints the result; what is
 * the human confirmation ("archived"), NULL to print the project. */
static int project_set(wn_ctl *c, Whatsnext__V1__UpdateProjectRequest *req, const char *what)
{
	Whatsnext__V1__Project *p = wn_ctl_call(c, WN_PATH_PROJECT_UPDATE, &req->base,
	                                        &whatsnext__v1__project__descriptor, 0);
	if (what != NULL && !wn_ctl_json(c))
		printf("project %s: %s\n", p->name, what);
	else
		project_print(c, p);
	return WN_CTL_EXIT_OK;
}

static int project_update(wn_ctl *c)
{
	Whatsnext__V1__UpdateProjectRequest req = WHATSNEXT__V1__UPDATE_PROJECT_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_DESCRIPTION) {
			req.set_description = 1;
			req.description = optarg;
		}
	}
	req.name = wn_ctl_args(c, 1, 1, NULL)[0];
	if (!req.set_description)
		wn_ctl_usage(c, "nothing to update: give --description");
	return project_set(c, &req, NULL);
}

static int project_archive(wn_ctl *c)
{
	Whatsnext__V1__UpdateProjectRequest req = WHATSNEXT__V1__UPDATE_PROJECT_REQUEST__INIT;
	req.name = wn_ctl_args(c, 1, 1, NULL)[0];
	req.status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ARCHIVED;
	return project_set(c, &req, "archived");
}

static int project_unarchive(wn_ctl *c)
{
	Whatsnext__V1__UpdateProjectRequest req = WHATSNEXT__V1__UPDATE_PROJECT_REQUEST__INIT;
	req.name = wn_ctl_args(c, 1, 1, NULL)[0];
	req.status = WHATSNEXT__V1__PROJECT_STATUS__PROJECT_ACTIVE;
	return project_set(c, &req, "active");
}

static int project_delete(wn_ctl *c)
{
	Whatsnext__V1__DeleteProjectRequest req = WHATSNEXT__V1__DELETE_PROJECT_REQUEST__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0)
		if (ch == OPT_FORCE)
			req.force = 1;
	req.name = wn_ctl_args(c, 1, 1, NULL)[0];
	wn_ctl_confirm(c, "delete project %s with all its tasks and jobs", req.name);
	Whatsnext__V1__DeleteProjectResponse *r =
	    wn_ctl_call(c, WN_PATH_PROJECT_DELETE, &req.base,
	                &whatsnext__v1__delete_project_response__descriptor, 0);
	if (wn_ctl_json(c))
		wn_ctl_print_message(&r->base);
	else
		printf("deleted project %s (%s, %s removed)\n", req.name,
		       wn_ctl_count(c, r->tasks_removed, "task", NULL),
		       wn_ctl_count(c, r->jobs_removed, "job", NULL));
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb project_verbs[] = {
    {"create", project_create, "NAME [--description T]", "Create a project.", project_desc_opts,
     project_create_help},
    {"show", project_show, "NAME", "Show a project.", NULL, NULL},
    {"list", project_list, "[--status active|archived]", "List projects.", project_list_opts,
     project_list_help},
    {"update", project_update, "NAME --description T", "Change a project's description.",
     project_desc_opts, project_update_help},
    {"archive", project_archive, "NAME",
     "Archive a project: its jobs stay, but none is handed out.", NULL, NULL},
    {"unarchive", project_unarchive, "NAME", "Make an archived project active again.", NULL, NULL},
    {"delete", project_delete, "NAME [--force] [--yes]",
     "Delete a project with its tasks and jobs; refused while jobs run unless --force; asks first "
     "on a terminal unless --yes.",
     project_delete_opts, project_delete_help},
};

const struct wn_ctl_noun wn_ctl_project = {
    "project",
    "Projects: named groups of tasks and jobs; archived projects hand out no jobs.",
    project_verbs,
    WN_ARRAY_LEN(project_verbs),
};
