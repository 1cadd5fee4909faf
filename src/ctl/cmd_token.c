/* wnctl token: create, list, revoke. Named tokens with roles (admin only). */
#include "ctl.h"
#include "methods.h"
#include "table.h"
#include "util.h"

#include <string.h>

enum { OPT_ROLE = 1, OPT_PROJECT, OPT_WORKER };

static const struct option token_create_opts[] = {
    {"role", required_argument, NULL, OPT_ROLE},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"worker", required_argument, NULL, OPT_WORKER},
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp token_create_help[] = {
    {"--role R", "admin, user, worker or reader (required)"},
    {"--project P", "user or worker: only project P (repeatable; default every project)"},
    {"--worker W", "worker: act only as worker W, a name or a pattern such as 'gpu-*' "
                   "(repeatable; default the token's own name)"},
    {NULL, NULL},
};

/* token_strv appends s to the context-owned list *v of *n. */
static void token_strv(wn_ctl *c, char ***v, size_t *n, const char *s)
{
	char **nv = wn_ctl_alloc(c, (*n + 2) * sizeof(char *));
	if (*n > 0)
		memcpy(nv, *v, *n * sizeof(char *));
	nv[(*n)++] = wn_ctl_strdup(c, s);
	*v = nv;
}

/* token_join is v's n strings joined with ", " ("-" for none). */
static const char *token_join(wn_ctl *c, char **v, size_t n)
{
	if (n == 0)
		return "-";
	char *s = wn_ctl_strdup(c, v[0]);
	for (size_t i = 1; i < n; i++)
		s = wn_ctl_printf(c, "%s,%s", s, v[i]);
	return s;
}

/* token_first_check refuses a first token that is not an admin's: on a
 * server without tokens (a call without a token lists none) it would turn
 * them on with no one able to manage them. */
static void token_first_check(wn_ctl *c, int role)
{
	if (role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_ADMIN || wn_ctl_has_token(c))
		return; /* a caller with a token: tokens are on */
	Whatsnext__V1__ListTokensRequest req = WHATSNEXT__V1__LIST_TOKENS_REQUEST__INIT;
	int code = 0;
	Whatsnext__V1__ListTokensResponse *r =
	    wn_ctl_call_try(c, WN_PATH_TOKEN_LIST, &req.base,
	                    &whatsnext__v1__list_tokens_response__descriptor, 0, &code);
	if (r == NULL || r->n_tokens > 0 || wn_ctl_has_token(c))
		return; /* tokens are on ($WN_TOKEN_FILE was read), or Create says why not */
	wn_ctl_die(c, WN_CTL_EXIT_PRECONDITION,
	           "the server has no tokens yet: the first one turns them on, and with only a %s "
	           "token no one could manage tokens; create an admin token first (wnctl token "
	           "create NAME --role admin)",
	           wn_ctl_enum(c, &whatsnext__v1__token_role__descriptor, role));
}

