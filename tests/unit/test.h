/* test: the unit-test framework of WhatsNext, header-only; include it in
 * exactly one file per test binary, which ends with TEST_MAIN().
 *
 *   TEST(name) { CHECK(...); ... }   a case, registered automatically
 *   TEST_MAIN()                      defines main(); argv[1], if given, runs
 *                                    only the cases whose name contains it
 *
 * Output is TAP: a plan "1..N", then "ok N - name" or "not ok N - name" per
 * case, diagnostics on lines starting with "# ". The exit status is 1 if any
 * case failed, else 0. Cases run in source order, each in a fresh directory
 * (mkdtemp under /tmp) that is its working directory, wn_test_tmpdir(), and
 * is removed with its contents afterwards.
 *
 * A failed check prints its file:line, expression and values, marks the case
 * failed and leaves it at once, even from a helper function the case calls.
 * A check failing in another thread marks the case failed and returns to
 * that thread's code, which should then wind down.
 *
 * A helper file linked into several test binaries (fixture.c) defines
 * WN_TEST_HELPER before including this header: it gets the checks, which
 * report through the harness of the binary it is linked into, and no cases
 * or main of its own. */
#ifndef WN_TEST_H
#define WN_TEST_H

#include "err.h"

#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* wn_test_fail records a failure with a diagnostic; on the case's own thread
 * it leaves the case, elsewhere it returns. */
void wn_test_fail(const char *file, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static inline __attribute__((unused)) const char *wn_test_str(const char *s)
{
	return s == NULL ? "NULL" : s;
}

static inline __attribute__((unused)) const char *wn_test_q(const char *s)
{
	return s == NULL ? "" : "\"";
}

#ifndef WN_TEST_HELPER
typedef struct wn_test_case {
	const char *name;
	void (*fn)(void);
	const char *file;
	int line;
} wn_test_case;

static wn_test_case *wn_test_cases;
static size_t wn_test_ncases;
static char wn_test_dir[64];
static jmp_buf wn_test_jmp;
static pthread_t wn_test_thread;
static atomic_bool wn_test_failed;

/* wn_test_register adds a case; TEST() calls it before main. */
static inline void wn_test_register(const char *name, void (*fn)(void), const char *file, int line)
{
	wn_test_case *c = realloc(wn_test_cases, (wn_test_ncases + 1) * sizeof(*c));
	if (c == NULL)
		abort();
	wn_test_cases = c;
	wn_test_cases[wn_test_ncases++] = (wn_test_case){name, fn, file, line};
}

/* wn_test_tmpdir returns the current case's private directory. */
static inline __attribute__((unused)) const char *wn_test_tmpdir(void)
{
	return wn_test_dir;
}

void wn_test_fail(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	char msg[1024];
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	flockfile(stdout);
	printf("# %s:%d: ", file, line);
	for (const char *p = msg; *p != '\0'; p++) {
		putchar(*p);
		if (*p == '\n' && p[1] != '\0')
			fputs("#   ", stdout);
	}
	putchar('\n');
	fflush(stdout);
	funlockfile(stdout);
	atomic_store(&wn_test_failed, true);
	if (pthread_equal(pthread_self(), wn_test_thread))
		longjmp(wn_test_jmp, 1);
}

#define TEST(name)                                                                                 \
	static void wn_test_fn_##name(void);                                                       \
	__attribute__((constructor)) static void wn_test_reg_##name(void)                          \
	{                                                                                          \
		wn_test_register(#name, wn_test_fn_##name, __FILE__, __LINE__);                    \
	}                                                                                          \
	static void wn_test_fn_##name(void)

#endif /* WN_TEST_HELPER */

#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			wn_test_fail(__FILE__, __LINE__, "CHECK(%s) failed", #cond);               \
	} while (0)

#define CHECK_EQ_INT(a, b)                                                                         \
	do {                                                                                       \
		int64_t wn_test_a_ = (int64_t)(a), wn_test_b_ = (int64_t)(b);                      \
		if (wn_test_a_ != wn_test_b_)                                                      \
			wn_test_fail(__FILE__, __LINE__,                                           \
			             "CHECK_EQ_INT(%s, %s) failed\n%s = %" PRId64                  \
			             "\n%s = %" PRId64,                                            \
			             #a, #b, #a, wn_test_a_, #b, wn_test_b_);                      \
	} while (0)

#define CHECK_EQ_STR(a, b)                                                                         \
	do {                                                                                       \
		const char *wn_test_a_ = (a), *wn_test_b_ = (b);                                   \
		if ((wn_test_a_ == NULL || wn_test_b_ == NULL)                                     \
		        ? wn_test_a_ != wn_test_b_                                                 \
		        : strcmp(wn_test_a_, wn_test_b_) != 0)                                     \
			wn_test_fail(__FILE__, __LINE__,                                           \
			             "CHECK_EQ_STR(%s, %s) failed\n%s = %s%s%s\n%s = %s%s%s", #a,  \
			             #b, #a, wn_test_q(wn_test_a_), wn_test_str(wn_test_a_),       \
			             wn_test_q(wn_test_a_), #b, wn_test_q(wn_test_b_),             \
			             wn_test_str(wn_test_b_), wn_test_q(wn_test_b_));              \
	} while (0)

#define CHECK_OK(expr)                                                                             \
	do {                                                                                       \
		int wn_test_rc_ = (expr);                                                          \
		if (wn_test_rc_ != WN_OK)                                                          \
			wn_test_fail(__FILE__, __LINE__, "CHECK_OK(%s) failed: %d (%s)", #expr,    \
			             wn_test_rc_, wn_strerror(wn_test_rc_));                       \
	} while (0)

#ifndef WN_TEST_HELPER
static int wn_test_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) != 0)
		printf("# cannot remove %s\n", path);
	return 0;
}

