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

/* wn_table_print writes the header and every complete row to f, columns separated by
 * two spaces, without trailing blanks. */
void wn_table_print(const wn_table *t, FILE *f);

#endif
