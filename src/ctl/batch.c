/* batch: the file format of `wnctl job batch`, and dependencies written as text. */
#include "batch.h"
#include "err.h"
#include "json.h"
#include "kit.h"
#include "map.h"
#include "util.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct wn_ctl_batch {
	Whatsnext__V1__JobSpec **jobs;
	const char **where; /* where each job was written, for messages */
	size_t n, cap;
	Whatsnext__V1__SweepSpec sweep;
	bool has_sweep;
	const char *name;     /* the file, for messages */
	char *project, *task; /* of the jobs that name none; "" for none */
	void **blocks;        /* everything allocated for the jobs */
	size_t nblocks, capblocks;
	char *errmsg; /* the first error, malloc'd */
};

/* ---------------------------------------------------------------- memory, errors */

static void *batch_keep(wn_ctl_batch *b, void *p)
{
	if (b->nblocks == b->capblocks) {
		b->capblocks = b->capblocks ? b->capblocks * 2 : 64;
		b->blocks = wn_xrealloc(b->blocks, b->capblocks * sizeof(*b->blocks));
	}
	b->blocks[b->nblocks++] = p;
	return p;
}

/* batch_alloc returns n zeroed bytes that b owns. */
static void *batch_alloc(wn_ctl_batch *b, size_t n)
{
	return batch_keep(b, wn_xcalloc(1, n));
}

static char *batch_strndup(wn_ctl_batch *b, const char *s, size_t n)
{
	char *p = batch_alloc(b, n + 1);
	memcpy(p, s, n);
	return p;
}

static char *batch_strdup(wn_ctl_batch *b, const char *s)
{
	return batch_strndup(b, s, strlen(s));
}

__attribute__((format(printf, 2, 3))) static char *batch_printf(wn_ctl_batch *b, const char *fmt,
                                                                ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	va_end(ap);
	return batch_keep(b, s);
}

/* batch_fail records the message of the first error of b; returns WN_EINVAL. */
__attribute__((format(printf, 2, 3))) static int batch_fail(wn_ctl_batch *b, const char *fmt, ...)
{
	if (b->errmsg != NULL)
		return WN_EINVAL;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&b->errmsg, fmt, ap) < 0) {
		fprintf(stderr, "out of memory\n");
		abort();
	}
	va_end(ap);
	return WN_EINVAL;
}

/* batch_unknown fails on the unknown field key of an object at where (what: "" or
 * "\"after\": "), with the nearest of the known fields (NULL-terminated) as a hint. */
static int batch_unknown(wn_ctl_batch *b, const char *where, const char *what, const char *key,
                         const char *const *known)
{
	struct wn_nearest near;
	wn_nearest_init(&near, key);
	for (const char *const *k = known; *k != NULL; k++)
		wn_nearest_add(&near, *k);
	const char *best = wn_nearest_best(&near);
	if (best != NULL)
		return batch_fail(b, "%s: %sunknown field \"%s\" (did you mean \"%s\"?)", where,
		                  what, key, best);
	return batch_fail(b, "%s: %sunknown field \"%s\"", where, what, key);
}

/* ---------------------------------------------------------------- dependencies */

int wn_ctl_batch_dep_parse(const char *s, bool refs, struct wn_ctl_batch_dep *d, char **errmsg)
{
	size_t head = strlen(s);
	int cond = WHATSNEXT__V1__DEP_CONDITION__AFTEROK;
	const char *colon = strrchr(s, ':');
	if (colon != NULL &&
	    wn_json_enum_parse(&whatsnext__v1__dep_condition__descriptor, colon + 1, &cond) == 0)
		head = (size_t)(colon - s);
	else if (colon != NULL && !refs) {
		*errmsg = wn_xasprintf("unknown condition '%s': must be " WN_CTL_BATCH_CONDITIONS,
		                       colon + 1);
		return WN_EINVAL;
	}
	bool digits = head > 0 && strspn(s, "0123456789") >= head;
	uint64_t id = 0;
	if (wn_parse_u64(s, head, &id) == WN_ETOOBIG) {
		*errmsg = wn_xasprintf("job id out of range (at most %llu)",
		                       (unsigned long long)UINT64_MAX);
		return WN_EINVAL;
	}
	if (id == 0 && (!refs || head == 0 || digits)) {
		*errmsg = wn_xstrdup(refs ? "expected a job id, ID:CONDITION, the name of a job of "
		                            "the batch or NAME:CONDITION"
		                          : "expected a job id or ID:CONDITION");
		return WN_EINVAL;
	}
	d->job_id = id;
	d->ref_len = id == 0 ? head : 0;
	d->condition = cond;
	return WN_OK;
}

