/* libFuzzer target: artifact paths, which come from workers (PutArtifact,
 * Complete) and, through job parameters, from whoever submits jobs (a task's
 * artifacts: templates). The input, up to its first NUL byte, is a path.
 * wnd's check (wn_artifacts_path_check) must never crash and accept only
 * relative paths of at most 1024 bytes without '.', '..' or empty parts or
 * control characters; the worker's safe open (wn_artifacts_open) must refuse
 * any path with a '..' part or an absolute one before it opens anything,
 * and never open something that is not a regular file below its directory
 * (here an empty one, so nothing at all). Run:
 * build/fuzz/fuzz_artifact_path -max_total_time=60 */
#include "artifact_find.h"
#include "artifacts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* has_part tells whether path has a '/'-separated part equal to p (len n). */
static bool has_part(const char *path, const char *p, size_t n)
{
	for (const char *s = path;;) {
		size_t l = strcspn(s, "/");
		if (l == n && strncmp(s, p, n) == 0)
			return true;
		if (s[l] == '\0')
			return false;
		s += l + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int dir = -1;
	if (dir < 0) {
		char tmpl[] = "/tmp/fuzz_artifact_path.XXXXXX";
		if (mkdtemp(tmpl) == NULL || (dir = open(tmpl, O_RDONLY | O_DIRECTORY)) < 0)
			abort();
	}
	char *path = malloc(size + 1);
	memcpy(path, data, size);
	path[size] = '\0';
	size_t n = strlen(path);
	const char *why = wn_artifacts_path_check(path);
	if (why == NULL) {
		bool ctl = false;
		for (size_t i = 0; i < n; i++)
			ctl |= (unsigned char)path[i] < 0x20 || path[i] == 0x7f;
		if (n == 0 || n > 1024 || path[0] == '/' || path[n - 1] == '/' || ctl ||
		    has_part(path, "", 0) || has_part(path, ".", 1) || has_part(path, "..", 2))
			abort(); /* accepted what it must refuse */
	}
	errno = 0;
	int fd = wn_artifacts_open(dir, path);
	if (fd >= 0)
		abort(); /* the directory is empty: nothing may open */
	if ((path[0] == '/' || has_part(path, "..", 2)) && errno != EPERM)
		abort(); /* an escaping path must be refused before any open */
	free(path);
	return 0;
}
