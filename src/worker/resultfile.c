#include "resultfile_int.h"

#include "err.h"
#include "proc.h"
#include "map.h"
#include "resultrules.h"
#include "util.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define RESULTS_LINE_MAX 65536 /* bytes of a key=value line */

/* One report being read: its values, checked before any is kept. */
typedef struct report {
	size_t n;
	const char *keys[WN_RESULT_KEYS_MAX];
	size_t klens[WN_RESULT_KEYS_MAX];
	rval vals[WN_RESULT_KEYS_MAX];
} report;

char *wn_resultfile_path_beside(const char *path)
{
	size_t n = strlen(path);
	const char *slash = strrchr(path, '/');
	size_t base = slash ? (size_t)(slash - path) + 1 : 0;
	if (n > base + 4 &&
	    (strcmp(path + n - 4, ".log") == 0 || strcmp(path + n - 4, ".out") == 0))
		n -= 4;
	return wn_xasprintf("%.*s.results", (int)n, path);
}

wn_resultfile *wn_resultfile_new(const char *path)
{
	wn_resultfile *r = wn_xcalloc(1, sizeof(*r));
	pthread_mutex_init(&r->mu, NULL);
	r->refs = 1;
	r->path = wn_xstrdup(path);
	r->line = 1;
	return r;
}

wn_resultfile *wn_resultfile_ref(wn_resultfile *r)
{
	pthread_mutex_lock(&r->mu);
	r->refs++;
	pthread_mutex_unlock(&r->mu);
	return r;
}

void wn_resultfile_unref(wn_resultfile *r)
{
	if (r == NULL)
		return;
	pthread_mutex_lock(&r->mu);
	bool last = --r->refs == 0;
	pthread_mutex_unlock(&r->mu);
	if (!last)
		return;
	for (size_t i = 0; i < r->nkeys; i++) {
		free(r->keys[i]);
		free(r->vals[i].str);
	}
	free(r->buf);
	free(r->error);
	free(r->path);
	pthread_mutex_destroy(&r->mu);
	free(r);
}

const char *wn_resultfile_path(const wn_resultfile *r)
{
	return r->path;
}

void wn_resultfile_count(wn_resultfile *r, uint64_t *reports, size_t *keys)
{
	pthread_mutex_lock(&r->mu);
	*reports = r->seq;
	*keys = r->nlive;
	pthread_mutex_unlock(&r->mu);
}

/* ---------------------------------------------------------------- reports */

