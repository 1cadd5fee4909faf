/* wnctl job log: a job's live output as the server keeps it (JobService/Log),
 * followed with -f by long-polls until the job ends. Bytes go to a pipe or a
 * file as they are; to a terminal with its controls made visible (termsafe). */
#include "ctl.h"
#include "err.h"
#include "methods.h"
#include "termsafe.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* How long one long-poll waits on the server (a request lost with a
 * connection is noticed after this and the client's timeout). */
#define LOG_WAIT_MS 10000
#define LOG_MIN_MS  100 /* between two calls that brought nothing new */
/* -f: how long the server may be gone (restarting) before wnctl gives up. */
#define LOG_LOST_MAX_MS (10 * 60 * 1000)

enum { OPT_FOLLOW = 'f' };

const struct option wn_ctl_job_log_opts[] = {
    {"follow", no_argument, NULL, OPT_FOLLOW},
    {NULL, 0, NULL, 0},
};

const struct wn_ctl_opthelp wn_ctl_job_log_help[] = {
    {"-f, --follow", "print new output as it comes until the job ends; exit 0 if it "
                     "completed, 9 if it failed, was cancelled, is blocked or was removed"},
    {NULL, NULL},
};

/* Where the output goes. */
struct log_out {
	bool tty;            /* a terminal: through the escaping stream */
	wn_termsafe_cut cut; /* tty: the start of a UTF-8 sequence cut by a reply */
};

/* out_raw writes n bytes to standard output as they are. */
static void out_raw(wn_ctl *c, const void *p, size_t n)
{
	fflush(stdout);
	if (wn_termsafe_write_all(STDOUT_FILENO, p, n) != 0)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write output: %s", strerror(errno));
}

/* out_check ends wnctl when the output cannot be written, or, read through a pipe, has
 * no reader left (`job log -f 7 | grep -m1 epoch`): as the next write would, by
 * SIGPIPE, or, ignored, exit 1 "cannot write output: Broken pipe". A follow would
 * otherwise wait on for the job's next output, or its end, holding the pipeline. */
static void out_check(wn_ctl *c)
{
	wn_ctl_output_done(c, WN_CTL_EXIT_OK);
	struct pollfd p = {.fd = STDOUT_FILENO, .events = 0};
	if (poll(&p, 1, 0) != 1 || !(p.revents & POLLERR))
		return;
	raise(SIGPIPE);
	wn_ctl_die(c, WN_CTL_EXIT_ERROR, "cannot write output: %s", strerror(EPIPE));
}

/* out_bytes prints n bytes of the job's output. */
static void out_bytes(wn_ctl *c, struct log_out *o, const uint8_t *p, size_t n)
{
	if (!o->tty) {
		out_raw(c, p, n);
		return;
	}
	size_t len;
	unsigned char *buf = wn_termsafe_join(&o->cut, p, n, &len);
	fwrite(buf, 1, len, stdout);
	fflush(stdout);
	free(buf);
}

/* log_fallback prints the output tail of job id, for a job that ran before
 * the server kept live output (or whose output is gone). */
static void log_fallback(wn_ctl *c, struct log_out *o, uint64_t id)
{
	Whatsnext__V1__GetJobRequest rq = WHATSNEXT__V1__GET_JOB_REQUEST__INIT;
	rq.id = id;
	const Whatsnext__V1__Job *j =
	    wn_ctl_call(c, WN_PATH_JOB_GET, &rq.base, &whatsnext__v1__job__descriptor, 0);
	if (j->output_tail != NULL && j->output_tail[0] != '\0')
		out_bytes(c, o, (const uint8_t *)j->output_tail, strlen(j->output_tail));
}

/* log_notes says on stderr what the reply r to a read from offset of attempt
 * shows: a new attempt, or bytes not kept. */
static void log_notes(uint64_t id, const Whatsnext__V1__LogRequest *rq,
                      const Whatsnext__V1__LogResponse *r)
{
	if (rq->attempt != 0 && r->attempt != rq->attempt) {
		fflush(stdout);
		fprintf(stderr, "wnctl: job %llu: attempt %u\n", (unsigned long long)id,
		        r->attempt);
	}
	uint64_t from = rq->attempt != 0 && r->attempt != rq->attempt ? 0 : rq->offset;
	if (r->offset > from) {
		fflush(stdout);
		fprintf(stderr, "wnctl: job %llu: output bytes %llu to %llu are not kept%s\n",
		        (unsigned long long)id, (unsigned long long)from,
		        (unsigned long long)r->offset,
		        r->offset <= r->start ? " (the server keeps the latest only)" : "");
	}
}

