#include "conf.h"

#include "err.h"
#include "kit.h"
#include "map.h"
#include "strbuf.h"
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

/* A mapping with this many keys finds a duplicate key through an index of
 * them rather than by comparing with each. */
#define CONF_KEYS_INDEXED 16

/* An open sequence or mapping while the tree is built. */
typedef struct conf_open {
	wn_conf_node *node;
	size_t cap;
	wn_map *keys; /* a mapping's keys (up to a NUL in one), once it has many */
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
	char *out = name == NULL ? wn_xstrdup(msg ? msg : fmt)
	            : line > 0   ? wn_xasprintf("%s:%d:%d: %s", name, line, col, msg ? msg : fmt)
	                         : wn_xasprintf("%s: %s", name, msg ? msg : fmt);
	free(msg);
	return out;
}

char *wn_conf_error(const wn_conf_doc *doc, const wn_conf_node *node, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = conf_verror(doc ? doc->name : NULL, node ? node->line : 0, node ? node->col : 0,
	                      fmt, ap);
	va_end(ap);
	return s;
}

static bool conf_scalar_eq(const wn_conf_node *a, const wn_conf_node *b)
{
	return a->len == b->len && memcmp(a->str, b->str, a->len) == 0;
}

/* A document being built from libyaml's events. */
typedef struct conf_build {
	wn_conf_doc *d;
	const char *name;
	conf_open stack[WN_CONF_DEPTH_MAX];
	/* In an open mapping, a key waiting for its value. */
	wn_conf_node *pending_key[WN_CONF_DEPTH_MAX];
	size_t depth;
	int docs;
	bool done;
	char **errmsg;
} conf_build;

