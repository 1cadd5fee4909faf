/* libFuzzer target: memory sizes (wn_size_parse). The input, up to its first
 * NUL byte, is a size as a user writes it in worker.yaml or on wnctl's command
 * line. The parser must never crash, must leave its result alone when it
 * refuses, must accept exactly the documented grammar (digits, an optional
 * fraction, an optional unit) and must agree with a floating-point reading of
 * the same number. Run: build/fuzz/fuzz_size -max_total_time=60 */
#include "err.h"
#include "kit.h"

#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* fuzz_grammar reports whether s is digits[.digits] or .digits, then a unit;
 * *unit gets the MiB in one unit, *sig the count of digits. */
static bool fuzz_grammar(const char *s, double *unit, size_t *sig)
{
	size_t n = strspn(s, "0123456789");
	size_t f = 0;
	if (s[n] == '.')
		f = strspn(s + n + 1, "0123456789") + 1;
	if (n + (f > 0 ? f - 1 : 0) == 0)
		return false;
	*sig = n + (f > 0 ? f - 1 : 0);
	const char *u = s + n + f;
	static const char *const units[] = {"",   "m",   "mb", "mib", "g",
	                                    "gb", "gib", "t",  "tb",  "tib"};
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(u, units[i]) == 0) {
			*unit = i < 4 ? 1.0 : i < 7 ? 1024.0 : 1048576.0;
			return true;
		}
	}
	return false;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	uint64_t mib = 0xfeedfacecafebeefull;
	int rc = wn_size_parse(s, &mib);
	double unit = 0;
	size_t sig = 0;
	bool grammar = fuzz_grammar(s, &unit, &sig);
	if (rc != WN_OK && rc != WN_EINVAL)
		abort(); /* one error, nothing else */
	if (rc == WN_EINVAL && mib != 0xfeedfacecafebeefull)
		abort(); /* a refusal changes nothing */
	if (rc == WN_OK && !grammar)
		abort(); /* accepted what is not a size */
	if (rc == WN_OK && mib > WN_SIZE_MIB_MAX)
		abort();
	if (grammar && sig <= 15) {
		/* few enough digits for a double to hold the number exactly
		 * enough: the two readings agree to within rounding */
		double want = strtod(s, NULL) * unit;
		bool fits = want <= (double)WN_SIZE_MIB_MAX - 1;
		if (fits && rc != WN_OK)
			abort(); /* refused a size that fits */
		if (rc == WN_OK && fabs((double)mib - want) > 0.5 + want * 1e-12)
			abort(); /* a different value */
	}
	free(s);
	return 0;
}
