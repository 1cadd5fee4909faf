/* run: runs of operation lists, and their shortening. */
#include "run.h"

#include "util.h"

#include <ctype.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void oplist_add(oplist *l, const op *o)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? 2 * l->cap : 256;
		l->v = wn_xrealloc(l->v, l->cap * sizeof(*l->v));
	}
	l->v[l->n++] = *o;
}

void run_signature(run_result *res, const op *o)
{
	/* the operation's kind and the message up to its first number */
	size_t n =
	    (size_t)snprintf(res->sig, sizeof(res->sig), "%s: ", o ? op_name(o->kind) : "end");
	for (const char *p = res->why; *p && n + 1 < sizeof(res->sig); p++) {
		if (isdigit((unsigned char)*p) || *p == '\n')
			break;
		res->sig[n++] = *p;
	}
	res->sig[n] = '\0';
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

void run_rmtree(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int run_list(const char *wnd, const char *dir, oplist *l, bool verbose, bool finish,
             run_result *res, driver *keep)
{
	driver d;
	char *err = NULL;
	memset(res, 0, sizeof(*res));
	if (driver_open(&d, wnd, dir, verbose, &err) != 0) {
		res->failed = true;
		res->why = err;
		run_signature(res, NULL);
		driver_close(&d);
		return -1;
	}
	size_t i = 0;
	for (; i < l->n; i++)
		if (driver_run(&d, &l->v[i]) != 0)
			break;
	if (i == l->n && finish && driver_finish(&d) != 0)
		res->at = l->n, res->failed = true;
	if (i < l->n)
		res->at = i, res->failed = true;
	if (res->failed) {
		res->why = wn_xstrdup(d.err ? d.err : "unknown failure");
		run_signature(res, res->at < l->n ? &l->v[res->at] : NULL);
	}
	if (keep != NULL)
		*keep = d;
	else
		driver_close(&d);
	return 0;
}

static int64_t mono_s(void)
{
	return wn_mono_ms() / 1000;
}

/* trial runs sub in a fresh directory: true if it fails as sig says. */
static bool trial(const char *wnd, const char *base, oplist *sub, const char *sig, bool finish,
                  size_t *at)
{
	static unsigned n;
	char *dir = wn_xasprintf("%s/trial-%u", base, n++);
	run_result res;
	run_list(wnd, dir, sub, false, finish, &res, NULL);
	bool same = res.failed && strcmp(res.sig, sig) == 0;
	if (getenv("WNMODEL_DEBUG"))
		fprintf(stderr, "trial %zu ops: %s\n", sub->n, res.failed ? res.sig : "passed");
	if (same)
		*at = res.at;
	free(res.why);
	run_rmtree(dir);
	free(dir);
	return same;
}

void run_shrink(const char *wnd, const char *base, oplist *l, const run_result *res, int seconds)
{
	int64_t end = mono_s() + seconds;
	size_t at = res->at;
	/* the final restarts are needed only if that is where it failed */
	bool finish = at >= l->n;
	/* what comes after the failing operation plays no part */
	if (at < l->n)
		l->n = at + 1;
	size_t chunks = 2;
	op *buf = wn_xmalloc((l->n + 1) * sizeof(*buf));
	/* first without every request that was refused: those change nothing
	 * when the server is right, and are most of what is there to drop */
	oplist ok = {buf, 0, l->n};
	for (size_t i = 0; i < l->n; i++)
		if (l->v[i].code <= 0 || i + 1 == l->n)
			ok.v[ok.n++] = l->v[i];
	if (ok.n < l->n && trial(wnd, base, &ok, res->sig, finish, &at)) {
		memcpy(l->v, ok.v, ok.n * sizeof(*ok.v));
		l->n = at < ok.n ? at + 1 : ok.n;
		fprintf(stderr, "wnmodel: shrinking: %zu operations still fail\n", l->n);
	}
	while (l->n >= 2 && mono_s() < end) {
		size_t size = (l->n + chunks - 1) / chunks;
		bool reduced = false;
		for (size_t c = 0; c < chunks && !reduced && mono_s() < end; c++) {
			/* the list without chunk c */
			oplist sub = {buf, 0, l->n};
			for (size_t i = 0; i < l->n; i++)
				if (i / size != c)
					sub.v[sub.n++] = l->v[i];
			if (sub.n == l->n || sub.n == 0)
				continue;
			if (trial(wnd, base, &sub, res->sig, finish, &at)) {
				memcpy(l->v, sub.v, sub.n * sizeof(*sub.v));
				l->n = at < sub.n ? at + 1 : sub.n;
				chunks = chunks > 2 ? chunks - 1 : 2;
				reduced = true;
				fprintf(stderr, "wnmodel: shrinking: %zu operations still fail\n",
				        l->n);
			}
		}
		if (!reduced) {
			if (chunks >= l->n)
				break;
			chunks = 2 * chunks < l->n ? 2 * chunks : l->n;
		}
	}
	free(buf);
	if (mono_s() >= end)
		fprintf(stderr, "wnmodel: shrinking stopped after %d s\n", seconds);
}

int oplist_write(const oplist *l, const char *path)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fprintf(f, "# wnmodel operations: kind, request id, arguments (tests/model/ops.h)\n");
	for (size_t i = 0; i < l->n; i++) {
		char line[256];
		op_format(&l->v[i], line, sizeof(line));
		fprintf(f, "%s\n", line);
	}
	return fclose(f) == 0 ? 0 : -1;
}

int oplist_read(oplist *l, const char *path, char **err)
{
	FILE *f = fopen(path, "r");
	if (f == NULL) {
		*err = wn_xasprintf("cannot read %s", path);
		return -1;
	}
	char line[1024];
	int lineno = 0;
	while (fgets(line, sizeof(line), f) != NULL) {
		lineno++;
		if (line[0] == '#' || line[0] == '\n')
			continue;
		op o;
		if (!op_parse(line, &o)) {
			*err = wn_xasprintf("%s:%d: not an operation", path, lineno);
			fclose(f);
			return -1;
		}
		oplist_add(l, &o);
	}
	fclose(f);
	return 0;
}
