#include "fault.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct rule {
	uint64_t after; /* calls still to succeed */
	uint64_t count; /* calls to fail after them (WN_FAULT_ALWAYS: no end) */
	int err;
};

static pthread_mutex_t fault_mu = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[WN_FAULT_NOPS];
static atomic_uint armed; /* bit op: rules[op] is set */

static const char *const op_names[WN_FAULT_NOPS] = {"write", "sync", "flush",
                                                    "open",  "read", "scan"};
/* the scan rule of wn_fault_parse, set by wn_fault_serving */
static struct rule scan_rule;
static bool scan_deferred;

static const struct {
	const char *name;
	int err;
} errnos[] = {
    {"ENOSPC", ENOSPC}, {"EIO", EIO}, {"EMFILE", EMFILE}, {"EDQUOT", EDQUOT}, {"EROFS", EROFS},
};

const char *wn_fault_name(int op)
{
	return op >= 0 && op < WN_FAULT_NOPS ? op_names[op] : "?";
}

void wn_fault_set(int op, uint64_t after, uint64_t count, int err)
{
	if (op < 0 || op >= WN_FAULT_NOPS)
		return;
	pthread_mutex_lock(&fault_mu);
	rules[op] = (struct rule){after, count, err};
	if (count > 0)
		atomic_fetch_or(&armed, 1u << op);
	else
		atomic_fetch_and(&armed, ~(1u << op));
	pthread_mutex_unlock(&fault_mu);
}

void wn_fault_clear(void)
{
	for (int op = 0; op < WN_FAULT_NOPS; op++)
		wn_fault_set(op, 0, 0, 0);
}

int wn_fault_hit(int op)
{
	if ((atomic_load_explicit(&armed, memory_order_relaxed) & (1u << op)) == 0)
		return 0;
	int err = 0;
	pthread_mutex_lock(&fault_mu);
	struct rule *r = &rules[op];
	if (r->after > 0) {
		r->after--;
	} else if (r->count > 0) {
		err = r->err;
		if (r->count != WN_FAULT_ALWAYS && --r->count == 0)
			atomic_fetch_and(&armed, ~(1u << op));
	}
	pthread_mutex_unlock(&fault_mu);
	return err;
}

/* fault_number parses a decimal count for key (no sign, at most 10^12). */
static int fault_number(const char *rule, const char *key, const char *v, uint64_t *out,
                        char **errmsg)
{
	int64_t n;
	if (v[0] < '0' || v[0] > '9' || wn_parse_i64(v, 0, 1000000000000LL, &n) != WN_OK) {
		*errmsg = wn_xasprintf("fault \"%s\": %s must be a whole number from 0 to "
		                       "1000000000000, not \"%s\"",
		                       rule, key, v);
		return WN_EINVAL;
	}
	*out = (uint64_t)n;
	return WN_OK;
}

/* fault_setting applies one KEY=VALUE of a rule to r. */
static int fault_setting(const char *rule, char *kv, struct rule *r, char **errmsg)
{
	char *eq = strchr(kv, '=');
	if (eq == NULL) {
		*errmsg = wn_xasprintf("fault \"%s\": \"%s\" is not KEY=VALUE", rule, kv);
		return WN_EINVAL;
	}
	*eq = '\0';
	const char *v = eq + 1;
	if (strcmp(kv, "after") == 0)
		return fault_number(rule, "after", v, &r->after, errmsg);
	if (strcmp(kv, "count") == 0) {
		if (strcmp(v, "always") == 0) {
			r->count = WN_FAULT_ALWAYS;
			return WN_OK;
		}
		int rv = fault_number(rule, "count", v, &r->count, errmsg);
		if (rv == WN_OK && r->count == 0) {
			*errmsg = wn_xasprintf("fault \"%s\": count must be at least 1 (or always)",
			                       rule);
			rv = WN_EINVAL;
		}
		return rv;
	}
	if (strcmp(kv, "error") == 0) {
		for (size_t i = 0; i < WN_ARRAY_LEN(errnos); i++)
			if (strcmp(v, errnos[i].name) == 0) {
				r->err = errnos[i].err;
				return WN_OK;
			}
		*errmsg = wn_xasprintf("fault \"%s\": unknown error \"%s\" (known: ENOSPC, EIO, "
		                       "EMFILE, EDQUOT, EROFS)",
		                       rule, v);
		return WN_EINVAL;
	}
	*errmsg = wn_xasprintf("fault \"%s\": unknown setting \"%s\" (known: after, count, error)",
	                       rule, kv);
	return WN_EINVAL;
}

