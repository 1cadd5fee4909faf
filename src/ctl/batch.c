/* batch: the file format of `wnctl job batch`, and dependencies written as text. */
#include "batch.h"
#include "json.h"
#include "map.h"
#include "util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- dependencies */

/* job_dep_new returns a context-owned dependency on job id (or, id 0, on the batch job named
 * ref) with the default condition. */
static Whatsnext__V1__Dependency *job_dep_new(wn_ctl *c, uint64_t id, const char *ref)
{
	Whatsnext__V1__Dependency *d = wn_ctl_alloc(c, sizeof(*d));
	whatsnext__v1__dependency__init(d);
	d->job_id = id;
	if (ref != NULL)
		d->ref = (char *)ref;
	return d;
}

/* job_dep_id parses a positive decimal job id; 0 when s is not one. */
static uint64_t job_dep_id(const char *s)
{
	uint64_t v = 0;
	if (s[0] == '\0')
		return 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	return v;
}

/* job_dep_parse parses "ID[:COND]", or with refs also "NAME[:COND]" (NAME: another job of
 * the batch), into a dependency; returns NULL with *why set when s is neither. */
Whatsnext__V1__Dependency *wn_batch_dep_parse(wn_ctl *c, const char *s, bool refs, const char **why)
{
	char *head = wn_ctl_strdup(c, s);
	int cond = WHATSNEXT__V1__DEP_CONDITION__AFTEROK;
	char *colon = strrchr(head, ':');
	if (colon != NULL &&
	    wn_json_enum_parse(&whatsnext__v1__dep_condition__descriptor, colon + 1, &cond) == 0)
		*colon = '\0';
	else if (colon != NULL && !refs) {
		*why =
		    wn_ctl_printf(c, "unknown condition '%s': must be " JOB_CONDITIONS, colon + 1);
		return NULL;
	}
	bool digits = head[0] != '\0' && strspn(head, "0123456789") == strlen(head);
	uint64_t id = job_dep_id(head);
	if (id == 0 && (!refs || head[0] == '\0' || digits)) {
		*why = refs ? "expected a job id, ID:CONDITION, the name of a job of the batch or "
		              "NAME:CONDITION"
		            : "expected a job id or ID:CONDITION";
		return NULL;
	}
	Whatsnext__V1__Dependency *d = job_dep_new(c, id, id == 0 ? head : NULL);
	d->condition = cond;
	return d;
}

