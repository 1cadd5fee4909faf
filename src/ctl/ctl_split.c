/* ctl_split: the lists an option takes as one argument (--status
 * failed,cancelled), alike in job list and the commands that act on the jobs
 * it lists; the K=V of --param and --label, gathered by key. */
#include "ctl.h"
#include "pbcheck.h"
#include "envelope.h"
#include "map.h"

#include <string.h>

char **wn_ctl_split(wn_ctl *c, const char *opt, const char *arg, size_t *n)
{
	size_t max = 1;
	for (const char *p = arg; *p; p++)
		max += *p == ',';
	char **v = wn_ctl_alloc(c, (max + 1) * sizeof(*v));
	char *s = wn_ctl_strdup(c, arg);
	*n = 0;
	for (char *p = s;;) {
		char *end = strchr(p, ',');
		if (end != NULL)
			*end = '\0';
		if (*p == '\0')
			wn_ctl_usage(c, "invalid %s '%s': an empty item", opt, arg);
		v[(*n)++] = p;
		if (end == NULL)
			break;
		p = end + 1;
	}
	return v;
}

const char *wn_ctl_once(wn_ctl *c, const char *opt, const char *prev, const char *value)
{
	if (prev != NULL && prev[0] != '\0' && strcmp(prev, value) != 0)
		wn_ctl_usage(c, "%s given twice ('%s', then '%s'): it takes one value", opt, prev,
		             value);
	return value;
}

uint64_t wn_ctl_once_id(wn_ctl *c, const char *opt, uint64_t prev, uint64_t value)
{
	if (prev != 0 && prev != value)
		wn_ctl_usage(c, "%s given twice (%llu, then %llu): it takes one value", opt,
		             (unsigned long long)prev, (unsigned long long)value);
	return value;
}

void wn_ctl_check_filters(wn_ctl *c, size_t nprojects, const char *glob)
{
	if (nprojects > WN_FILTER_LIST_MAX)
		wn_ctl_usage(c, "--project names %zu projects: at most %d", nprojects,
		             WN_FILTER_LIST_MAX);
	if (glob != NULL && strlen(glob) > WN_GLOB_MAX)
		wn_ctl_usage(c, "invalid --name: a glob of %zu bytes, at most %d", strlen(glob),
		             WN_GLOB_MAX);
}

void wn_ctl_utf8(wn_ctl *c, const char *what, const char *s)
{
	ptrdiff_t bad = wn_pb_utf8_check((const uint8_t *)s, strlen(s));
	if (bad >= 0)
		wn_ctl_usage(c, "invalid %s '%s': not valid UTF-8 (at byte %td)", what, s, bad);
}

void wn_ctl_parse_kv(wn_ctl *c, const char *what, const char *s, char **key, char **value)
{
	const char *eq = strchr(s, '=');
	if (eq == NULL || eq == s)
		wn_ctl_usage(c, "invalid %s '%s': expected KEY=VALUE with a non-empty key", what,
		             s);
	wn_ctl_utf8(c, what, s);
	char *k = wn_ctl_strdup(c, s);
	k[eq - s] = '\0';
	*key = k;
	*value = k + (eq - s) + 1;
}

static void ctl_map_free(void *m)
{
	wn_map_free(m);
}

void wn_ctl_kv_add(wn_ctl *c, struct wn_ctl_kv *kv, const char *what, const char *arg)
{
	char *key, *value;
	wn_ctl_parse_kv(c, what, arg, &key, &value);
	if (kv->idx == NULL) { /* thousands of --label or --param: no search through them all */
		kv->idx = wn_map_new_str();
		wn_ctl_defer(c, ctl_map_free, kv->idx);
	}
	uintptr_t at = (uintptr_t)wn_map_get_str(kv->idx, key);
	if (at != 0) {
		kv->values[at - 1] = value;
		return;
	}
	if (kv->n == kv->cap) { /* doubled: a copy for each one added held them all n times */
		kv->cap = kv->cap < 8 ? 8 : kv->cap * 2;
		char **keys = wn_ctl_alloc(c, kv->cap * sizeof(char *));
		char **values = wn_ctl_alloc(c, kv->cap * sizeof(char *));
		if (kv->n > 0) {
			memcpy(keys, kv->keys, kv->n * sizeof(char *));
			memcpy(values, kv->values, kv->n * sizeof(char *));
		}
		kv->keys = keys;
		kv->values = values;
	}
	kv->keys[kv->n] = key;
	kv->values[kv->n] = value;
	wn_map_put_str(kv->idx, key, (void *)(uintptr_t)++kv->n);
}

void wn_ctl_param_add(wn_ctl *c, struct wn_ctl_kv *kv, const char *arg)
{
	const char *eq = strchr(arg, '=');
	if (eq != NULL && eq != arg && eq[1] == '\0')
		wn_ctl_usage(c, "invalid --param '%s': empty value (a parameter needs a value)",
		             arg);
	wn_ctl_kv_add(c, kv, "--param", arg);
}
