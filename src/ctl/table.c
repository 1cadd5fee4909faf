#include "table.h"

#include "termsafe.h"

#include "util.h"

#include <locale.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

struct wn_table {
	size_t ncols;
	bool *right;
	size_t *width; /* of each column: the widest cell printed so far */
	char **cells;  /* not printed yet: the headers (until the first flush), the rows */
	size_t ncells;
	size_t cap;
};

static void table_push(wn_table *t, char *cell)
{
	if (t->ncells == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 64;
		t->cells = wn_xrealloc(t->cells, t->cap * sizeof(*t->cells));
	}
	t->cells[t->ncells++] = cell;
}

/* table_width returns how many columns s takes on a terminal: the width of
 * each character (2 for a wide one such as 日, 0 for a combining accent, 1
 * for a byte that starts none), read in C.UTF-8 whatever the user's locale;
 * without that locale, its code points. */
static size_t table_width(const char *s)
{
	static locale_t utf8 = (locale_t)0;
	static bool tried;
	if (!tried) {
		tried = true;
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	}
	size_t w = 0, n = strlen(s);
	locale_t old = utf8 != (locale_t)0 ? uselocale(utf8) : (locale_t)0;
	mbstate_t st;
	memset(&st, 0, sizeof(st));
	while (n > 0) {
		wchar_t wc;
		size_t k = utf8 != (locale_t)0 ? mbrtowc(&wc, s, n, &st) : (size_t)-1;
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof(st));
			w += ((unsigned char)*s & 0xc0) != 0x80 || utf8 != (locale_t)0;
			s++;
			n--;
			continue;
		}
		int cw = wcwidth(wc);
		w += cw >= 0 ? (size_t)cw : 1;
		s += k;
		n -= k;
	}
	if (old != (locale_t)0)
		uselocale(old);
	return w;
}

wn_table *wn_table_new(const char *const *headers)
{
	wn_table *t = wn_xcalloc(1, sizeof(*t));
	while (headers[t->ncols] != NULL)
		t->ncols++;
	t->right = wn_xcalloc(t->ncols, sizeof(*t->right));
	t->width = wn_xcalloc(t->ncols, sizeof(*t->width));
	for (size_t i = 0; i < t->ncols; i++) {
		const char *h = headers[i];
		if (h[0] == '>') {
			t->right[i] = true;
			h++;
		}
		table_push(t, wn_xstrdup(h));
	}
	return t;
}

void wn_table_free(wn_table *t)
{
	if (t == NULL)
		return;
	for (size_t i = 0; i < t->ncells; i++)
		free(t->cells[i]);
	free(t->cells);
	free(t->right);
	free(t->width);
	free(t);
}

void wn_table_add(wn_table *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = wn_xstrdup("?");
	va_end(ap);
	if (s[0] == '\0') {
		free(s);
		s = wn_xstrdup("-");
	}
	char *e = wn_termsafe_escape(s, strlen(s), false);
	free(s);
	table_push(t, e);
}

void wn_table_flush(wn_table *t, FILE *f)
{
	size_t *width = t->width;
	size_t nrows = t->ncells / t->ncols;
	size_t linecap = 0;
	for (size_t i = 0; i < nrows * t->ncols; i++) {
		size_t w = table_width(t->cells[i]);
		if (w > width[i % t->ncols])
			width[i % t->ncols] = w;
		linecap += strlen(t->cells[i]) + 2;
	}
	for (size_t col = 0; col < t->ncols; col++)
		linecap += width[col] + 2;
	char *line = wn_xmalloc(linecap + 1);
	for (size_t r = 0; r < nrows; r++) {
		size_t n = 0;
		for (size_t col = 0; col < t->ncols; col++) {
			const char *s = t->cells[r * t->ncols + col];
			size_t len = strlen(s);
			size_t pad = width[col] - table_width(s);
			if (col > 0) {
				memcpy(line + n, "  ", 2);
				n += 2;
			}
			if (t->right[col]) {
				memset(line + n, ' ', pad);
				n += pad;
			}
			memcpy(line + n, s, len);
			n += len;
			if (!t->right[col]) {
				memset(line + n, ' ', pad);
				n += pad;
			}
		}
		while (n > 0 && line[n - 1] == ' ')
			n--;
		line[n++] = '\n';
		fwrite(line, 1, n, f);
	}
	free(line);
	/* the rows printed are dropped; the cells of a row not complete yet stay */
	size_t done = nrows * t->ncols;
	for (size_t i = 0; i < done; i++)
		free(t->cells[i]);
	memmove(t->cells, t->cells + done, (t->ncells - done) * sizeof(*t->cells));
	t->ncells -= done;
}

void wn_table_print(wn_table *t, FILE *f)
{
	wn_table_flush(t, f);
}
