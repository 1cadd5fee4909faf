/* proc_stray: the processes of a local command that left its process group
 * (setsid, setpgid, a daemon that double-forks). Each command's environment
 * carries a mark of its own, WN_RUN=<random>, that its descendants inherit
 * wherever they move; a stray is a process whose environment still holds it.
 * Stopping a command signals its strays with its group, and ending it ends
 * them before the command counts as gone (its devices are let go). */
#ifndef WN_PROC_STRAY_H
#define WN_PROC_STRAY_H

/* The variable that holds the mark. */
#define WN_PROC_STRAY_VAR "WN_RUN"

/* wn_proc_stray_mark returns a new mark, "WN_RUN=<16 hex digits>" (malloc'd). */
char *wn_proc_stray_mark(void);

/* wn_proc_stray_signal sends sig to every process (but this one) whose
 * environment holds the entry mark, and returns how many it found. */
int wn_proc_stray_signal(const char *mark, int sig);

/* wn_proc_stray_end kills (SIGKILL) every process whose environment holds
 * mark and waits until none is left, at most timeout_ms; returns how many
 * are left then (0: all gone). */
int wn_proc_stray_end(const char *mark, int timeout_ms);

#endif
