/* fault: the store's fault-injection seam, for tests. A rule makes one kind
 * of store operation fail: after a number of calls that succeed, a number of
 * calls fail with an errno of choice, then the operation works again. Rules
 * are process-wide; wnd takes them from the environment variable
 * WN_STORE_FAULTS at start (docs/testing.md). With no rule set the seam costs
 * one atomic load per operation. */
#ifndef WN_FAULT_H
#define WN_FAULT_H

#include <stdint.h>

/* The operations that can be made to fail. */
enum wn_fault_op {
	WN_FAULT_WRITE = 0, /* applying a write batch (a write that failed is not in the store) */
	WN_FAULT_SYNC = 1,  /* syncing the write-ahead log (fsync) */
	WN_FAULT_FLUSH = 2, /* handing the write-ahead log to the OS (relaxed durability) */
	WN_FAULT_OPEN = 3,  /* opening the database (at start and when the store recovers) */
	WN_FAULT_READ = 4,  /* reading one record by its key */
	WN_FAULT_SCAN = 5,  /* one step of a walk over keys (counted once wnd serves) */
	WN_FAULT_NOPS
};

/* WN_FAULT_ALWAYS as a count: fail until the rule is replaced or cleared. */
#define WN_FAULT_ALWAYS UINT64_MAX

/* wn_fault_set makes op fail: the next `after` calls succeed, the `count`
 * calls after them fail with errno err, later calls succeed; it replaces any
 * rule op had. count 0 removes the rule. */
void wn_fault_set(int op, uint64_t after, uint64_t count, int err);
/* wn_fault_clear removes every rule. */
void wn_fault_clear(void);
/* wn_fault_parse replaces every rule by those of spec, a comma-separated list
 * of OP[:after=N][:count=N|always][:error=NAME] (OP: write, sync, flush,
 * open, read, scan; NAME: ENOSPC, EIO, EMFILE, EDQUOT, EROFS); on bad input it sets
 * nothing and returns WN_EINVAL with a malloc'd message in *errmsg. */
int wn_fault_parse(const char *spec, char **errmsg);
/* wn_fault_hit counts a call of op and returns the errno it must fail with,
 * or 0 to go ahead. */
int wn_fault_hit(int op);
/* wn_fault_name returns "write", "sync", "flush", "open", "read" or "scan". */
const char *wn_fault_name(int op);
/* wn_fault_serving sets the scan rule wn_fault_parse took: the walks of a
 * start are not counted (how many keys they see depends on what is stored),
 * those of wnd serving are. */
void wn_fault_serving(void);

#endif
