/* The write-ahead logs of a data directory, read before RocksDB replays them
 * (store.h): each change has a sequence number one above the change before
 * it, across logs too, so a log whose first change does not follow on from
 * the logs before it holds the changes of another state of the data. */
#include "store.h"

#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* RocksDB's log format: 32 KiB blocks of records, each a 7-byte header
 * (masked CRC32C of type and payload, payload length, type) and its
 * payload; a write batch starts with its first sequence number (8 bytes)
 * and its count of changes (4 bytes), in a FULL record or a FIRST one. */
#define LOG_BLOCK  32768
#define LOG_HEADER 7
#define LOG_FULL   1
#define LOG_FIRST  2
#define LOG_MIDDLE 3
#define LOG_LAST   4
#define LOG_BATCH  12 /* a batch's head: its sequence number and count */

struct log_file {
	uint64_t number;
	char *name;
};

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
}

/* log_crc_ok checks a record's masked CRC32C, which covers its type byte
 * and its payload. */
static bool log_crc_ok(const uint8_t *rec, size_t len)
{
	uint32_t c = 0xffffffffu;
	for (size_t i = 6; i < LOG_HEADER + len; i++)
		c = crc_table[(c ^ rec[i]) & 0xff] ^ (c >> 8);
	c = ~c;
	uint32_t masked = ((c >> 15) | (c << 17)) + 0xa282ead8u;
	uint32_t stored = (uint32_t)rec[0] | (uint32_t)rec[1] << 8 | (uint32_t)rec[2] << 16 |
	                  (uint32_t)rec[3] << 24;
	return masked == stored;
}

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;
	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* read_full reads up to len bytes of fd, fewer only at its end. */
static ssize_t read_full(int fd, uint8_t *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		ssize_t r = read(fd, buf + got, len - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return got > 0 ? (ssize_t)got : -1;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* log_scan reads the log fd: *first gets the sequence number of its first
 * whole batch and *end the one after its last (both 0 for a log with none).
 * False if a record is not whole (a torn tail, or damage that RocksDB's open
 * reports): what follows it is not known. */
static bool log_scan(int fd, uint8_t *blk, uint64_t *first, uint64_t *end)
{
	*first = *end = 0;
	/* a batch's head may be cut between its FIRST record, at the end of a
	 * block, and the records after it */
	uint8_t head[LOG_BATCH];
	size_t have = LOG_BATCH; /* LOG_BATCH: no head being gathered */
	ssize_t n;
	while ((n = read_full(fd, blk, LOG_BLOCK)) > 0) {
		size_t off = 0;
		while (off + LOG_HEADER <= (size_t)n) {
			size_t len = (size_t)le(blk + off + 4, 2);
			int type = blk[off + 6];
			if (type == 0)
				return true; /* the zeroed space past the last record */
			if (off + LOG_HEADER + len > (size_t)n || !log_crc_ok(blk + off, len))
				return false;
			if (type == LOG_FULL || type == LOG_FIRST)
				have = 0;
			if (have < LOG_BATCH && type >= LOG_FULL && type <= LOG_LAST) {
				size_t k = len < LOG_BATCH - have ? len : LOG_BATCH - have;
				memcpy(head + have, blk + off + LOG_HEADER, k);
				have += k;
				if (have == LOG_BATCH) {
					uint64_t seq = le(head, 8);
					if (*first == 0)
						*first = seq;
					*end = seq + le(head + 8, 4);
				}
			}
			if (type == LOG_FULL || type == LOG_LAST)
				have = LOG_BATCH;
			off += LOG_HEADER + len;
		}
		if (n < LOG_BLOCK)
			return true;
	}
	return true;
}

static int log_cmp(const void *a, const void *b)
{
	const struct log_file *x = a, *y = b;
	return x->number < y->number ? -1 : x->number > y->number;
}

/* log_list returns the write-ahead logs of dir (NNNNNN.log) in order. */
static struct log_file *log_list(const char *dir, size_t *n)
{
	*n = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return NULL;
	struct log_file *v = NULL;
	size_t cap = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		if (len <= 4 || strcmp(de->d_name + len - 4, ".log") != 0 ||
		    strspn(de->d_name, "0123456789") != len - 4)
			continue;
		if (*n == cap) {
			cap = cap ? cap * 2 : 16;
			v = wn_xrealloc(v, cap * sizeof(*v));
		}
		v[*n].number = strtoull(de->d_name, NULL, 10);
		v[(*n)++].name = wn_xstrdup(de->d_name);
	}
	closedir(d);
	if (*n > 0)
		qsort(v, *n, sizeof(*v), log_cmp);
	return v;
}

int wn_store_drop_empty_logs(const char *dir)
{
	size_t n;
	struct log_file *v = log_list(dir, &n);
	int fd = n > 1 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	int dropped = 0;
	for (size_t i = 0; i + 1 < n && fd >= 0; i++) {
		struct stat st;
		if (fstatat(fd, v[i].name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISREG(st.st_mode) &&
		    st.st_size == 0 && unlinkat(fd, v[i].name, 0) == 0)
			dropped++;
	}
	if (fd >= 0)
		close(fd);
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	return dropped;
}

char *wn_store_foreign_log(const char *dir)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, crc_init);
	size_t n;
	struct log_file *v = log_list(dir, &n);
	char *why = NULL;
	uint64_t end = 0;
	const char *prev = NULL;
	uint8_t *blk = wn_xmalloc(LOG_BLOCK);
	for (size_t i = 0; i < n && why == NULL; i++) {
		char *path = wn_xasprintf("%s/%s", dir, v[i].name);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		free(path);
		if (fd < 0)
			continue; /* RocksDB's open says what is wrong with it */
		uint64_t first, last;
		bool whole = log_scan(fd, blk, &first, &last);
		close(fd);
		if (!whole) { /* the next log is not judged against a guess */
			prev = NULL;
			continue;
		}
		if (first == 0)
			continue;
		if (prev != NULL && first > end)
			why = wn_xasprintf("log %s does not follow on from log %s (it starts at "
			                   "change %llu, %s ends at change %llu): it holds changes "
			                   "of another state of the data",
			                   v[i].name, prev, (unsigned long long)first, prev,
			                   (unsigned long long)(end - 1));
		prev = v[i].name;
		end = last;
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].name);
	free(v);
	free(blk);
	return why;
}