static int token_create(wn_ctl *c)
{
	Whatsnext__V1__Token t = WHATSNEXT__V1__TOKEN__INIT;
	int ch;
	while ((ch = wn_ctl_getopt(c)) != 0) {
		if (ch == OPT_ROLE)
			t.role = wn_ctl_parse_enum(c, "--role",
			                           &whatsnext__v1__token_role__descriptor, optarg);
		else if (ch == OPT_PROJECT)
			token_strv(c, &t.projects, &t.n_projects, optarg);
		else if (ch == OPT_WORKER)
			token_strv(c, &t.workers, &t.n_workers, optarg);
	}
	char **a = wn_ctl_args(c, 1, 1, NULL);
	if (t.role == WHATSNEXT__V1__TOKEN_ROLE__TOKEN_ROLE_UNSPECIFIED)
		wn_ctl_usage(c, "a token needs --role admin, user, worker or reader");
	t.name = a[0];
	token_first_check(c, t.role);
	Whatsnext__V1__CreateTokenRequest req = WHATSNEXT__V1__CREATE_TOKEN_REQUEST__INIT;
	req.token = &t;
	Whatsnext__V1__CreateTokenResponse *r =
	    wn_ctl_call(c, WN_PATH_TOKEN_CREATE, &req.base,
	                &whatsnext__v1__create_token_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	/* the secret alone on stdout, for `> file`; the rest is a diagnostic */
	printf("%s\n", r->secret);
	fflush(stdout);
	fprintf(stderr,
	        "wnctl: token %s (%s) created; its secret above is shown this once: keep it in a "
	        "file only its user can read (chmod 600)\n",
	        r->token->name,
	        wn_ctl_enum(c, &whatsnext__v1__token_role__descriptor, r->token->role));
	return WN_CTL_EXIT_OK;
}

static int token_list(wn_ctl *c)
{
	while (wn_ctl_getopt(c) != 0)
		;
	wn_ctl_args(c, 0, 0, NULL);
	Whatsnext__V1__ListTokensRequest req = WHATSNEXT__V1__LIST_TOKENS_REQUEST__INIT;
	Whatsnext__V1__ListTokensResponse *r = wn_ctl_call(
	    c, WN_PATH_TOKEN_LIST, &req.base, &whatsnext__v1__list_tokens_response__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	static const char *const cols[] = {"NAME",       "ROLE",    "PROJECTS", "WORKERS",
	                                   "CREATED-BY", "CREATED", NULL};
	wn_table *t = wn_table_new(cols);
	for (size_t i = 0; i < r->n_tokens; i++) {
		const Whatsnext__V1__Token *k = r->tokens[i];
		wn_table_add(t, "%s", k->name);
		wn_table_add(t, "%s",
		             wn_ctl_enum(c, &whatsnext__v1__token_role__descriptor, k->role));
		wn_table_add(t, "%s", token_join(c, k->projects, k->n_projects));
		wn_table_add(t, "%s",
		             k->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER && k->n_workers == 0
		                 ? k->name
		                 : token_join(c, k->workers, k->n_workers));
		wn_table_add(t, "%s", k->created_by[0] ? k->created_by : "-");
		wn_table_add(t, "%s", wn_ctl_time(c, k->created_ms));
	}
	wn_table_print(t, stdout);
	wn_table_free(t);
	return WN_CTL_EXIT_OK;
}

static const struct option token_revoke_opts[] = {
    WN_CTL_YES_OPT,
    {NULL, 0, NULL, 0},
};

static const struct wn_ctl_opthelp token_revoke_help[] = {
    WN_CTL_YES_HELP,
    {NULL, NULL},
};

static int token_revoke(wn_ctl *c)
{
	while (wn_ctl_getopt(c) != 0)
		;
	char **a = wn_ctl_args(c, 1, 1, NULL);
	Whatsnext__V1__RevokeTokenRequest req = WHATSNEXT__V1__REVOKE_TOKEN_REQUEST__INIT;
	req.name = a[0];
	wn_ctl_confirm(c, "revoke token %s: every call with it is refused from now on", req.name);
	Whatsnext__V1__Token *r =
	    wn_ctl_call(c, WN_PATH_TOKEN_REVOKE, &req.base, &whatsnext__v1__token__descriptor, 0);
	if (wn_ctl_json(c)) {
		wn_ctl_print_message(&r->base);
		return WN_CTL_EXIT_OK;
	}
	printf("revoked token %s (%s)\n", r->name,
	       wn_ctl_enum(c, &whatsnext__v1__token_role__descriptor, r->role));
	return WN_CTL_EXIT_OK;
}

static const struct wn_ctl_verb token_verbs[] = {
    {"create", token_create, "NAME --role R [--project P]... [--worker W]...",
     "Create token NAME with role R and print its secret on stdout, this once: admin may "
     "do everything; user manages projects, tasks, jobs and sweeps (of the projects given, "
     "if any) and reads; worker joins, fetches, heartbeats, completes and releases under "
     "its worker names and reads tasks; reader reads.",
     token_create_opts, token_create_help},
    {"list", token_list, "",
     "List the tokens: name, role, limits, who created them and when "
     "(never their secrets).",
     NULL, NULL},
    {"revoke", token_revoke, "NAME [--yes]",
     "Revoke token NAME: its next call, even one of a running worker, is refused; asks first "
     "on a terminal unless --yes.",
     token_revoke_opts, token_revoke_help},
};

const struct wn_ctl_noun wn_ctl_token = {
    "token",
    "Named tokens with roles, for the server's callers (admin only).",
    token_verbs,
    WN_ARRAY_LEN(token_verbs),
};
