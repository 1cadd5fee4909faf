/* pbjson_real: the text of the JSON numbers that a double cannot tell from an
 * integer. jansson reads a number with a point or an exponent as a double:
 * -1e-400 underflows to -0.0 and 2051.0000000000001 rounds to 2051, each then
 * an integer. For the way in (pbjson_in.c) to judge such a number where an
 * integer is expected by what was written, wn_pbjson_reals pairs each of
 * them with its text: the reals of the tree in document order (jansson keeps
 * an object's keys in the order read; duplicates are refused) are the number
 * tokens with a point or an exponent of the text in the same order. */
#include "pbjson.h"

#include "util.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* A cursor over the JSON text, at the next byte to scan. */
struct scan {
	const char *s;
	size_t len, pos;
};

/* scan_real finds the next number token with a point or an exponent, outside
 * strings, from c->pos: returns it (its length in *n) or NULL at the end. */
static const char *scan_real(struct scan *c, size_t *n)
{
	bool str = false;
	while (c->pos < c->len) {
		char ch = c->s[c->pos];
		if (str) {
			c->pos += ch == '\\' ? 2 : 1;
			str = ch != '"';
			continue;
		}
		if (ch == '"') {
			str = true;
			c->pos++;
			continue;
		}
		if (ch != '-' && (ch < '0' || ch > '9')) {
			c->pos++;
			continue;
		}
		size_t start = c->pos;
		bool real = false;
		while (c->pos < c->len && strchr("0123456789+-.eE", c->s[c->pos]) != NULL &&
		       c->s[c->pos] != '\0') {
			real = real || strchr(".eE", c->s[c->pos]) != NULL;
			c->pos++;
		}
		if (real) {
			*n = c->pos - start;
			return c->s + start;
		}
	}
	return NULL;
}

struct reals {
	struct scan scan;
	struct wn_pbjson_real *v;
	size_t n, cap;
	bool lost; /* the text and the tree did not pair: nothing is kept */
};

/* reals_walk pairs each real of j, in document order, with its token. */
static void reals_walk(struct reals *r, const json_t *j)
{
	if (r->lost)
		return;
	if (json_is_object(j)) {
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)j, k, v) reals_walk(r, v);
	} else if (json_is_array(j)) {
		size_t i;
		json_t *v;
		json_array_foreach(j, i, v) reals_walk(r, v);
	} else if (json_is_real(j)) {
		size_t n = 0;
		const char *t = scan_real(&r->scan, &n);
		if (t == NULL) {
			r->lost = true;
			return;
		}
		double d = json_real_value(j);
		/* a double that is not an integer, or past 2^53, is judged as one */
		if (d != floor(d) || fabs(d) >= 9007199254740992.0)
			return;
		if (r->n == r->cap) {
			r->cap = r->cap ? 2 * r->cap : 8;
			r->v = wn_xrealloc(r->v, r->cap * sizeof *r->v);
		}
		r->v[r->n++] = (struct wn_pbjson_real){j, t, n};
	}
}

static int real_cmp(const void *a, const void *b)
{
	const json_t *x = ((const struct wn_pbjson_real *)a)->j;
	const json_t *y = ((const struct wn_pbjson_real *)b)->j;
	return x < y ? -1 : x > y ? 1 : 0;
}

size_t wn_pbjson_reals(const char *json, size_t len, const json_t *root,
                       struct wn_pbjson_real **out)
{
	struct reals r = {.scan = {json, len, 0}};
	reals_walk(&r, root);
	if (r.lost) {
		free(r.v);
		r.v = NULL;
		r.n = 0;
	}
	if (r.n > 1)
		qsort(r.v, r.n, sizeof *r.v, real_cmp);
	*out = r.v;
	return r.n;
}

const struct wn_pbjson_real *wn_pbjson_real_text(const struct wn_pbjson_real *v, size_t n,
                                                 const json_t *j)
{
	if (n == 0)
		return NULL; /* v may be NULL, which bsearch may not be given */
	struct wn_pbjson_real key = {j, NULL, 0};
	return bsearch(&key, v, n, sizeof *v, real_cmp);
}