/* batch_dep_new returns a dependency on job id (or, id 0, on the batch job named ref) with
 * the default condition. */
static Whatsnext__V1__Dependency *batch_dep_new(wn_ctl_batch *b, uint64_t id, char *ref)
{
	Whatsnext__V1__Dependency *d = batch_alloc(b, sizeof(*d));
	whatsnext__v1__dependency__init(d);
	d->job_id = id;
	if (ref != NULL)
		d->ref = ref;
	return d;
}

/* batch_dep_text reads an entry of "after" written as "ID[:COND]" or "NAME[:COND]". */
static int batch_dep_text(wn_ctl_batch *b, const char *s, const char *where,
                          Whatsnext__V1__Dependency **out)
{
	struct wn_ctl_batch_dep dep;
	char *why = NULL;
	if (wn_ctl_batch_dep_parse(s, true, &dep, &why) != WN_OK) {
		batch_fail(b, "%s: \"after\": invalid '%s': %s", where, s, why);
		free(why);
		return WN_EINVAL;
	}
	char *ref = dep.job_id == 0 ? batch_strndup(b, s, dep.ref_len) : NULL;
	*out = batch_dep_new(b, dep.job_id, ref);
	(*out)->condition = dep.condition;
	return WN_OK;
}

/* batch_dep_field reads one field of an entry of "after" written as an object into d. */
static int batch_dep_field(wn_ctl_batch *b, const char *key, json_t *v, const char *where,
                           Whatsnext__V1__Dependency *d)
{
	if (strcmp(key, "job_id") == 0) {
		if (!json_is_integer(v) || json_integer_value(v) <= 0)
			return batch_fail(b, "%s: \"after\": \"job_id\" must be a positive integer",
			                  where);
		d->job_id = (uint64_t)json_integer_value(v);
	} else if (strcmp(key, "ref") == 0) {
		if (!json_is_string(v) || json_string_length(v) == 0)
			return batch_fail(
			    b, "%s: \"after\": \"ref\" must be the name of a job of the batch",
			    where);
		d->ref = batch_strdup(b, json_string_value(v));
	} else if (strcmp(key, "condition") == 0) {
		int cond = 0;
		if (!json_is_string(v) ||
		    wn_json_enum_parse(&whatsnext__v1__dep_condition__descriptor,
		                       json_string_value(v), &cond) != 0)
			return batch_fail(
			    b, "%s: \"after\": \"condition\" must be " WN_CTL_BATCH_CONDITIONS,
			    where);
		d->condition = cond;
	} else {
		static const char *const known[] = {"job_id", "ref", "condition", NULL};
		return batch_unknown(b, where, "\"after\": ", key, known);
	}
	return WN_OK;
}

/* batch_dep turns one entry of a job's "after" into a dependency: a job id, a string
 * "ID[:COND]" or "NAME[:COND]", or an object {"job_id" or "ref", "condition"}. */
static int batch_dep(wn_ctl_batch *b, json_t *e, const char *where, Whatsnext__V1__Dependency **out)
{
	if (json_is_integer(e)) {
		if (json_integer_value(e) <= 0)
			return batch_fail(b, "%s: \"after\": job ids are positive integers", where);
		*out = batch_dep_new(b, (uint64_t)json_integer_value(e), NULL);
		return WN_OK;
	}
	if (json_is_string(e))
		return batch_dep_text(b, json_string_value(e), where, out);
	if (!json_is_object(e))
		return batch_fail(b,
		                  "%s: \"after\" holds job ids, \"ID:COND\" or \"NAME:COND\" "
		                  "strings, or objects",
		                  where);
	Whatsnext__V1__Dependency *d = batch_dep_new(b, 0, NULL);
	const char *key;
	json_t *v;
	json_object_foreach(e, key, v)
	{
		if (batch_dep_field(b, key, v, where, d) != WN_OK)
			return WN_EINVAL;
	}
	if ((d->job_id != 0) == (d->ref[0] != '\0'))
		return batch_fail(b, "%s: \"after\": an object needs either \"job_id\" or \"ref\"",
		                  where);
	*out = d;
	return WN_OK;
}

/* ---------------------------------------------------------------- jobs */

