/* libFuzzer target: `wnd --check` reading damaged records (check*.c). The
 * input is a list of records, each a 1-byte key length, the key, a 2-byte
 * little-endian value length and the value; they are sorted by key and the
 * last of equal keys kept, as a store holds them, then read and checked as
 * `wnd --check` does. Nothing may crash, and a store with no finding must
 * have no repair planned. Run: build/fuzz/fuzz_check -max_total_time=60 */
#include "check_int.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
	const char *key, *val;
	size_t kl, vl;
	size_t order;
};

static int rec_cmp(const void *a, const void *b)
{
	const struct rec *x = a, *y = b;
	size_t n = x->kl < y->kl ? x->kl : y->kl;
	int c = memcmp(x->key, y->key, n);
	if (c != 0)
		return c;
	if (x->kl != y->kl)
		return x->kl < y->kl ? -1 : 1;
	return x->order < y->order ? -1 : 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rec *v = malloc((size / 3 + 1) * sizeof(*v));
	size_t n = 0, off = 0;
	while (off < size) {
		size_t kl = data[off++];
		if (off + kl + 2 > size)
			break;
		const char *key = (const char *)data + off;
		off += kl;
		size_t vl = data[off] | (size_t)data[off + 1] << 8;
		off += 2;
		if (vl > size - off)
			vl = size - off;
		v[n] = (struct rec){key, (const char *)data + off, kl, vl, n};
		n++;
		off += vl;
	}
	qsort(v, n, sizeof(*v), rec_cmp);
	FILE *out = fopen("/dev/null", "w");
	struct check k;
	wn_check_init(&k, NULL, out, "", false);
	for (size_t i = 0; i < n; i++) {
		bool last = i + 1 == n || v[i + 1].kl != v[i].kl ||
		            memcmp(v[i + 1].key, v[i].key, v[i].kl) != 0;
		if (last)
			wn_check_record(&k, v[i].key, v[i].kl, v[i].val, v[i].vl);
	}
	wn_check_rules(&k);
	if (k.findings == 0 && k.fix_head != NULL)
		abort();
	wn_check_release(&k);
	fclose(out);
	free(v);
	return 0;
}
