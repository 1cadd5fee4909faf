/* libFuzzer target: the template engine. The input is split at the first
 * NUL byte into a template and a table of "name=value" lines the lookup
 * answers from; rendering must never crash, and its result must agree with
 * the syntax check. Run: build/fuzz/fuzz_template -max_total_time=60 */
#include "err.h"
#include "template.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct fuzz_vars {
	const char *table; /* "name=value\n..." */
} fuzz_vars;

static const char *fuzz_lookup(void *ctx, const char *name)
{
	fuzz_vars *v = ctx;
	size_t n = strlen(name);
	for (const char *p = v->table; *p != '\0';) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len > n && memcmp(p, name, n) == 0 && p[n] == '=') {
			/* The value runs to the end of the line: copy it into a
			 * static buffer, as the lookup's result must stay valid. */
			static char val[4096];
			size_t vl = len - n - 1 < sizeof(val) - 1 ? len - n - 1 : sizeof(val) - 1;
			memcpy(val, p + n + 1, vl);
			val[vl] = '\0';
			return val;
		}
		p += len;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 2);
	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	buf[size + 1] = '\0';
	const char *tmpl = buf;
	const char *table = buf + strlen(buf) + 1;
	if (table > buf + size)
		table = buf + size + 1;
	fuzz_vars v = {table};
	char *out = NULL, *err = NULL;
	int rc = wn_template_render(tmpl, fuzz_lookup, &v, &out, &err);
	char *cerr = NULL;
	int crc = wn_template_check(tmpl, &cerr);
	if ((rc == WN_EINVAL) != (crc == WN_EINVAL))
		abort(); /* render and check disagree on the syntax */
	if (rc == WN_OK && (out == NULL || err != NULL))
		abort();
	if (rc != WN_OK && (out != NULL || err == NULL))
		abort();
	free(out);
	free(err);
	free(cerr);
	free(buf);
	return 0;
}
