/* proc_guard: the one guard process of a worker. It is forked once, early,
 * while the worker is still small, sits in its own process group, and learns
 * over a socket the process group of every command the worker starts, with
 * the mark in the command's environment (proc_stray.h; the command announces
 * both before it execs), and of every command the worker has reaped. When
 * the worker is gone (the socket reaches its end, or the kernel's
 * parent-death signal arrives), the guard sends SIGTERM to every group it
 * still knows and to every process that carries one of their marks (what the
 * commands left outside their groups, orphans of init by then: it reads each
 * process's environment in /proc, and only then), and SIGKILL to those left
 * after their grace period, looking for marked processes again until none is
 * left, then exits. While the worker lives it costs nothing but the
 * announcements. Should the guard itself die, the worker starts another and
 * tells it every group that still runs, with its mark. */
#ifndef WN_PROC_GUARD_H
#define WN_PROC_GUARD_H

#include <stdint.h>
#include <sys/types.h>

/* WN_PROC_RAW marks the functions a starting command runs before it execs,
 * on the worker's memory and a borrowed stack: no sanitizer bookkeeping
 * (shadow memory) there, which would outlive the command's frames. */
#define WN_PROC_RAW __attribute__((no_sanitize("address", "undefined")))

/* wn_proc_guard_start starts the guard now, if it does not run yet: call it
 * early, before the worker starts threads or grows (a command start starts it
 * otherwise). Returns 0, or a negative WN_E* with *why (malloc'd; may be NULL
 * when why is NULL) saying what failed. */
int wn_proc_guard_start(char **why);

/* wn_proc_guard_enter makes sure a guard runs and holds it until
 * wn_proc_guard_leave: *fd is the descriptor a command being started writes
 * its announcement to (wn_proc_guard_announce). Returns 0, or a negative
 * WN_E* with *why (malloc'd) when no guard can be started; nothing is held
 * then. */
int wn_proc_guard_enter(int *fd, char **why);

/* wn_proc_guard_leave ends wn_proc_guard_enter; pgid > 0 records that group
 * as running (it announced itself) with the mark of its command
 * (wn_proc_stray_mark_value), so that a later guard learns both too. */
void wn_proc_guard_leave(pid_t pgid, int grace_ms, uint64_t mark);

/* wn_proc_guard_announce is called in a starting command (a vfork-style
 * child: raw system calls only) with its own process group and the value of
 * the mark in its environment (wn_proc_stray_mark_value): it writes the
 * announcement to fd and returns 0, or -1 with errno set. */
WN_PROC_RAW int wn_proc_guard_announce(int fd, pid_t pgid, int grace_ms, uint64_t mark);

/* wn_proc_guard_forget tells the guard that group pgid is over (its leader
 * is about to be reaped, the rest of the group is killed): the guard will
 * not signal it. */
void wn_proc_guard_forget(pid_t pgid);

/* wn_proc_guard_unstick replaces a guard that reads nothing (its socket
 * full for a second: stopped, say) with another, which knows every group
 * of the worker's registry. */
void wn_proc_guard_unstick(void);

/* wn_proc_guard_watch returns a descriptor that becomes readable if the
 * guard dies (-1 when there is none to watch: then call wn_proc_guard_check
 * every *slice_ms); a waiter adds it to what it polls. */
int wn_proc_guard_watch(int *slice_ms);

/* wn_proc_guard_check starts a new guard if the current one has died, and
 * tells it every group that runs. */
void wn_proc_guard_check(void);

/* wn_proc_guard_pid returns the guard's pid, or -1 when none runs. */
pid_t wn_proc_guard_pid(void);

#endif