/* batch_number returns the shortest text that reads back as v. */
static char *batch_number(wn_ctl *c, double v)
{
	char buf[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return wn_ctl_strdup(c, buf);
}

/* batch_dep turns one entry of a job's "after" into a dependency: a job id, a string
 * "ID[:COND]" or "NAME[:COND]", or an object {"job_id" or "ref", "condition"}. */
static Whatsnext__V1__Dependency *batch_dep(wn_ctl *c, json_t *e, const char *where)
{
	if (json_is_integer(e)) {
		if (json_integer_value(e) <= 0)
			wn_ctl_usage(c, "%s: \"after\": job ids are positive integers", where);
		return job_dep_new(c, (uint64_t)json_integer_value(e), NULL);
	}
	if (json_is_string(e)) {
		const char *why = NULL;
		Whatsnext__V1__Dependency *d =
		    wn_batch_dep_parse(c, json_string_value(e), true, &why);
		if (d == NULL)
			wn_ctl_usage(c, "%s: \"after\": invalid '%s': %s", where,
			             json_string_value(e), why);
		return d;
	}
	if (!json_is_object(e))
		wn_ctl_usage(c,
		             "%s: \"after\" holds job ids, \"ID:COND\" or \"NAME:COND\" strings, "
		             "or objects",
		             where);
	Whatsnext__V1__Dependency *d = job_dep_new(c, 0, NULL);
	const char *key;
	json_t *v;
	json_object_foreach(e, key, v)
	{
		if (strcmp(key, "job_id") == 0) {
			if (!json_is_integer(v) || json_integer_value(v) <= 0)
				wn_ctl_usage(c,
				             "%s: \"after\": \"job_id\" must be a positive integer",
				             where);
			d->job_id = (uint64_t)json_integer_value(v);
		} else if (strcmp(key, "ref") == 0) {
			if (!json_is_string(v) || json_string_length(v) == 0)
				wn_ctl_usage(c,
				             "%s: \"after\": \"ref\" must be the name of a job of "
				             "the batch",
				             where);
			d->ref = wn_ctl_strdup(c, json_string_value(v));
		} else if (strcmp(key, "condition") == 0) {
			int cond = 0;
			if (!json_is_string(v) ||
			    wn_json_enum_parse(&whatsnext__v1__dep_condition__descriptor,
			                       json_string_value(v), &cond) != 0)
				wn_ctl_usage(c,
				             "%s: \"after\": \"condition\" must be " JOB_CONDITIONS,
				             where);
			d->condition = cond;
		} else {
			wn_ctl_usage(c, "%s: \"after\": unknown field \"%s\"", where, key);
		}
	}
	if ((d->job_id != 0) == (d->ref[0] != '\0'))
		wn_ctl_usage(c, "%s: \"after\": an object needs either \"job_id\" or \"ref\"",
		             where);
	return d;
}

/* batch_spec turns one JSON object into a job spec; where names it in errors. */
static Whatsnext__V1__JobSpec *batch_spec(wn_ctl *c, json_t *o, const char *where,
                                          const char *project, const char *task)
{
	if (!json_is_object(o))
		wn_ctl_usage(c, "%s: a job must be a JSON object", where);
	Whatsnext__V1__JobSpec *s = wn_ctl_alloc(c, sizeof(*s));
	whatsnext__v1__job_spec__init(s);
	s->project = project ? (char *)project : "";
	s->task = task ? (char *)task : "";
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "project") == 0 || strcmp(key, "task") == 0 ||
		    strcmp(key, "name") == 0) {
			if (!json_is_string(v))
				wn_ctl_usage(c, "%s: \"%s\" must be a string", where, key);
			char *str = wn_ctl_strdup(c, json_string_value(v));
			if (key[0] == 'p')
				s->project = str;
			else if (key[0] == 't')
				s->task = str;
			else
				s->name = str;
		} else if (strcmp(key, "priority") == 0) {
			json_int_t p = json_integer_value(v);
			if (!json_is_integer(v) || p < INT32_MIN || p > INT32_MAX)
				wn_ctl_usage(c, "%s: \"priority\" must be an integer from %d to %d",
				             where, INT32_MIN, INT32_MAX);
			s->priority = (int32_t)p;
		} else if (strcmp(key, "params") == 0) {
			if (!json_is_object(v))
				wn_ctl_usage(c, "%s: \"params\" must be an object", where);
			size_t n = json_object_size(v);
			s->params = wn_ctl_alloc(c, (n + 1) * sizeof(*s->params));
			const char *pk;
			json_t *pv;
			json_object_foreach(v, pk, pv)
			{
				if (pk[0] == '\0')
					wn_ctl_usage(c, "%s: a parameter has an empty name", where);
				Whatsnext__V1__JobSpec__ParamsEntry *e =
				    wn_ctl_alloc(c, sizeof(*e));
				whatsnext__v1__job_spec__params_entry__init(e);
				e->key = wn_ctl_strdup(c, pk);
				if (json_is_string(pv))
					e->value = wn_ctl_strdup(c, json_string_value(pv));
				else if (json_is_integer(pv))
					e->value = wn_ctl_printf(c, "%" JSON_INTEGER_FORMAT,
					                         json_integer_value(pv));
				else if (json_is_real(pv))
					e->value = batch_number(c, json_real_value(pv));
				else if (json_is_boolean(pv))
					e->value = json_is_true(pv) ? "true" : "false";
				else
					wn_ctl_usage(
					    c,
					    "%s: parameter \"%s\" must be a string, number or "
					    "boolean",
					    where, pk);
				s->params[s->n_params++] = e;
			}
		} else if (strcmp(key, "after") == 0) {
			size_t n = json_is_array(v) ? json_array_size(v) : 1;
			s->after = wn_ctl_alloc(c, (n + 1) * sizeof(*s->after));
			for (size_t i = 0; i < n; i++) {
				json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
				s->after[s->n_after++] = batch_dep(c, e, where);
			}
		} else {
			wn_ctl_usage(c, "%s: unknown field \"%s\"", where, key);
		}
	}
	if (s->project[0] == '\0')
		wn_ctl_usage(c, "%s: no \"project\" (give one, or --project)", where);
	if (s->task[0] == '\0')
		wn_ctl_usage(c, "%s: no \"task\" (give one, or --task)", where);
	return s;
}

