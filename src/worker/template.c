#include "template.h"

#include "err.h"
#include "strbuf.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static bool template_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '.' || c == '-';
}

/* template_placeholder checks the placeholder opening at p (column col) and
 * sets *end to its closing '}'; on failure *errmsg says why. */
static int template_placeholder(const char *p, size_t col, const char **end, char **errmsg)
{
	const char *name = p + 1;
	const char *q = name;
	while (template_name_char(*q))
		q++;
	/* a shell's ${VAR} or ${VAR:-x} is no placeholder: say how to write it */
	const char *shell = col > 1 && p[-1] == '$'
	                        ? "; a shell's ${...} is written ${{...}}, its braces doubled"
	                        : "";
	if (*q != '}') {
		if (*q == '\0' || strchr(q, '}') == NULL)
			*errmsg = wn_xasprintf("unclosed '{' at column %zu (write '{{' for a "
			                       "literal brace)",
			                       col);
		else if ((unsigned char)*q >= 0x20 && (unsigned char)*q < 0x7f)
			*errmsg = wn_xasprintf("invalid character '%c' in the placeholder at "
			                       "column %zu (names use letters, digits, '_', '.' "
			                       "and '-'%s)",
			                       *q, col, shell);
		else
			*errmsg = wn_xasprintf("invalid byte 0x%02x in the placeholder at column "
			                       "%zu (names use letters, digits, '_', '.' and '-')",
			                       (unsigned char)*q, col);
		return WN_EINVAL;
	}
	size_t n = (size_t)(q - name);
	if (n == 0) {
		*errmsg = wn_xasprintf("empty placeholder '{}' at column %zu", col);
		return WN_EINVAL;
	}
	if (n > WN_TEMPLATE_NAME_MAX) {
		*errmsg = wn_xasprintf("placeholder name at column %zu is longer than %d bytes",
		                       col, WN_TEMPLATE_NAME_MAX);
		return WN_EINVAL;
	}
	*end = q;
	return WN_OK;
}

/* template_walk parses src, calling lookup for each placeholder unless it is
 * NULL; b (if not NULL) gets the expansion. */
static int template_walk(const char *src, wn_template_lookup lookup, void *ctx, wn_strbuf *b,
                         char **errmsg)
{
	char *missing = NULL;
	const char *p = src;
	while (*p != '\0') {
		const char *lit = p;
		while (*p != '\0' && *p != '{' && *p != '}')
			p++;
		if (b && p > lit)
			wn_strbuf_add(b, lit, (size_t)(p - lit));
		if (*p == '\0')
			break;
		size_t col = (size_t)(p - src) + 1;
		if (*p == '}') {
			if (p[1] != '}') {
				*errmsg =
				    wn_xasprintf("unexpected '}' at column %zu (write '}}' for a "
				                 "literal brace)",
				                 col);
				free(missing);
				return WN_EINVAL;
			}
			if (b)
				wn_strbuf_add(b, "}", 1);
			p += 2;
			continue;
		}
		if (p[1] == '{') {
			if (b)
				wn_strbuf_add(b, "{", 1);
			p += 2;
			continue;
		}
		const char *name = p + 1, *q;
		if (template_placeholder(p, col, &q, errmsg) != WN_OK) {
			free(missing);
			return WN_EINVAL;
		}
		size_t n = (size_t)(q - name);
		if (lookup != NULL) {
			char key[WN_TEMPLATE_NAME_MAX + 1];
			memcpy(key, name, n);
			key[n] = '\0';
			const char *v = lookup(ctx, key);
			if (v == NULL) {
				if (missing == NULL)
					missing = wn_xstrdup(key);
			} else if (b) {
				wn_strbuf_add(b, v, strlen(v));
			}
		}
		p = q + 1;
	}
	if (missing != NULL) {
		*errmsg = wn_xasprintf("missing parameter '%s'", missing);
		free(missing);
		return WN_ENOTFOUND;
	}
	return WN_OK;
}

int wn_template_render(const char *src, wn_template_lookup lookup, void *ctx, char **out,
                       char **errmsg)
{
	*out = NULL;
	*errmsg = NULL;
	wn_strbuf b = WN_STRBUF_INIT;
	int rc = template_walk(src, lookup, ctx, &b, errmsg);
	if (rc != WN_OK) {
		wn_strbuf_free(&b);
		return rc;
	}
	*out = wn_strbuf_take(&b);
	return WN_OK;
}

/* template_seek notes whether the name sought (template_find; NULL: any)
 * is met. */
typedef struct template_find {
	const char *name;
	bool met;
} template_find;

static const char *template_seek(void *ctx, const char *name)
{
	template_find *f = ctx;
	f->met = f->met || f->name == NULL || strcmp(name, f->name) == 0;
	return "";
}

bool wn_template_names(const char *src, const char *name)
{
	template_find f = {name, false};
	char *err = NULL;
	template_walk(src, template_seek, &f, NULL, &err);
	free(err);
	return f.met;
}

int wn_template_check(const char *src, char **errmsg)
{
	*errmsg = NULL;
	return template_walk(src, NULL, NULL, NULL, errmsg);
}
