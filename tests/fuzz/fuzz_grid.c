/* libFuzzer target: the grid of `wnctl job sweep` (src/ctl/grid.c, gridrange.c), read from
 * untrusted text: a sweep file, a --grid argument and each value as a range (1..10,
 * 0..1:5, log:1e-4..1e-1:4). Any input is refused with a message, or gives at most
 * WN_GRID_JOBS_MAX jobs; a range gives numbers only, each finite, as many as it says.
 * Run: build/fuzz/fuzz_grid -max_total_time=60 */
#include "err.h"
#include "grid.h"
#include "gridrange.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* fuzz_range checks one range: a plain value, or numbers within max. */
static void fuzz_range(const char *item, size_t max)
{
	char **v = NULL, *err = NULL;
	size_t n = 0;
	int rv = wn_gridrange_parse(item, max, &v, &n, &err);
	if (rv == 0 && (v != NULL || n != 0 || err != NULL))
		abort();
	if (rv < 0 && (rv != WN_EINVAL || err == NULL || v != NULL))
		abort();
	if (rv == 1 && (err != NULL || n == 0 || n > max))
		abort();
	for (size_t i = 0; i < n; i++) {
		char *end = NULL;
		double x = strtod(v[i], &end);
		if (end == v[i] || *end != '\0' || !isfinite(x))
			abort();
		free(v[i]);
	}
	free(v);
	free(err);
}

/* fuzz_jobs checks that g's count is bounded and each job and its name can be made. */
static void fuzz_jobs(const wn_grid *g)
{
	char *err = NULL;
	uint64_t count = wn_grid_count(g, &err);
	if (count == UINT64_MAX) {
		if (err == NULL)
			abort();
		free(err);
		return;
	}
	if (count > WN_GRID_JOBS_MAX || err != NULL)
		abort();
	size_t np = wn_grid_nparams(g);
	const char **keys = calloc(np + 1, sizeof(*keys)), **vals = calloc(np + 1, sizeof(*vals));
	for (uint64_t i = 0; i < count && i < 64; i++) {
		if (wn_grid_job(g, i, keys, vals) > np)
			abort();
		char *name = NULL;
		if (wn_grid_name(g, NULL, i, &name, &err) == WN_OK)
			free(name);
		else
			free(err);
		err = NULL;
	}
	free(keys);
	free(vals);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	memcpy(s, data, size);
	s[size] = '\0';
	fuzz_range(s, 1000);
	fuzz_range(s, WN_GRID_JOBS_MAX);

	/* the bytes as a --grid argument */
	wn_grid *g = wn_grid_new();
	char *err = NULL;
	if (wn_grid_axis_arg(g, s, &err) == WN_OK)
		fuzz_jobs(g);
	else if (err == NULL)
		abort();
	free(err);
	wn_grid_free(g);

	/* the bytes as a sweep file */
	int fd = memfd_create("sweep.yaml", 0);
	if (fd >= 0 && write(fd, data, size) == (ssize_t)size) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		struct wn_grid_file file = {0};
		g = wn_grid_new();
		err = NULL;
		if (wn_grid_load(g, path, &file, &err) == WN_OK) {
			fuzz_jobs(g);
			char *name = NULL;
			if (file.has_name && wn_grid_name(g, file.name, 0, &name, &err) == WN_OK)
				free(name);
		} else if (err == NULL) {
			abort();
		}
		free(err);
		wn_grid_free(g);
	}
	if (fd >= 0)
		close(fd);
	free(s);
	return 0;
}
