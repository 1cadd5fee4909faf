#include "slurm.h"

#include "err.h"
#include "map.h"
#include "strbuf.h"
#include "util.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The most runs one tag may name (a job array is at most 100000 elements). */
#define WN_SLURM_TAG_LIMIT 1000000

/* ---------------------------------------------------------------- states and parsing */

wn_slurm_end wn_slurm_state_end(const char *state)
{
	static const char *const failed[] = {"FAILED",    "TIMEOUT",   "OUT_OF_MEMORY",
	                                     "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
	                                     "DEADLINE",  "REVOKED",   NULL};
	size_t n = strcspn(state, " +");
	if (n == 9 && strncmp(state, "COMPLETED", 9) == 0)
		return WN_SLURM_COMPLETED;
	if (n == 9 && strncmp(state, "CANCELLED", 9) == 0)
		return WN_SLURM_CANCELLED;
	for (size_t i = 0; failed[i] != NULL; i++)
		if (strlen(failed[i]) == n && strncmp(state, failed[i], n) == 0)
			return WN_SLURM_FAILED;
	return WN_SLURM_ACTIVE;
}

static bool slurm_digits(const char *s, size_t n)
{
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool wn_slurm_id_ok(const char *s)
{
	size_t n = strcspn(s, "_");
	if (!slurm_digits(s, n))
		return false;
	return s[n] == '\0' || slurm_digits(s + n + 1, strlen(s + n + 1));
}

static bool slurm_state_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
			return false;
	return true;
}

/* slurm_fields splits line (len bytes) at '|' into at most max fields;
 * the last takes the rest. Returns the count. */
static size_t slurm_fields(const char *line, size_t len, char **f, size_t max)
{
	size_t n = 0;
	const char *p = line, *end = line + len;
	while (n < max) {
		const char *bar = n + 1 < max ? memchr(p, '|', (size_t)(end - p)) : NULL;
		const char *stop = bar ? bar : end;
		f[n++] = strndup(p, (size_t)(stop - p));
		if (f[n - 1] == NULL)
			abort();
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return n;
}

void wn_slurm_row_release(wn_slurm_row *r)
{
	free(r->id);
	free(r->raw_id);
	free(r->state);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void wn_slurm_rows_free(wn_slurm_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		wn_slurm_row_release(&rows[i]);
	free(rows);
}

/* slurm_each_line calls fn for every line of text. */
static void slurm_each_line(const char *text, void (*fn)(const char *, size_t, void *), void *ctx)
{
	const char *p = text ? text : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		size_t e = n;
		while (e > 0 && (p[e - 1] == '\r' || p[e - 1] == ' '))
			e--;
		if (e > 0)
			fn(p, e, ctx);
		p += n;
		if (*p == '\n')
			p++;
	}
}

/* wn_slurm_rows_put adds row to rs, replacing an earlier row of the same id. */
void wn_slurm_rows_put(wn_slurm_rows *rs, wn_slurm_row *row)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].id, row->id) == 0) {
			wn_slurm_row_release(&rs->v[i]);
			rs->v[i] = *row;
			return;
		}
	rs->v = wn_xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = *row;
}

static void slurm_squeue_line(const char *line, size_t len, void *ctx)
{
	char *f[5] = {0};
	size_t nf = slurm_fields(line, len, f, 5);
	wn_slurm_row row = {0};
	int64_t status = 0;
	size_t sl = nf >= 3 ? strcspn(f[2], " ") : 0;
	if (nf == 5 && wn_slurm_id_ok(f[1]) && slurm_state_ok(f[2], sl) &&
	    (strcmp(f[3], "") == 0 || wn_parse_i64(f[3], 0, INT32_MAX, &status) == WN_OK)) {
		row.id = f[1];
		row.raw_id = slurm_digits(f[0], strlen(f[0])) ? f[0] : wn_xstrdup("");
		if (row.raw_id != f[0])
			free(f[0]);
		f[2][sl] = '\0';
		row.state = f[2];
		row.exit_code = f[3][0] ? (int)((status >> 8) & 0xff) : -1;
		row.signal = f[3][0] ? (int)(status & 0x7f) : 0;
		free(f[3]);
		size_t rl = strlen(f[4]);
		while (rl > 0 && (f[4][rl - 1] == '|' || f[4][rl - 1] == ' '))
			f[4][--rl] = '\0';
		if (strcmp(f[4], "None") == 0 || strcmp(f[4], "(null)") == 0)
			f[4][0] = '\0';
		row.reason = f[4];
		wn_slurm_rows_put(ctx, &row);
		return;
	}
	for (size_t i = 0; i < nf; i++)
		free(f[i]);
}

