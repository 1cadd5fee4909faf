/* slurm_poll: follows SLURM jobs to their end. A poller belongs to one slurm
 * formatter instance (a task of worker.yaml), created and freed with it.
 * While it follows a job, its thread asks squeue about all of them at once
 * every poll_ms, and sacct (or sacct -c, the job completion log) about those
 * squeue no longer lists; a job known to neither for a while ends as
 * UNKNOWN. */
#ifndef WN_SLURM_POLL_H
#define WN_SLURM_POLL_H

#include "slurm.h"

#include <stdbool.h>
#include <stdint.h>

/* The longest squeue, sacct or scancel call, in ms. */
#define WN_SLURM_QUERY_MS 60000

/* How a poller asks SLURM; the strings must outlive the poller. */
typedef struct wn_slurm_poll_conf {
	const char *squeue, *sacct;
	const char *accounting; /* "auto", "sacct", "jobcomp" or "none" */
	int64_t poll_ms;
} wn_slurm_poll_conf;

typedef struct wn_slurm_poll wn_slurm_poll;

/* One SLURM job a poller follows (opaque). */
typedef struct wn_slurm_watch wn_slurm_watch;

/* wn_slurm_poll_new makes a poller that asks SLURM as conf says; its thread
 * starts with the first job it follows. */
wn_slurm_poll *wn_slurm_poll_new(const wn_slurm_poll_conf *conf);

/* wn_slurm_poll_free stops the poller's thread and frees it (every job it
 * followed must have been unfollowed); NULL is a no-op. */
void wn_slurm_poll_free(wn_slurm_poll *p);

/* wn_slurm_poll_follow follows SLURM job id ("123", or "123_4" for an array
 * element) until it ends, then writes to the eventfd efd. */
wn_slurm_watch *wn_slurm_poll_follow(wn_slurm_poll *p, const char *id, int efd);

/* wn_slurm_poll_unfollow stops following w and frees it. */
void wn_slurm_poll_unfollow(wn_slurm_poll *p, wn_slurm_watch *w);

/* wn_slurm_poll_ended tells whether the job of w has ended. */
bool wn_slurm_poll_ended(wn_slurm_poll *p, const wn_slurm_watch *w);

/* wn_slurm_poll_end tells whether the job of w has ended and, if so, fills
 * *row with how (a copy: wn_slurm_row_release frees it). */
bool wn_slurm_poll_end(wn_slurm_poll *p, const wn_slurm_watch *w, wn_slurm_row *row);

/* wn_slurm_poll_waiting tells whether the job of w has not started yet:
 * squeue has listed it PENDING only, or not at all, and it has not ended;
 * *reason (unless reason is NULL) gets squeue's Reason the last time it
 * listed it PENDING ("Resources"; "" if none), malloc'd. */
bool wn_slurm_poll_waiting(wn_slurm_poll *p, const wn_slurm_watch *w, char **reason);

/* wn_slurm_poll_follows tells whether p follows SLURM job id now (a run of
 * this worker waits for its end). */
bool wn_slurm_poll_follows(wn_slurm_poll *p, const char *id);

/* wn_slurm_poll_kick has the poller ask SLURM again soon (after a cancel)
 * rather than at its next round. */
void wn_slurm_poll_kick(wn_slurm_poll *p);

#endif
