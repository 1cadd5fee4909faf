/* devlock: one lock file per GPU device, in the worker's lock_dir, that keeps
 * a new run off a device a run of an earlier worker process still holds.
 *
 * A worker holds the lock (flock) of each device while a job of its holds the
 * device, and records in it the process group of the run, when its leader
 * started and the mark of its command's environment (WN_RUN, proc_stray.h).
 * A worker that dies lets go of its locks at once, while its guard may still
 * be ending the run for up to kill_grace_s: the next worker process to take
 * a lock reads the record and waits until that group is gone and no process
 * carries the mark (a daemon the run left in a session of its own, which
 * the guard ends too). A record whose leader's pid now names another process
 * names a group that is gone (a pid is not given again while its group
 * lives), though processes with its mark may still run. A record of an
 * older worker has no mark: its group alone is waited for. */
#ifndef WN_DEVLOCK_H
#define WN_DEVLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct wn_devlock wn_devlock;

/* What a wait on a device is told: stop tells whether to give up (the job
 * was cancelled or the worker stops), waiting is called with what is waited
 * for when a wait on a device begins and again every retell_ms (0: five
 * minutes) while it lasts. */
typedef struct wn_devlock_wait {
	bool (*stop)(void *arg);
	void (*waiting)(void *arg, const char *what);
	void *arg;
	int retell_ms;
} wn_devlock_wait;

/* wn_devlock_take takes the lock of each device of gpus ("0,1") in dir,
 * waiting while another worker process holds one or the run its record names
 * still runs. Returns 0 with *out (NULL for gpus ""), WN_ESTATE when w->stop
 * said to give up, or WN_EIO with *why (malloc'd) when a lock file cannot be
 * used. */
int wn_devlock_take(const char *dir, const char *gpus, const wn_devlock_wait *w, wn_devlock **out,
                    char **why);

/* wn_devlock_record records the run in process group pgid, whose command
 * carries mark (wn_proc_stray_mark_value; 0: none), as the holder of l's
 * devices, in place (the room for a record is kept from the lock file's
 * opening, when a full disk refuses it); WN_EIO with *why (malloc'd) when a
 * record cannot be written. */
int wn_devlock_record(wn_devlock *l, pid_t pgid, uint64_t mark, char **why);

/* wn_devlock_release blanks l's records (the run ended here, its group
 * killed) and lets go of its locks; NULL: nothing. */
void wn_devlock_release(wn_devlock *l);

/* wn_devlock_check opens (creating them) the lock files of the n devices
 * ids in dir: WN_EIO with *why (malloc'd) when one cannot be used. */
int wn_devlock_check(const char *dir, char *const *ids, size_t n, char **why);

/* wn_devlock_path returns the lock file of device id in dir (malloc'd). */
char *wn_devlock_path(const char *dir, const char *id);

#endif
