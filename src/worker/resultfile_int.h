/* resultfile_int: the state of a results file being read, shared by
 * resultfile.c (reading and parsing it) and resultfile_send.c (what goes to
 * the server). Private to these two files. */
#ifndef WN_RESULTFILE_INT_H
#define WN_RESULTFILE_INT_H

#include "resultfile.h"
#include "resultrules.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

typedef struct rval {
	bool text;
	double num;
	char *str;
} rval;

typedef struct rpoint {
	uint32_t key;
	double value;
	int64_t time_ms;
	uint64_t seq;
	uint64_t nth; /* its number among its key's: 1, 2, ... */
} rpoint;

struct wn_resultfile {
	pthread_mutex_t mu;
	int refs;
	char *path;
	/* the file as read so far */
	uint64_t offset; /* bytes parsed */
	uint64_t line;   /* the line at offset, from 1 */
	uint64_t sum;    /* wn_hash_bytes of the bytes read, to notice a rewrite */
	dev_t dev;
	ino_t ino;
	off_t size;            /* the file's size and change time when last read: */
	struct timespec ctime; /* unchanged, it is not read again before the end */
	char *buf;             /* read past offset, not parsed yet (a report cut short) */
	size_t len, cap;
	char *error; /* the first bad report: "line N: ..." */
	/* what it reported */
	uint64_t seq; /* reports so far */
	size_t nkeys;
	char *keys[WN_RESULT_KEYS_MAX];
	rval vals[WN_RESULT_KEYS_MAX];
	/* the keys the file as it now stands reported (a rewrite leaves the
	 * others out of the values and the count; their slots are reused) */
	bool live[WN_RESULT_KEYS_MAX];
	size_t nlive;
	uint64_t changed, acked, sending; /* stamps of the latest values */
	/* the numbers reported of each key; the points of one of every
	 * stride[k] of key k wait for the server (held[k] of them), and its
	 * latest */
	uint64_t nth[WN_RESULT_KEYS_MAX];
	uint32_t stride[WN_RESULT_KEYS_MAX];
	size_t held[WN_RESULT_KEYS_MAX];
	rpoint pts[WN_RESULTFILE_PENDING_MAX];
	size_t npts;
};

/* wn_resultfile_open opens r's file for a read (final: the last, which
 * waits while the worker is out of descriptors); -1 with *err (errno). */
int wn_resultfile_open(const wn_resultfile *r, bool final, int *err);

/* wn_resultfile_read_locked is wn_resultfile_read with r's lock held, of
 * the file opened by wn_resultfile_open (fd, or -1 and open_err). */
int wn_resultfile_read_locked(wn_resultfile *r, int fd, int open_err, bool final, char **reason);

#endif
