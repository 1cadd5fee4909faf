/* snapshot: every Get and List answer of a server, taken through the
 * protocol: projects, tasks, jobs (each status filter, paged), each job and
 * its dependency graph, sweeps, workers, queue stats and listings. Two
 * snapshots compare as text, leaving out what a restart may change. */
#ifndef WN_MODEL_SNAPSHOT_H
#define WN_MODEL_SNAPSHOT_H

#include "rpc.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
	SE_PLIST, /* ProjectService/List, status */
	SE_PGET,  /* ProjectService/Get, project */
	SE_TLIST, /* TaskService/List, project */
	SE_TGET,  /* TaskService/Get, project task */
	SE_JLIST, /* JobService/List, project task status id (sweep), every page */
	SE_JGET,  /* JobService/Get, id */
	SE_DEPS,  /* JobService/Deps, id */
	SE_SLIST, /* SweepService/List, project */
	SE_SGET,  /* SweepService/Get, id */
	SE_WLIST, /* WorkerService/List, status (state) */
	SE_WGET,  /* WorkerService/Get, task (the worker's name) */
	SE_STATS, /* QueueService/Stats, project */
	SE_QLIST, /* QueueService/List, project waiting offset limit */
};

typedef struct snap_entry {
	int kind;
	char label[320];
	char project[WN_NAME_MAX + 1], task[WN_NAME_MAX + 1];
	int status;
	uint64_t id;
	bool waiting;
	int64_t offset;
	int32_t limit;
	ProtobufCMessage *msg; /* the answer (SE_JLIST: NULL, see jobs) */
	/* SE_JLIST: the jobs of every page, in order */
	ProtobufCMessage **pages;
	size_t npages;
	Whatsnext__V1__Job **jobs;
	size_t njobs;
} snap_entry;

typedef struct snapshot {
	snap_entry *v;
	size_t n, cap;
} snapshot;

/* snapshot_take asks server r for everything into s, each request answered
 * UNAVAILABLE again up to tries times (store faults run out); on failure -1
 * and *err gets a malloc'd message. */
int snapshot_take(wn_rpc *r, snapshot *s, int tries, char **err);

/* snapshot_asked_again: how many requests snapshot_take asked again. */
uint64_t snapshot_asked_again(void);

/* snapshot_free frees what s holds. */
void snapshot_free(snapshot *s);

/* snapshot_diff compares a (before a restart) with b (after it), leaving out
 * the fields a restart changes, or a crash (kill9) (snapshot.c lists them):
 * NULL when they are equal, else a malloc'd report of where they differ. */
char *snapshot_diff(const snapshot *a, const snapshot *b, bool kill9);

/* snapshot_dump writes s as text lines to path (for a failure's report). */
void snapshot_dump(const snapshot *s, const char *path);

/* snapshot_line renders msg on one line into buf (for --verbose). */
void snapshot_line(const ProtobufCMessage *msg, char *buf, size_t len);

#endif