/* A place in a batch file: a byte offset and its 1-based line. */
struct batch_pos {
	size_t off;
	int line;
};

/* batch_line returns the line of byte off in buf, counting on from *pos (off >= pos->off),
 * which moves to off: reading a file line by line costs its length, not its square. */
static int batch_line(const char *buf, size_t off, struct batch_pos *pos)
{
	for (; pos->off < off; pos->off++)
		pos->line += buf[pos->off] == '\n';
	return pos->line;
}

static size_t batch_skip_space(const char *buf, size_t len, size_t off)
{
	while (off < len &&
	       (buf[off] == ' ' || buf[off] == '\t' || buf[off] == '\n' || buf[off] == '\r'))
		off++;
	return off;
}

/* A batch being read: its jobs, and where each was written (for messages). */
struct batch {
	Whatsnext__V1__JobSpec **jobs;
	const char **where;
	size_t n, cap;
};

static void batch_add(wn_ctl *c, struct batch *b, Whatsnext__V1__JobSpec *s, const char *where)
{
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		Whatsnext__V1__JobSpec **jobs = wn_ctl_alloc(c, b->cap * sizeof(*jobs));
		const char **wh = wn_ctl_alloc(c, b->cap * sizeof(*wh));
		if (b->n > 0) {
			memcpy(jobs, b->jobs, b->n * sizeof(*jobs));
			memcpy(wh, b->where, b->n * sizeof(*wh));
		}
		b->jobs = jobs;
		b->where = wh;
	}
	b->jobs[b->n] = s;
	b->where[b->n++] = where;
}

/* batch_array reads a JSON array of jobs; where names the array in errors. */
static void batch_array(wn_ctl *c, struct batch *b, json_t *array, const char *where,
                        const char *project, const char *task)
{
	size_t n = json_array_size(array);
	for (size_t i = 0; i < n; i++) {
		const char *w = wn_ctl_printf(c, "%s: job %zu", where, i + 1);
		batch_add(c, b, batch_spec(c, json_array_get(array, i), w, project, task), w);
	}
}

/* batch_sweep reads the "sweep" object of a batch file into spec. */
static void batch_sweep(wn_ctl *c, json_t *o, const char *where, Whatsnext__V1__SweepSpec *spec)
{
	if (!json_is_object(o))
		wn_ctl_usage(c, "%s: \"sweep\" must be an object {\"name\", \"max_running\"}",
		             where);
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "name") == 0) {
			if (!json_is_string(v))
				wn_ctl_usage(c, "%s: \"sweep\": \"name\" must be a string", where);
			spec->name = wn_ctl_strdup(c, json_string_value(v));
		} else if (strcmp(key, "max_running") == 0) {
			json_int_t m = json_integer_value(v);
			if (!json_is_integer(v) || m < 0 || m > UINT32_MAX)
				wn_ctl_usage(
				    c,
				    "%s: \"sweep\": \"max_running\" must be an integer from 0 "
				    "to %u",
				    where, UINT32_MAX);
			spec->max_running = (uint32_t)m;
		} else {
			wn_ctl_usage(c, "%s: \"sweep\": unknown field \"%s\"", where, key);
		}
	}
}

/* batch_wrapper reads a batch file written as one object {"sweep": {...}, "jobs": [...]};
 * returns false when buf is not one (then it is read as one job per line). */
