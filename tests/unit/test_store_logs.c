/* The check that each write-ahead log follows on from the one before
 * (store_logs.c), on logs written here in RocksDB's format: 32 KiB blocks
 * of records (masked CRC32C, length, type), a write batch starting with its
 * sequence number and count. */
#include "test.h"

#include "store.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BLOCK 32768

static uint32_t crc32c(const uint8_t *p, size_t n)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 0; i < n; i++) {
		c ^= p[i];
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
	}
	return ~c;
}

/* A log being written: its bytes and where in its block the next record goes. */
typedef struct logw {
	uint8_t *b;
	size_t n;
} logw;

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void record(logw *w, int type, const uint8_t *payload, size_t len)
{
	w->b = realloc(w->b, w->n + 7 + len);
	uint8_t *r = w->b + w->n;
	put_le(r + 4, len, 2);
	r[6] = (uint8_t)type;
	memcpy(r + 7, payload, len);
	uint32_t c = crc32c(r + 6, 1 + len);
	put_le(r, ((c >> 15) | (c << 17)) + 0xa282ead8u, 4);
	w->n += 7 + len;
}

/* batch appends a batch of count changes from seq, payload bytes long in
 * all, cut into records at block ends as RocksDB cuts it. */
static void batch(logw *w, uint64_t seq, uint32_t count, size_t len)
{
	uint8_t *p = calloc(1, len);
	put_le(p, seq, 8);
	put_le(p + 8, count, 4);
	size_t done = 0;
	while (done < len || done == 0) {
		size_t room = BLOCK - w->n % BLOCK;
		if (room < 7) { /* a block's tail too short for a header: zeros */
			w->b = realloc(w->b, w->n + room);
			memset(w->b + w->n, 0, room);
			w->n += room;
			continue;
		}
		size_t k = len - done < room - 7 ? len - done : room - 7;
		int type = done == 0 ? (k == len ? 1 : 2) : (done + k == len ? 4 : 3);
		record(w, type, p + done, k);
		done += k;
	}
	free(p);
}

static void write_log(const char *name, const logw *w)
{
	FILE *f = fopen(name, "wb");
	CHECK(f != NULL);
	CHECK(fwrite(w->b, 1, w->n, f) == w->n);
	fclose(f);
}

/* fill appends batches of one change from *seq until the next record
 * would start `left` bytes before the end of a block. */
static void fill(logw *w, uint64_t *seq, size_t left)
{
	for (;;) {
		size_t room = BLOCK - w->n % BLOCK;
		if (room == left)
			return;
		/* a whole batch that leaves exactly `left`, or a small one */
		size_t len = room - left - 7;
		if (len > 200)
			len = 100;
		if (len < 12)
			len = room - 7 + (BLOCK - left) - 7; /* spill into the next block */
		batch(w, (*seq)++, 1, len < 12 ? 12 : len);
	}
}

static char *check_pair(size_t first_part)
{
	logw a = {0}, b = {0};
	uint64_t seq = 1;
	fill(&a, &seq, 7 + first_part);
	batch(&a, seq++, 1, 191); /* its head cut after first_part bytes */
	write_log("000004.log", &a);
	batch(&b, seq, 2, 100);
	write_log("000008.log", &b);
	free(a.b);
	free(b.b);
	return wn_store_foreign_log(".");
}

TEST(a_batch_head_cut_at_a_block_end_is_read_whole)
{
	/* the last batch of a log starting at a block's last bytes: its head
	 * (sequence number and count, 12 bytes) goes on in the next block */
	for (size_t part = 1; part <= 12; part++) {
		char *why = check_pair(part);
		if (why != NULL)
			fprintf(stderr, "first part %zu: %s\n", part, why);
		CHECK(why == NULL);
		free(why);
	}
}

TEST(a_log_that_skips_changes_is_refused)
{
	logw a = {0}, b = {0};
	uint64_t seq = 1;
	fill(&a, &seq, 7 + 4);
	batch(&a, seq++, 1, 191);
	write_log("000004.log", &a);
	batch(&b, seq + 1, 1, 100); /* one change missing between them */
	write_log("000008.log", &b);
	char *why = wn_store_foreign_log(".");
	CHECK(why != NULL && strstr(why, "does not follow on from log 000004.log") != NULL);
	free(why);
	free(a.b);
	free(b.b);
}

TEST_MAIN()