/* conf_fail sets the message of an error at mark and returns WN_EINVAL. */
static int conf_fail(conf_build *b, const yaml_mark_t *m, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int conf_fail(conf_build *b, const yaml_mark_t *m, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	*b->errmsg = conf_verror(b->name, (int)m->line + 1, (int)m->column + 1, fmt, ap);
	va_end(ap);
	return WN_EINVAL;
}

/* conf_parse_error reports why libyaml could not parse the text. */
static int conf_parse_error(conf_build *b, const yaml_parser_t *parser)
{
	const char *problem = parser->problem ? parser->problem : "malformed YAML";
	if (parser->context != NULL)
		return conf_fail(b, &parser->problem_mark, "%s %s", problem, parser->context);
	return conf_fail(b, &parser->problem_mark, "%s", problem);
}

/* conf_key_seen tells whether map (open as o) has a key equal to node's. */
static bool conf_key_seen(conf_open *o, const wn_conf_node *map, const wn_conf_node *node)
{
	if (map->n >= CONF_KEYS_INDEXED && o->keys == NULL) {
		o->keys = wn_map_new_str();
		for (size_t i = 0; i < map->n; i++)
			wn_map_put_str(o->keys, map->items[2 * i]->str, (void *)1);
	}
	/* a key not in the index is new; one in it may differ past a NUL */
	bool maybe = o->keys == NULL || wn_map_get_str(o->keys, node->str) != NULL;
	for (size_t i = 0; maybe && i < map->n; i++)
		if (conf_scalar_eq(map->items[2 * i], node))
			return true;
	if (o->keys != NULL)
		wn_map_put_str(o->keys, node->str, (void *)1);
	return false;
}

/* conf_attach_key makes node, which must be a new key of map, wait for its value. */
static int conf_attach_key(conf_build *b, const wn_conf_node *map, wn_conf_node *node)
{
	if (node->kind != WN_CONF_SCALAR) {
		*b->errmsg = wn_conf_error(b->d, node, "mapping keys must be strings");
		return WN_EINVAL;
	}
	if (conf_key_seen(&b->stack[b->depth - 1], map, node)) {
		*b->errmsg = wn_conf_error(b->d, node, "duplicate key '%s'", node->str);
		return WN_EINVAL;
	}
	b->pending_key[b->depth - 1] = node;
	return WN_OK;
}

/* conf_attach adds node to the innermost open sequence or mapping, or makes
 * it the root. */
static int conf_attach(conf_build *b, wn_conf_node *node)
{
	if (b->depth == 0) {
		b->d->root = node;
		return WN_OK;
	}
	conf_open *o = &b->stack[b->depth - 1];
	wn_conf_node *p = o->node;
	wn_conf_node **key = &b->pending_key[b->depth - 1];
	if (p->kind == WN_CONF_MAP && *key == NULL)
		return conf_attach_key(b, p, node);
	size_t need = p->kind == WN_CONF_MAP ? 2 * p->n + 2 : p->n + 1;
	if (need > o->cap) {
		o->cap = o->cap ? o->cap * 2 : 8;
		if (o->cap < need)
			o->cap = need;
		p->items = wn_xrealloc(p->items, o->cap * sizeof(*p->items));
	}
	if (p->kind == WN_CONF_MAP) {
		p->items[2 * p->n] = *key;
		p->items[2 * p->n + 1] = node;
		*key = NULL;
	} else {
		p->items[p->n] = node;
	}
	p->n++;
	return WN_OK;
}

/* conf_scalar_new makes a scalar node of a scalar event. */
static wn_conf_node *conf_scalar_new(wn_conf_doc *d, const yaml_event_t *ev)
{
	wn_conf_node *node = conf_node_new(d, WN_CONF_SCALAR, &ev->start_mark);
	char *s = wn_xmalloc(ev->data.scalar.length + 1);
	memcpy(s, ev->data.scalar.value, ev->data.scalar.length);
	s[ev->data.scalar.length] = '\0';
	node->str = s;
	node->len = ev->data.scalar.length;
	node->plain =
	    ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && ev->data.scalar.plain_implicit;
	return node;
}

/* conf_event grows the tree by one libyaml event. */
static int conf_event(conf_build *b, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		b->done = true;
		return WN_OK;
	case YAML_DOCUMENT_START_EVENT:
		if (++b->docs > 1)
			return conf_fail(b, &ev->start_mark, "expected a single document");
		return WN_OK;
	case YAML_ALIAS_EVENT:
		return conf_fail(b, &ev->start_mark, "aliases are not supported");
	case YAML_SCALAR_EVENT:
		return conf_attach(b, conf_scalar_new(b->d, ev));
	case YAML_SEQUENCE_START_EVENT:
	case YAML_MAPPING_START_EVENT: {
		if (b->depth == WN_CONF_DEPTH_MAX)
			return conf_fail(b, &ev->start_mark, "nested deeper than %d levels",
			                 WN_CONF_DEPTH_MAX);
		wn_conf_node *node = conf_node_new(
		    b->d, ev->type == YAML_SEQUENCE_START_EVENT ? WN_CONF_SEQ : WN_CONF_MAP,
		    &ev->start_mark);
		int rc = conf_attach(b, node);
		if (rc == WN_OK) {
			b->stack[b->depth] = (conf_open){node, 0, NULL};
			b->pending_key[b->depth] = NULL;
			b->depth++;
		}
		return rc;
	}
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth > 0) {
			b->depth--;
			wn_map_free(b->stack[b->depth].keys);
		}
		return WN_OK;
	default:
		return WN_OK;
	}
}