void wn_slurm_parse_squeue(const char *text, wn_slurm_row **rows, size_t *n)
{
	wn_slurm_rows rs = {NULL, 0};
	slurm_each_line(text, slurm_squeue_line, &rs);
	*rows = rs.v;
	*n = rs.n;
}

static void slurm_sacct_line(const char *line, size_t len, void *ctx)
{
	char *f[4] = {0};
	size_t nf = slurm_fields(line, len, f, 4);
	size_t sl = nf >= 3 ? strcspn(f[2], " ") : 0;
	int64_t code = 0, sig = 0;
	char *colon = nf == 4 ? strchr(f[3], ':') : NULL;
	bool ok = nf == 4 && slurm_digits(f[0], strlen(f[0])) && wn_slurm_id_ok(f[1]) &&
	          slurm_state_ok(f[2], sl) && colon != NULL;
	if (ok) {
		*colon = '\0';
		ok = wn_parse_i64(f[3], 0, 255, &code) == WN_OK &&
		     wn_parse_i64(colon + 1, 0, 255, &sig) == WN_OK;
	}
	if (!ok) {
		for (size_t i = 0; i < nf; i++)
			free(f[i]);
		return;
	}
	f[2][sl] = '\0';
	wn_slurm_row row = {.id = f[1],
	                    .raw_id = f[0],
	                    .state = f[2],
	                    .exit_code = (int)code,
	                    .signal = (int)sig,
	                    .reason = wn_xstrdup("")};
	free(f[3]);
	wn_slurm_rows_put(ctx, &row);
}

void wn_slurm_parse_sacct(const char *text, wn_slurm_row **rows, size_t *n)
{
	wn_slurm_rows rs = {NULL, 0};
	slurm_each_line(text, slurm_sacct_line, &rs);
	*rows = rs.v;
	*n = rs.n;
}

/* slurm_exit_text describes how a job's script ended ("exit status 3",
 * "killed by SIGKILL"), or NULL if nothing is known. */
static char *slurm_exit_text(const wn_slurm_row *row)
{
	if (row->signal > 0) {
		const char *abbrev = sigabbrev_np(row->signal);
		return abbrev ? wn_xasprintf("killed by SIG%s", abbrev)
		              : wn_xasprintf("killed by signal %d", row->signal);
	}
	if (row->exit_code > 0)
		return wn_xasprintf("exit status %d", row->exit_code);
	return NULL;
}

void wn_slurm_outcome(const wn_slurm_row *row, wn_fmt_result *res)
{
	wn_slurm_end end = wn_slurm_state_end(row->state);
	res->success = end == WN_SLURM_COMPLETED;
	res->cancelled = end == WN_SLURM_CANCELLED;
	if (row->signal > 0)
		res->exit_code = 128 + row->signal;
	else if (row->exit_code > 0 || end == WN_SLURM_COMPLETED)
		res->exit_code = row->exit_code > 0 ? row->exit_code : 0;
	else
		res->exit_code = -1;
	if (end == WN_SLURM_COMPLETED)
		return;
	char *how = slurm_exit_text(row);
	const char *why =
	    row->reason && row->reason[0] && strcmp(row->reason, "NonZeroExitCode") != 0
	        ? row->reason
	        : NULL;
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_addf(&b, "SLURM job %s %s", row->id, row->state);
	if (end == WN_SLURM_CANCELLED)
		wn_strbuf_adds(&b, " outside WhatsNext");
	if (how != NULL && end != WN_SLURM_CANCELLED)
		wn_strbuf_addf(&b, ": %s", how);
	if (why != NULL)
		wn_strbuf_addf(&b, " (%s)", why);
	free(how);
	res->reason = wn_strbuf_take(&b);
}

