/* proc_stray: the processes of a local command that left its process group
 * (setsid, setpgid, a daemon that double-forks). The worker is the child
 * subreaper of what it starts (PR_SET_CHILD_SUBREAPER): a process whose
 * parent dies is handed to the worker instead of init, so every process a
 * command started is below the worker in the process tree, as long as it
 * does not ask another program (a system service) to start it. Each
 * command's environment carries a mark of its own, WN_RUN=<random>, that
 * its descendants inherit (followed by those the worker inherited, if it is
 * itself a command of another worker): a stray of a command is a process
 * below the worker, outside the command's group, whose environment still
 * holds the mark. Stopping a command signals its strays with its group, and ending it
 * ends them, and waits for its group, before the command counts as gone (its
 * devices are let go). Nothing else is looked at: the worker's own children
 * (a few reads of /proc) and what is below those it did not start itself.
 * Once the worker is dead, its guard (proc_guard.h) looks for the marks of
 * the commands it knew in every process it can read (wn_proc_stray_find).
 *
 * The worker reaps the children it did not start (orphans handed to it once
 * they exit), never one it started: those are announced here (starting,
 * started, gone), and another thread's reaping waits for none of them. */
#ifndef WN_PROC_STRAY_H
#define WN_PROC_STRAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* The variable that holds the mark. */
#define WN_PROC_STRAY_VAR "WN_RUN"

/* The most marks a command's WN_RUN holds: its own, then those it
 * inherited (a worker run by a command of another worker). */
#define WN_PROC_STRAY_KEPT 64

/* wn_proc_stray_adopt makes this process the subreaper of its descendants
 * (once; later calls do nothing). */
void wn_proc_stray_adopt(void);

/* wn_proc_stray_mark returns a new mark, "WN_RUN=<16 hex digits>" (malloc'd). */
char *wn_proc_stray_mark(void);

/* wn_proc_stray_mark_value returns the value of the mark (its 16 hex
 * digits), or 0 when mark is not one. */
uint64_t wn_proc_stray_mark_value(const char *mark);

/* wn_proc_stray_entry returns the WN_RUN entry of the environment of a
 * command whose mark is mark and whose environment would otherwise be envp
 * (NULL-terminated): "WN_RUN=<mark's value>,<value>..." with the marks of
 * envp's WN_RUN after its own, WN_PROC_STRAY_KEPT at most (malloc'd). A
 * command of a worker that is itself a command of another keeps the mark of
 * that one, whose end ends it too. */
char *wn_proc_stray_entry(const char *mark, char *const *envp);

/* wn_proc_stray_find reads the environment of process pid, with buf (cap
 * bytes, more than a mark's 24) to read it in, and returns the index in
 * marks (n values, wn_proc_stray_mark_value) of a mark it holds, or one of
 * the WN_PROC_STRAY_ codes below. A process whose main thread has exited
 * while others run on is read through one of those. It takes no lock and
 * allocates nothing: the guard calls it. */
#define WN_PROC_STRAY_NONE  (-1) /* none, or gone, or another user's (unreadable) */
#define WN_PROC_STRAY_EMPTY (-2) /* nothing to read: a zombie, exiting, a kernel thread */
#define WN_PROC_STRAY_SHORT (-3) /* not read: this process is short of descriptors or memory */
int wn_proc_stray_find(pid_t pid, const uint64_t *marks, size_t n, char *buf, size_t cap);

/* wn_proc_stray_starting says a child of the worker is being started: no
 * orphan is reaped until wn_proc_stray_started, which records its pid (<= 0:
 * none was started). wn_proc_stray_gone forgets it once it has been reaped
 * by its owner. */
void wn_proc_stray_starting(void);
void wn_proc_stray_started(pid_t pid);
void wn_proc_stray_gone(pid_t pid);

/* wn_proc_stray_signal sends sig to the processes below the worker that
 * carry the entry mark and are outside the process group pgid (which the
 * caller signals), and returns how many it found. */
int wn_proc_stray_signal(pid_t pgid, const char *mark, int sig);

/* wn_proc_stray_end kills (SIGKILL) the process group pgid and the
 * processes below the worker that carry the entry mark, again, until none
 * of them is left alive (the group's leader stays a zombie, unreaped), at
 * most timeout_ms; the orphans among them are reaped. A look that could not
 * be made, this process short of descriptors or memory, is logged and made
 * again, past timeout_ms too, until it can be. Returns how many are left
 * alive then (0: all gone). */
int wn_proc_stray_end(pid_t pgid, const char *mark, int timeout_ms);

/* wn_proc_stray_reap reaps the worker's children that exited and that it
 * did not start (orphans handed to it); returns how many it had to leave
 * for later (a command was being started). */
int wn_proc_stray_reap(void);

/* What /proc/PID/stat says of a process: fields 3 to 5, 9, 20 and 22. */
typedef struct wn_proc_stat {
	char state;               /* 'Z': a zombie (but see threads) */
	pid_t ppid;               /* its parent */
	long long pgrp;           /* its process group */
	unsigned flags;           /* the kernel's (PF_EXITING, PF_KTHREAD) */
	long threads;             /* how many of its threads have not exited */
	unsigned long long start; /* when it started, clock ticks since boot */
} wn_proc_stat;

/* wn_proc_stat_read reads /proc/PID/stat of process pid (its decimal
 * number) into *st; false when it cannot, errno telling why: ENOENT or
 * ESRCH, no such process; wn_proc_stray_short, this process could not look
 * (the process may run). */
bool wn_proc_stat_read(const char *pid, wn_proc_stat *st);

/* wn_proc_stray_short tells whether a call that failed with errno err
 * failed for want of descriptors or memory in this process (EMFILE,
 * ENFILE, ENOMEM): a look that could not be made, to be made again. */
bool wn_proc_stray_short(int err);

#endif
