#include "slurm_poll.h"

#include "err.h"
#include "fmt.h"
#include "kit.h"
#include "log.h"
#include "strbuf.h"
#include "util.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define POLL_SQUEUE_FORMAT "JobID:|,JobArrayID:|,State:|,exit_code:|,Reason:|"
#define POLL_SACCT_FIELDS  "JobIDRaw,JobID,State,ExitCode"
#define POLL_IDS_PER_CALL  500
#define POLL_UNKNOWN_MS    60000 /* unknown to squeue and sacct this long: give up */
#define POLL_KICK_MS       300   /* after a cancel, look again this soon */

/* Which sacct answers for jobs SLURM no longer lists. */
enum { POLL_ACCT_UNKNOWN = 0, POLL_ACCT_SACCT, POLL_ACCT_JOBCOMP, POLL_ACCT_NONE };

struct wn_slurm_watch {
	wn_slurm_watch *next;
	char *id;              /* "123" or "123_4" */
	char *raw_id;          /* SLURM's own id of the job, "" until known */
	int efd;               /* written to when the job ended */
	bool ended;            /* under the poller's lock, like the fields below */
	wn_slurm_row end;      /* how it ended */
	int64_t unknown_since; /* monotonic ms; 0 while SLURM knows the job */
	int unknown_polls;
	bool started;      /* squeue has listed it in a state other than PENDING */
	char *wait_reason; /* squeue's Reason the last time it listed it PENDING */
};

struct wn_slurm_poll {
	wn_slurm_poll_conf conf;
	pthread_mutex_t mu;
	pthread_cond_t cond; /* broadcast on every change of the fields below */
	wn_slurm_watch *watches;
	pthread_t thread;
	bool running;     /* the thread runs (it ends when nothing is followed) */
	bool joinable;    /* a thread was started and not joined yet */
	bool quit;        /* the poller is being freed */
	int64_t kick_at;  /* monotonic ms of an early round; 0 = none */
	bool squeue_down; /* the last squeue failed: logged once */
	int acct_mode;    /* learnt: POLL_ACCT_* */
	int quit_fd;      /* eventfd written when the poller is freed: a call is given up */
};

/* What a round asks about one job, copied so that the lock can be dropped. */
typedef struct poll_ask {
	char *id, *raw_id;
	bool answered;
} poll_ask;

/* poll_end records how w's job ended and wakes its waiter (lock held). */
static void poll_end(wn_slurm_watch *w, const wn_slurm_row *row)
{
	if (w->ended)
		return;
	w->ended = true;
	w->end.id = wn_xstrdup(w->id);
	w->end.raw_id = wn_xstrdup(row->raw_id ? row->raw_id : "");
	w->end.state = wn_xstrdup(row->state);
	w->end.exit_code = row->exit_code;
	w->end.signal = row->signal;
	w->end.reason = wn_xstrdup(row->reason ? row->reason : "");
	uint64_t one = 1;
	ssize_t n = write(w->efd, &one, sizeof(one));
	(void)n;
}

/* poll_apply records what rows say about the jobs of asks (lock held). */
static void poll_apply(wn_slurm_poll *p, poll_ask *asks, size_t nasks, const wn_slurm_row *rows,
                       size_t nrows)
{
	for (size_t i = 0; i < nrows; i++) {
		const wn_slurm_row *row = &rows[i];
		for (size_t k = 0; k < nasks; k++) {
			poll_ask *a = &asks[k];
			bool same =
			    strcmp(a->id, row->id) == 0 ||
			    (a->raw_id[0] && row->raw_id[0] &&
			     strcmp(a->raw_id, row->raw_id) == 0 && strchr(row->id, '_') == NULL);
			if (!same)
				continue;
			a->answered = true;
			for (wn_slurm_watch *w = p->watches; w != NULL; w = w->next) {
				if (strcmp(w->id, a->id) != 0)
					continue;
				w->unknown_since = 0;
				w->unknown_polls = 0;
				/* a pending array element shows the array's id until it
				 * is split off: learn its own id once it is not pending */
				if (row->raw_id[0] && strchr(row->id, '_') != NULL &&
				    strcmp(row->state, "PENDING") != 0) {
					free(w->raw_id);
					w->raw_id = wn_xstrdup(row->raw_id);
				}
				if (strcmp(row->state, "PENDING") != 0) {
					w->started = true;
				} else {
					free(w->wait_reason);
					w->wait_reason = wn_xstrdup(row->reason ? row->reason : "");
				}
				if (wn_slurm_state_end(row->state) != WN_SLURM_ACTIVE)
					poll_end(w, row);
			}
		}
	}
}