static int wn_test_cmp(const void *a, const void *b)
{
	const wn_test_case *x = a, *y = b;
	int c = strcmp(x->file, y->file);
	return c != 0 ? c : (x->line > y->line) - (x->line < y->line);
}

/* wn_test_run_one runs case c in a fresh directory; true if it passed. */
static bool wn_test_run_one(const wn_test_case *c)
{
	char cwd[4096];
	if (getcwd(cwd, sizeof(cwd)) == NULL) {
		printf("# cannot get the working directory\n");
		return false;
	}
	snprintf(wn_test_dir, sizeof(wn_test_dir), "/tmp/wn-test.XXXXXX");
	if (mkdtemp(wn_test_dir) == NULL || chdir(wn_test_dir) != 0) {
		printf("# cannot make a directory for %s\n", c->name);
		return false;
	}
	atomic_store(&wn_test_failed, false);
	wn_test_thread = pthread_self();
	if (setjmp(wn_test_jmp) == 0)
		c->fn();
	if (chdir(cwd) != 0)
		printf("# cannot return to %s\n", cwd);
	nftw(wn_test_dir, wn_test_rm, 16, FTW_DEPTH | FTW_PHYS);
	wn_test_dir[0] = '\0';
	return !atomic_load(&wn_test_failed);
}

static inline int wn_test_main(int argc, char **argv)
{
	const char *filter = argc > 1 ? argv[1] : NULL;
	size_t planned = 0;
	qsort(wn_test_cases, wn_test_ncases, sizeof(*wn_test_cases), wn_test_cmp);
	for (size_t i = 0; i < wn_test_ncases; i++)
		if (filter == NULL || strstr(wn_test_cases[i].name, filter) != NULL)
			planned++;
	printf("1..%zu\n", planned);
	fflush(stdout);
	int n = 0, failed = 0;
	for (size_t i = 0; i < wn_test_ncases; i++) {
		const wn_test_case *c = &wn_test_cases[i];
		if (filter != NULL && strstr(c->name, filter) == NULL)
			continue;
		bool ok = wn_test_run_one(c);
		printf("%sok %d - %s\n", ok ? "" : "not ", ++n, c->name);
		fflush(stdout);
		failed += !ok;
	}
	free(wn_test_cases);
	return failed > 0 ? 1 : 0;
}

#define TEST_MAIN()                                                                                \
	int main(int argc, char **argv)                                                            \
	{                                                                                          \
		return wn_test_main(argc, argv);                                                   \
	}

#endif /* WN_TEST_HELPER */
#endif
