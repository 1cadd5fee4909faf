/* safepath: the files and directories a job's templates name (log files,
 * SLURM output, working directories) kept inside their roots. A value of
 * a job cannot take a path above the directory its template puts it in
 * ("exp=../../x"), and no symbolic link below a root is followed when the
 * worker creates or writes a file there. */
#ifndef WN_SAFEPATH_H
#define WN_SAFEPATH_H

/* wn_safepath_root returns the directory a path rendered from the template
 * tmpl must stay in (malloc'd): the part of tmpl before its first
 * placeholder, up to its last '/', joined to base when it is relative (base
 * NULL: left relative; "" for none). */
char *wn_safepath_root(const char *base, const char *tmpl);

/* wn_safepath_inside returns path (joined to base when relative, base NULL:
 * left relative), with '.' and '..' resolved as text (malloc'd), when it
 * stays inside root or is root itself; else NULL with *reason naming what
 * (such as "log file") and root. */
char *wn_safepath_inside(const char *root, const char *base, const char *path, const char *what,
                         char **reason);

/* wn_safepath_too_long returns why no file could be opened at path (a name
 * past NAME_MAX, the whole past PATH_MAX), naming what ("log file"),
 * malloc'd; NULL when it fits. */
char *wn_safepath_too_long(const char *path, const char *what);

/* wn_safepath_mkdirs creates the directories of the file path (inside root)
 * below root, 0755, following no symbolic link below root (root itself is
 * created as any path); 0, or -1 with *reason and errno set to the failed
 * call's error (0 for a refusal, such as a path outside root). */
int wn_safepath_mkdirs(const char *root, const char *path, char **reason);

/* wn_safepath_open opens the file path (inside root) for writing, creating
 * it (0644) and its directories as wn_safepath_mkdirs does; a symbolic
 * link, something else than a regular file, a file of another user or one
 * with other links is refused, and the file is emptied only once it is
 * known to be ours. Returns the descriptor (close-on-exec), or -1 with
 * *reason and errno as wn_safepath_mkdirs sets it (EMFILE: short of
 * descriptors, which may pass). */
int wn_safepath_open(const char *root, const char *path, char **reason);

#endif
