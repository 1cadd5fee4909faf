#include "conf.h"

#include "err.h"
#include "util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

/* Largest file wn_conf_load_file reads. */
#define CONF_FILE_MAX (16u * 1024u * 1024u)

struct wn_conf_doc {
	char *name;
	wn_conf_node *root;
	wn_conf_node **all; /* every node, for freeing */
	size_t nall, capall;
};

/* An open sequence or mapping while the tree is built. */
typedef struct conf_open {
	wn_conf_node *node;
	size_t cap;
} conf_open;

static wn_conf_node *conf_node_new(wn_conf_doc *d, wn_conf_kind kind, const yaml_mark_t *m)
{
	wn_conf_node *n = wn_xcalloc(1, sizeof(*n));
	n->kind = kind;
	n->line = (int)m->line + 1;
	n->col = (int)m->column + 1;
	if (d->nall == d->capall) {
		d->capall = d->capall ? d->capall * 2 : 32;
		d->all = wn_xrealloc(d->all, d->capall * sizeof(*d->all));
	}
	d->all[d->nall++] = n;
	return n;
}

void wn_conf_free(wn_conf_doc *doc)
{
	if (doc == NULL)
		return;
	for (size_t i = 0; i < doc->nall; i++) {
		free((char *)doc->all[i]->str);
		free(doc->all[i]->items);
		free(doc->all[i]);
	}
	free(doc->all);
	free(doc->name);
	free(doc);
}

const wn_conf_node *wn_conf_root(const wn_conf_doc *doc)
{
	return doc->root;
}

const char *wn_conf_name(const wn_conf_doc *doc)
{
	return doc->name;
}

const char *wn_conf_kind_name(wn_conf_kind kind)
{
	switch (kind) {
	case WN_CONF_SCALAR:
		return "a string";
	case WN_CONF_SEQ:
		return "a list";
	case WN_CONF_MAP:
		return "a mapping";
	}
	return "a node";
}

static char *conf_verror(const char *name, int line, int col, const char *fmt, va_list ap)
{
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	char *out = line > 0 ? wn_xasprintf("%s:%d:%d: %s", name, line, col, msg ? msg : fmt)
	                     : wn_xasprintf("%s: %s", name, msg ? msg : fmt);
	free(msg);
	return out;
}