static bool batch_wrapper(wn_ctl *c, struct batch *b, const char *buf, size_t len, const char *name,
                          const char *project, const char *task, Whatsnext__V1__SweepSpec *sweep,
                          bool *has_sweep)
{
	json_error_t err;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	if (o == NULL || !json_is_object(o) || json_object_get(o, "jobs") == NULL) {
		json_decref(o);
		return false;
	}
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "jobs") == 0) {
			if (!json_is_array(v))
				wn_ctl_usage(c, "%s: \"jobs\" must be an array", name);
			batch_array(c, b, v, name, project, task);
		} else if (strcmp(key, "sweep") == 0) {
			batch_sweep(c, v, name, sweep);
			*has_sweep = true;
		} else {
			wn_ctl_usage(c,
			             "%s: unknown field \"%s\" (a batch object holds \"jobs\" and "
			             "\"sweep\")",
			             name, key);
		}
	}
	json_decref(o);
	return true;
}

static void job_map_free(void *m)
{
	wn_map_free(m);
}

/* batch_refs checks that every dependency given by name names exactly one job of the batch. */
static void batch_refs(wn_ctl *c, const struct batch *b)
{
	wn_map *names = wn_map_new_str();
	wn_ctl_defer(c, job_map_free, names);
	static char once, twice;
	for (size_t i = 0; i < b->n; i++) {
		const char *n = b->jobs[i]->name;
		if (n[0] != '\0')
			wn_map_put_str(names, n, wn_map_get_str(names, n) == NULL ? &once : &twice);
	}
	for (size_t i = 0; i < b->n; i++) {
		for (size_t k = 0; k < b->jobs[i]->n_after; k++) {
			const char *ref = b->jobs[i]->after[k]->ref;
			if (ref[0] == '\0')
				continue;
			void *v = wn_map_get_str(names, ref);
			if (v == NULL)
				wn_ctl_usage(c, "%s: \"after\": no job of the batch is named '%s'",
				             b->where[i], ref);
			if (v == &twice)
				wn_ctl_usage(
				    c,
				    "%s: \"after\": '%s' is ambiguous: several jobs of the batch "
				    "have that name",
				    b->where[i], ref);
		}
	}
}

void wn_batch_parse(wn_ctl *c, const char *buf, size_t len, const char *name, const char *project,
                    const char *task, struct wn_batch_result *out)
{
	Whatsnext__V1__SweepSpec sweep = WHATSNEXT__V1__SWEEP_SPEC__INIT;
	struct batch b = {0};
	bool has_sweep = false;
	json_error_t err;
	size_t off = batch_skip_space(buf, len, 0);
	bool done = false;
	if (off < len && buf[off] == '[') {
		json_t *array = json_loadb(buf + off, len - off, JSON_REJECT_DUPLICATES, &err);
		if (array == NULL)
			wn_ctl_usage(c, "cannot parse %s line %d: %s", name,
			             batch_line(buf, off, &(struct batch_pos){0, 1}) + err.line - 1,
			             err.text);
		batch_array(c, &b, array, name, project, task);
		json_decref(array);
		done = true;
	} else if (off < len && buf[off] == '{') {
		done = batch_wrapper(c, &b, buf + off, len - off, name, project, task, &sweep,
		                     &has_sweep);
	}
	struct batch_pos pos = {0, 1};
	while (!done && (off = batch_skip_space(buf, len, off)) < len) {
		json_t *o = json_loadb(buf + off, len - off,
		                       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
		int line = batch_line(buf, off, &pos);
		if (o == NULL)
			wn_ctl_usage(c, "cannot parse %s line %d: %s", name, line + err.line - 1,
			             err.text);
		off += err.position;
		const char *where = wn_ctl_printf(c, "%s line %d", name, line);
		Whatsnext__V1__JobSpec *s = batch_spec(c, o, where, project, task);
		json_decref(o);
		batch_add(c, &b, s, where);
	}
	if (b.n == 0)
		wn_ctl_usage(c, "no jobs in %s", name);
	batch_refs(c, &b);
	out->jobs = b.jobs;
	out->n = b.n;
	out->sweep = sweep;
	out->has_sweep = has_sweep;
}
