/* check_int: what `wnd --check` learns from a data directory, shared by
 * check.c (reading the records, the rules) and check_fix.c (the repairs and
 * the passes). Not for use outside check*.c. */
#ifndef WN_CHECK_INT_H
#define WN_CHECK_INT_H

#include "check.h"
#include "arena.h"
#include "err.h"
#include "keys.h"
#include "map.h"
#include "records.h"
#include "rules.h"
#include "status.h"
#include "store.h"
#include "util.h"

/* A project named by a record or by a job. */
struct cproj {
	char *name;
	bool exists;   /* p/ key present */
	bool readable; /* and its record unpacks */
	uint64_t njobs;
};

/* A task named by a record or by a job. */
struct ctask {
	struct cproj *proj;
	char *name;
	bool exists;
	uint64_t njobs;
};

/* A sweep named by a record or by a job. */
struct csweep {
	uint64_t id;
	bool exists, readable;
	char *project; /* of the record */
	uint64_t total;
	bool has_stored; /* the record carries counts (the server keeps none) */
	uint64_t stored[WN_NSTATUS];
	uint64_t counts[WN_NSTATUS]; /* of its jobs' records */
	uint64_t njobs;
	uint64_t last_job;  /* largest id of a job of its project naming it */
	char *jobs_project; /* project of its first job */
};

/* A worker named by a record or by a RUNNING job. */
struct cworker {
	char *name;
	bool exists;
	bool has_stored; /* the record carries a held-job list or usage */
	uint64_t *stored;
	size_t nstored;
	uint64_t *held; /* RUNNING jobs naming it, ascending */
	size_t nheld, capheld;
};

/* Flags of a job. */
enum { CJ_CORRUPT = 1, CJ_BADID = 2 };

/* A job record, reduced to what the rules need. */
struct cjob {
	uint64_t id; /* of its key */
	uint64_t sweep;
	uint64_t reqid;
	struct ctask *task;     /* NULL if the record does not unpack */
	struct cworker *worker; /* RUNNING: its holder; NULL if it names none */
	uint32_t attempt;
	uint32_t dep0, ndeps; /* its dependencies: deps[dep0 .. dep0 + ndeps) */
	uint8_t status;
	uint8_t flags;
	uint8_t plan; /* the status the repair plan gives it */
};

/* A dependency edge as stored. */
struct cdep {
	uint64_t id;
	uint32_t cond;
	uint8_t bad; /* dropped by the repair: 1 cannot be valid, 2 repeats another */
};

/* What an i/ record holds. */
enum { CREQ_SUBMIT, CREQ_BATCH };
struct creq {
	uint64_t reqid;
	int kind;
	uint64_t job;   /* CREQ_SUBMIT: the removed job */
	uint64_t maxid; /* the largest id it names */
};

/* Job repairs, applied in this order. */
enum {
	JF_ID = 1,          /* the record's id := its key's */
	JF_STATUS = 2,      /* an unknown status := FAILED */
	JF_LEASE = 4,       /* RUNNING without worker or attempt := PENDING */
	JF_DEPS = 8,        /* drop dependencies that cannot be valid */
	JF_SWEEP = 16,      /* sweep_id := 0 */
	JF_BLOCK = 32,      /* PENDING that can never run := BLOCKED */
	JF_UNREADABLE = 64, /* set aside; a FAILED job of lost-and-found in its place */
	JF_HELD = 128,      /* held, but not PENDING or BLOCKED := not held */
	JF_STOPPING = 256,  /* stopping, but no cancelled run := not stopping */
};

/* Where the repair puts the jobs whose records cannot be read. */
#define CHECK_LOST_PROJECT "lost-and-found"
#define CHECK_LOST_TASK    "unreadable-record"

/* FIX_NONE: only set aside so far, the change is planned later. */
enum fix_kind {
	FIX_NONE,
	FIX_DEL,
	FIX_PROJECT,
	FIX_TASK,
	FIX_SWEEP,
	FIX_WORKER,
	FIX_JOB,
	FIX_META
};

/* One change the repair plans, for one key. */
struct fix {
	int kind;
	char *key; /* raw */
	size_t klen;
	char *name;           /* as printed */
	const char *why;      /* FIX_DEL: why it goes */
	bool aside;           /* the record is unreadable: keep its bytes under x/KEY */
	char *project, *task; /* FIX_PROJECT, FIX_TASK, FIX_SWEEP */
	uint64_t id, total;   /* FIX_SWEEP, FIX_JOB */
	unsigned mask;        /* FIX_JOB */
	char *reason;         /* FIX_JOB with JF_BLOCK */
	char *value;          /* FIX_META */
	struct fix *next;
};

/* One look at a data directory. */
/* A b/ key seen by the scan: its job, and the key (in the check's arena). */
struct cblob {
	uint64_t id;
	const char *key;
	size_t kl;
};