/* ---------------------------------------------------------------- the tag of a submission */

char *wn_slurm_owner(const char *worker, const char *server)
{
	const char *s = server ? server : "";
	return wn_xasprintf("%s.%016llx", worker ? worker : "",
	                    (unsigned long long)wn_hash_bytes(s, strlen(s)));
}

char *wn_slurm_tag(const char *owner, const uint64_t *ids, const uint32_t *attempts, size_t n,
                   const char *note)
{
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_addf(&b, "%s%s:", WN_SLURM_TAG_PREFIX, owner);
	for (size_t i = 0; i < n && b.len <= WN_SLURM_TAG_MAX;) {
		size_t k = i;
		while (k + 1 < n && attempts[k + 1] == attempts[i] && ids[k + 1] == ids[k] + 1)
			k++;
		wn_strbuf_addf(&b, "%s%llu", i > 0 ? "," : "", (unsigned long long)ids[i]);
		if (k > i)
			wn_strbuf_addf(&b, "-%llu", (unsigned long long)ids[k]);
		wn_strbuf_addf(&b, ".%u", (unsigned)attempts[i]);
		i = k + 1;
	}
	if (note != NULL && b.len <= WN_SLURM_TAG_MAX)
		wn_strbuf_addf(&b, " %s", note);
	if (b.len > WN_SLURM_TAG_MAX) {
		wn_strbuf_free(&b);
		return NULL;
	}
	return wn_strbuf_take(&b);
}

/* tag_num reads the decimal number at *p (at most 20 digits) and moves *p
 * past it; false when there is none or it is past UINT64_MAX. */
static bool tag_num(const char **p, uint64_t *out)
{
	size_t n = strspn(*p, "0123456789");
	if (n == 0 || n > 20 || wn_parse_u64(*p, n, out) != WN_OK)
		return false;
	*p += n;
	return true;
}

/* tag_item reads one "J.A" or "J-K.A" at *p (moving past it): the ids
 * [*first, *last] at attempt *att. */
static bool tag_item(const char **p, uint64_t *first, uint64_t *last, uint64_t *att)
{
	if (!tag_num(p, first))
		return false;
	*last = *first;
	if (**p == '-' && (++*p, !tag_num(p, last) || *last < *first))
		return false;
	return **p == '.' && (++*p, tag_num(p, att)) && *att >= 1 && *att <= UINT32_MAX;
}

bool wn_slurm_tag_find(const char *comment, const char *owner, uint64_t job, uint32_t *attempt,
                       size_t *index, size_t *count)
{
	size_t pl = strlen(WN_SLURM_TAG_PREFIX), wl = strlen(owner);
	if (comment == NULL || strncmp(comment, WN_SLURM_TAG_PREFIX, pl) != 0 ||
	    strncmp(comment + pl, owner, wl) != 0 || comment[pl + wl] != ':')
		return false;
	const char *p = comment + pl + wl + 1;
	bool found = false;
	uint64_t total = 0;
	for (;;) {
		uint64_t first, last, att;
		if (!tag_item(&p, &first, &last, &att) ||
		    last - first >= WN_SLURM_TAG_LIMIT - total)
			return false;
		if (!found && job >= first && job <= last) {
			found = true;
			*attempt = (uint32_t)att;
			*index = (size_t)(total + (job - first));
		}
		total += last - first + 1;
		if (*p == '\0' || *p == ' ')
			break;
		if (*p++ != ',')
			return false;
	}
	*count = (size_t)total;
	return found;
}