/* log_removed exits for a followed job that was removed meanwhile. */
__attribute__((noreturn)) static void log_removed(wn_ctl *c, uint64_t id)
{
	fflush(stdout);
	wn_ctl_die(c, WN_CTL_EXIT_JOB_FAILED,
	           "job %llu was removed while it was followed (or its task or project was "
	           "deleted)",
	           (unsigned long long)id);
}

/* Following through a restart of the server. */
struct log_lost {
	int64_t since; /* when the server stopped answering (0: it answers) */
	int backoff_ms;
	bool answered; /* the server has answered a call for the job */
};

/* log_check ends wnctl when reply r to rq sends again bytes of the attempt read before
 * rq's offset: a server that did so each time would be followed round and round, the
 * same output printed (or, with --json, gathered) without end. */
static void log_check(wn_ctl *c, const Whatsnext__V1__LogRequest *rq,
                      const Whatsnext__V1__LogResponse *r)
{
	if (rq->attempt == 0 || r->attempt != rq->attempt || r->data.len == 0 ||
	    r->offset >= rq->offset)
		return;
	fflush(stdout);
	wn_ctl_die(c, WN_CTL_EXIT_ERROR,
	           "cannot follow the output of job %llu: the server sent bytes %llu to %llu again",
	           (unsigned long long)rq->id, (unsigned long long)r->offset,
	           (unsigned long long)(r->offset + r->data.len));
}

/* log_call makes one Log call; with -f (lost not NULL), once wnctl has reached
 * the server (the first call too, once connected), a call that gets no answer
 * (or UNAVAILABLE) is made again after a pause, for up to LOG_LOST_MAX_MS:
 * reads from an offset can be repeated. A server never reached exits. */
static Whatsnext__V1__LogResponse *log_call(wn_ctl *c, const Whatsnext__V1__LogRequest *rq,
                                            struct log_lost *lost)
{
	for (;;) {
		int code = 0;
		Whatsnext__V1__LogResponse *r = wn_ctl_call_soft(
		    c, WN_PATH_JOB_LOG, &rq->base, &whatsnext__v1__log_response__descriptor,
		    (int)rq->wait_ms, &code, lost != NULL);
		if (r != NULL) {
			log_check(c, rq, r);
			if (lost != NULL && lost->since != 0)
				fprintf(stderr, "wnctl: the server answers again\n");
			if (lost != NULL) {
				lost->since = 0;
				lost->answered = true;
			}
			return r;
		}
		/* the job was there at the last answer: it has been removed since */
		if (lost != NULL && lost->answered && code == WHATSNEXT__V1__CODE__NOT_FOUND)
			log_removed(c, rq->id);
		if (lost == NULL || !wn_ctl_reached(c) ||
		    (code > 0 && code != WHATSNEXT__V1__CODE__UNAVAILABLE))
			wn_ctl_die(c, wn_ctl_exit_code(code), "%s", wn_ctl_call_error(c));
		int64_t now = wn_mono_ms();
		if (lost->since == 0) {
			lost->since = now;
			lost->backoff_ms = 100;
			fflush(stdout);
			fprintf(stderr, "wnctl: lost the server (%s); still following\n",
			        wn_ctl_call_error(c));
		} else if (now - lost->since > LOG_LOST_MAX_MS) {
			wn_ctl_die(c, WN_CTL_EXIT_UNREACHABLE,
			           "no answer from the server for %d minutes: %s",
			           LOG_LOST_MAX_MS / 60000, wn_ctl_call_error(c));
		}
		struct timespec ts = {lost->backoff_ms / 1000,
		                      (long)(lost->backoff_ms % 1000) * 1000000L};
		nanosleep(&ts, NULL);
		lost->backoff_ms = lost->backoff_ms >= 1000 ? 2000 : lost->backoff_ms * 2;
	}
}

/* log_exit is the exit code of a followed job in status st. */
static int log_exit(int st)
{
	return st == WHATSNEXT__V1__JOB_STATUS__JOB_COMPLETED ? WN_CTL_EXIT_OK
	                                                      : WN_CTL_EXIT_JOB_FAILED;
}

/* log_json prints, for --json without -f, the output the server keeps as one
 * LogResponse: the replies of the calls that read it, joined (what is read
 * after a gap, bytes the server dropped meanwhile, starts it again). */
