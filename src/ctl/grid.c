#include "grid.h"
#include "gridrange.h"

#include "conf.h"
#include "err.h"
#include "map.h"
#include "strbuf.h"
#include "util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct grid_axis {
	char *key;
	char **values;
	size_t n;
};

struct grid_row {
	char **keys;
	char **values;
	size_t n;
};

struct wn_grid {
	char **pkeys; /* fixed parameters */
	char **pvals;
	size_t nparams, pcap;
	wn_map *pidx; /* each fixed parameter's place + 1: thousands are found at once */
	struct grid_axis *axes;
	size_t naxes;
	struct grid_row *rows;
	size_t nrows;
	size_t maxrow; /* parameters of the longest row */
	char **strs;   /* strings handed out through wn_grid_file */
	size_t nstrs;
};

wn_grid *wn_grid_new(void)
{
	return wn_xcalloc(1, sizeof(wn_grid));
}

static void grid_strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void wn_grid_free(wn_grid *g)
{
	if (g == NULL)
		return;
	grid_strv_free(g->pkeys, g->nparams);
	grid_strv_free(g->pvals, g->nparams);
	wn_map_free(g->pidx);
	for (size_t i = 0; i < g->naxes; i++) {
		free(g->axes[i].key);
		grid_strv_free(g->axes[i].values, g->axes[i].n);
	}
	free(g->axes);
	for (size_t i = 0; i < g->nrows; i++) {
		grid_strv_free(g->rows[i].keys, g->rows[i].n);
		grid_strv_free(g->rows[i].values, g->rows[i].n);
	}
	free(g->rows);
	grid_strv_free(g->strs, g->nstrs);
	free(g);
}

/* grid_err stores a malloc'd formatted message in *errmsg and returns WN_EINVAL. */
__attribute__((format(printf, 2, 3))) static int grid_err(char **errmsg, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	*errmsg = s != NULL ? s : wn_xstrdup(fmt);
	return WN_EINVAL;
}

/* grid_keep returns a grid-owned copy of s. */
static const char *grid_keep(wn_grid *g, const char *s)
{
	g->strs = wn_xrealloc(g->strs, (g->nstrs + 1) * sizeof(*g->strs));
	g->strs[g->nstrs] = wn_xstrdup(s);
	return g->strs[g->nstrs++];
}

void wn_grid_param(wn_grid *g, const char *key, const char *value)
{
	if (g->pidx == NULL)
		g->pidx = wn_map_new_str();
	uintptr_t at = (uintptr_t)wn_map_get_str(g->pidx, key);
	if (at != 0) {
		free(g->pvals[at - 1]);
		g->pvals[at - 1] = wn_xstrdup(value);
		return;
	}
	if (g->nparams == g->pcap) { /* doubled: not copied again for each one */
		g->pcap = g->pcap < 8 ? 8 : g->pcap * 2;
		g->pkeys = wn_xrealloc(g->pkeys, g->pcap * sizeof(char *));
		g->pvals = wn_xrealloc(g->pvals, g->pcap * sizeof(char *));
	}
	g->pkeys[g->nparams] = wn_xstrdup(key);
	g->pvals[g->nparams] = wn_xstrdup(value);
	wn_map_put_str(g->pidx, key, (void *)(uintptr_t)++g->nparams);
}

void wn_grid_axis(wn_grid *g, const char *key, const char *const *values, size_t n)
{
	struct grid_axis *a = NULL;
	for (size_t i = 0; i < g->naxes && a == NULL; i++)
		if (strcmp(g->axes[i].key, key) == 0)
			a = &g->axes[i];
	if (a == NULL) {
		g->axes = wn_xrealloc(g->axes, (g->naxes + 1) * sizeof(*g->axes));
		a = &g->axes[g->naxes++];
		a->key = wn_xstrdup(key);
	} else {
		grid_strv_free(a->values, a->n);
	}
	a->values = wn_xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		a->values[i] = wn_xstrdup(values[i]);
	a->n = n;
}

/* grid_values collects an axis's values, a range (gridrange.h) giving many. */
struct grid_values {
	char **v;
	size_t n, cap;
};