/* poll_query runs prog with the fixed arguments args, then "-j" and the ids
 * of asks (chunked); on success appends the parsed rows to *rows. Returns
 * WN_OK, WN_ENOTFOUND when SLURM says it knows none of them, WN_ESTATE when
 * the poller is freed meanwhile (prog killed), or another error with *why
 * set. */
static int poll_query(const wn_slurm_poll *p, const char *prog, const char *const *args,
                      size_t nargs, poll_ask *asks, size_t nasks, bool raw, bool sacct,
                      wn_slurm_rows *rows, char **why)
{
	*why = NULL;
	int result = WN_OK;
	for (size_t from = 0; from < nasks; from += POLL_IDS_PER_CALL) {
		size_t to = from + POLL_IDS_PER_CALL < nasks ? from + POLL_IDS_PER_CALL : nasks;
		wn_strbuf ids = WN_STRBUF_INIT;
		for (size_t i = from; i < to; i++) {
			const char *id = raw && asks[i].raw_id[0] ? asks[i].raw_id : asks[i].id;
			if (ids.len > 0)
				wn_strbuf_adds(&ids, ",");
			wn_strbuf_adds(&ids, id);
		}
		char **argv = wn_xcalloc(nargs + 4, sizeof(char *));
		size_t an = 0;
		argv[an++] = (char *)prog;
		for (size_t i = 0; i < nargs; i++)
			argv[an++] = (char *)args[i];
		argv[an++] = (char *)"-j";
		argv[an++] = ids.s;
		int status = 0;
		char *out = NULL, *err = NULL;
		int rc =
		    wn_fmt_capture_wake(argv, WN_SLURM_QUERY_MS, p->quit_fd, &status, &out, &err);
		free(argv);
		wn_strbuf_free(&ids);
		if (rc == WN_ESTATE) {
			free(out);
			free(err);
			free(*why);
			*why = wn_xasprintf("%s given up: the worker leaves", prog);
			return rc; /* nothing more is asked */
		}
		if (rc == WN_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			wn_slurm_row *v = NULL;
			size_t n = 0;
			if (sacct)
				wn_slurm_parse_sacct(out, &v, &n);
			else
				wn_slurm_parse_squeue(out, &v, &n);
			for (size_t i = 0; i < n; i++)
				wn_slurm_rows_put(rows, &v[i]);
			free(v);
		} else if (rc == WN_OK && err != NULL && strstr(err, "Invalid job id") != NULL) {
			/* squeue knows none of this chunk: the others may still be known */
		} else {
			free(*why);
			char *line = wn_one_line(err, WN_SLURM_REASON_MAX);
			*why = rc == WN_OK ? wn_xasprintf("%s failed: %s", prog,
			                                  line[0] ? line : "no message")
			                   : wn_xstrdup(line);
			free(line);
			result = WN_EIO;
		}
		free(out);
		free(err);
	}
	return result;
}

/* poll_squeue asks squeue about the jobs of asks and records what it says;
 * false when squeue could not be asked. */
static bool poll_squeue(wn_slurm_poll *p, poll_ask *asks, size_t n)
{
	static const char *const args[] = {"-h", "-r", "-t", "all", "-O", POLL_SQUEUE_FORMAT};
	wn_slurm_rows rows = {NULL, 0};
	char *why = NULL;
	int rc = poll_query(p, p->conf.squeue, args, WN_ARRAY_LEN(args), asks, n, false, false,
	                    &rows, &why);
	pthread_mutex_lock(&p->mu);
	if (rc == WN_ESTATE) {
		/* the poller is freed: nothing to say */
	} else if (rc != WN_OK) {
		if (!p->squeue_down)
			wn_warn("cannot ask SLURM about its jobs: %s; asking again every %lld ms",
			        why, (long long)p->conf.poll_ms);
		p->squeue_down = true;
	} else if (p->squeue_down) {
		wn_info("squeue answers again");
		p->squeue_down = false;
	}
	poll_apply(p, asks, n, rows.v, rows.n);
	pthread_mutex_unlock(&p->mu);
	free(why);
	wn_slurm_rows_free(rows.v, rows.n);
	return rc == WN_OK;
}

/* poll_accounting asks the accounting (sacct, else sacct -c, as configured
 * and as learnt) about the jobs of gone, which squeue no longer lists. */
