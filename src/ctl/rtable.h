/* rtable: jobs side by side with what they reported, one row per job: its id,
 * name, parameters, status and results (`wnctl sweep results`). Rows can be
 * sorted by a result and cut to the best; the whole prints as an aligned
 * table, CSV (RFC 4180) or a JSON array of objects.
 *
 * Columns: ID, NAME, one per parameter key, STATUS, one per result key (keys
 * of all rows, in byte order). A result key that is also a parameter key or
 * one of id, name, status is headed "result.KEY"; a parameter key that is one
 * of id, name, status "param.KEY". A row lacking a key has an empty cell
 * ("-" in the table, an empty field in CSV, no member in JSON). */
#ifndef WN_CTL_RTABLE_H
#define WN_CTL_RTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "whatsnext.pb-c.h"

typedef struct wn_rtable wn_rtable;

/* Output formats of wn_rtable_write. */
enum wn_rtable_format {
	WN_RTABLE_TABLE = 0,
	WN_RTABLE_CSV,
	WN_RTABLE_JSON,
};

/* wn_rtable_new returns the rows of the n jobs, in the order given; it borrows the jobs,
 * which must outlive it. */
wn_rtable *wn_rtable_new(Whatsnext__V1__Job *const *jobs, size_t n);

/* wn_rtable_free frees t (not the jobs); NULL is a no-op. */
void wn_rtable_free(wn_rtable *t);

/* wn_rtable_rows returns the number of rows. */
size_t wn_rtable_rows(const wn_rtable *t);

/* wn_rtable_has_result tells whether any row has a result named key. */
bool wn_rtable_has_result(const wn_rtable *t, const char *key);

/* wn_rtable_sort orders the rows by their result key: numbers first (ascending, or
 * descending with desc), then texts (in byte order, or reversed with desc), then the rows
 * lacking the key; rows that compare equal keep id order. */
void wn_rtable_sort(wn_rtable *t, const char *key, bool desc);

/* wn_rtable_best keeps the first n rows (of the order set before) that have a result
 * named key and drops the others. */
void wn_rtable_best(wn_rtable *t, const char *key, size_t n);

/* wn_rtable_write prints t to f in format fmt; text goes out as it is (the table format
 * escapes controls, wn_table_add). Returns 0, or WN_EIO when f could not be written. */
int wn_rtable_write(const wn_rtable *t, enum wn_rtable_format fmt, FILE *f);

/* wn_rtable_result returns the result named key of job j, or NULL when it has none. */
const Whatsnext__V1__ResultValue *wn_rtable_result(const Whatsnext__V1__Job *j, const char *key);

/* wn_rtable_value writes the text of result v into buf (size n) and returns it: a text as
 * it is (then the result points into v, not buf), a number as the shortest decimal that
 * reads back as the same double ("0.1", "20", "1e+21"; "nan", "inf", "-inf"); "" for
 * NULL or no value. */
const char *wn_rtable_value(const Whatsnext__V1__ResultValue *v, char *buf, size_t n);

/* wn_rtable_number writes x as wn_rtable_value writes a number into buf (size n, at least
 * 32) and returns buf. */
char *wn_rtable_number(double x, char *buf, size_t n);

/* A table of rows printed page by page (`sweep results` without --sort): each page's rows
 * go out as they come, under the header of the first page's columns. A page that brings a
 * column the table lacks (a parameter or result key no row before had) starts a new
 * table after a blank line, headed with every column so far. */
typedef struct wn_rtable_stream wn_rtable_stream;

/* wn_rtable_stream_new starts a table printed to f. */
wn_rtable_stream *wn_rtable_stream_new(FILE *f);

/* wn_rtable_stream_page prints the rows of the n jobs (the header first on the first
 * call, also when n is 0); the jobs may be freed once it returns. */
void wn_rtable_stream_page(wn_rtable_stream *s, Whatsnext__V1__Job *const *jobs, size_t n);

/* wn_rtable_stream_free frees s; NULL is a no-op. */
void wn_rtable_stream_free(wn_rtable_stream *s);

#endif