static char *conf_error_at(const char *name, int line, int col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static char *conf_error_at(const char *name, int line, int col, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = conf_verror(name, line, col, fmt, ap);
	va_end(ap);
	return s;
}

char *wn_conf_error(const wn_conf_doc *doc, const wn_conf_node *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = conf_verror(doc->name, node ? node->line : 0, node ? node->col : 0, fmt, ap);
	va_end(ap);
	return s;
}

static bool conf_scalar_eq(const wn_conf_node *a, const wn_conf_node *b)
{
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

int wn_conf_load_string(const char *name, const char *text, size_t len, wn_conf_doc **out,
                        char **err)
{
	*out = NULL;
	*err = NULL;
	wn_conf_doc *d = wn_xcalloc(1, sizeof(*d));
	d->name = wn_xstrdup(name);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		*err = wn_xasprintf("%s: cannot initialize the YAML parser", name);
		wn_conf_free(d);
		return WN_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);

	conf_open stack[WN_CONF_DEPTH_MAX];
	size_t depth = 0;
	/* In an open mapping, a key waiting for its value. */
	wn_conf_node *pending_key[WN_CONF_DEPTH_MAX];
	int docs = 0;
	int rc = WN_OK;
	bool done = false;
	while (!done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			const char *problem = parser.problem ? parser.problem : "malformed YAML";
			yaml_mark_t m = parser.problem_mark;
			if (parser.context != NULL)
				*err = conf_error_at(name, (int)m.line + 1, (int)m.column + 1,
				                     "%s %s", problem, parser.context);
			else
				*err = conf_error_at(name, (int)m.line + 1, (int)m.column + 1, "%s",
				                     problem);
			rc = WN_EINVAL;
			break;
		}
		wn_conf_node *node = NULL;
		bool open = false;
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			if (++docs > 1) {
				*err = conf_error_at(name, (int)ev.start_mark.line + 1,
				                     (int)ev.start_mark.column + 1,
				                     "expected a single document");
				rc = WN_EINVAL;
			}
			break;
		case YAML_ALIAS_EVENT:
			*err = conf_error_at(name, (int)ev.start_mark.line + 1,
			                     (int)ev.start_mark.column + 1,
			                     "aliases are not supported");
			rc = WN_EINVAL;
			break;
		case YAML_SCALAR_EVENT: {
			node = conf_node_new(d, WN_CONF_SCALAR, &ev.start_mark);
			char *s = wn_xmalloc(ev.data.scalar.length + 1);
			memcpy(s, ev.data.scalar.value, ev.data.scalar.length);
			s[ev.data.scalar.length] = '\0';
			node->str = s;
			node->len = ev.data.scalar.length;
			node->plain = ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
			              ev.data.scalar.plain_implicit;
			break;
		}
		case YAML_SEQUENCE_START_EVENT:
		case YAML_MAPPING_START_EVENT:
			if (depth == WN_CONF_DEPTH_MAX) {
				*err = conf_error_at(name, (int)ev.start_mark.line + 1,
				                     (int)ev.start_mark.column + 1,
				                     "nested deeper than %d levels",
				                     WN_CONF_DEPTH_MAX);
				rc = WN_EINVAL;
				break;
			}
			node = conf_node_new(
			    d, ev.type == YAML_SEQUENCE_START_EVENT ? WN_CONF_SEQ : WN_CONF_MAP,
			    &ev.start_mark);
			open = true;
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			if (depth > 0)
				depth--;
			break;
		default:
			break;
		}
		if (rc == WN_OK && node != NULL) {
			/* Attach the node to its parent, or make it the root. */
			if (depth == 0) {
				d->root = node;
			} else {
				conf_open *o = &stack[depth - 1];
				wn_conf_node *p = o->node;
				if (p->kind == WN_CONF_MAP && pending_key[depth - 1] == NULL) {
					if (node->kind != WN_CONF_SCALAR) {
						*err = wn_conf_error(
						    d, node, "mapping keys must be strings");
						rc = WN_EINVAL;
					} else {
						for (size_t i = 0; i < p->n; i++)
							if (conf_scalar_eq(p->items[2 * i], node)) {
								*err = wn_conf_error(
								    d, node, "duplicate key '%s'",
								    node->str);
								rc = WN_EINVAL;
								break;
							}
						pending_key[depth - 1] = node;
					}
				} else {
					size_t need =
					    p->kind == WN_CONF_MAP ? 2 * p->n + 2 : p->n + 1;
					if (need > o->cap) {
						o->cap = o->cap ? o->cap * 2 : 8;
						if (o->cap < need)
							o->cap = need;
						p->items = wn_xrealloc(p->items,
						                       o->cap * sizeof(*p->items));
					}
					if (p->kind == WN_CONF_MAP) {
						p->items[2 * p->n] = pending_key[depth - 1];
						p->items[2 * p->n + 1] = node;
						pending_key[depth - 1] = NULL;
					} else {
						p->items[p->n] = node;
					}
					p->n++;
				}
			}
			if (rc == WN_OK && open) {
				stack[depth].node = node;
				stack[depth].cap = 0;
				pending_key[depth] = NULL;
				depth++;
			}
		}
		yaml_event_delete(&ev);
		if (rc != WN_OK)
			break;
	}
	yaml_parser_delete(&parser);
	if (rc != WN_OK) {
		wn_conf_free(d);
		return rc;
	}
	if (d->root == NULL) {
		yaml_mark_t m = {0, 0, 0};
		d->root = conf_node_new(d, WN_CONF_MAP, &m);
	}
	*out = d;
	return WN_OK;
}

int wn_conf_load_file(const char *path, wn_conf_doc **out, char **err)
{
	*out = NULL;
	*err = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		*err = wn_xasprintf("cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? WN_ENOTFOUND : WN_EIO;
	}
	size_t cap = 4096, len = 0;
	char *buf = wn_xmalloc(cap);
	int rc = WN_OK;
	for (;;) {
		if (len == cap) {
			if (cap >= CONF_FILE_MAX) {
				*err = wn_xasprintf("cannot read %s: larger than %u bytes", path,
				                    CONF_FILE_MAX);
				rc = WN_ETOOBIG;
				break;
			}
			cap *= 2;
			buf = wn_xrealloc(buf, cap);
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0) {
			if (ferror(f)) {
				*err = wn_xasprintf("cannot read %s: %s", path, strerror(errno));
				rc = WN_EIO;
			}
			break;
		}
	}
	fclose(f);
	if (rc == WN_OK)
		rc = wn_conf_load_string(path, buf, len, out, err);
	free(buf);
	return rc;
}

