/* proc: one local command, run with no shell. The command is started
 * vfork-style (no copy of the worker's memory) and leads its own process
 * group, stdin from /dev/null, stdout and stderr in a log file, default
 * signal handling, no descriptor of the worker's. Before it execs it tells
 * the worker's one guard process (proc_guard) its group, so that, if the
 * worker dies (even by SIGKILL), the guard ends the whole group. When the
 * command ends, whatever it left running in its process group is killed
 * too, before the command is reaped (its group id is not reused meanwhile),
 * and so are its processes that left the group but carry the mark of its
 * environment (proc_stray.h), which are waited for. */
#ifndef WN_PROC_H
#define WN_PROC_H

#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>

/* What to run. */
typedef struct wn_proc_spec {
	/* argv[0] is the program: a path (relative to workdir) or a name looked
	 * up in the PATH of envp; NULL-terminated. */
	char *const *argv;
	char *const *envp;    /* the whole environment, NULL-terminated; NULL = the worker's */
	const char *workdir;  /* NULL = the worker's current directory */
	const char *log_path; /* created (with its directories) or emptied; NULL = /dev/null */
	const char *log_root; /* log_path is inside it: no symbolic link below it is followed
	                         (wn_safepath_open); NULL = its directory */
	int orphan_grace_ms;  /* if the worker dies: SIGTERM, then SIGKILL this much later */
} wn_proc_spec;

/* A started command (opaque). */
typedef struct wn_proc wn_proc;

/* wn_proc_start starts spec. When the command cannot be started (program not
 * found or not executable, workdir or log file unusable) it returns a negative
 * WN_E* and *reason gets a malloc'd one-line message naming the cause:
 * WN_EUNAVAIL when this machine lacks what it takes for now
 * (wn_proc_short_here: a full disk, no descriptors, no memory; or the
 * worker's working directory, where a command without an absolute workdir
 * starts, removed), which says nothing of the job. */
int wn_proc_start(const wn_proc_spec *spec, wn_proc **out, char **reason);

/* wn_proc_short_here tells whether a call that failed with errno err failed
 * for want of something on this machine (ENOSPC, EDQUOT, EROFS, EMFILE,
 * ENFILE, ENOMEM, EAGAIN) rather than for what a job asked. */
bool wn_proc_short_here(int err);

/* wn_proc_wait waits until the command exits (then kills what is left of
 * its process group, reaps it and returns 1), wake_fd (if >= 0) becomes
 * readable, or timeout_ms (-1: no limit) passes; those two return 0. */
int wn_proc_wait(wn_proc *p, int wake_fd, int timeout_ms);

/* wn_proc_signal sends sig to the command's whole process group and to its
 * processes that left it (proc_stray.h), unless it has already been reaped. */
void wn_proc_signal(wn_proc *p, int sig);

/* wn_proc_pid returns the command's process group id. */
int wn_proc_pid(const wn_proc *p);

/* wn_proc_mark returns the value of the mark in the command's environment
 * (wn_proc_stray_mark_value). */
uint64_t wn_proc_mark(const wn_proc *p);

/* wn_proc_status gives the exit status of a reaped command: *exit_code is
 * the status it exited with, or 128 + the signal that killed it, in which
 * case *signo is that signal (else 0). */
void wn_proc_status(const wn_proc *p, int *exit_code, int *signo);

/* wn_proc_free kills the process group if the command still runs, reaps it
 * and frees p; NULL is a no-op. */
void wn_proc_free(wn_proc *p);

/* wn_proc_open_waiting opens path for reading (flags added to O_RDONLY |
 * O_CLOEXEC) once the run that wrote it has ended: while this worker is out
 * of descriptors (EMFILE, ENFILE: other slots hold them, and give them back
 * as their runs end), it waits for one as long as that lasts, saying so
 * (naming what) after a second and again every minute, rather than read
 * nothing and lose what the run wrote; after ten minutes (descriptors held
 * for good) it gives up, saying so. Returns the descriptor, or -1 with
 * errno for any other failure. */
int wn_proc_open_waiting(const char *path, int flags, const char *what);

/* wn_proc_tail returns the last (at most) max bytes of the file at path as a
 * malloc'd string of valid UTF-8 without NUL bytes (invalid bytes become
 * '?'); a cut first line is dropped. An unreadable file, or one that is not
 * a regular file (a FIFO is not waited on), gives ""; a worker out of
 * descriptors waits for one (wn_proc_open_waiting). */
char *wn_proc_tail(const char *path, size_t max);

/* wn_proc_mkdirs creates the directories leading to the file path (like
 * `mkdir -p $(dirname path)`); errno is kept on failure. */
int wn_proc_mkdirs(const char *path);

#endif