int wn_conf_load_string(const char *name, const char *text, size_t len, wn_conf_doc **out,
                        char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	conf_build b = {.name = name, .errmsg = errmsg};
	b.d = wn_xcalloc(1, sizeof(*b.d));
	b.d->name = wn_xstrdup(name);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		*errmsg = wn_xasprintf("%s: cannot initialize the YAML parser", name);
		wn_conf_free(b.d);
		return WN_ENOMEM;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	int rc = WN_OK;
	while (rc == WN_OK && !b.done) {
		yaml_event_t ev;
		if (!yaml_parser_parse(&parser, &ev)) {
			rc = conf_parse_error(&b, &parser);
			break;
		}
		rc = conf_event(&b, &ev);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	while (b.depth > 0) /* left open by an error */
		wn_map_free(b.stack[--b.depth].keys);
	if (rc != WN_OK) {
		wn_conf_free(b.d);
		return rc;
	}
	if (b.d->root == NULL) {
		yaml_mark_t m = {0, 0, 0};
		b.d->root = conf_node_new(b.d, WN_CONF_MAP, &m);
	}
	*out = b.d;
	return WN_OK;
}

int wn_conf_load_file(const char *path, wn_conf_doc **out, char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		*errmsg = wn_xasprintf("cannot open %s: %s", path, strerror(errno));
		return errno == ENOENT ? WN_ENOTFOUND : WN_EIO;
	}
	char *buf = NULL;
	size_t len = 0;
	int rc = wn_read_all(f, CONF_FILE_MAX, &buf, &len);
	if (rc == WN_ETOOBIG)
		*errmsg = wn_xasprintf("cannot read %s: larger than %u bytes", path, CONF_FILE_MAX);
	else if (rc != WN_OK)
		*errmsg = wn_xasprintf("cannot read %s: %s", path, strerror(errno));
	fclose(f);
	if (rc == WN_OK)
		rc = wn_conf_load_string(path, buf, len, out, errmsg);
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

/* conf_scalar_text checks that node is a scalar without NUL bytes. */
static int conf_scalar_text(const wn_conf_doc *doc, const wn_conf_node *node, const char *what,
                            const char *key, char **errmsg)
{
	if (node->kind != WN_CONF_SCALAR) {
		*errmsg = wn_conf_error(doc, node, "expected %s for '%s', got %s", what, key,
		                        wn_conf_kind_name(node->kind));
		return WN_EINVAL;
	}
	if (strlen(node->str) != node->len) {
		*errmsg = wn_conf_error(doc, node, "'%s' holds a NUL byte", key);
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

/* conf_choices returns k's choices as a malloc'd "a, b, c". */
static char *conf_choices(const wn_conf_key *k)
{
	wn_strbuf b = WN_STRBUF_INIT;
	for (size_t i = 0; k->choices[i] != NULL; i++)
		wn_strbuf_addf(&b, "%s%s", i ? ", " : "", k->choices[i]);
	return wn_strbuf_take(&b);
}

/* conf_store_str stores a string: text is value's, or the default. */
static int conf_store_str(const wn_conf_doc *doc, const wn_conf_key *k, const wn_conf_node *value,
                          const char *text, char **field, char **errmsg)
{
	if (value && conf_scalar_text(doc, value, "a string", k->name, errmsg) != WN_OK)
		return WN_EINVAL;
	if (k->choices != NULL) {
		bool ok = false;
		for (size_t i = 0; k->choices[i] != NULL; i++)
			ok = ok || strcmp(k->choices[i], text) == 0;
		if (!ok) {
			char *list = conf_choices(k);
			*errmsg = wn_conf_error(doc, value, "'%s' must be one of %s, not '%s'",
			                        k->name, list, text);
			free(list);
			return WN_EINVAL;
		}
	}
	if ((k->flags & WN_CONF_NONEMPTY) && text[0] == '\0') {
		*errmsg = wn_conf_error(doc, value, "'%s' must not be empty", k->name);
		return WN_EINVAL;
	}
	free(*field);
	*field = wn_xstrdup(text);
	return WN_OK;
}

/* conf_store_int stores a whole number within k's bounds. */
static int conf_store_int(const wn_conf_doc *doc, const wn_conf_key *k, const wn_conf_node *value,
                          const char *text, int64_t *field, char **errmsg)
{
	if (value && conf_scalar_text(doc, value, "a number", k->name, errmsg) != WN_OK)
		return WN_EINVAL;
	int64_t v = 0;
	if (wn_parse_i64(text, INT64_MIN, INT64_MAX, &v) != WN_OK) {
		/* digits past 64 bits are a whole number, one out of bounds */
		size_t sign = text[0] == '-' || text[0] == '+';
		bool digits =
		    text[sign] != '\0' && strspn(text + sign, "0123456789") == strlen(text + sign);
		*errmsg =
		    digits ? wn_conf_error(doc, value, "'%s' must be between %lld and %lld, not %s",
		                           k->name, (long long)k->min, (long long)k->max, text)
		           : wn_conf_error(doc, value, "expected a whole number for '%s', not '%s'",
		                           k->name, text);
		return WN_EINVAL;
	}
	if (v < k->min || v > k->max) {
		*errmsg =
		    wn_conf_error(doc, value, "'%s' must be between %lld and %lld, not %lld",
		                  k->name, (long long)k->min, (long long)k->max, (long long)v);
		return WN_EINVAL;
	}
	*field = v;
	return WN_OK;
}

/* conf_store_bool stores true or false. */
static int conf_store_bool(const wn_conf_doc *doc, const wn_conf_key *k, const wn_conf_node *value,
                           const char *text, bool *field, char **errmsg)
{
	if (value && conf_scalar_text(doc, value, "true or false", k->name, errmsg) != WN_OK)
		return WN_EINVAL;
	if (conf_parse_bool(text, field) != WN_OK) {
		*errmsg = wn_conf_error(doc, value, "expected true or false for '%s', not '%s'",
		                        k->name, text);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* conf_store_strlist stores a list of strings, or one string as a list. */
static int conf_store_strlist(const wn_conf_doc *doc, const wn_conf_key *k,
                              const wn_conf_node *value, const char *def, wn_conf_strv *v,
                              char **errmsg)
{
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
		*errmsg =
		    wn_conf_error(doc, value, "expected a list for '%s', got a mapping", k->name);
		return WN_EINVAL;
	}
	size_t n = value->kind == WN_CONF_SEQ ? value->n : 1;
	v->v = wn_xcalloc(n ? n : 1, sizeof(char *));
	for (size_t i = 0; i < n; i++) {
		const wn_conf_node *it = value->kind == WN_CONF_SEQ ? value->items[i] : value;
		if (it->kind != WN_CONF_SCALAR || wn_conf_is_null(it)) {
			*errmsg = wn_conf_error(
			    doc, it, "expected a string in the list '%s', got %s", k->name,
			    it->kind == WN_CONF_SCALAR ? "null" : wn_conf_kind_name(it->kind));
			return WN_EINVAL;
		}
		if (conf_scalar_text(doc, it, "a string", k->name, errmsg) != WN_OK)
			return WN_EINVAL;
		v->v[v->n++] = wn_xstrdup(it->str);
	}
	if ((k->flags & WN_CONF_NONEMPTY) && v->n == 0) {
		*errmsg = wn_conf_error(doc, value, "'%s' must not be an empty list", k->name);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* conf_store_strmap stores a mapping of strings to strings. */
static int conf_store_strmap(const wn_conf_doc *doc, const wn_conf_key *k,
                             const wn_conf_node *value, wn_conf_strmap *m, char **errmsg)
{
	wn_conf_strmap_free(m);
	if (value == NULL)
		return WN_OK;
	if (value->kind != WN_CONF_MAP) {
		*errmsg = wn_conf_error(doc, value, "expected a mapping for '%s', got %s", k->name,
		                        wn_conf_kind_name(value->kind));
		return WN_EINVAL;
	}
	m->keys = wn_xcalloc(value->n ? value->n : 1, sizeof(char *));
	m->vals = wn_xcalloc(value->n ? value->n : 1, sizeof(char *));
	for (size_t i = 0; i < value->n; i++) {
		const wn_conf_node *kn = value->items[2 * i], *vn = value->items[2 * i + 1];
		if (conf_scalar_text(doc, kn, "a string", k->name, errmsg) != WN_OK)
			return WN_EINVAL;
		if (vn->kind != WN_CONF_SCALAR) {
			*errmsg = wn_conf_error(doc, vn, "expected a string for '%s.%s', got %s",
			                        k->name, kn->str, wn_conf_kind_name(vn->kind));
			return WN_EINVAL;
		}
		if (conf_scalar_text(doc, vn, "a string", kn->str, errmsg) != WN_OK)
			return WN_EINVAL;
		m->keys[m->n] = wn_xstrdup(kn->str);
		m->vals[m->n] = wn_xstrdup(wn_conf_is_null(vn) ? "" : vn->str);
		m->n++;
	}
	if ((k->flags & WN_CONF_NONEMPTY) && m->n == 0) {
		*errmsg = wn_conf_error(doc, value, "'%s' must not be empty", k->name);
		return WN_EINVAL;
	}
	return WN_OK;
}

/* conf_store parses value (a node, or NULL with text def) into the field. */
static int conf_store(const wn_conf_doc *doc, const wn_conf_key *k, const wn_conf_node *value,
                      const char *def, void *field, char **errmsg)
{
	const char *text = value ? value->str : def;
	switch (k->type) {
	case WN_CONF_T_STR:
		return conf_store_str(doc, k, value, text, field, errmsg);
	case WN_CONF_T_INT:
		return conf_store_int(doc, k, value, text, field, errmsg);
	case WN_CONF_T_BOOL:
		return conf_store_bool(doc, k, value, text, field, errmsg);
	case WN_CONF_T_STRLIST:
		return conf_store_strlist(doc, k, value, def, field, errmsg);
	case WN_CONF_T_STRMAP:
		return conf_store_strmap(doc, k, value, field, errmsg);
	case WN_CONF_T_NODE:
		*(const wn_conf_node **)field = value;
		return WN_OK;
	case WN_CONF_T_SKIP:
		return WN_OK;
	}
	return WN_EINVAL;
}

/* conf_unknown_key reports the unknown key kn, with the nearest of keys. */
static int conf_unknown_key(const wn_conf_doc *doc, const wn_conf_node *kn, const wn_conf_key *keys,
                            size_t nkeys, char **errmsg)
{
	struct wn_nearest near;
	wn_nearest_init(&near, kn->str);
	for (size_t j = 0; j < nkeys; j++)
		wn_nearest_add(&near, keys[j].name);
	const char *best = wn_nearest_best(&near);
	if (best != NULL)
		*errmsg =
		    wn_conf_error(doc, kn, "unknown key '%s' (did you mean '%s'?)", kn->str, best);
	else
		*errmsg = wn_conf_error(doc, kn, "unknown key '%s'", kn->str);
	return WN_EINVAL;
}

int wn_conf_apply(const wn_conf_doc *doc, const wn_conf_node *map, const wn_conf_key *keys,
                  size_t nkeys, void *target, char **errmsg)
{
	*errmsg = NULL;
	if (map != NULL && map->kind != WN_CONF_MAP && !wn_conf_is_null(map)) {
		*errmsg = wn_conf_error(doc, map, "expected a mapping, got %s",
		                        wn_conf_kind_name(map->kind));
		return WN_EINVAL;
	}
	if (map != NULL && map->kind == WN_CONF_MAP) {
		for (size_t i = 0; i < map->n; i++) {
			const wn_conf_node *kn = map->items[2 * i];
			bool known = false;
			for (size_t j = 0; j < nkeys && !known; j++)
				known = strcmp(keys[j].name, kn->str) == 0;
			if (!known)
				return conf_unknown_key(doc, kn, keys, nkeys, errmsg);
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
			*errmsg = wn_conf_error(
			    doc, at ? at : (map && map->kind == WN_CONF_MAP ? map : NULL),
			    "'%s' is required", k->name);
			return WN_EINVAL;
		}
		if (value == NULL && k->def == NULL) {
			if (k->type == WN_CONF_T_NODE)
				*(const wn_conf_node **)field = NULL;
			continue;
		}
		int rc = conf_store(doc, k, value, k->def, field, errmsg);
		if (rc != WN_OK)
			return rc;
	}
	return WN_OK;
}

int wn_conf_set_text(const wn_conf_key *k, const char *text, void *target, char **errmsg)
{
	*errmsg = NULL;
	if (k->type != WN_CONF_T_STR && k->type != WN_CONF_T_INT && k->type != WN_CONF_T_BOOL &&
	    k->type != WN_CONF_T_STRLIST) {
		*errmsg = wn_xasprintf("'%s' cannot be given as text", k->name);
		return WN_EINVAL;
	}
	/* no node: the text is taken as it is, as a default would be */
	return conf_store(NULL, k, NULL, text, (char *)target + k->offset, errmsg);
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