const wn_conf_node *wn_conf_get(const wn_conf_node *map, const char *key)
{
	if (map == NULL || map->kind != WN_CONF_MAP)
		return NULL;
	size_t klen = strlen(key);
	for (size_t i = 0; i < map->n; i++) {
		const wn_conf_node *k = map->items[2 * i];
		if (k->len == klen && memcmp(k->str, key, klen) == 0)
			return map->items[2 * i + 1];
	}
	return NULL;
}

bool wn_conf_is_null(const wn_conf_node *node)
{
	if (node == NULL)
		return true;
	if (node->kind != WN_CONF_SCALAR || !node->plain)
		return false;
	return node->len == 0 || strcmp(node->str, "~") == 0 || strcmp(node->str, "null") == 0 ||
	       strcmp(node->str, "Null") == 0 || strcmp(node->str, "NULL") == 0;
}

/* ---------------------------------------------------------------- key tables */

void wn_conf_strv_free(wn_conf_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->v[i]);
	free(v->v);
	v->v = NULL;
	v->n = 0;
}

void wn_conf_strmap_free(wn_conf_strmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->keys[i]);
		free(m->vals[i]);
	}
	free(m->keys);
	free(m->vals);
	m->keys = m->vals = NULL;
	m->n = 0;
}

const char *wn_conf_strmap_get(const wn_conf_strmap *m, const char *key)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->keys[i], key) == 0)
			return m->vals[i];
	return NULL;
}

/* conf_distance is the edit distance of a and b, capped for long names. */
static size_t conf_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* conf_scalar_text checks that node is a scalar without NUL bytes. */
static int conf_scalar_text(const wn_conf_doc *doc, const wn_conf_node *node, const char *what,
                            const char *key, char **err)
{
	if (node->kind != WN_CONF_SCALAR) {
		*err = wn_conf_error(doc, node, "expected %s for '%s', got %s", what, key,
		                     wn_conf_kind_name(node->kind));
		return WN_EINVAL;
	}
	if (strlen(node->str) != node->len) {
		*err = wn_conf_error(doc, node, "'%s' holds a NUL byte", key);
		return WN_EINVAL;
	}
	return WN_OK;
}

static int conf_parse_bool(const char *s, bool *out)
{
	static const char *const yes[] = {"true", "True", "TRUE"};
	static const char *const no[] = {"false", "False", "FALSE"};
	for (size_t i = 0; i < WN_ARRAY_LEN(yes); i++) {
		if (strcmp(s, yes[i]) == 0) {
			*out = true;
			return WN_OK;
		}
		if (strcmp(s, no[i]) == 0) {
			*out = false;
			return WN_OK;
		}
	}
	return WN_EINVAL;
}

