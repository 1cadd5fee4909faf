/* kit: small helpers every program needs: argv arrays, path joining,
 * one-line text for reasons and messages, and memory sizes ("1.5G"). */
#ifndef WN_KIT_H
#define WN_KIT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* A growing NULL-terminated argv of malloc'd strings; {NULL, 0} is empty. */
typedef struct wn_argv {
	char **v; /* NULL until the first push, then always NULL-terminated */
	size_t n; /* strings in v, without the terminating NULL */
} wn_argv;

/* wn_argv_push appends s to a, which owns it from then on. */
void wn_argv_push(wn_argv *a, char *s);

/* wn_argv_free frees each string of the NULL-terminated array v, then v (NULL is a no-op). */
void wn_argv_free(char **v);

/* wn_path_join returns path when it is absolute or base is NULL or empty, else
 * base and path joined by one '/' (malloc'd). */
char *wn_path_join(const char *base, const char *path);

/* wn_one_line returns the non-blank lines of text (NULL reads as ""), each
 * trimmed of white space, joined by "; " and cut to at most max bytes (max >=
 * 4) ending in "..." when longer, never inside a UTF-8 character (malloc'd). */
char *wn_one_line(const char *text, size_t max);

/* wn_read_all reads f to its end into *out (malloc'd, NUL-terminated, *len
 * bytes before the NUL); WN_ETOOBIG if it holds more than max bytes, WN_EIO
 * with errno set if reading fails (*out untouched on failure). */
int wn_read_all(FILE *f, size_t max, char **out, size_t *len);

/* A search for the known name nearest a mistyped word, for "did you mean" hints: the
 * fewest edits, a name that extends the word (gpu, gpus) winning a tie. */
struct wn_nearest {
	const char *word;
	const char *best;
	size_t score;
};

/* wn_nearest_init starts a search for the name nearest word. */
void wn_nearest_init(struct wn_nearest *n, const char *word);

/* wn_nearest_add weighs name (NULL is skipped). */
void wn_nearest_add(struct wn_nearest *n, const char *name);

/* wn_nearest_best returns the nearest name added, or NULL when none is near enough to be
 * what was meant (at most 2 edits, fewer than the word's length). */
const char *wn_nearest_best(const struct wn_nearest *n);

/* wn_hex_digit returns the value of the hexadecimal digit c (either case), -1 if c is none. */
int wn_hex_digit(int c);

/* wn_join writes a, then sep (none if '\0'), then b into buf (cap > 0 bytes), cut short
 * to fit with its NUL, and returns its length: names joined into keys without printf. */
size_t wn_join(char *buf, size_t cap, const char *a, char sep, const char *b);

/* wn_u64_text writes v in decimal and a NUL into buf (21 bytes or more) and returns its
 * length. */
size_t wn_u64_text(char *buf, uint64_t v);

/* The largest size wn_size_parse accepts, in MiB (2^53: 8 ZiB). */
#define WN_SIZE_MIB_MAX (UINT64_C(1) << 53)

/* wn_size_parse reads a memory size into *mib, in MiB rounded to the nearest:
 * decimal digits with an optional fraction ("512", "1.5", ".5") and an
 * optional suffix M, MB, MiB (the default unit), G, GB, GiB (1024 MiB), T,
 * TB, TiB (1024 GiB) in any case; signs, exponents, hex, spaces and anything
 * else give WN_EINVAL, as does a size over WN_SIZE_MIB_MAX (*mib unchanged). */
int wn_size_parse(const char *s, uint64_t *mib);

/* wn_file_private_check returns WN_OK when neither group nor others may read,
 * change or run the file path; else WN_EPERM with *errmsg (what names the
 * file, such as "token file") giving the chmod to run, or WN_EIO when it
 * cannot be looked at. */
int wn_file_private_check(const char *path, const char *what, char **errmsg);

/* wn_key_file_check returns WN_OK when others may not read, change or run the
 * private key file path and its group may at most read it (a group such as
 * Debian's ssl-cert); else WN_EPERM with *errmsg (what names the file, such as
 * "tls_key") giving the chmod to run, or WN_EIO when it cannot be looked at. */
int wn_key_file_check(const char *path, const char *what, char **errmsg);

/* wn_secret_file_read reads a secret (a token) from the file path into *out
 * (malloc'd): its first line without trailing blanks. The file must be a
 * regular file that only its owner may use (wn_file_private_check) and the
 * line must hold 1 to 4096 bytes; else a WN_E* with *errmsg (what names it). */
int wn_secret_file_read(const char *path, const char *what, char **out, char **errmsg);

#endif
