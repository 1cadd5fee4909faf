/* gridrange: the ranges a sweep's grid values may be written as, on the
 * command line (`--grid seed=1..10`) and in a sweep file (`seed: 1..10`):
 *
 *   A..B           the integers from A to B (either way round), A and B included
 *   A..B:N         N numbers evenly spaced from A to B, both included
 *   log:A..B:N     N numbers evenly spaced on a log scale from A to B (A, B > 0)
 *
 * Numbers are printed in at most 12 significant digits ("0.0001", "25"). An
 * item is a range when it starts with "log:", or with a number (a digit, or a
 * sign and a digit) and holds "..": anything else ("../data", "a..b") is a
 * plain value. */
#ifndef WN_CTL_GRIDRANGE_H
#define WN_CTL_GRIDRANGE_H

#include <stddef.h>

/* wn_gridrange_parse returns 0 when item is a plain value; when it is a range, 1 with its
 * *n values in *values (malloc'd, each string too) for the caller to free; WN_EINVAL with a
 * malloc'd message in *errmsg when it is a range that is malformed or longer than max. */
int wn_gridrange_parse(const char *item, size_t max, char ***values, size_t *n, char **errmsg);

#endif