static void poll_accounting(wn_slurm_poll *p, poll_ask *gone, size_t ngone)
{
	static const char *const sa_args[] = {"-n", "-P", "-X", "-o", POLL_SACCT_FIELDS};
	static const char *const sc_args[] = {"-c", "-n", "-P", "-X", "-o", POLL_SACCT_FIELDS};
	const char *acct = p->conf.accounting;
	pthread_mutex_lock(&p->mu);
	int mode = p->acct_mode;
	pthread_mutex_unlock(&p->mu);
	if (ngone == 0 || strcmp(acct, "none") == 0 || mode == POLL_ACCT_NONE)
		return;
	bool try_sacct =
	    strcmp(acct, "sacct") == 0 || (strcmp(acct, "auto") == 0 && mode != POLL_ACCT_JOBCOMP);
	bool try_comp =
	    strcmp(acct, "jobcomp") == 0 || (strcmp(acct, "auto") == 0 && mode != POLL_ACCT_SACCT);
	wn_slurm_rows rows = {NULL, 0};
	char *why = NULL;
	int learnt = POLL_ACCT_UNKNOWN;
	if (try_sacct) {
		if (poll_query(p, p->conf.sacct, sa_args, WN_ARRAY_LEN(sa_args), gone, ngone, true,
		               true, &rows, &why) == WN_OK)
			learnt = POLL_ACCT_SACCT;
		else
			wn_debug("sacct: %s", why);
		free(why);
		why = NULL;
	}
	if (learnt == POLL_ACCT_UNKNOWN && try_comp) {
		if (poll_query(p, p->conf.sacct, sc_args, WN_ARRAY_LEN(sc_args), gone, ngone, true,
		               true, &rows, &why) == WN_OK)
			learnt = POLL_ACCT_JOBCOMP;
		else
			wn_debug("sacct -c: %s", why);
		free(why);
	}
	pthread_mutex_lock(&p->mu);
	if (learnt != POLL_ACCT_UNKNOWN && p->acct_mode == POLL_ACCT_UNKNOWN)
		p->acct_mode = learnt;
	poll_apply(p, gone, ngone, rows.v, rows.n);
	pthread_mutex_unlock(&p->mu);
	wn_slurm_rows_free(rows.v, rows.n);
}

/* poll_unknown gives up on a job of gone known to neither squeue nor the
 * accounting for a while: it ends as UNKNOWN (lock held). */
static void poll_unknown(wn_slurm_poll *p, const poll_ask *gone, size_t ngone)
{
	int64_t now = wn_mono_ms();
	for (size_t i = 0; i < ngone; i++) {
		if (gone[i].answered)
			continue;
		for (wn_slurm_watch *w = p->watches; w != NULL; w = w->next) {
			if (strcmp(w->id, gone[i].id) != 0 || w->ended)
				continue;
			if (w->unknown_since == 0)
				w->unknown_since = now;
			w->unknown_polls++;
			if (w->unknown_polls >= 3 && now - w->unknown_since >= POLL_UNKNOWN_MS) {
				wn_slurm_row row = {.id = w->id,
				                    .raw_id = (char *)"",
				                    .state = (char *)"UNKNOWN",
				                    .exit_code = -1,
				                    .reason = (char *)""};
				poll_end(w, &row);
			}
		}
	}
}

/* poll_round asks SLURM about the jobs of asks: squeue about all of them,
 * the accounting about those squeue no longer lists. */
static void poll_round(wn_slurm_poll *p, poll_ask *asks, size_t n)
{
	if (!poll_squeue(p, asks, n))
		return; /* nothing is known of the others: ask again next round */
	poll_ask *gone = wn_xcalloc(n, sizeof(*gone));
	size_t ngone = 0;
	for (size_t i = 0; i < n; i++)
		if (!asks[i].answered)
			gone[ngone++] = asks[i];
	poll_accounting(p, gone, ngone);
	pthread_mutex_lock(&p->mu);
	poll_unknown(p, gone, ngone);
	pthread_mutex_unlock(&p->mu);
	free(gone);
}

/* poll_asks copies the jobs not ended yet, n of them (lock held). */
static poll_ask *poll_asks(const wn_slurm_poll *p, size_t n)
{
	poll_ask *asks = wn_xcalloc(n, sizeof(*asks));
	size_t k = 0;
	for (const wn_slurm_watch *w = p->watches; w != NULL && k < n; w = w->next)
		if (!w->ended)
			asks[k++] = (poll_ask){wn_xstrdup(w->id), wn_xstrdup(w->raw_id), false};
	return asks;
}