static int log_json(wn_ctl *c, Whatsnext__V1__LogRequest *rq)
{
	Whatsnext__V1__LogResponse all = WHATSNEXT__V1__LOG_RESPONSE__INIT;
	uint8_t *data = NULL;
	size_t len = 0;
	for (bool first = true;; first = false) {
		Whatsnext__V1__LogResponse *r = log_call(c, rq, NULL);
		if (first || r->offset != all.next_offset || r->attempt != all.attempt) {
			all = *r; /* its numbers: the bytes are in data */
			all.base.n_unknown_fields = 0;
			all.base.unknown_fields = NULL;
			len = 0;
		}
		data = wn_xrealloc(data, len + r->data.len + 1);
		if (r->data.len > 0)
			memcpy(data + len, r->data.data, r->data.len);
		len += r->data.len;
		all.next_offset = r->next_offset;
		all.end = r->end;
		all.ended = r->ended;
		all.status = r->status;
		bool done =
		    r->next_offset >= r->end ||
		    (r->data.len == 0 && r->next_offset == rq->offset && r->attempt == rq->attempt);
		rq->offset = r->next_offset;
		rq->attempt = r->attempt;
		wn_ctl_release(c, r);
		if (done)
			break;
	}
	all.data.data = data;
	all.data.len = len;
	wn_ctl_print_message(&all.base);
	free(data);
	return WN_CTL_EXIT_OK;
}

int wn_ctl_job_log(wn_ctl *c)
{
	bool follow = false;
	int opt;
	while ((opt = wn_ctl_getopt(c)) != 0)
		if (opt == OPT_FOLLOW)
			follow = true;
	int n = 0;
	char **args = wn_ctl_args(c, 1, 1, &n);
	Whatsnext__V1__LogRequest rq = WHATSNEXT__V1__LOG_REQUEST__INIT;
	rq.id = wn_ctl_parse_id(c, "job id", args[0]);
	if (wn_ctl_json(c) && !follow)
		return log_json(c, &rq);
	struct log_out o = {.tty = !wn_ctl_json(c) && isatty(STDOUT_FILENO)};
	struct log_lost lost = {0};
	for (;;) {
		/* with -f, a server that answered once is waited for through a restart; the
		 * first call is answered at once, and one that gets no answer ends wnctl:
		 * what takes connections at the address but never answers is not wnd */
		rq.wait_ms = follow && lost.answered ? LOG_WAIT_MS : 0;
		if (follow)
			out_check(c);
		int64_t asked_at = wn_mono_ms();
		Whatsnext__V1__LogResponse *r = log_call(c, &rq, lost.answered ? &lost : NULL);
		/* a server that answers a long poll at once, with nothing new, is
		 * not asked again at once */
		int64_t took = wn_mono_ms() - asked_at;
		if (rq.wait_ms > 0 && r->data.len == 0 && !r->ended && took < LOG_MIN_MS) {
			struct timespec ts = {0, (long)(LOG_MIN_MS - took) * 1000000L};
			nanosleep(&ts, NULL);
		}
		lost.answered = follow;
		if (wn_ctl_json(c)) {
			wn_ctl_print_message(&r->base);
			wn_ctl_output_done(c, WN_CTL_EXIT_OK);
		}
		bool none = r->attempt == 0 && r->data.len == 0;
		/* a parked call is answered `ended` with no status when its job is removed */
		if (none && follow && r->ended &&
		    r->status == WHATSNEXT__V1__JOB_STATUS__JOB_STATUS_UNSPECIFIED)
			log_removed(c, rq.id);
		if (none && (!follow || r->ended)) {
			if (!wn_ctl_json(c))
				log_fallback(c, &o, rq.id);
			return follow ? log_exit(r->status) : WN_CTL_EXIT_OK;
		}
		if (!none && !wn_ctl_json(c)) {
			log_notes(rq.id, &rq, r);
			out_bytes(c, &o, r->data.data, r->data.len);
		}
		bool stuck =
		    r->data.len == 0 && r->next_offset == rq.offset && r->attempt == rq.attempt;
		rq.offset = r->next_offset;
		rq.attempt = r->attempt;
		int status = r->status;
		bool ended = r->ended, all = r->next_offset >= r->end;
		wn_ctl_release(c, r);
		if (follow ? ended : all || stuck) {
			if (o.cut.n > 0)
				fwrite(o.cut.b, 1, o.cut.n, stdout);
			return follow ? log_exit(status) : WN_CTL_EXIT_OK;
		}
	}
}
