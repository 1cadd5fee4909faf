#include "kit.h"

#include "err.h"
#include "strbuf.h"
#include "util.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

void wn_argv_push(wn_argv *a, char *s)
{
	a->v = wn_xrealloc(a->v, (a->n + 2) * sizeof(char *));
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void wn_argv_free(char **v)
{
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

char *wn_path_join(const char *base, const char *path)
{
	if (path[0] == '/' || base == NULL || base[0] == '\0')
		return wn_xstrdup(path);
	size_t n = strlen(base);
	return wn_xasprintf("%s%s%s", base, base[n - 1] == '/' ? "" : "/", path);
}

char *wn_one_line(const char *text, size_t max)
{
	assert(max >= 4);
	wn_strbuf b = WN_STRBUF_INIT;
	const char *p = text ? text : "";
	while (*p != '\0') {
		size_t n = strcspn(p, "\n");
		size_t s = 0, e = n;
		while (s < e && isspace((unsigned char)p[s]))
			s++;
		while (e > s && isspace((unsigned char)p[e - 1]))
			e--;
		if (e > s) {
			if (b.len > 0)
				wn_strbuf_adds(&b, "; ");
			wn_strbuf_add(&b, p + s, e - s);
		}
		p += n;
		if (*p == '\n')
			p++;
	}
	if (b.len > max) {
		size_t cut = max - 3;
		while (cut > 0 && ((unsigned char)b.s[cut] & 0xC0) == 0x80)
			cut--; /* b.s[cut] starts a character: cut before it */
		b.len = cut;
		wn_strbuf_adds(&b, "...");
	}
	return wn_strbuf_take(&b);
}

int wn_read_all(FILE *f, size_t max, char **out, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *buf = wn_xmalloc(cap);
	for (;;) {
		if (n == cap) {
			cap *= 2;
			buf = wn_xrealloc(buf, cap);
		}
		size_t want = cap - n;
		if (max - n < want)
			want = max - n + 1; /* one byte past max tells it is over */
		size_t got = fread(buf + n, 1, want, f);
		n += got;
		if (got == 0 || n > max)
			break;
	}
	int rc = n > max ? WN_ETOOBIG : ferror(f) ? WN_EIO : WN_OK;
	if (rc != WN_OK) {
		int e = errno;
		free(buf);
		errno = e;
		return rc;
	}
	buf = wn_xrealloc(buf, n + 1);
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return WN_OK;
}

/* kit_distance is the edit distance of a and b, capped for long names. */
static size_t kit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return SIZE_MAX;
	size_t row[65];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
			size_t best = prev + cost;
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

void wn_nearest_init(struct wn_nearest *n, const char *word)
{
	*n = (struct wn_nearest){.word = word, .best = NULL, .score = SIZE_MAX};
}

void wn_nearest_add(struct wn_nearest *n, const char *name)
{
	if (name == NULL)
		return;
	size_t dist = kit_distance(n->word, name);
	if (dist == SIZE_MAX)
		return;
	size_t kl = strlen(n->word), nl = strlen(name);
	/* on a tie, a name that extends the word (gpu -> gpus) wins */
	dist = dist * 2 + (strncmp(n->word, name, kl < nl ? kl : nl) != 0);
	if (dist < n->score) {
		n->score = dist;
		n->best = name;
	}
}

const char *wn_nearest_best(const struct wn_nearest *n)
{
	if (n->best == NULL || n->score > 5 || n->score / 2 >= strlen(n->word))
		return NULL;
	return n->best;
}

int wn_hex_digit(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

size_t wn_join(char *buf, size_t cap, const char *a, char sep, const char *b)
{
	size_t n = 0;
	for (; *a != '\0' && n + 1 < cap; a++)
		buf[n++] = *a;
	if (sep != '\0' && n + 1 < cap)
		buf[n++] = sep;
	for (; *b != '\0' && n + 1 < cap; b++)
		buf[n++] = *b;
	buf[n] = '\0';
	return n;
}

size_t wn_u64_text(char *buf, uint64_t v)
{
	char rev[20];
	size_t n = 0;
	do
		rev[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (size_t i = 0; i < n; i++)
		buf[i] = rev[n - 1 - i];
	buf[n] = '\0';
	return n;
}

/* size_unit returns the MiB in one unit of suffix, 0 if it is none. */
static uint64_t size_unit(const char *suffix)
{
	static const struct {
		const char *suffix;
		uint64_t mib;
	} units[] = {
	    {"", 1},
	    {"m", 1},
	    {"mb", 1},
	    {"mib", 1},
	    {"g", 1024},
	    {"gb", 1024},
	    {"gib", 1024},
	    {"t", 1024 * 1024},
	    {"tb", 1024 * 1024},
	    {"tib", 1024 * 1024},
	};
	for (size_t i = 0; i < WN_ARRAY_LEN(units); i++)
		if (strcasecmp(suffix, units[i].suffix) == 0)
			return units[i].mib;
	return 0;
}

/* Fraction digits past this many do not count (they are still checked). */
#define SIZE_FRAC_DIGITS 30

int wn_size_parse(const char *s, uint64_t *mib)
{
	if (s == NULL)
		return WN_EINVAL;
	const char *p = s;
	bool digits = false, over = false;
	uint64_t whole = 0;
	for (; *p >= '0' && *p <= '9'; p++, digits = true) {
		unsigned d = (unsigned)(*p - '0');
		if (whole > (UINT64_MAX - d) / 10)
			over = true;
		else
			whole = whole * 10 + d;
	}
	unsigned __int128 frac = 0, scale = 1;
	if (*p == '.') {
		int nfrac = 0;
		for (p++; *p >= '0' && *p <= '9'; p++, digits = true) {
			if (nfrac++ < SIZE_FRAC_DIGITS) {
				frac = frac * 10 + (unsigned)(*p - '0');
				scale *= 10;
			}
		}
	}
	uint64_t unit = size_unit(p);
	if (!digits || unit == 0 || over)
		return WN_EINVAL;
	unsigned __int128 v = (unsigned __int128)whole * unit + (frac * unit + scale / 2) / scale;
	if (v > WN_SIZE_MIB_MAX)
		return WN_EINVAL;
	*mib = (uint64_t)v;
	return WN_OK;
}

int wn_file_private_check(const char *path, const char *what, char **errmsg)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		*errmsg = wn_xasprintf("cannot read %s %s: %s", what, path, strerror(errno));
		return WN_EIO;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) == 0)
		return WN_OK;
	*errmsg = wn_xasprintf(
	    "%s %s may be read or changed by other users (mode %04o): run chmod 600 %s", what, path,
	    (unsigned)(st.st_mode & 07777), path);
	return WN_EPERM;
}

int wn_key_file_check(const char *path, const char *what, char **errmsg)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		*errmsg = wn_xasprintf("cannot read %s %s: %s", what, path, strerror(errno));
		return WN_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		/* a directory's mode is no key's to fix (chmod 600 on it) */
		*errmsg = wn_xasprintf("%s %s is not a regular file", what, path);
		return WN_EINVAL;
	}
	if ((st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) == 0)
		return WN_OK;
	*errmsg = wn_xasprintf("%s %s is a private key that other users may read or change "
	                       "(mode %04o): run chmod 600 %s",
	                       what, path, (unsigned)(st.st_mode & 07777), path);
	return WN_EPERM;
}