static void *poll_main(void *arg)
{
	wn_slurm_poll *p = arg;
	pthread_mutex_lock(&p->mu);
	int64_t last = wn_mono_ms();
	while (p->watches != NULL && !p->quit) {
		size_t n = 0;
		for (const wn_slurm_watch *w = p->watches; w != NULL; w = w->next)
			n += !w->ended;
		if (n == 0) {
			pthread_cond_wait(&p->cond, &p->mu);
			continue;
		}
		int64_t due = last + p->conf.poll_ms;
		if (p->kick_at > 0 && p->kick_at < due)
			due = p->kick_at;
		if (wn_mono_ms() < due) {
			struct timespec ts = {.tv_sec = due / 1000,
			                      .tv_nsec = (due % 1000) * 1000000};
			pthread_cond_timedwait(&p->cond, &p->mu, &ts);
			continue;
		}
		p->kick_at = 0;
		poll_ask *asks = poll_asks(p, n);
		pthread_mutex_unlock(&p->mu);
		poll_round(p, asks, n);
		for (size_t i = 0; i < n; i++) {
			free(asks[i].id);
			free(asks[i].raw_id);
		}
		free(asks);
		pthread_mutex_lock(&p->mu);
		last = wn_mono_ms();
	}
	p->running = false;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

wn_slurm_poll *wn_slurm_poll_new(const wn_slurm_poll_conf *conf)
{
	wn_slurm_poll *p = wn_xcalloc(1, sizeof(*p));
	p->conf = *conf;
	p->quit_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (p->quit_fd < 0) {
		fprintf(stderr, "wnworker: cannot make an eventfd: %s\n", strerror(errno));
		abort();
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&p->cond, &ca);
	pthread_condattr_destroy(&ca);
	return p;
}

static void poll_watch_free(wn_slurm_watch *w)
{
	free(w->id);
	free(w->raw_id);
	free(w->wait_reason);
	wn_slurm_row_release(&w->end);
	free(w);
}

void wn_slurm_poll_free(wn_slurm_poll *p)
{
	if (p == NULL)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	uint64_t one = 1; /* a squeue or sacct under way is killed */
	ssize_t wr = write(p->quit_fd, &one, sizeof(one));
	(void)wr;
	if (p->joinable)
		pthread_join(p->thread, NULL);
	close(p->quit_fd);
	while (p->watches != NULL) {
		wn_slurm_watch *w = p->watches;
		p->watches = w->next;
		poll_watch_free(w);
	}
	pthread_cond_destroy(&p->cond);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

wn_slurm_watch *wn_slurm_poll_follow(wn_slurm_poll *p, const char *id, int efd)
{
	wn_slurm_watch *w = wn_xcalloc(1, sizeof(*w));
	w->id = wn_xstrdup(id);
	w->raw_id = wn_xstrdup(strchr(id, '_') ? "" : id);
	w->efd = efd;
	pthread_mutex_lock(&p->mu);
	w->next = p->watches;
	p->watches = w;
	if (!p->running) {
		if (p->joinable)
			pthread_join(p->thread, NULL); /* it ended when nothing was followed */
		int rv = pthread_create(&p->thread, NULL, poll_main, p);
		if (rv != 0) {
			fprintf(stderr, "wnworker: cannot start a thread: %s\n", strerror(rv));
			abort();
		}
		p->running = true;
		p->joinable = true;
	}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	return w;
}

void wn_slurm_poll_unfollow(wn_slurm_poll *p, wn_slurm_watch *w)
{
	pthread_mutex_lock(&p->mu);
	for (wn_slurm_watch **pp = &p->watches; *pp != NULL; pp = &(*pp)->next)
		if (*pp == w) {
			*pp = w->next;
			break;
		}
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	poll_watch_free(w);
}

bool wn_slurm_poll_ended(wn_slurm_poll *p, const wn_slurm_watch *w)
{
	pthread_mutex_lock(&p->mu);
	bool ended = w->ended;
	pthread_mutex_unlock(&p->mu);
	return ended;
}

bool wn_slurm_poll_end(wn_slurm_poll *p, const wn_slurm_watch *w, wn_slurm_row *row)
{
	pthread_mutex_lock(&p->mu);
	bool ended = w->ended;
	if (ended)
		*row = (wn_slurm_row){wn_xstrdup(w->end.id),
		                      wn_xstrdup(w->end.raw_id),
		                      wn_xstrdup(w->end.state),
		                      w->end.exit_code,
		                      w->end.signal,
		                      wn_xstrdup(w->end.reason)};
	pthread_mutex_unlock(&p->mu);
	return ended;
}

bool wn_slurm_poll_waiting(wn_slurm_poll *p, const wn_slurm_watch *w, char **reason)
{
	pthread_mutex_lock(&p->mu);
	bool waiting = !w->started && !w->ended;
	if (reason != NULL)
		*reason = wn_xstrdup(w->wait_reason ? w->wait_reason : "");
	pthread_mutex_unlock(&p->mu);
	return waiting;
}

bool wn_slurm_poll_follows(wn_slurm_poll *p, const char *id)
{
	pthread_mutex_lock(&p->mu);
	bool found = false;
	for (const wn_slurm_watch *w = p->watches; w != NULL && !found; w = w->next)
		found = strcmp(w->id, id) == 0;
	pthread_mutex_unlock(&p->mu);
	return found;
}

void wn_slurm_poll_kick(wn_slurm_poll *p)
{
	pthread_mutex_lock(&p->mu);
	p->kick_at = wn_mono_ms() + POLL_KICK_MS;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}