/* fault_rule parses one OP[:KEY=VALUE]... into out[op]. */
static int fault_rule(char *rule, struct rule *out, bool *seen, char **errmsg)
{
	char *whole = wn_xstrdup(rule);
	int rv = WN_OK;
	char *save = NULL;
	char *op = strtok_r(rule, ":", &save);
	int k = -1;
	for (int i = 0; op != NULL && i < WN_FAULT_NOPS; i++)
		if (strcmp(op, op_names[i]) == 0)
			k = i;
	if (k < 0) {
		*errmsg =
		    wn_xasprintf("fault \"%s\": unknown operation \"%s\" (known: write, sync, "
		                 "flush, open, read, scan)",
		                 whole, op ? op : "");
		rv = WN_EINVAL;
	} else if (seen[k]) {
		*errmsg = wn_xasprintf("fault \"%s\": operation %s is named twice", whole, op);
		rv = WN_EINVAL;
	} else {
		seen[k] = true;
		out[k] = (struct rule){0, 1, ENOSPC};
		char *kv, *keys[3] = {NULL, NULL, NULL};
		size_t nkeys = 0;
		while (rv == WN_OK && (kv = strtok_r(NULL, ":", &save)) != NULL) {
			for (size_t i = 0; i < nkeys; i++)
				if (strncmp(keys[i], kv, strlen(keys[i])) == 0 &&
				    kv[strlen(keys[i])] == '=') {
					*errmsg = wn_xasprintf("fault \"%s\": %s is set twice",
					                       whole, keys[i]);
					rv = WN_EINVAL;
				}
			if (rv == WN_OK)
				rv = fault_setting(whole, kv, &out[k], errmsg);
			if (rv == WN_OK)
				keys[nkeys++] = kv; /* a known key, cut at its '=' */
		}
	}
	free(whole);
	return rv;
}

int wn_fault_parse(const char *spec, char **errmsg)
{
	if (spec == NULL || spec[0] == '\0') {
		*errmsg = wn_xasprintf("no fault given (example: write:after=100:count=5)");
		return WN_EINVAL;
	}
	struct rule parsed[WN_FAULT_NOPS];
	bool seen[WN_FAULT_NOPS] = {false};
	char *copy = wn_xstrdup(spec);
	int rv = WN_OK;
	char *p = copy;
	for (;;) {
		char *comma = strchr(p, ',');
		if (comma != NULL)
			*comma = '\0';
		if (p[0] == '\0' || strstr(p, "::") != NULL || p[strlen(p) - 1] == ':') {
			*errmsg = wn_xasprintf("empty fault or setting in \"%s\"", spec);
			rv = WN_EINVAL;
			break;
		}
		rv = fault_rule(p, parsed, seen, errmsg);
		if (rv != WN_OK || comma == NULL)
			break;
		p = comma + 1;
	}
	free(copy);
	if (rv != WN_OK)
		return rv;
	for (int op = 0; op < WN_FAULT_NOPS; op++)
		if (seen[op] && op != WN_FAULT_SCAN)
			wn_fault_set(op, parsed[op].after, parsed[op].count, parsed[op].err);
		else
			wn_fault_set(op, 0, 0, 0);
	pthread_mutex_lock(&fault_mu);
	scan_deferred = seen[WN_FAULT_SCAN];
	scan_rule = parsed[WN_FAULT_SCAN];
	pthread_mutex_unlock(&fault_mu);
	return WN_OK;
}

void wn_fault_serving(void)
{
	pthread_mutex_lock(&fault_mu);
	bool set = scan_deferred;
	struct rule r = scan_rule;
	scan_deferred = false;
	pthread_mutex_unlock(&fault_mu);
	if (set)
		wn_fault_set(WN_FAULT_SCAN, r.after, r.count, r.err);
}
