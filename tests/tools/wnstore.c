/* wnstore: read and write the raw keys of a stopped wnd's data directory,
 * to craft the damaged stores that tests hand to `wnd --check`.
 *
 *   wnstore DIR list [PREFIX]      every key (from PREFIX), one a line: KEY LEN
 *   wnstore DIR get KEY            the value, as hex
 *   wnstore DIR get-text KEY       the value, as it is
 *   wnstore DIR put KEY HEX        set KEY to the bytes HEX spells
 *   wnstore DIR put-text KEY TEXT  set KEY to TEXT
 *   wnstore DIR del KEY            delete KEY
 *
 * KEY is written as `wnd --check` prints keys: j/ID, s/ID and i/ID stand for
 * the 8-byte big-endian id after the prefix, x/KEY for x/ and the bytes of
 * KEY; any other key is text, with \xNN for any byte. Reads open the directory read-only, writes
 * for writing (fsynced). Exit: 0 done, 1 failed (KEY absent for get), 2 usage. */
#include "err.h"
#include "keys.h"
#include "kit.h"
#include "store.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define STORE_KEY_MAX 1024

static void store_usage(void)
{
	fprintf(stderr,
	        "usage: wnstore DIR list [PREFIX] | get KEY | get-text KEY | put KEY HEX |\n"
	        "               put-text KEY TEXT | del KEY\n");
	exit(2);
}

/* parse_hex turns HEX into bytes (a new buffer); false if malformed. */
static bool parse_hex(const char *s, char **out, size_t *len)
{
	size_t n = strlen(s);
	if (n % 2 != 0)
		return false;
	*out = wn_xmalloc(n / 2 + 1);
	for (size_t i = 0; i < n / 2; i++) {
		int hi = wn_hex_digit((unsigned char)s[2 * i]),
		    lo = wn_hex_digit((unsigned char)s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			free(*out);
			return false;
		}
		(*out)[i] = (char)(hi << 4 | lo);
	}
	*len = n / 2;
	return true;
}

static int store_list(wn_store *s, const char *prefix, size_t plen)
{
	const char *k, *v;
	size_t kl, vl;
	wn_store_iter *it = wn_store_iter_new(s, prefix, plen, NULL, 0);
	while (wn_store_iter_next(it, &k, &kl, &v, &vl)) {
		char name[4 * STORE_KEY_MAX + 16];
		wn_key_name(name, sizeof(name), k, kl);
		printf("%s %zu\n", name, vl);
	}
	wn_store_iter_free(it);
	return 0;
}

static int store_get(wn_store *s, const char *key, size_t kl, bool text)
{
	char *val = NULL;
	size_t len = 0;
	int rv = wn_store_get(s, key, kl, &val, &len);
	if (rv != WN_OK) {
		fprintf(stderr, "wnstore: cannot get the key: %s\n", wn_strerror(rv));
		return 1;
	}
	if (text)
		fwrite(val, 1, len, stdout);
	else
		for (size_t i = 0; i < len; i++)
			printf("%02x", (unsigned char)val[i]);
	printf("\n");
	free(val);
	return 0;
}

static int store_change(wn_store *s, const char *key, size_t kl, const char *val, size_t vl,
                        bool del)
{
	wn_batch *b = wn_batch_new();
	if (del)
		wn_batch_del(b, key, kl);
	else
		wn_batch_put(b, key, kl, val, vl);
	uint64_t seq = 0;
	int rv = wn_store_write(s, b, &seq);
	if (rv == WN_OK)
		rv = wn_store_wait(s, seq);
	wn_batch_free(b);
	if (rv != WN_OK) {
		fprintf(stderr, "wnstore: cannot write: %s\n", wn_strerror(rv));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3)
		store_usage();
	const char *dir = argv[1], *cmd = argv[2];
	bool writes =
	    strcmp(cmd, "put") == 0 || strcmp(cmd, "put-text") == 0 || strcmp(cmd, "del") == 0;
	bool list = strcmp(cmd, "list") == 0;
	int want = list                                                      ? -1
	           : strcmp(cmd, "get") == 0 || strcmp(cmd, "get-text") == 0 ? 4
	           : strcmp(cmd, "del") == 0                                 ? 4
	           : writes                                                  ? 5
	                                                                     : 0;
	if (want == 0 || (want > 0 && argc != want) || (list && argc > 4))
		store_usage();
	char key[STORE_KEY_MAX];
	size_t kl = 0;
	if (argc > 3 && !wn_key_parse_name(argv[3], key, sizeof(key), &kl)) {
		fprintf(stderr, "wnstore: malformed key \"%s\"\n", argv[3]);
		return 2;
	}
	char *val = NULL;
	size_t vl = 0;
	if (strcmp(cmd, "put") == 0 && !parse_hex(argv[4], &val, &vl)) {
		fprintf(stderr, "wnstore: value is not hex\n");
		return 2;
	}
	if (strcmp(cmd, "put-text") == 0) {
		val = wn_xstrdup(argv[4]);
		vl = strlen(val);
	}
	wn_store *s = NULL;
	char *err = NULL;
	int rv = writes ? wn_store_open(dir, WN_DURABILITY_SYNC, 0, &s, &err)
	                : wn_store_open_readonly(dir, &s, &err);
	if (rv != WN_OK) {
		fprintf(stderr, "wnstore: %s\n", err ? err : wn_strerror(rv));
		free(err);
		free(val);
		return 1;
	}
	int status;
	if (list)
		status = store_list(s, argc > 3 ? key : "", argc > 3 ? kl : 0);
	else if (!writes)
		status = store_get(s, key, kl, strcmp(cmd, "get-text") == 0);
	else
		status = store_change(s, key, kl, val, vl, strcmp(cmd, "del") == 0);
	wn_store_close(s);
	free(val);
	return status;
}