static void grid_values_add(struct grid_values *gv, char *value)
{
	if (gv->n == gv->cap) {
		gv->cap = gv->cap ? gv->cap * 2 : 8;
		gv->v = wn_xrealloc(gv->v, gv->cap * sizeof(char *));
	}
	gv->v[gv->n++] = value;
}

/* grid_values_item adds item, a value or a range, to gv. */
static int grid_values_item(struct grid_values *gv, const char *item, char **errmsg)
{
	char **r = NULL;
	size_t n = 0;
	int rv = wn_gridrange_parse(item, WN_GRID_JOBS_MAX, &r, &n, errmsg);
	if (rv < 0)
		return rv;
	if (rv == 0)
		grid_values_add(gv, wn_xstrdup(item));
	for (size_t i = 0; i < n; i++) {
		if (gv->n >= WN_GRID_JOBS_MAX) {
			while (i < n)
				free(r[i++]);
			free(r);
			return grid_err(errmsg, "more than %d values", WN_GRID_JOBS_MAX);
		}
		grid_values_add(gv, r[i]);
	}
	free(r);
	return WN_OK;
}

/* grid_values_twice returns a value gv holds twice (two jobs alike), or NULL. */
static const char *grid_values_twice(const struct grid_values *gv)
{
	wn_map *seen = wn_map_new_str();
	const char *twice = NULL;
	for (size_t i = 0; i < gv->n && twice == NULL; i++) {
		if (wn_map_get_str(seen, gv->v[i]) != NULL)
			twice = gv->v[i];
		wn_map_put_str(seen, gv->v[i], gv->v[i]);
	}
	wn_map_free(seen);
	return twice;
}

/* grid_values_axis makes gv the values of key and frees them. */
static void grid_values_axis(wn_grid *g, const char *key, struct grid_values *gv)
{
	wn_grid_axis(g, key, (const char *const *)gv->v, gv->n);
	grid_strv_free(gv->v, gv->n);
	*gv = (struct grid_values){0};
}

/* grid_trim cuts the blanks around s in place and returns its start. */
static char *grid_trim(char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

int wn_grid_axis_arg(wn_grid *g, const char *arg, char **errmsg)
{
	const char *eq = strchr(arg, '=');
	char *copy = wn_xstrdup(arg);
	char *key = copy;
	if (eq != NULL) {
		copy[eq - arg] = '\0';
		key = grid_trim(copy);
	}
	if (eq == NULL || key[0] == '\0') {
		free(copy);
		return grid_err(errmsg, "expected KEY=V1,V2,... with a non-empty key");
	}
	struct grid_values gv = {0};
	int rv = WN_OK;
	for (char *p = copy + (eq - arg) + 1; rv == WN_OK; p++) {
		char *end = strchr(p, ',');
		if (end != NULL)
			*end = '\0';
		char *item = grid_trim(p);
		if (*item == '\0')
			rv = grid_err(errmsg,
			              "empty value for '%s' (values are separated by commas)", key);
		else
			rv = grid_values_item(&gv, item, errmsg);
		if (end == NULL)
			break;
		p = end;
	}
	const char *twice = rv == WN_OK ? grid_values_twice(&gv) : NULL;
	if (twice != NULL)
		rv = grid_err(errmsg, "value '%s' of '%s' is given twice: its jobs would run twice",
		              twice, key);
	if (rv == WN_OK)
		grid_values_axis(g, key, &gv);
	grid_strv_free(gv.v, gv.n);
	free(copy);
	return rv;
}

void wn_grid_row(wn_grid *g, const char *const *keys, const char *const *values, size_t n)
{
	g->rows = wn_xrealloc(g->rows, (g->nrows + 1) * sizeof(*g->rows));
	struct grid_row *r = &g->rows[g->nrows++];
	r->keys = wn_xcalloc(n ? n : 1, sizeof(char *));
	r->values = wn_xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		r->keys[i] = wn_xstrdup(keys[i]);
		r->values[i] = wn_xstrdup(values[i]);
	}
	r->n = n;
	if (n > g->maxrow)
		g->maxrow = n;
}

bool wn_grid_varies(const wn_grid *g)
{
	return g->naxes > 0 || g->nrows > 0;
}

/* ---------------------------------------------------------------- files */