struct check {
	wn_store *store;
	wn_arena *arena;
	FILE *out;
	const char *prefix; /* before each finding printed */
	bool quiet;         /* count findings, print nothing */
	unsigned long long findings;
	uint64_t nkeys;
	/* records read: projects, tasks, jobs, sweeps, workers, request ids, m/,
	 * set aside (x/), tokens, live output (o/), result histories (r/),
	 * artifact keys (b/) */
	uint64_t counts[12];
	wn_map *projects, *tasks, *sweeps, *workers; /* name, "p/t", id -> c* */
	struct cjob *jobs;                           /* ascending ids */
	size_t njobs, capjobs;
	struct cdep *deps;
	size_t ndeps, capdeps;
	struct creq *reqs;
	size_t nreqs, capreqs;
	struct cblob *blobs; /* the b/ keys, ascending (check_blob.c) */
	size_t nblob, capblob;
	bool have_version, version_ok, version_newer;
	bool have_next, next_ok;
	uint64_t next_id;
	uint64_t maxid;    /* largest id any record names */
	char maxwhere[64]; /* which one */
	bool has_data;     /* a key other than m/ */
	char *read_error;  /* the store could not be read to the end */
	/* the repair plan, in the order planned */
	wn_map *fixmap; /* name -> struct fix */
	struct fix *fix_head, *fix_tail;
};

/* A worker record's tasks: at most this many valid names (Join's bound). */
#define WN_CHECK_WORKER_TASKS 1024
/* wn_check_worker_tasks_ok tells whether worker record r's tasks are at most
 * WN_CHECK_WORKER_TASKS valid names. */
bool wn_check_worker_tasks_ok(const Whatsnext__V1__Worker *r);
/* wn_check_init readies k to look at store, printing to out (each finding
 * after prefix, none if quiet). */
void wn_check_init(struct check *k, wn_store *store, FILE *out, const char *prefix, bool quiet);
/* wn_check_release frees what k holds (not the store). */
void wn_check_release(struct check *k);
/* wn_check_scan reads every key of the store into k, with the findings about
 * single records; false if the data layout is one this wnd does not know
 * (nothing else is read then) or if a read failed (k->read_error). */
bool wn_check_scan(struct check *k);
/* wn_check_record reads one key and its value into k (keys in ascending
 * order), with the findings about that record alone. */
void wn_check_record(struct check *k, const char *key, size_t kl, const char *val, size_t vl);
/* wn_check_rules applies the rules between the records read: findings
 * printed, repairs planned. */
void wn_check_rules(struct check *k);
/* wn_check_pass is wn_check_scan and, if the layout is known, check_rules. */
void wn_check_pass(struct check *k);
/* wn_check_finding counts a finding about key name and prints it unless quiet. */
void wn_check_finding(struct check *k, const char *name, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* wn_check_job returns the job with id, or NULL. */
struct cjob *wn_check_job(struct check *k, uint64_t id);
/* wn_check_history reads a result history (r/ID, check_results.c): an
 * unreadable one, or one of a job that does not exist, is deleted. */
void wn_check_history(struct check *k, const char *name, const char *key, size_t kl,
                      const uint8_t *v, size_t vl);

/* wn_check_scan_blob reads a b/ key (check_blob.c). */
void wn_check_scan_blob(struct check *k, const char *name, const char *key, size_t kl,
                        const uint8_t *v, size_t vl);
/* wn_check_rule_blob: every b/ key belongs to a job that exists and ran. */
void wn_check_rule_blob(struct check *k);

/* Planning repairs (check_fix.c). wn_check_plan returns the planned change of
 * a key, new (of kind) if none yet. */
struct fix *wn_check_plan(struct check *k, int kind, const char *key, size_t klen);
/* wn_check_scan_output reads an o/ record (check_output.c): a job's live
 * output, whose job must exist. */
void wn_check_scan_output(struct check *k, const char *name, const char *key, size_t kl,
                          const uint8_t *v, size_t vl);
/* wn_check_plan_del plans deleting key, for the reason why (a static string). */
void wn_check_plan_del(struct check *k, const char *key, size_t klen, const char *why);
/* wn_check_plan_aside plans keeping the bytes of key's unreadable record under
 * x/KEY before the key is rewritten or deleted. */
void wn_check_plan_aside(struct check *k, const char *key, size_t klen);
/* wn_check_plan_project plans (re)writing project name's record. */
void wn_check_plan_project(struct check *k, const char *name);
/* wn_check_plan_task plans (re)writing task name of project's record. */
void wn_check_plan_task(struct check *k, const char *project, const char *name);
/* wn_check_plan_sweep plans (re)writing sweep id's record: of project if it must
 * be recreated, covering total jobs if more than it says (0: as it is). */
void wn_check_plan_sweep(struct check *k, uint64_t id, const char *project, uint64_t total);
/* wn_check_plan_job plans the changes mask (JF_*) of job j's record; reason is
 * the reason text JF_BLOCK gives it. */
void wn_check_plan_job(struct check *k, struct cjob *j, unsigned mask, const char *reason);
/* wn_check_plan_meta plans setting the m/ key to value. */
void wn_check_plan_meta(struct check *k, const char *key, const char *value);
/* wn_check_apply writes the plan, printing each change; returns how many
 * changes it made, or a negative WN_E* with *errmsg set. */
long long wn_check_apply(struct check *k, char **errmsg);

#endif
