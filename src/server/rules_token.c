/* rules_token: what a token record must be (rules.h). */
#include "rules.h"

#include "util.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

/* The roles by their TokenRole value. */
static const char *const role_names[] = {"", "admin", "user", "worker", "reader"};

const char *wn_role_name(int role)
{
	return role > 0 && role < (int)WN_ARRAY_LEN(role_names) ? role_names[role] : "";
}

/* pattern_check says what is wrong with a worker name pattern, or NULL: a
 * name, or one with '*' and '?' in it. */
static const char *pattern_check(const char *p)
{
	char plain[WN_NAME_MAX + 1];
	size_t n = strlen(p);
	if (n == 0 || n > WN_NAME_MAX)
		return "a worker name is 1 to 128 bytes";
	for (size_t i = 0; i <= n; i++)
		plain[i] = p[i] == '*' || p[i] == '?' ? 'x' : p[i];
	return wn_name_check(plain);
}

const char *wn_token_check(const Whatsnext__V1__Token *t, char *buf, size_t cap)
{
	const char *why = wn_name_check(t->name);
	if (why != NULL) {
		snprintf(buf, cap, "invalid token name \"%.140s\": %s", t->name ? t->name : "",
		         why);
		return buf;
	}
	if (strcmp(t->name, WN_TOKEN_BOOTSTRAP) == 0)
		return "the name \"" WN_TOKEN_BOOTSTRAP "\" is the bootstrap admin token's";
	if (wn_role_name((int)t->role)[0] == '\0')
		return "a token needs a role: admin, user, worker or reader";
	bool projects = t->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_USER ||
	                t->role == WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER;
	if (t->n_projects > 0 && !projects)
		return "only user and worker tokens are limited to projects";
	if (t->n_workers > 0 && t->role != WHATSNEXT__V1__TOKEN_ROLE__ROLE_WORKER)
		return "only worker tokens name workers";
	if (t->n_projects > WN_NAME_MAX || t->n_workers > WN_NAME_MAX)
		return "a token names at most 128 projects and 128 workers";
	for (size_t i = 0; i < t->n_projects; i++)
		if ((why = wn_name_check(t->projects[i])) != NULL) {
			snprintf(buf, cap, "invalid project name \"%.140s\": %s", t->projects[i],
			         why);
			return buf;
		}
	for (size_t i = 0; i < t->n_workers; i++)
		if ((why = pattern_check(t->workers[i])) != NULL) {
			snprintf(buf, cap, "invalid worker name \"%.140s\": %s", t->workers[i],
			         why);
			return buf;
		}
	return NULL;
}
