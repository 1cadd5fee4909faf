/* rules: what every layer of the server may know of a job's status and of a
 * dependency's condition, with no state: short status names, and what a
 * condition makes of a dependency in a status (the domain's deps and the
 * offline check apply the same rules). */
#ifndef WN_RULES_H
#define WN_RULES_H

#include "whatsnext.pb-c.h"

/* Short names for the records' types. */
typedef Whatsnext__V1__Job Job;
typedef Whatsnext__V1__Task Task;
typedef Whatsnext__V1__Project Project;

/* Short names for the job statuses. */
#define PENDING   WHATSNEXT__V1__JOB_STATUS__JOB_PENDING
#define RUNNING   WHATSNEXT__V1__JOB_STATUS__JOB_RUNNING
#define COMPLETED WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED
#define FAILED    WHATSNEXT__V1__JOB_STATUS__JOB_FAILED
#define BLOCKED   WHATSNEXT__V1__JOB_STATUS__JOB_BLOCKED
#define CANCELLED WHATSNEXT__V1__JOB_STATUS__JOB_CANCELLED

/* Number of job statuses (index = JobStatus value). */
#define WN_NSTATUS              7
#define WN_DEFAULT_MAX_ATTEMPTS 3

/* What a dependency is, given its condition and the status of the job it
 * names. */
enum { EDGE_UNDECIDED = 0, EDGE_OK = 1, EDGE_BROKEN = 2 };

/* wn_deps_edge_state tells what a condition makes of a dependency in status
 * (0 = the dependency no longer exists): FAILED, CANCELLED and BLOCKED are
 * ends without success, a removed job an end of unknown outcome. */
int wn_deps_edge_state(int cond, int status);
/* wn_deps_cond_name returns "afterok", "afterany" or "afternotok". */
const char *wn_deps_cond_name(int cond);

/* The bootstrap admin token's name, which no token record may take. */
#define WN_TOKEN_BOOTSTRAP "bootstrap"
/* wn_role_name returns "admin", "user", "worker" or "reader" for a
 * TokenRole ("" for none). */
const char *wn_role_name(int role);
/* wn_token_check says what is wrong with t as a token record (name, role,
 * projects, workers), in buf (cap bytes) or a static string; NULL if
 * nothing. */
const char *wn_token_check(const Whatsnext__V1__Token *t, char *buf, size_t cap);

#endif
