/* table: aligned text tables with a header row, for human output. */
#ifndef WN_CTL_TABLE_H
#define WN_CTL_TABLE_H

#include <stdio.h>

typedef struct wn_table wn_table;

/* wn_table_new starts a table with the given NULL-terminated column headers; a header
 * that starts with '>' is a right-aligned column (the '>' is not printed). */
wn_table *wn_table_new(const char *const *headers);

/* wn_table_free frees t; NULL is a no-op. */
void wn_table_free(wn_table *t);

/* wn_table_add appends one formatted cell; cells fill rows left to right, top to bottom.
 * An empty cell is shown as "-", control characters (line breaks too) as visible escapes
 * (wn_termsafe_escape). */
void wn_table_add(wn_table *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* wn_table_flush writes the rows added since the last flush (the header first, on the first
 * one) to f and drops them: a table printed page by page holds one page. Columns are
 * separated by two spaces, without trailing blanks, and are as wide as their widest cell
 * printed so far: the rows of one flush line up, and a later flush widens a column only
 * where a cell of its own is wider. */
void wn_table_flush(wn_table *t, FILE *f);

/* wn_table_print writes the header and every complete row to f (wn_table_flush). */
void wn_table_print(wn_table *t, FILE *f);

#endif
