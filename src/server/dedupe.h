/* dedupe: replies to recent mutating requests by request id, so a request
 * received again (nng's resend, a client's retry) is answered from its first
 * execution instead of running twice. Bounded by age and by bytes: the
 * replies and what the cache spends on each. */
#ifndef WN_DEDUPE_H
#define WN_DEDUPE_H

#include <stddef.h>
#include <stdint.h>

struct dedupe;

/* What wn_dedupe_begin found under an id. A request still executing under
 * the id is never waited for: its duplicate is answered at once (RUNNING) or
 * takes the place of a parked Fetch (PARKED), so no event loop blocks. */
enum {
	DEDUPE_NEW = 0,
	DEDUPE_DONE = 1,
	DEDUPE_MISMATCH = 2,
	DEDUPE_RUNNING = 3, /* the first is executing (or a backup runs) */
	DEDUPE_PARKED = 4,  /* the first is a parked request (wn_dedupe_park) */
	DEDUPE_CALLER = 5,  /* id seen from another caller (another token) */
};

/* wn_dedupe_new creates a cache keeping replies up to max_age_ms and, with its
 * own memory per entry, max_bytes. */
struct dedupe *wn_dedupe_new(int64_t max_age_ms, size_t max_bytes);
/* wn_dedupe_free frees the cache; NULL is a no-op. */
void wn_dedupe_free(struct dedupe *d);
/* wn_dedupe_begin claims id for method from caller (a number that names the
 * caller's token, 0 for none): DEDUPE_NEW (the caller executes it and
 * must call wn_dedupe_finish or wn_dedupe_abort), DEDUPE_DONE (*reply is a malloc'd
 * copy of the first reply), DEDUPE_MISMATCH (id seen with another method),
 * DEDUPE_CALLER (id seen from another caller: its reply is not theirs),
 * DEDUPE_RUNNING or DEDUPE_PARKED (the first is still in flight); it never
 * waits. */
int wn_dedupe_begin(struct dedupe *d, uint64_t id, const char *method, uint64_t caller,
                    int64_t now_ms, uint8_t **reply, size_t *len);
/* wn_dedupe_park notes that the request under id is parked (its reply comes
 * later): a duplicate gets DEDUPE_PARKED until it finishes or aborts. */
void wn_dedupe_park(struct dedupe *d, uint64_t id);
/* wn_dedupe_finish stores the reply of id; with reply NULL none is kept:
 * the id stays taken (by its method and caller), and a repeat is
 * DEDUPE_NEW again, to be answered afresh. */
void wn_dedupe_finish(struct dedupe *d, uint64_t id, const uint8_t *reply, size_t len);
/* wn_dedupe_abort forgets id (the request had no effect and may run again). */
void wn_dedupe_abort(struct dedupe *d, uint64_t id);

#endif