/* batch_number returns the shortest text that reads back as v. */
static char *batch_number(wn_ctl_batch *b, double v)
{
	char buf[64];
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return batch_strdup(b, buf);
}

/* batch_param turns one parameter value into its text: strings as they are, numbers and
 * booleans as JSON writes them; an empty string is refused, as by job add's --param. */
static int batch_param(wn_ctl_batch *b, const char *key, json_t *v, const char *where, char **out)
{
	if (json_is_string(v))
		*out = batch_strdup(b, json_string_value(v));
	else if (json_is_integer(v))
		*out = batch_printf(b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		*out = batch_number(b, json_real_value(v));
	else if (json_is_boolean(v))
		*out = json_is_true(v) ? "true" : "false";
	else
		return batch_fail(b, "%s: parameter \"%s\" must be a string, number or boolean",
		                  where, key);
	if ((*out)[0] == '\0')
		return batch_fail(
		    b, "%s: parameter \"%s\" has an empty value (a parameter needs a value)", where,
		    key);
	return WN_OK;
}

/* batch_params reads a job's "params" object into s. */
static int batch_params(wn_ctl_batch *b, json_t *v, const char *where, Whatsnext__V1__JobSpec *s)
{
	if (!json_is_object(v))
		return batch_fail(b, "%s: \"params\" must be an object", where);
	s->params = batch_alloc(b, (json_object_size(v) + 1) * sizeof(*s->params));
	const char *pk;
	json_t *pv;
	json_object_foreach(v, pk, pv)
	{
		if (pk[0] == '\0')
			return batch_fail(b, "%s: a parameter has an empty name", where);
		Whatsnext__V1__JobSpec__ParamsEntry *e = batch_alloc(b, sizeof(*e));
		whatsnext__v1__job_spec__params_entry__init(e);
		e->key = batch_strdup(b, pk);
		if (batch_param(b, pk, pv, where, &e->value) != WN_OK)
			return WN_EINVAL;
		s->params[s->n_params++] = e;
	}
	return WN_OK;
}

/* batch_after reads a job's "after": one entry or an array of them. */
static int batch_after(wn_ctl_batch *b, json_t *v, const char *where, Whatsnext__V1__JobSpec *s)
{
	size_t n = json_is_array(v) ? json_array_size(v) : 1;
	s->after = batch_alloc(b, (n + 1) * sizeof(*s->after));
	for (size_t i = 0; i < n; i++) {
		json_t *e = json_is_array(v) ? json_array_get(v, i) : v;
		if (batch_dep(b, e, where, &s->after[s->n_after]) != WN_OK)
			return WN_EINVAL;
		s->n_after++;
	}
	return WN_OK;
}

/* batch_field reads one field of a job into s. */
static int batch_field(wn_ctl_batch *b, const char *key, json_t *v, const char *where,
                       Whatsnext__V1__JobSpec *s)
{
	if (strcmp(key, "project") == 0 || strcmp(key, "task") == 0 || strcmp(key, "name") == 0) {
		if (!json_is_string(v))
			return batch_fail(b, "%s: \"%s\" must be a string", where, key);
		char *str = batch_strdup(b, json_string_value(v));
		if (key[0] == 'p')
			s->project = str;
		else if (key[0] == 't')
			s->task = str;
		else
			s->name = str;
	} else if (strcmp(key, "priority") == 0) {
		json_int_t p = json_integer_value(v);
		if (!json_is_integer(v) || p < INT32_MIN || p > INT32_MAX)
			return batch_fail(b, "%s: \"priority\" must be an integer from %d to %d",
			                  where, INT32_MIN, INT32_MAX);
		s->priority = (int32_t)p;
	} else if (strcmp(key, "params") == 0) {
		return batch_params(b, v, where, s);
	} else if (strcmp(key, "after") == 0) {
		return batch_after(b, v, where, s);
	} else {
		static const char *const known[] = {"project", "task",  "name", "priority",
		                                    "params",  "after", NULL};
		return batch_unknown(b, where, "", key, known);
	}
	return WN_OK;
}

/* batch_add appends the job o of the file (one JSON value), written at where. */
static int batch_add(wn_ctl_batch *b, json_t *o, const char *where)
{
	if (!json_is_object(o))
		return batch_fail(b, "%s: a job must be a JSON object", where);
	Whatsnext__V1__JobSpec *s = batch_alloc(b, sizeof(*s));
	whatsnext__v1__job_spec__init(s);
	s->project = b->project;
	s->task = b->task;
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (batch_field(b, key, v, where, s) != WN_OK)
			return WN_EINVAL;
	}
	if (s->project[0] == '\0')
		return batch_fail(b, "%s: no \"project\" (give one, or --project)", where);
	if (s->task[0] == '\0')
		return batch_fail(b, "%s: no \"task\" (give one, or --task)", where);
	if (b->n == b->cap) {
		b->cap = b->cap ? b->cap * 2 : 64;
		b->jobs = wn_xrealloc(b->jobs, b->cap * sizeof(*b->jobs));
		b->where = wn_xrealloc(b->where, b->cap * sizeof(*b->where));
	}
	b->jobs[b->n] = s;
	b->where[b->n++] = where;
	return WN_OK;
}