/* conf_store parses value (a node, or NULL with text def) into the field. */
static int conf_store(const wn_conf_doc *doc, const wn_conf_key *k, const wn_conf_node *value,
                      const char *def, void *field, char **err)
{
	const char *text = value ? value->str : def;
	switch (k->type) {
	case WN_CONF_T_STR: {
		if (value && conf_scalar_text(doc, value, "a string", k->name, err) != WN_OK)
			return WN_EINVAL;
		if (k->choices != NULL) {
			bool ok = false;
			for (size_t i = 0; k->choices[i] != NULL; i++)
				ok = ok || strcmp(k->choices[i], text) == 0;
			if (!ok) {
				size_t cap = 64, len = 0;
				char *list = wn_xcalloc(1, cap);
				for (size_t i = 0; k->choices[i] != NULL; i++) {
					size_t add = strlen(k->choices[i]) + 2;
					if (len + add + 1 > cap) {
						cap = (len + add + 1) * 2;
						list = wn_xrealloc(list, cap);
					}
					len += (size_t)snprintf(list + len, cap - len, "%s%s",
					                        i ? ", " : "", k->choices[i]);
				}
				*err = wn_conf_error(doc, value, "'%s' must be one of %s, not '%s'",
				                     k->name, list, text);
				free(list);
				return WN_EINVAL;
			}
		}
		if ((k->flags & WN_CONF_NONEMPTY) && text[0] == '\0') {
			*err = wn_conf_error(doc, value, "'%s' must not be empty", k->name);
			return WN_EINVAL;
		}
		char **p = field;
		free(*p);
		*p = wn_xstrdup(text);
		return WN_OK;
	}
	case WN_CONF_T_INT: {
		if (value && conf_scalar_text(doc, value, "a number", k->name, err) != WN_OK)
			return WN_EINVAL;
		int64_t v = 0;
		if (wn_parse_i64(text, INT64_MIN, INT64_MAX, &v) != WN_OK) {
			*err =
			    wn_conf_error(doc, value, "expected a whole number for '%s', not '%s'",
			                  k->name, text);
			return WN_EINVAL;
		}
		if (v < k->min || v > k->max) {
			*err = wn_conf_error(
			    doc, value, "'%s' must be between %lld and %lld, not %lld", k->name,
			    (long long)k->min, (long long)k->max, (long long)v);
			return WN_EINVAL;
		}
		*(int64_t *)field = v;
		return WN_OK;
	}
	case WN_CONF_T_BOOL: {
		if (value && conf_scalar_text(doc, value, "true or false", k->name, err) != WN_OK)
			return WN_EINVAL;
		if (conf_parse_bool(text, field) != WN_OK) {
			*err = wn_conf_error(
			    doc, value, "expected true or false for '%s', not '%s'", k->name, text);
			return WN_EINVAL;
		}
		return WN_OK;
	}
	case WN_CONF_T_STRLIST: {
		wn_conf_strv *v = field;
		wn_conf_strv_free(v);
		if (value == NULL) {
			if (def != NULL) {
				v->v = wn_xcalloc(1, sizeof(char *));
				v->v[0] = wn_xstrdup(def);
				v->n = 1;
			}
			return WN_OK;
		}
		if (value->kind == WN_CONF_MAP) {
			*err = wn_conf_error(doc, value, "expected a list for '%s', got a mapping",
			                     k->name);
			return WN_EINVAL;
		}
		size_t n = value->kind == WN_CONF_SEQ ? value->n : 1;
		v->v = wn_xcalloc(n ? n : 1, sizeof(char *));
		for (size_t i = 0; i < n; i++) {
			const wn_conf_node *it =
			    value->kind == WN_CONF_SEQ ? value->items[i] : value;
			if (it->kind != WN_CONF_SCALAR || wn_conf_is_null(it)) {
				*err = wn_conf_error(
				    doc, it, "expected a string in the list '%s', got %s", k->name,
				    it->kind == WN_CONF_SCALAR ? "null"
				                               : wn_conf_kind_name(it->kind));
				return WN_EINVAL;
			}
			if (conf_scalar_text(doc, it, "a string", k->name, err) != WN_OK)
				return WN_EINVAL;
			v->v[v->n++] = wn_xstrdup(it->str);
		}
		if ((k->flags & WN_CONF_NONEMPTY) && v->n == 0) {
			*err = wn_conf_error(doc, value, "'%s' must not be an empty list", k->name);
			return WN_EINVAL;
		}
		return WN_OK;
	}
	case WN_CONF_T_STRMAP: {
		wn_conf_strmap *m = field;
		wn_conf_strmap_free(m);
		if (value == NULL)
			return WN_OK;
		if (value->kind != WN_CONF_MAP) {
			*err = wn_conf_error(doc, value, "expected a mapping for '%s', got %s",
			                     k->name, wn_conf_kind_name(value->kind));
			return WN_EINVAL;
		}
		m->keys = wn_xcalloc(value->n ? value->n : 1, sizeof(char *));
		m->vals = wn_xcalloc(value->n ? value->n : 1, sizeof(char *));
		for (size_t i = 0; i < value->n; i++) {
			const wn_conf_node *kn = value->items[2 * i], *vn = value->items[2 * i + 1];
			if (conf_scalar_text(doc, kn, "a string", k->name, err) != WN_OK)
				return WN_EINVAL;
			if (vn->kind != WN_CONF_SCALAR) {
				*err =
				    wn_conf_error(doc, vn, "expected a string for '%s.%s', got %s",
				                  k->name, kn->str, wn_conf_kind_name(vn->kind));
				return WN_EINVAL;
			}
			if (conf_scalar_text(doc, vn, "a string", kn->str, err) != WN_OK)
				return WN_EINVAL;
			m->keys[m->n] = wn_xstrdup(kn->str);
			m->vals[m->n] = wn_xstrdup(wn_conf_is_null(vn) ? "" : vn->str);
			m->n++;
		}
		if ((k->flags & WN_CONF_NONEMPTY) && m->n == 0) {
			*err = wn_conf_error(doc, value, "'%s' must not be empty", k->name);
			return WN_EINVAL;
		}
		return WN_OK;
	}
	case WN_CONF_T_NODE:
		*(const wn_conf_node **)field = value;
		return WN_OK;
	case WN_CONF_T_SKIP:
		return WN_OK;
	}
	return WN_EINVAL;
}