int wn_secret_file_read(const char *path, const char *what, char **out, char **errmsg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		*errmsg = wn_xasprintf("cannot open %s %s: %s", what, path, strerror(errno));
		return WN_EIO;
	}
	struct stat st;
	char buf[4098];
	ssize_t n = -1;
	int rc = WN_OK;
	/* a directory first: its mode is no secret's to fix (chmod 600 /tmp) */
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		*errmsg = wn_xasprintf("%s %s is not a regular file", what, path);
		rc = WN_EINVAL;
	} else {
		rc = wn_file_private_check(path, what, errmsg);
	}
	if (rc == WN_OK && (n = read(fd, buf, sizeof(buf) - 1)) < 0) {
		*errmsg = wn_xasprintf("cannot read %s %s: %s", what, path, strerror(errno));
		rc = WN_EIO;
	}
	close(fd);
	if (rc != WN_OK)
		return rc;
	buf[n] = '\0';
	const char *nl = memchr(buf, '\n', (size_t)n);
	size_t len = nl ? (size_t)(nl - buf) : (size_t)n;
	bool nul = memchr(buf, '\0', len) != NULL;
	while (len > 0 && strchr(" \t\r", buf[len - 1]) != NULL)
		len--;
	if (len == 0 || len > 4096 || nul) {
		*errmsg = wn_xasprintf(
		    "%s %s must hold one secret of 1 to 4096 bytes on its first line", what, path);
		rc = WN_EINVAL;
	} else {
		*out = strndup(buf, len);
		if (*out == NULL)
			wn_oom("reading a secret");
	}
	explicit_bzero(buf, sizeof(buf));
	return rc;
}