/* batch_array reads a JSON array of jobs; where names the array in errors. */
static int batch_array(wn_ctl_batch *b, json_t *array, const char *where)
{
	size_t n = json_array_size(array);
	for (size_t i = 0; i < n; i++) {
		const char *w = batch_printf(b, "%s: job %zu", where, i + 1);
		if (batch_add(b, json_array_get(array, i), w) != WN_OK)
			return WN_EINVAL;
	}
	return WN_OK;
}

/* ---------------------------------------------------------------- the file */

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

/* batch_sweep reads the "sweep" object of a batch file. */
static int batch_sweep(wn_ctl_batch *b, json_t *o)
{
	if (!json_is_object(o))
		return batch_fail(b, "%s: \"sweep\" must be an object {\"name\", \"max_running\"}",
		                  b->name);
	b->has_sweep = true;
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "name") == 0) {
			if (!json_is_string(v))
				return batch_fail(b, "%s: \"sweep\": \"name\" must be a string",
				                  b->name);
			b->sweep.name = batch_strdup(b, json_string_value(v));
		} else if (strcmp(key, "max_running") == 0) {
			json_int_t m = json_integer_value(v);
			if (!json_is_integer(v) || m < 0 || m > UINT32_MAX)
				return batch_fail(
				    b,
				    "%s: \"sweep\": \"max_running\" must be an integer "
				    "from 0 to %u",
				    b->name, UINT32_MAX);
			b->sweep.max_running = (uint32_t)m;
		} else {
			static const char *const known[] = {"name", "max_running", NULL};
			return batch_unknown(b, b->name, "\"sweep\": ", key, known);
		}
	}
	return WN_OK;
}

/* batch_wrapper_fields reads the fields of a batch file written as one object. */
static int batch_wrapper_fields(wn_ctl_batch *b, json_t *o)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		int rv = WN_OK;
		if (strcmp(key, "jobs") == 0) {
			if (!json_is_array(v))
				return batch_fail(b, "%s: \"jobs\" must be an array", b->name);
			rv = batch_array(b, v, b->name);
		} else if (strcmp(key, "sweep") == 0) {
			rv = batch_sweep(b, v);
		} else {
			struct wn_nearest near;
			wn_nearest_init(&near, key);
			wn_nearest_add(&near, "jobs");
			wn_nearest_add(&near, "sweep");
			const char *best = wn_nearest_best(&near);
			rv = batch_fail(
			    b,
			    "%s: unknown field \"%s\" (%s%s%sa batch object holds \"jobs\" "
			    "and \"sweep\")",
			    b->name, key, best ? "did you mean \"" : "", best ? best : "",
			    best ? "\"? " : "");
		}
		if (rv != WN_OK)
			return rv;
	}
	return WN_OK;
}

/* batch_wrapper reads a batch file written as one object {"sweep": {...}, "jobs": [...]};
 * sets *done false when buf is not one (then it is read as one job per line). */
static int batch_wrapper(wn_ctl_batch *b, const char *buf, size_t len, bool *done)
{
	json_error_t err;
	json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
	*done = o != NULL && json_is_object(o) && json_object_get(o, "jobs") != NULL;
	int rv = *done ? batch_wrapper_fields(b, o) : WN_OK;
	json_decref(o);
	return rv;
}

/* batch_whole_array reads a batch file that is one JSON array starting at byte off. */
static int batch_whole_array(wn_ctl_batch *b, const char *buf, size_t len, size_t off)
{
	json_error_t err;
	json_t *array = json_loadb(buf + off, len - off, JSON_REJECT_DUPLICATES, &err);
	if (array == NULL)
		return batch_fail(b, "cannot parse %s line %d: %s", b->name,
		                  batch_line(buf, off, &(struct batch_pos){0, 1}) + err.line - 1,
		                  err.text);
	int rv = batch_array(b, array, b->name);
	json_decref(array);
	return rv;
}