int wn_conf_apply(const wn_conf_doc *doc, const wn_conf_node *map, const wn_conf_key *keys,
                  size_t nkeys, void *target, char **err)
{
	*err = NULL;
	if (map != NULL && map->kind != WN_CONF_MAP && !wn_conf_is_null(map)) {
		*err = wn_conf_error(doc, map, "expected a mapping, got %s",
		                     wn_conf_kind_name(map->kind));
		return WN_EINVAL;
	}
	if (map != NULL && map->kind == WN_CONF_MAP) {
		for (size_t i = 0; i < map->n; i++) {
			const wn_conf_node *kn = map->items[2 * i];
			bool known = false;
			for (size_t j = 0; j < nkeys && !known; j++)
				known = strcmp(keys[j].name, kn->str) == 0;
			if (known)
				continue;
			const char *best = NULL;
			size_t bestd = SIZE_MAX;
			for (size_t j = 0; j < nkeys; j++) {
				size_t dist = conf_distance(kn->str, keys[j].name);
				size_t kl = strlen(kn->str), nl = strlen(keys[j].name);
				size_t common = kl < nl ? kl : nl;
				/* On a tie, a key that extends the word (gpu -> gpus) wins. */
				if (dist != SIZE_MAX) {
					dist *= 2;
					if (strncmp(kn->str, keys[j].name, common) != 0)
						dist++;
				}
				if (dist < bestd) {
					bestd = dist;
					best = keys[j].name;
				}
			}
			if (best != NULL && bestd <= 5 && bestd / 2 < strlen(kn->str))
				*err =
				    wn_conf_error(doc, kn, "unknown key '%s' (did you mean '%s'?)",
				                  kn->str, best);
			else
				*err = wn_conf_error(doc, kn, "unknown key '%s'", kn->str);
			return WN_EINVAL;
		}
	}
	for (size_t j = 0; j < nkeys; j++) {
		const wn_conf_key *k = &keys[j];
		void *field = (char *)target + k->offset;
		const wn_conf_node *value = map ? wn_conf_get(map, k->name) : NULL;
		if (wn_conf_is_null(value))
			value = NULL; /* written as null: the default applies */
		if (value == NULL && (k->flags & WN_CONF_REQUIRED)) {
			const wn_conf_node *at = map ? wn_conf_get(map, k->name) : NULL;
			*err = wn_conf_error(
			    doc, at ? at : (map && map->kind == WN_CONF_MAP ? map : NULL),
			    "'%s' is required", k->name);
			return WN_EINVAL;
		}
		if (value == NULL && k->def == NULL) {
			if (k->type == WN_CONF_T_NODE)
				*(const wn_conf_node **)field = NULL;
			continue;
		}
		int rc = conf_store(doc, k, value, k->def, field, err);
		if (rc != WN_OK)
			return rc;
	}
	return WN_OK;
}

void wn_conf_release(const wn_conf_key *keys, size_t nkeys, void *target)
{
	for (size_t j = 0; j < nkeys; j++) {
		void *field = (char *)target + keys[j].offset;
		switch (keys[j].type) {
		case WN_CONF_T_STR: {
			char **p = field;
			free(*p);
			*p = NULL;
			break;
		}
		case WN_CONF_T_STRLIST:
			wn_conf_strv_free(field);
			break;
		case WN_CONF_T_STRMAP:
			wn_conf_strmap_free(field);
			break;
		case WN_CONF_T_NODE:
			*(const wn_conf_node **)field = NULL;
			break;
		default:
			break;
		}
	}
}