/* The top level of a sweep file, as the key table fills it. */
struct grid_doc {
	const wn_conf_node *grid;
	const wn_conf_node *list;
	wn_conf_strmap params;
	char *name;
	char *sweep;
	int64_t priority;
	int64_t max_running;
};

static const wn_conf_key grid_keys[] = {
    {"grid", WN_CONF_T_NODE, offsetof(struct grid_doc, grid), NULL, 0, 0, 0, NULL,
     "key: [values]: every combination becomes a job"},
    {"list", WN_CONF_T_NODE, offsetof(struct grid_doc, list), NULL, 0, 0, 0, NULL,
     "explicit rows of parameters, each combined with the grid"},
    {"params", WN_CONF_T_STRMAP, offsetof(struct grid_doc, params), NULL, 0, 0, 0, NULL,
     "parameters every job gets"},
    {"name", WN_CONF_T_STR, offsetof(struct grid_doc, name), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "job name template with {key} placeholders"},
    {"sweep", WN_CONF_T_STR, offsetof(struct grid_doc, sweep), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the sweep's name"},
    {"priority", WN_CONF_T_INT, offsetof(struct grid_doc, priority), NULL, INT32_MIN, INT32_MAX, 0,
     NULL, "priority of every job"},
    {"max_running", WN_CONF_T_INT, offsetof(struct grid_doc, max_running), NULL, 0, UINT32_MAX, 0,
     NULL, "most jobs of the sweep running at once; 0 = no cap"},
};

/* grid_scalar checks that node is a non-null, non-empty scalar without NUL
 * bytes (a parameter's name or value); what names it. */
static int grid_scalar(const wn_conf_doc *doc, const wn_conf_node *node, const char *what,
                       char **errmsg)
{
	const char *got = NULL;
	if (node->kind != WN_CONF_SCALAR)
		got = wn_conf_kind_name(node->kind);
	else if (wn_conf_is_null(node))
		got = "null";
	else if (node->len == 0)
		got = "an empty string";
	if (got != NULL) {
		*errmsg = wn_conf_error(doc, node, "expected a value for %s, got %s", what, got);
		return WN_EINVAL;
	}
	if (strlen(node->str) != node->len) {
		*errmsg = wn_conf_error(doc, node, "%s holds a NUL byte", what);
		return WN_EINVAL;
	}
	return WN_OK;
}

static int grid_load_axes(wn_grid *g, const wn_conf_doc *doc, const wn_conf_node *grid,
                          char **errmsg)
{
	if (grid->kind != WN_CONF_MAP) {
		*errmsg = wn_conf_error(doc, grid,
		                        "expected a mapping for 'grid' (key: [values]), got %s",
		                        wn_conf_kind_name(grid->kind));
		return WN_EINVAL;
	}
	for (size_t i = 0; i < grid->n; i++) {
		const wn_conf_node *k = grid->items[2 * i], *v = grid->items[2 * i + 1];
		if (grid_scalar(doc, k, "a key of 'grid'", errmsg) != WN_OK)
			return WN_EINVAL;
		char *what = wn_xasprintf("'grid.%s'", k->str);
		size_t n = v->kind == WN_CONF_SEQ ? v->n : 1;
		struct grid_values gv = {0};
		int rv = WN_OK;
		if (v->kind == WN_CONF_MAP) {
			*errmsg = wn_conf_error(
			    doc, v, "expected a list of values for %s, got a mapping", what);
			rv = WN_EINVAL;
		} else if (n == 0) {
			*errmsg = wn_conf_error(doc, v, "%s is an empty list", what);
			rv = WN_EINVAL;
		}
		for (size_t j = 0; j < n && rv == WN_OK; j++) {
			const wn_conf_node *it = v->kind == WN_CONF_SEQ ? v->items[j] : v;
			rv = grid_scalar(doc, it, what, errmsg);
			char *msg = NULL;
			if (rv == WN_OK && (rv = grid_values_item(&gv, it->str, &msg)) != WN_OK) {
				*errmsg = wn_conf_error(doc, it, "%s: %s", what, msg);
				free(msg);
			}
		}
		const char *twice = rv == WN_OK ? grid_values_twice(&gv) : NULL;
		if (twice != NULL) {
			*errmsg = wn_conf_error(doc, v,
			                        "%s: value '%s' is given twice: its jobs would "
			                        "run twice",
			                        what, twice);
			rv = WN_EINVAL;
		}
		if (rv == WN_OK)
			grid_values_axis(g, k->str, &gv);
		grid_strv_free(gv.v, gv.n);
		free(what);
		if (rv != WN_OK)
			return rv;
	}
	return WN_OK;
}

static int grid_load_rows(wn_grid *g, const wn_conf_doc *doc, const wn_conf_node *list,
                          char **errmsg)
{
	if (list->kind != WN_CONF_SEQ) {
		*errmsg = wn_conf_error(
		    doc, list, "expected a list of rows for 'list' (each key: value), got %s",
		    wn_conf_kind_name(list->kind));
		return WN_EINVAL;
	}
	for (size_t i = 0; i < list->n; i++) {
		const wn_conf_node *row = list->items[i];
		if (row->kind != WN_CONF_MAP && !wn_conf_is_null(row)) {
			*errmsg = wn_conf_error(doc, row,
			                        "expected a mapping for row %zu of 'list', got %s",
			                        i + 1, wn_conf_kind_name(row->kind));
			return WN_EINVAL;
		}
		size_t n = row->kind == WN_CONF_MAP ? row->n : 0;
		const char **keys = wn_xcalloc(n ? n : 1, sizeof(char *));
		const char **values = wn_xcalloc(n ? n : 1, sizeof(char *));
		int rv = WN_OK;
		for (size_t j = 0; j < n && rv == WN_OK; j++) {
			const wn_conf_node *k = row->items[2 * j], *v = row->items[2 * j + 1];
			char *what = wn_xasprintf("row %zu of 'list'", i + 1);
			rv = grid_scalar(doc, k, what, errmsg);
			if (rv == WN_OK) {
				free(what);
				what = wn_xasprintf("'%s' in row %zu of 'list'", k->str, i + 1);
				rv = grid_scalar(doc, v, what, errmsg);
			}
			free(what);
			keys[j] = k->str;
			values[j] = v->str;
		}
		if (rv == WN_OK)
			wn_grid_row(g, keys, values, n);
		free(keys);
		free(values);
		if (rv != WN_OK)
			return rv;
	}
	return WN_OK;
}

/* grid_load_params checks the names and values of 'params' as those of
 * the grid (the key table took them as text). */
static int grid_load_params(const wn_conf_doc *doc, const wn_conf_node *params, char **errmsg)
{
	for (size_t i = 0; i < params->n; i++) {
		const wn_conf_node *k = params->items[2 * i], *v = params->items[2 * i + 1];
		if (grid_scalar(doc, k, "a key of 'params'", errmsg) != WN_OK)
			return WN_EINVAL;
		char *what = wn_xasprintf("'params.%s'", k->str);
		int rv = grid_scalar(doc, v, what, errmsg);
		free(what);
		if (rv != WN_OK)
			return rv;
	}
	return WN_OK;
}

/* grid_load_doc reads the sweep of doc into g and *file, and frees doc. */
static int grid_load_doc(wn_grid *g, wn_conf_doc *doc, struct wn_grid_file *file, char **errmsg)
{
	struct grid_doc d = {.priority = INT64_MIN, .max_running = INT64_MIN};
	const wn_conf_node *root = wn_conf_root(doc);
	int rv = wn_conf_apply(doc, root, grid_keys, WN_ARRAY_LEN(grid_keys), &d, errmsg);
	if (rv == WN_OK && d.grid != NULL)
		rv = grid_load_axes(g, doc, d.grid, errmsg);
	if (rv == WN_OK && d.list != NULL)
		rv = grid_load_rows(g, doc, d.list, errmsg);
	if (rv == WN_OK && d.params.n > 0)
		rv = grid_load_params(doc, wn_conf_get(root, "params"), errmsg);
	if (rv == WN_OK) {
		for (size_t i = 0; i < d.params.n; i++)
			wn_grid_param(g, d.params.keys[i], d.params.vals[i]);
		if (d.name != NULL) {
			file->has_name = true;
			file->name = grid_keep(g, d.name);
		}
		if (d.sweep != NULL) {
			file->has_sweep = true;
			file->sweep = grid_keep(g, d.sweep);
		}
		if (d.priority != INT64_MIN) {
			file->has_priority = true;
			file->priority = (int32_t)d.priority;
		}
		if (d.max_running != INT64_MIN) {
			file->has_max_running = true;
			file->max_running = (uint32_t)d.max_running;
		}
	}
	wn_conf_release(grid_keys, WN_ARRAY_LEN(grid_keys), &d);
	wn_conf_free(doc);
	return rv;
}

int wn_grid_load(wn_grid *g, const char *path, struct wn_grid_file *file, char **errmsg)
{
	wn_conf_doc *doc = NULL;
	*errmsg = NULL;
	int rv = wn_conf_load_file(path, &doc, errmsg);
	if (rv != WN_OK)
		return rv;
	return grid_load_doc(g, doc, file, errmsg);
}

int wn_grid_load_text(wn_grid *g, const char *name, const char *text, size_t len,
                      struct wn_grid_file *file, char **errmsg)
{
	wn_conf_doc *doc = NULL;
	*errmsg = NULL;
	int rv = wn_conf_load_string(name, text, len, &doc, errmsg);
	if (rv != WN_OK)
		return rv;
	return grid_load_doc(g, doc, file, errmsg);
}

/* ---------------------------------------------------------------- jobs */

/* grid_points returns how many points the grid has, saturating at UINT64_MAX. */
static uint64_t grid_points(const wn_grid *g)
{
	uint64_t n = 1;
	for (size_t i = 0; i < g->naxes; i++) {
		if (g->axes[i].n != 0 && n > UINT64_MAX / g->axes[i].n)
			return UINT64_MAX;
		n *= g->axes[i].n;
	}
	return n;
}

static bool grid_has_axis(const wn_grid *g, const char *key)
{
	for (size_t i = 0; i < g->naxes; i++)
		if (strcmp(g->axes[i].key, key) == 0)
			return true;
	return false;
}

bool wn_grid_sweeps(const wn_grid *g, const char *key)
{
	if (grid_has_axis(g, key))
		return true;
	for (size_t r = 0; r < g->nrows; r++)
		for (size_t k = 0; k < g->rows[r].n; k++)
			if (strcmp(g->rows[r].keys[k], key) == 0)
				return true;
	return false;
}

/* grid_keys_check refuses a parameter name the server would refuse (as
 * wn_name_check), wherever the sweep names it; false with *errmsg. */
static bool grid_keys_check(const wn_grid *g, char **errmsg)
{
	const char *bad = NULL, *why = NULL;
	for (size_t i = 0; i < g->nparams && why == NULL; i++)
		why = wn_name_check(bad = g->pkeys[i]);
	for (size_t i = 0; i < g->naxes && why == NULL; i++)
		why = wn_name_check(bad = g->axes[i].key);
	for (size_t r = 0; r < g->nrows && why == NULL; r++)
		for (size_t k = 0; k < g->rows[r].n && why == NULL; k++)
			why = wn_name_check(bad = g->rows[r].keys[k]);
	if (why != NULL)
		grid_err(errmsg, "invalid parameter name '%s': %s", bad, why);
	return why == NULL;
}

/* A row of the list in a form two rows with the same parameters share: its
 * pairs in key order, each as "KEYLEN:KEY" then "VALUELEN:VALUE". */
struct grid_rowkey {
	char *s;
	size_t row;
};

static int grid_rowkey_cmp(const void *a, const void *b)
{
	const struct grid_rowkey *x = a, *y = b;
	int d = strcmp(x->s, y->s);
	return d != 0 ? d : (x->row > y->row) - (x->row < y->row);
}

static char *grid_rowkey(const struct grid_row *r)
{
	size_t *order = wn_xcalloc(r->n + 1, sizeof(*order));
	for (size_t i = 0; i < r->n; i++) {
		size_t k = i;
		while (k > 0 && strcmp(r->keys[order[k - 1]], r->keys[i]) > 0) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	wn_strbuf b = WN_STRBUF_INIT;
	for (size_t i = 0; i < r->n; i++)
		wn_strbuf_addf(&b, "%zu:%s%zu:%s", strlen(r->keys[order[i]]), r->keys[order[i]],
		               strlen(r->values[order[i]]), r->values[order[i]]);
	free(order);
	return wn_strbuf_take(&b);
}

/* grid_rows_once refuses two rows of the list with the same parameters: the
 * sweep would run their combinations twice. */
static bool grid_rows_once(const wn_grid *g, char **errmsg)
{
	if (g->nrows < 2)
		return true;
	struct grid_rowkey *v = wn_xcalloc(g->nrows, sizeof(*v));
	for (size_t i = 0; i < g->nrows; i++)
		v[i] = (struct grid_rowkey){grid_rowkey(&g->rows[i]), i};
	qsort(v, g->nrows, sizeof(*v), grid_rowkey_cmp);
	bool ok = true;
	for (size_t i = 1; i < g->nrows && ok; i++)
		if (strcmp(v[i - 1].s, v[i].s) == 0) {
			grid_err(errmsg,
			         "rows %zu and %zu of the list are the same: a sweep runs each "
			         "combination once",
			         v[i - 1].row + 1, v[i].row + 1);
			ok = false;
		}
	for (size_t i = 0; i < g->nrows; i++)
		free(v[i].s);
	free(v);
	return ok;
}

uint64_t wn_grid_count(const wn_grid *g, char **errmsg)
{
	*errmsg = NULL;
	if (!grid_keys_check(g, errmsg))
		return UINT64_MAX;
	for (size_t r = 0; r < g->nrows; r++) {
		for (size_t k = 0; k < g->rows[r].n; k++) {
			if (grid_has_axis(g, g->rows[r].keys[k])) {
				grid_err(errmsg,
				         "'%s' is both in row %zu of the list and in the grid",
				         g->rows[r].keys[k], r + 1);
				return UINT64_MAX;
			}
		}
	}
	if (!grid_rows_once(g, errmsg))
		return UINT64_MAX;
	uint64_t points = grid_points(g);
	uint64_t rows = g->nrows ? g->nrows : 1;
	if (points == 0) {
		grid_err(errmsg, "the grid has a key without values");
		return UINT64_MAX;
	}
	if (points > WN_GRID_JOBS_MAX || points * rows > WN_GRID_JOBS_MAX) {
		if (points == UINT64_MAX || points > UINT64_MAX / rows)
			grid_err(errmsg,
			         "the sweep makes too many jobs: a request holds at most %d",
			         WN_GRID_JOBS_MAX);
		else
			grid_err(errmsg, "the sweep makes %llu jobs: a request holds at most %d",
			         (unsigned long long)(points * rows), WN_GRID_JOBS_MAX);
		return UINT64_MAX;
	}
	return points * rows;
}

size_t wn_grid_nparams(const wn_grid *g)
{
	return g->nparams + g->maxrow + g->naxes;
}

size_t wn_grid_job(const wn_grid *g, uint64_t i, const char **keys, const char **values)
{
	uint64_t points = grid_points(g);
	const struct grid_row *row = g->nrows > 0 ? &g->rows[i / points] : NULL;
	uint64_t p = i % points;
	size_t n = 0;
	for (size_t k = 0; k < g->nparams; k++) {
		bool replaced = grid_has_axis(g, g->pkeys[k]);
		for (size_t r = 0; row != NULL && r < row->n && !replaced; r++)
			replaced = strcmp(row->keys[r], g->pkeys[k]) == 0;
		if (replaced)
			continue;
		keys[n] = g->pkeys[k];
		values[n++] = g->pvals[k];
	}
	for (size_t r = 0; row != NULL && r < row->n; r++) {
		keys[n] = row->keys[r];
		values[n++] = row->values[r];
	}
	size_t first = n;
	n += g->naxes;
	for (size_t a = g->naxes; a-- > 0;) {
		keys[first + a] = g->axes[a].key;
		values[first + a] = g->axes[a].values[p % g->axes[a].n];
		p /= g->axes[a].n;
	}
	return n;
}

/* grid_name_char maps a byte of a parameter value to one a job name may hold. */
static char grid_name_char(char ch)
{
	if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	    strchr("._-:+@", ch) != NULL)
		return ch;
	return '_';
}

/* grid_default_name spells out the keys that vary in job i: "lr=0.1,bs=32". */
static char *grid_default_name(const wn_grid *g, uint64_t i)
{
	uint64_t points = grid_points(g);
	const struct grid_row *row = g->nrows > 0 ? &g->rows[i / points] : NULL;
	size_t nkeys = (row ? row->n : 0) + g->naxes;
	const char **keys = wn_xcalloc(nkeys + 1, sizeof(char *));
	const char **values = wn_xcalloc(nkeys + 1, sizeof(char *));
	size_t n = 0;
	for (size_t r = 0; row != NULL && r < row->n; r++) {
		keys[n] = row->keys[r];
		values[n++] = row->values[r];
	}
	uint64_t p = i % points;
	for (size_t a = g->naxes; a-- > 0;) {
		keys[n + a] = g->axes[a].key;
		values[n + a] = g->axes[a].values[p % g->axes[a].n];
		p /= g->axes[a].n;
	}
	n += g->naxes;
	char *name = wn_xcalloc(1, WN_NAME_MAX + 1);
	size_t len = 0;
	for (size_t k = 0; k < n && len < WN_NAME_MAX; k++) {
		if (k > 0)
			name[len++] = ',';
		for (const char *s = keys[k]; *s && len < WN_NAME_MAX; s++)
			name[len++] = grid_name_char(*s);
		if (len < WN_NAME_MAX)
			name[len++] = '=';
		for (const char *s = values[k]; *s && len < WN_NAME_MAX; s++)
			name[len++] = grid_name_char(*s);
	}
	while (len > 0 && strchr(",=", name[len - 1]) != NULL)
		name[--len] = '\0';
	free(keys);
	free(values);
	return name;
}

int wn_grid_name(const wn_grid *g, const char *tmpl, uint64_t i, char **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	if (tmpl == NULL) {
		*out = grid_default_name(g, i);
		return WN_OK;
	}
	size_t cap = wn_grid_nparams(g) + 1;
	const char **keys = wn_xcalloc(cap, sizeof(char *));
	const char **values = wn_xcalloc(cap, sizeof(char *));
	size_t n = wn_grid_job(g, i, keys, values);
	wn_strbuf s = WN_STRBUF_INIT;
	int rv = WN_OK;
	for (const char *p = tmpl; *p && rv == WN_OK;) {
		const char *piece = p;
		size_t plen = 1;
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			p += 2;
		} else if (p[0] == '}') {
			rv = grid_err(errmsg,
			              "name template '%s': unmatched '}' at column %zu (write '}}' "
			              "for a literal brace)",
			              tmpl, (size_t)(p - tmpl) + 1);
		} else if (p[0] == '{') {
			const char *end = strchr(p + 1, '}');
			if (end == NULL) {
				rv = grid_err(
				    errmsg,
				    "name template '%s': unclosed '{' at column %zu (write "
				    "'{{' for a literal brace)",
				    tmpl, (size_t)(p - tmpl) + 1);
				break;
			}
			size_t klen = (size_t)(end - p - 1);
			piece = NULL;
			for (size_t k = 0; k < n && piece == NULL; k++) {
				if (strlen(keys[k]) == klen && memcmp(keys[k], p + 1, klen) == 0) {
					piece = values[k];
					plen = strlen(values[k]);
				}
			}
			if (piece == NULL)
				rv = grid_err(
				    errmsg, "name template '%s': job %llu has no parameter '%.*s'",
				    tmpl, (unsigned long long)i + 1, (int)klen, p + 1);
			p = end + 1;
		} else {
			p++;
		}
		if (rv != WN_OK)
			break;
		wn_strbuf_add(&s, piece, plen);
	}
	free(keys);
	free(values);
	if (rv != WN_OK) {
		wn_strbuf_free(&s);
		return rv;
	}
	*out = wn_strbuf_take(&s);
	/* a name the server refuses is a mistake of the template, --dry-run too */
	const char *why = (*out)[0] != '\0' ? wn_job_name_check(*out) : NULL;
	if (why == NULL)
		return WN_OK;
	rv = grid_err(errmsg, "name template '%s': job %llu's name '%s' is invalid: %s", tmpl,
	              (unsigned long long)i + 1, *out, why);
	free(*out);
	*out = NULL;
	return rv;
}