/* batch_lines reads a batch file written as one JSON object per line, from byte off on. */
static int batch_lines(wn_ctl_batch *b, const char *buf, size_t len, size_t off)
{
	struct batch_pos pos = {0, 1};
	while ((off = batch_skip_space(buf, len, off)) < len) {
		json_error_t err;
		json_t *o = json_loadb(buf + off, len - off,
		                       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
		int line = batch_line(buf, off, &pos);
		if (o == NULL)
			return batch_fail(b, "cannot parse %s line %d: %s", b->name,
			                  line + err.line - 1, err.text);
		off += err.position;
		int rv = batch_add(b, o, batch_printf(b, "%s line %d", b->name, line));
		json_decref(o);
		if (rv != WN_OK)
			return rv;
	}
	return WN_OK;
}

/* batch_refs checks that every dependency given by name names exactly one job of the batch. */
static int batch_refs(wn_ctl_batch *b)
{
	wn_map *names = wn_map_new_str();
	static char once, twice;
	for (size_t i = 0; i < b->n; i++) {
		const char *n = b->jobs[i]->name;
		if (n[0] != '\0')
			wn_map_put_str(names, n, wn_map_get_str(names, n) == NULL ? &once : &twice);
	}
	int rv = WN_OK;
	for (size_t i = 0; i < b->n && rv == WN_OK; i++) {
		for (size_t k = 0; k < b->jobs[i]->n_after && rv == WN_OK; k++) {
			const char *ref = b->jobs[i]->after[k]->ref;
			void *v = ref[0] != '\0' ? wn_map_get_str(names, ref) : &once;
			if (v == NULL)
				rv = batch_fail(b,
				                "%s: \"after\": no job of the batch is named '%s'",
				                b->where[i], ref);
			else if (v == &twice)
				rv = batch_fail(
				    b,
				    "%s: \"after\": '%s' is ambiguous: several jobs of the "
				    "batch have that name",
				    b->where[i], ref);
		}
	}
	wn_map_free(names);
	return rv;
}

/* batch_read reads the whole file into b. */
static int batch_read(wn_ctl_batch *b, const char *buf, size_t len)
{
	size_t off = batch_skip_space(buf, len, 0);
	bool done = false;
	int rv = WN_OK;
	if (off < len && buf[off] == '[') {
		rv = batch_whole_array(b, buf, len, off);
		done = true;
	} else if (off < len && buf[off] == '{') {
		rv = batch_wrapper(b, buf + off, len - off, &done);
	}
	if (rv == WN_OK && !done)
		rv = batch_lines(b, buf, len, off);
	if (rv == WN_OK && b->n == 0)
		rv = batch_fail(b, "no jobs in %s", b->name);
	if (rv == WN_OK)
		rv = batch_refs(b);
	return rv;
}

int wn_ctl_batch_parse(const char *buf, size_t len, const char *name, const char *project,
                       const char *task, wn_ctl_batch **out, char **errmsg)
{
	wn_ctl_batch *b = wn_xcalloc(1, sizeof(*b));
	whatsnext__v1__sweep_spec__init(&b->sweep);
	b->name = batch_strdup(b, name);
	b->project = batch_strdup(b, project != NULL ? project : "");
	b->task = batch_strdup(b, task != NULL ? task : "");
	*out = NULL;
	/* a byte order mark, as some editors begin a UTF-8 file with, is no JSON */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		buf += 3;
		len -= 3;
	}
	if (batch_read(b, buf, len) != WN_OK) {
		*errmsg = b->errmsg;
		b->errmsg = NULL;
		wn_ctl_batch_free(b);
		return WN_EINVAL;
	}
	*out = b;
	return WN_OK;
}

size_t wn_ctl_batch_count(const wn_ctl_batch *b)
{
	return b->n;
}

Whatsnext__V1__JobSpec **wn_ctl_batch_jobs(const wn_ctl_batch *b)
{
	return b->jobs;
}

const Whatsnext__V1__SweepSpec *wn_ctl_batch_sweep(const wn_ctl_batch *b)
{
	return b->has_sweep ? &b->sweep : NULL;
}

void wn_ctl_batch_free(wn_ctl_batch *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->nblocks; i++)
		free(b->blocks[i]);
	free(b->blocks);
	free(b->jobs);
	free(b->where);
	free(b->errmsg);
	free(b);
}
