#include "runai.h"

#include "util.h"

#include <ctype.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define RUNAI_NAME_MAX 63

char *wn_runai_name(const char *s)
{
	char *out = wn_xmalloc(strlen(s) + 4);
	size_t n = 0;
	bool dash = false;
	for (const char *p = s; *p; p++) {
		char c = (char)tolower((unsigned char)*p);
		bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		if (!ok) {
			if (n > 0 && !dash)
				out[n++] = '-';
			dash = true;
			continue;
		}
		if (n == 0 && !(c >= 'a' && c <= 'z')) {
			memcpy(out, "wn-", 3);
			n = 3;
		}
		out[n++] = c;
		dash = false;
	}
	while (n > 0 && out[n - 1] == '-')
		n--;
	if (n > RUNAI_NAME_MAX) {
		/* cut, and a hash of the whole name after it: two names that
		 * differ past the cut (the job id and attempt at the end of a
		 * long project's) stay two names */
		uint32_t h = 2166136261u;
		for (size_t i = 0; i < n; i++)
			h = (h ^ (uint8_t)out[i]) * 16777619u;
		n = RUNAI_NAME_MAX - 9;
		while (n > 0 && out[n - 1] == '-')
			n--;
		n += (size_t)snprintf(out + n, 10, "-%08x", h);
	}
	if (n == 0) {
		memcpy(out, "wn", 2);
		n = 2;
	}
	out[n] = '\0';
	return out;
}

wn_runai_end wn_runai_status_end(const char *status)
{
	static const char *const ok[] = {"succeeded", "completed", "complete", NULL};
	static const char *const bad[] = {"failed", "fail", NULL};
	static const char *const gone[] = {"deleted", "stopped", NULL};
	for (size_t i = 0; ok[i]; i++)
		if (strcasecmp(status, ok[i]) == 0)
			return WN_RUNAI_SUCCEEDED;
	for (size_t i = 0; bad[i]; i++)
		if (strcasecmp(status, bad[i]) == 0)
			return WN_RUNAI_FAILED;
	for (size_t i = 0; gone[i]; i++)
		if (strcasecmp(status, gone[i]) == 0)
			return WN_RUNAI_CANCELLED;
	return WN_RUNAI_ACTIVE;
}

/* runai_json_status looks for a status string in o (depth-limited). */
static const char *runai_json_status(const json_t *o, int depth)
{
	if (!json_is_object(o) || depth > 4)
		return NULL;
	static const char *const keys[] = {"status", "phase", "actualPhase", "Status", NULL};
	for (size_t i = 0; keys[i]; i++) {
		const json_t *v = json_object_get(o, keys[i]);
		if (json_is_string(v) && json_string_length(v) > 0)
			return json_string_value(v);
	}
	static const char *const nests[] = {"status", "general", "workload", "Status", NULL};
	for (size_t i = 0; nests[i]; i++) {
		const char *s = runai_json_status(json_object_get(o, nests[i]), depth + 1);
		if (s != NULL)
			return s;
	}
	return NULL;
}

/* runai_json_exit finds the first integer "exitCode" in v, with nonzero the
 * first above 0 (depth-limited); -1 for none. */
static int runai_json_exit(const json_t *v, int depth, bool nonzero)
{
	if (depth > 8)
		return -1;
	if (json_is_object(v)) {
		const json_t *e = json_object_get(v, "exitCode");
		if (json_is_integer(e) && json_integer_value(e) >= (nonzero ? 1 : 0) &&
		    json_integer_value(e) <= 255)
			return (int)json_integer_value(e);
		const char *k;
		json_t *x;
		json_object_foreach((json_t *)v, k, x)
		{
			int c = runai_json_exit(x, depth + 1, nonzero);
			if (c >= 0)
				return c;
		}
	} else if (json_is_array(v)) {
		size_t i;
		json_t *x;
		json_array_foreach(v, i, x)
		{
			int c = runai_json_exit(x, depth + 1, nonzero);
			if (c >= 0)
				return c;
		}
	}
	return -1;
}

static bool runai_word_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '_' && s[i] != '-')
			return false;
	return true;
}

char *wn_runai_parse_describe(const char *text, int *exit_code)
{
	*exit_code = -1;
	if (text == NULL)
		return NULL;
	json_error_t jerr;
	json_t *root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	/* a line of text before the JSON (a warning of the CLI's) */
	const char *brace = root == NULL ? strstr(text, "\n{") : NULL;
	if (brace != NULL)
		root = json_loads(brace + 1, JSON_REJECT_DUPLICATES, &jerr);
	if (root != NULL) {
		const json_t *o = json_is_array(root) ? json_array_get(root, 0) : root;
		const char *s = runai_json_status(o, 0);
		char *out = s && runai_word_ok(s, strlen(s)) ? wn_xstrdup(s) : NULL;
		/* the container that failed, not a sidecar that exited 0 */
		*exit_code = runai_json_exit(o, 0, true);
		if (*exit_code < 0)
			*exit_code = runai_json_exit(o, 0, false);
		json_decref(root);
		return out;
	}
	/* text: the first "Status: X" line */
	for (const char *p = text; *p;) {
		size_t n = strcspn(p, "\n");
		const char *q = p;
		while (q < p + n && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(p + n - q) > 7 && strncasecmp(q, "status", 6) == 0) {
			q += 6;
			while (q < p + n && (*q == ' ' || *q == '\t'))
				q++;
			if (q < p + n && *q == ':') {
				q++;
				while (q < p + n && (*q == ' ' || *q == '\t'))
					q++;
				size_t w = 0;
				while (q + w < p + n && !isspace((unsigned char)q[w]))
					w++;
				if (runai_word_ok(q, w))
					return strndup(q, w);
			}
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	return NULL;
}
