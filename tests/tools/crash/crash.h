/* crash: what the parts of wncrash (tests/tools/wncrash.c, the crash loop,
 * and crash/check.c, the checks after each kill) share: the record of what
 * was acknowledged, the client threads and the counts. */
#ifndef WN_CRASH_H
#define WN_CRASH_H

#include "map.h"
#include "rpc.h"
#include "status.h"
#include "whatsnext.pb-c.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#define PB(t)        Whatsnext__V1__##t
#define DESC(t)      (&whatsnext__v1__##t##__descriptor)
#define CR_PROJECT   "crash"
#define CR_TIMEOUT   10000     /* ms a client waits for a reply */
#define CR_QUICK     1000      /* ms a quick client waits: it gives up at a kill */
#define CR_BACKLOG   3000      /* submitters wait while this many jobs are open */
#define CR_LEASE_MS  "3600000" /* no lease expires during a run */
#define CR_HOLD      4         /* leases a fetcher holds at most */
#define CR_BATCH_MAX 10
#define CR_CLIENTS   16
#define CR_SHOW      40 /* violations printed per round */

typedef PB(Job) Job;
enum { PENDING = 1, RUNNING, COMPLETED, FAILED };    /* JobStatus numbers */
static const char *const crash_tasks[] = {"t", "u"}; /* retries 1 and 0 */
#define STATUS(s) wn_status_name(s)

/* One job a submitter sent; its token "s<submitter>-<seq>" is the job's
 * name and parameter tok. */
enum { CALL_OK, CALL_REFUSED, CALL_UNKNOWN }; /* also the states of a submit */
typedef struct sub {
	uint64_t id;               /* job id, once acknowledged or seen */
	uint32_t v;                /* parameter v */
	uint32_t seen;             /* last round whose listing held the job */
	uint32_t first;            /* seq of its batch's first job */
	uint8_t batch;             /* jobs in its batch; 0 = a single Submit */
	uint8_t state, task, prio; /* state: the outcome of its call */
} sub;

/* What is known of one lease (job, attempt) a fetcher was given; an ending
 * is sent in L_OP, and its reply makes it DONE, REQUEUED or UNKNOWN. */
enum { L_HELD, L_OP, L_DONE_OK, L_DONE_FAILED, L_REQUEUED, L_UNKNOWN };
enum { OP_RELEASE, OP_FAIL, OP_OK };
static const char *const lease_state[] = {"held (acknowledged claim)", "being ended",
                                          "completed (acknowledged)",  "failed (acknowledged)",
                                          "requeued (acknowledged)",   "ended without a reply"};
/* the lease state a job status after an ending means; the statuses each op
 * ends a lease in (bit per JobStatus) */
static const uint8_t end_state[] = {0, L_REQUEUED, 0, L_DONE_OK, L_DONE_FAILED};
static const unsigned op_ends[] = {1 << PENDING, 1 << FAILED | 1 << PENDING, 1 << COMPLETED};
typedef struct lease {
	uint32_t att;
	uint8_t worker, state, op;
} lease;
typedef struct cjob {
	lease *l; /* in claim order */
	size_t n;
} cjob;

/* A client thread: a submitter, or a fetcher (named w<k>). */
typedef struct client {
	int k;
	bool quick; /* gives up on a request after CR_QUICK ms */
	wn_rpc *rpc;
	uint64_t rng;
	sub *subs;
	size_t n, cap;
	char name[16];
	uint64_t held[CR_HOLD]; /* a fetcher's leases: job ids, and attempts */
	uint32_t att[CR_HOLD];
	int nheld;
} client;

typedef struct counts {
	uint64_t submits, completions, claims, unknown, checked, violations;
} counts;

enum { PH_RUN, PH_PAUSE, PH_STOP };
/* What the client threads and the checks share. */
typedef struct crash_shared {
	pthread_mutex_t mu; /* guards phase, parked, epoch and jobs */
	pthread_cond_t cv;
	int phase, parked, parked_quick;
	uint64_t epoch;  /* kills so far */
	int64_t backlog; /* jobs submitted and not ended, roughly */
	wn_map *jobs;    /* job id -> cjob */
	counts c;        /* this round, updated atomically */
	client *cl;      /* the submitters; this and below: the checks, run while all are parked */
	int ns;
	uint32_t round;
	uint64_t by_status[7]; /* jobs listed, by status */
} crash_shared;
extern crash_shared crash;

#define COUNT(f, n) __atomic_add_fetch(&crash.c.f, (n), __ATOMIC_RELAXED)

/* violation prints one violation (the first CR_SHOW of a round) and counts it. */
__attribute__((format(printf, 1, 2))) void violation(const char *fmt, ...);

/* done frees a reply and a message (either may be NULL). */
void done(void *out, char *msg);

/* cjob_get returns what is known of job id's leases, adding it if new. */
cjob *cjob_get(uint64_t id);

/* ask makes a call of the checker; a failure is a violation. */
void *ask(wn_rpc *rpc, const char *method, const void *in, const ProtobufCMessageDescriptor *od);

/* verify reads the whole queue back and checks it; every client is idle. */
void verify(wn_rpc *rpc);

#endif
