/* lease: the leases of RUNNING jobs, ordered by expiry (an indexed binary
 * heap), so finding the leases due costs O(1) when none is due and
 * O(log n) per expired lease. Extending a lease is O(log n). */
#ifndef WN_LEASE_H
#define WN_LEASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct wn_leases wn_leases;

/* wn_leases_new creates an empty table. */
wn_leases *wn_leases_new(void);
/* wn_leases_free frees the table; NULL is a no-op. */
void wn_leases_free(wn_leases *l);

/* wn_leases_put records or replaces the lease of job: its attempt and expiry. */
void wn_leases_put(wn_leases *l, uint64_t job, uint32_t attempt, int64_t expires_ms);
/* wn_leases_get fills *attempt and *expires_ms for job; WN_ENOTFOUND if none. */
int wn_leases_get(const wn_leases *l, uint64_t job, uint32_t *attempt, int64_t *expires_ms);
/* wn_leases_extend moves job's expiry to expires_ms if it holds attempt;
 * WN_ENOTFOUND if job has no lease, WN_ESTATE if the attempt differs. */
int wn_leases_extend(wn_leases *l, uint64_t job, uint32_t attempt, int64_t expires_ms);
/* wn_leases_remove drops job's lease; WN_ENOTFOUND if none. */
int wn_leases_remove(wn_leases *l, uint64_t job);
/* wn_leases_next_due returns the earliest expiry, or INT64_MAX when empty. */
int64_t wn_leases_next_due(const wn_leases *l);
/* wn_leases_pop_expired removes one lease with expiry <= now_ms and fills
 * *job and *attempt; false when none is due. */
bool wn_leases_pop_expired(wn_leases *l, int64_t now_ms, uint64_t *job, uint32_t *attempt);
/* wn_leases_grace moves every expiry before until to until (after the store
 * failed, when heartbeats could not be served). */
void wn_leases_grace(wn_leases *l, int64_t until);
/* wn_leases_count returns the number of leases. */
size_t wn_leases_count(const wn_leases *l);
/* wn_leases_jobs copies the job ids of at most n leases into ids and
 * returns how many it copied. */
size_t wn_leases_jobs(const wn_leases *l, uint64_t *ids, size_t n);

#endif
