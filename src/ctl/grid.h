/* grid: the jobs of a parameter sweep. A sweep has fixed parameters, explicit
 * rows (each a set of parameters) and a grid (keys, each with a list of
 * values). Its jobs are every row combined with every point of the grid's
 * cartesian product: rows outermost, then the grid keys in the order they were
 * given, the last key varying fastest. Without rows there is one empty row;
 * without a grid, one empty point. A row or grid value replaces a fixed
 * parameter of the same key; a key may not be both in a row and in the grid.
 *
 * Job names come from a template with {key} placeholders ("lr{lr}-bs{bs}";
 * "{{" and "}}" are literal braces), or by default spell out the keys that vary
 * ("lr=0.1,bs=32"). Errors are malloc'd one-line messages in *errmsg. */
#ifndef WN_CTL_GRID_H
#define WN_CTL_GRID_H

#include "envelope.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most jobs one request may hold (the protocol's SubmitBatch limit). */
#define WN_GRID_JOBS_MAX WN_BATCH_MAX

typedef struct wn_grid wn_grid;

/* What a sweep file sets besides the parameters; a field is valid when its has_ flag is set.
 * The strings belong to the grid. */
struct wn_grid_file {
	bool has_name, has_sweep, has_priority, has_max_running;
	const char *name;  /* job name template */
	const char *sweep; /* the sweep's name */
	int32_t priority;
	uint32_t max_running;
};

/* wn_grid_new returns an empty grid: one job without parameters. */
wn_grid *wn_grid_new(void);

/* wn_grid_free frees g; NULL is a no-op. */
void wn_grid_free(wn_grid *g);

/* wn_grid_param sets fixed parameter key to value, replacing an earlier value. */
void wn_grid_param(wn_grid *g, const char *key, const char *value);

/* wn_grid_axis sets the n values of grid key, replacing an axis of the same key in its place. */
void wn_grid_axis(wn_grid *g, const char *key, const char *const *values, size_t n);

/* wn_grid_axis_arg parses "KEY=V1,V2,..." (non-empty key and values) into an axis. */
int wn_grid_axis_arg(wn_grid *g, const char *arg, char **errmsg);

/* wn_grid_row appends a row of n parameters (keys distinct). */
void wn_grid_row(wn_grid *g, const char *const *keys, const char *const *values, size_t n);

/* wn_grid_varies tells whether g has a grid key or a row: something to sweep. */
bool wn_grid_varies(const wn_grid *g);

/* wn_grid_load reads a YAML sweep file (keys grid, list, params, name, sweep,
 * priority, max_running) into g and what else it sets into *file; errors name
 * the file, line and column. */
int wn_grid_load(wn_grid *g, const char *path, struct wn_grid_file *file, char **errmsg);

/* wn_grid_load_text reads a sweep as wn_grid_load does from len bytes of text, naming it
 * name in errors. */
int wn_grid_load_text(wn_grid *g, const char *name, const char *text, size_t len,
                      struct wn_grid_file *file, char **errmsg);

/* wn_grid_count returns how many jobs g makes, or UINT64_MAX when a check fails: a
 * parameter name the server refuses (wn_name_check), a key in both a row and the grid, or
 * more than WN_GRID_JOBS_MAX jobs (then *errmsg says which). */
uint64_t wn_grid_count(const wn_grid *g, char **errmsg);

/* wn_grid_job returns the number of parameters of job i (0 <= i < count) and points
 * keys[k] and values[k] at them (arrays of wn_grid_nparams entries; valid while g lives). */
size_t wn_grid_job(const wn_grid *g, uint64_t i, const char **keys, const char **values);

/* wn_grid_sweeps tells whether parameter key varies in g: an axis of the grid, or a key
 * of a row of the list. */
bool wn_grid_sweeps(const wn_grid *g, const char *key);

/* wn_grid_nparams returns the most parameters one job can have: the size keys and
 * values need in wn_grid_job. */
size_t wn_grid_nparams(const wn_grid *g);

/* wn_grid_name returns job i's name, malloc'd: tmpl rendered with the job's parameters,
 * or with tmpl NULL the default name ("" when no key varies). A placeholder the job has
 * no parameter for, or a stray brace, is an error. */
int wn_grid_name(const wn_grid *g, const char *tmpl, uint64_t i, char **out, char **errmsg);

#endif