static int results_fail(wn_resultfile *r, uint64_t line, char **errmsg, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* results_fail makes "line N: what" r's error and *errmsg's. */
static int results_fail(wn_resultfile *r, uint64_t line, char **errmsg, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	free(r->error);
	r->error =
	    line ? wn_xasprintf("line %llu: %s", (unsigned long long)line, what) : wn_xstrdup(what);
	*errmsg = wn_xstrdup(r->error);
	return WN_EINVAL;
}

/* results_strndup copies the n bytes at s into a new string. */
static char *results_strndup(const char *s, size_t n)
{
	char *d = wn_xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

static void report_release(report *rp)
{
	for (size_t i = 0; i < rp->n; i++)
		free(rp->vals[i].str);
	rp->n = 0;
}

static ssize_t results_key_index(const wn_resultfile *r, const char *key, size_t len)
{
	for (size_t i = 0; i < r->nkeys; i++)
		if (strlen(r->keys[i]) == len && memcmp(r->keys[i], key, len) == 0)
			return (ssize_t)i;
	return -1;
}

/* on_stride tells whether p is a point its key's stride keeps (the key's
 * first always is). */
static bool on_stride(const wn_resultfile *r, const rpoint *p)
{
	return (p->nth - 1) % r->stride[p->key] == 0;
}

/* results_thin doubles the stride of key k and drops the points of k off
 * it but its latest, so that the points waiting for the server stay evenly
 * spread over each key's reports, from its first to its latest, however
 * much faster than it heartbeats a run reports. */
static void results_thin(wn_resultfile *r, uint32_t k)
{
	r->stride[k] *= 2;
	size_t last = 0;
	for (size_t i = 0; i < r->npts; i++)
		if (r->pts[i].key == k)
			last = i;
	size_t n = 0;
	for (size_t i = 0; i < r->npts; i++)
		if (r->pts[i].key != k || i == last || on_stride(r, &r->pts[i]))
			r->pts[n++] = r->pts[i];
		else
			r->held[k]--;
	r->npts = n;
}

/* results_point keeps number v of key k as a point of report r->seq. When
 * no room is left, the key holding the most points is thinned; the point of
 * k before this one goes if k's stride does not keep it (it was kept as the
 * key's latest). */
static void results_point(wn_resultfile *r, uint32_t k, double v, int64_t now)
{
	while (r->npts == WN_RESULTFILE_PENDING_MAX) {
		uint32_t most = 0;
		for (uint32_t i = 1; i < r->nkeys; i++)
			if (r->held[i] > r->held[most])
				most = i;
		results_thin(r, most);
	}
	if (r->held[k] > 0) {
		size_t i = r->npts - 1;
		while (r->pts[i].key != k)
			i--;
		if (!on_stride(r, &r->pts[i])) {
			memmove(r->pts + i, r->pts + i + 1, (r->npts - i - 1) * sizeof(*r->pts));
			r->npts--;
			r->held[k]--;
		}
	}
	r->pts[r->npts++] = (rpoint){k, v, now, r->seq, ++r->nth[k]};
	r->held[k]++;
}

/* results_slot gives a slot for a new key: a free one, else that of a key
 * the file no longer reports, preferring one none of whose points wait for
 * the server (those of the key it held are dropped). -1: none is left. */
static ssize_t results_slot(wn_resultfile *r)
{
	if (r->nkeys < WN_RESULT_KEYS_MAX)
		return (ssize_t)r->nkeys++;
	ssize_t k = -1;
	for (size_t i = 0; i < r->nkeys; i++)
		if (!r->live[i] && (k < 0 || r->held[i] == 0))
			k = (ssize_t)i;
	if (k < 0)
		return -1;
	size_t n = 0;
	for (size_t i = 0; i < r->npts; i++)
		if (r->pts[i].key != (uint32_t)k)
			r->pts[n++] = r->pts[i];
	r->npts = n;
	free(r->keys[k]);
	free(r->vals[k].str);
	r->vals[k] = (rval){0};
	r->held[k] = 0;
	r->nth[k] = 0;
	return k;
}

/* report_keep checks a report (its keys, how many keys the file as it now
 * stands then has) and keeps it: the latest values, a point per number. The
 * report's texts move to r. */
static int report_keep(wn_resultfile *r, report *rp, uint64_t line, char **errmsg)
{
	size_t fresh = 0;
	for (size_t i = 0; i < rp->n; i++) {
		const char *why = wn_result_key_check(rp->keys[i], rp->klens[i]);
		if (why != NULL)
			return results_fail(r, line, errmsg, "key \"%.*s\": %s",
			                    (int)(rp->klens[i] > 80 ? 80 : rp->klens[i]),
			                    rp->keys[i], why);
		ssize_t k = results_key_index(r, rp->keys[i], rp->klens[i]);
		fresh += k < 0 || !r->live[k];
	}
	if (r->nlive + fresh > WN_RESULT_KEYS_MAX)
		return results_fail(r, line, errmsg, "more than %d keys reported",
		                    WN_RESULT_KEYS_MAX);
	if (rp->n == 0)
		return WN_OK;
	r->seq++;
	int64_t now = wn_now_ms();
	for (size_t i = 0; i < rp->n; i++) {
		ssize_t k = results_key_index(r, rp->keys[i], rp->klens[i]);
		if (k < 0) {
			k = results_slot(r);
			assert(k >= 0); /* the count above leaves room */
			r->keys[k] = results_strndup(rp->keys[i], rp->klens[i]);
			r->stride[k] = 1;
		}
		r->nlive += !r->live[k];
		r->live[k] = true;
		free(r->vals[k].str);
		r->vals[k] = rp->vals[i];
		rp->vals[i].str = NULL;
		if (r->vals[k].text)
			continue;
		results_point(r, (uint32_t)k, r->vals[k].num, now);
	}
	r->changed++;
	rp->n = 0;
	return WN_OK;
}

/* report_add adds key (klen bytes) and its value to rp, refusing a key the
 * report already holds. */
static int report_add(wn_resultfile *r, report *rp, const char *key, size_t klen, rval v,
                      uint64_t line, char **errmsg)
{
	for (size_t i = 0; i < rp->n; i++)
		if (rp->klens[i] == klen && memcmp(rp->keys[i], key, klen) == 0) {
			free(v.str);
			return results_fail(r, line, errmsg, "key \"%.*s\" twice in one report",
			                    (int)(klen > 80 ? 80 : klen), key);
		}
	if (rp->n == WN_RESULT_KEYS_MAX) {
		free(v.str);
		return results_fail(r, line, errmsg, "more than %d keys in one report",
		                    WN_RESULT_KEYS_MAX);
	}
	rp->keys[rp->n] = key;
	rp->klens[rp->n] = klen;
	rp->vals[rp->n++] = v;
	return WN_OK;
}

/* text_value makes a text value of the len bytes at s, checked. */
static int text_value(wn_resultfile *r, const char *key, size_t klen, const char *s, size_t len,
                      uint64_t line, rval *v, char **errmsg)
{
	const char *why = wn_result_text_check(s, len);
	if (why != NULL)
		return results_fail(r, line, errmsg, "key \"%.*s\": %s",
		                    (int)(klen > 80 ? 80 : klen), key, why);
	*v = (rval){.text = true, .str = results_strndup(s, len)};
	return WN_OK;
}

/* json_report reads the values of the JSON object o into rp. */
static int json_report(wn_resultfile *r, json_t *o, report *rp, uint64_t line, char **errmsg)
{
	const char *key;
	json_t *val;
	json_object_foreach(o, key, val)
	{
		size_t klen = strlen(key);
		int kl = (int)(klen > 80 ? 80 : klen);
		rval v = {0};
		int rv = WN_OK;
		if (json_is_integer(val) || json_is_real(val)) {
			v.num = json_number_value(val);
			const char *why = wn_result_number_check(v.num);
			if (why != NULL)
				return results_fail(r, line, errmsg, "key \"%.*s\": %s", kl, key,
				                    why);
		} else if (json_is_string(val)) {
			rv = text_value(r, key, klen, json_string_value(val),
			                json_string_length(val), line, &v, errmsg);
		} else if (json_is_boolean(val)) {
			v = (rval){.text = true,
			           .str = wn_xstrdup(json_is_true(val) ? "true" : "false")};
		} else {
			const char *kind = json_is_null(val)    ? "null"
			                   : json_is_array(val) ? "an array"
			                                        : "an object";
			return results_fail(r, line, errmsg,
			                    "key \"%.*s\": a value is a number or a text, not %s",
			                    kl, key, kind);
		}
		if (rv == WN_OK)
			rv = report_add(r, rp, key, klen, v, line, errmsg);
		if (rv != WN_OK)
			return rv;
	}
	return WN_OK;
}

/* parse_json reads the JSON object at r->buf + pos: *used gets its length,
 * 0 when it is cut short and more may come. */
static int parse_json(wn_resultfile *r, size_t pos, bool final, size_t *used, char **errmsg)
{
	json_error_t err;
	json_t *o = json_loadb(r->buf + pos, r->len - pos,
	                       JSON_DISABLE_EOF_CHECK | JSON_REJECT_DUPLICATES, &err);
	if (o == NULL) {
		/* an error with no line break after it may be a report still
		 * being written (cut short, in a token, in a character) */
		size_t at =
		    (size_t)err.position < r->len - pos ? (size_t)err.position : r->len - pos;
		if (!final && memchr(r->buf + pos + at, '\n', r->len - pos - at) == NULL) {
			*used = 0;
			return WN_OK;
		}
		uint64_t line = r->line + (err.line > 0 ? (uint64_t)err.line - 1 : 0);
		/* jansson names its own option for a NUL: say what is wrong */
		const char *why = strstr(err.text, "JSON_ALLOW_NUL") != NULL
		                      ? "a string holds \\u0000 (a NUL character)"
		                      : err.text;
		return results_fail(r, line, errmsg, "invalid JSON: %s", why);
	}
	*used = (size_t)err.position;
	report rp = {0};
	int rv = json_report(r, o, &rp, r->line, errmsg);
	if (rv == WN_OK)
		rv = report_keep(r, &rp, r->line, errmsg);
	report_release(&rp);
	json_decref(o);
	return rv;
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* is_hex tells whether the len bytes at s start as a hexadecimal number
 * (0x..., signed or not), which strtod reads but a decimal reader does not. */
static bool is_hex(const char *s, size_t len)
{
	size_t i = len > 0 && (s[0] == '+' || s[0] == '-');
	return len >= i + 2 && s[i] == '0' && (s[i + 1] == 'x' || s[i + 1] == 'X');
}

/* line_value makes the value of a key=value line of the len bytes at s: a
 * number when all of it reads as a decimal one, else a text ("quotes"
 * around it dropped): 0x10 is a text, as in JSON. */
static int line_value(wn_resultfile *r, const char *key, size_t klen, const char *s, size_t len,
                      rval *v, char **errmsg)
{
	int kl = (int)(klen > 80 ? 80 : klen);
	if (len == 0)
		return results_fail(r, r->line, errmsg, "key \"%.*s\" has no value", kl, key);
	char *copy = results_strndup(s, len);
	char *end = NULL;
	errno = 0;
	double d = strtod(copy, &end);
	bool number = end == copy + len && strlen(copy) == len && !is_hex(s, len);
	free(copy);
	if (number) {
		const char *why = wn_result_number_check(d);
		if (why != NULL)
			return results_fail(r, r->line, errmsg, "key \"%.*s\": %s", kl, key, why);
		*v = (rval){.num = d};
		return WN_OK;
	}
	if (len >= 2 && s[0] == '"' && s[len - 1] == '"') {
		s++;
		len -= 2;
	}
	return text_value(r, key, klen, s, len, r->line, v, errmsg);
}

/* parse_line reads the key=value line at r->buf + pos: *used gets its
 * length without its line break, 0 when it is cut short and more may
 * come. */
static int parse_line(wn_resultfile *r, size_t pos, bool final, size_t *used, char **errmsg)
{
	const char *s = r->buf + pos;
	const char *nl = memchr(s, '\n', r->len - pos);
	size_t n = nl ? (size_t)(nl - s) : r->len - pos;
	if (n > RESULTS_LINE_MAX)
		return results_fail(r, r->line, errmsg, "a line is longer than %d bytes",
		                    RESULTS_LINE_MAX);
	*used = 0;
	if (nl == NULL && !final)
		return WN_OK;
	*used = n;
	if (s[0] == '#')
		return WN_OK; /* a comment */
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	const char *eq = memchr(s, '=', n);
	if (eq == NULL)
		return results_fail(r, r->line, errmsg, "expected key=value or a JSON object");
	size_t klen = (size_t)(eq - s);
	while (klen > 0 && is_blank(s[klen - 1]))
		klen--;
	const char *val = eq + 1;
	size_t vlen = n - (size_t)(val - s);
	while (vlen > 0 && is_blank(*val)) {
		val++;
		vlen--;
	}
	report rp = {0};
	rval v = {0};
	int rv = line_value(r, s, klen, val, vlen, &v, errmsg);
	if (rv == WN_OK)
		rv = report_add(r, &rp, s, klen, v, r->line, errmsg);
	if (rv == WN_OK)
		rv = report_keep(r, &rp, r->line, errmsg);
	report_release(&rp);
	return rv;
}

/* results_parse reads the reports in r->buf, keeping what is cut short. A
 * NUL byte is never part of a report: the reports before the first one are
 * read, then the file is refused at its line (so the verdict is the same
 * however the file was cut into reads). */
static int results_parse(wn_resultfile *r, bool final, char **errmsg)
{
	size_t pos = 0, len = r->len;
	/* a byte order mark some editors and Windows programs begin a UTF-8
	 * file with is no part of the first key */
	static const char bom[] = "\xef\xbb\xbf";
	if (r->offset == 0 && len > 0 && len < 3 && !final && memcmp(r->buf, bom, len) == 0)
		return WN_OK; /* the rest of it may come */
	if (r->offset == 0 && len >= 3 && memcmp(r->buf, bom, 3) == 0)
		pos = 3;
	const char *nul = memchr(r->buf, '\0', len);
	if (nul != NULL) {
		r->len = (size_t)(nul - r->buf); /* parse up to it */
		final = false;
	}
	int rv = WN_OK;
	while (pos < r->len) {
		char c = r->buf[pos];
		if (c == '\n' || is_blank(c)) {
			r->line += c == '\n';
			pos++;
			continue;
		}
		size_t used = 0;
		rv = c == '{' ? parse_json(r, pos, final, &used, errmsg)
		              : parse_line(r, pos, final, &used, errmsg);
		if (rv != WN_OK || used == 0)
			break;
		for (size_t i = pos; i < pos + used; i++)
			r->line += r->buf[i] == '\n';
		pos += used;
	}
	if (nul != NULL && rv == WN_OK) {
		uint64_t line = r->line;
		for (size_t i = pos; i < r->len; i++)
			line += r->buf[i] == '\n';
		rv = results_fail(r, line, errmsg, "a NUL byte");
	}
	r->len = len;
	r->offset += pos;
	memmove(r->buf, r->buf + pos, r->len - pos);
	r->len -= pos;
	return rv;
}

/* results_feed is wn_resultfile_feed with r's lock held. */
static int results_feed(wn_resultfile *r, const char *data, size_t len, bool final, char **errmsg)
{
	if (r->error != NULL) {
		*errmsg = wn_xstrdup(r->error);
		return WN_EINVAL;
	}
	if (r->offset + r->len + len > WN_RESULTFILE_MAX)
		return results_fail(r, 0, errmsg, "larger than %u MiB", WN_RESULTFILE_MAX >> 20);
	if (r->len + len + 1 > r->cap) {
		r->cap = (r->len + len + 1) * 2;
		r->buf = wn_xrealloc(r->buf, r->cap);
	}
	if (len > 0)
		memcpy(r->buf + r->len, data, len);
	r->len += len;
	r->buf[r->len] = '\0';
	return results_parse(r, final, errmsg);
}

int wn_resultfile_feed(wn_resultfile *r, const char *data, size_t len, bool final, char **errmsg)
{
	pthread_mutex_lock(&r->mu);
	int rv = results_feed(r, data, len, final, errmsg);
	pthread_mutex_unlock(&r->mu);
	return rv;
}

/* ---------------------------------------------------------------- the file */

/* results_restart forgets how far the file was read, and the keys it
 * reported: it was rewritten, and only what it now holds counts. */
static void results_restart(wn_resultfile *r)
{
	r->offset = 0;
	r->line = 1;
	r->len = 0;
	memset(r->live, 0, sizeof(r->live));
	r->nlive = 0;
	r->changed++;
}

/* results_rewritten tells whether the file (st, its first got bytes at data)
 * no longer begins with the bytes read so far: another file, shorter, or
 * other bytes anywhere in what was read (a script that writes its whole
 * results again each epoch may keep the same first lines and size). */
static bool results_rewritten(const wn_resultfile *r, const struct stat *st, const char *data,
                              size_t got)
{
	uint64_t had = r->offset + r->len;
	if (had == 0)
		return false;
	if (st->st_dev != r->dev || st->st_ino != r->ino || got < had)
		return true;
	return wn_hash_bytes(data, (size_t)had) != r->sum;
}

/* results_load reads the size bytes of fd into a new buffer; *got gets how
 * many came, NULL on an error (errno says). */
static char *results_load(int fd, size_t size, size_t *got)
{
	char *data = wn_xmalloc(size + 1);
	*got = 0;
	while (*got < size) {
		ssize_t n = pread(fd, data + *got, size - *got, (off_t)*got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(data);
			return NULL;
		}
		if (n == 0)
			break;
		*got += (size_t)n;
	}
	return data;
}

/* results_read_fd reads the file open as fd and parses what it holds past
 * what was read; all of it again when it was rewritten. */
static int results_read_fd(wn_resultfile *r, int fd, bool final, char **errmsg)
{
	struct stat st;
	if (fstat(fd, &st) != 0)
		return results_fail(r, 0, errmsg, "cannot stat it: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return results_fail(r, 0, errmsg, "not a regular file");
	if ((uint64_t)st.st_size > WN_RESULTFILE_MAX)
		return results_fail(r, 0, errmsg, "larger than %u MiB (%lld bytes)",
		                    WN_RESULTFILE_MAX >> 20, (long long)st.st_size);
	if (!final && r->offset + r->len > 0 && st.st_dev == r->dev && st.st_ino == r->ino &&
	    st.st_size == r->size && st.st_ctim.tv_sec == r->ctime.tv_sec &&
	    st.st_ctim.tv_nsec == r->ctime.tv_nsec)
		return WN_OK; /* not written since: nothing to read, nor to sum again */
	size_t got = 0;
	char *data = results_load(fd, (size_t)st.st_size, &got);
	if (data == NULL)
		return results_fail(r, 0, errmsg, "cannot read it: %s", strerror(errno));
	if (results_rewritten(r, &st, data, got))
		results_restart(r);
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	r->size = st.st_size;
	r->ctime = st.st_ctim;
	r->sum = wn_hash_bytes(data, got);
	size_t had = (size_t)(r->offset + r->len);
	int rv = results_feed(r, data + had, got - had, final, errmsg);
	free(data);
	return rv;
}

int wn_resultfile_open(const wn_resultfile *r, bool final, int *err)
{
	/* The worker out of descriptors (ulimit -n) is no fault of the run's:
	 * read it next time, or for the last read, once the other slots have
	 * given some back, for as long as that takes (unlocked meanwhile: the
	 * heartbeats read the other runs' files). */
	int flags = O_NOFOLLOW | O_NONBLOCK;
	int fd = final ? wn_proc_open_waiting(r->path, flags, r->path)
	               : open(r->path, O_RDONLY | O_CLOEXEC | flags);
	*err = fd < 0 ? errno : 0;
	return fd;
}

int wn_resultfile_read_locked(wn_resultfile *r, int fd, int open_err, bool final, char **reason)
{
	char *err = NULL;
	int rv = WN_OK;
	if (r->error != NULL) {
		rv = WN_EINVAL;
		err = wn_xstrdup(r->error);
	} else if (fd < 0 &&
	           (open_err == ENOENT || (!final && (open_err == EMFILE || open_err == ENFILE)))) {
		return WN_OK; /* nothing reported (yet), or read next time */
	} else if (fd < 0) {
		rv = results_fail(r, 0, &err, "cannot open it: %s",
		                  open_err == ELOOP ? "it is a symbolic link" : strerror(open_err));
	} else {
		rv = results_read_fd(r, fd, final, &err);
	}
	if (rv != WN_OK)
		*reason = wn_xasprintf("results file %s: %s", r->path, err);
	free(err);
	return rv;
}

int wn_resultfile_read(wn_resultfile *r, bool final, char **reason)
{
	int err;
	int fd = wn_resultfile_open(r, final, &err);
	pthread_mutex_lock(&r->mu);
	int rv = wn_resultfile_read_locked(r, fd, err, final, reason);
	pthread_mutex_unlock(&r->mu);
	if (fd >= 0)
		close(fd);
	return rv;
}
