/* The direct client's pool of connections (WN_RPC_DIRECT): calls from
 * several threads at once, a call the server holds, a server that restarts
 * or dies under a call, one unreachable, one closing halfway through a
 * reply; against the REP peer of rpcpeer.h. */
#include "envelope.h"
#include "rpc.h"
#include "rpc_direct.h"
#include "rpcpeer.h"
#include "test.h"
#include "util.h"
#include "wire.h"

#include <time.h>

/* call sends Project{name} with request id id; on success the echo must
 * carry the name back. Returns wn_rpc_call's value; *err as it sets it. */
static int call(wn_rpc *r, const char *name, uint64_t id, char **err)
{
	Whatsnext__V1__Project in = WHATSNEXT__V1__PROJECT__INIT;
	in.name = (char *)name;
	ProtobufCMessage *out = NULL;
	int rv = wn_rpc_call(r, "/whatsnext.v1.ProjectService/Get", &in.base,
	                     &whatsnext__v1__project__descriptor, &out, err, id, 0);
	if (rv == WN_OK) {
		CHECK_EQ_STR(((Whatsnext__V1__Project *)out)->name, name);
		protobuf_c_message_free_unpacked(out, NULL);
	}
	return rv;
}

/* A thread making calls named name, n times. */
typedef struct caller {
	wn_rpc *r;
	const char *name;
	int n;
	int ok;
	int last; /* the last call's value */
	char *err;
	pthread_t tid;
} caller;

static void *caller_main(void *arg)
{
	caller *c = arg;
	for (int i = 0; i < c->n; i++) {
		free(c->err);
		c->err = NULL;
		c->last = call(c->r, c->name, 0, &c->err);
		c->ok += c->last == WN_OK;
	}
	return NULL;
}

static void caller_start(caller *c, wn_rpc *r, const char *name, int n)
{
	*c = (caller){.r = r, .name = name, .n = n};
	pthread_create(&c->tid, NULL, caller_main, c);
}

static void caller_join(caller *c)
{
	pthread_join(c->tid, NULL);
	if (c->err != NULL)
		printf("# %s: %s\n", c->name, c->err);
	free(c->err);
	c->err = NULL;
}

TEST(a_held_call_holds_up_no_other)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_HOLD, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	caller held;
	caller_start(&held, r, "hold", 1); /* as a Fetch the server keeps waiting */
	CHECK(peer_wait_held(p, 1));
	char *err = NULL;
	for (int i = 0; i < 3; i++)
		CHECK_OK(call(r, "quick", 0, &err)); /* while it waits */
	peer_release(p);
	caller_join(&held);
	CHECK_EQ_INT(held.ok, 1);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 2);
	CHECK_EQ_INT(p->requests, 4);
	free(p);
}

/* open_count waits until p has n connections open; false after PEER_WAIT_MS. */
static bool open_count(peer *p, int n)
{
	for (int64_t end = wn_mono_ms() + PEER_WAIT_MS; wn_mono_ms() < end;) {
		pthread_mutex_lock(&p->mu);
		int open = p->open;
		pthread_mutex_unlock(&p->mu);
		if (open == n)
			return true;
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
	}
	return false;
}

/* calls_at_once has n threads (n <= 64) make k calls each, all at once, on
 * r: with hold, each first call is held by the peer until all n are held,
 * each then on a connection of its own. */
static void calls_at_once(peer *p, wn_rpc *r, int n, int k, bool hold)
{
	caller c[64];
	for (int i = 0; i < n; i++)
		caller_start(&c[i], r, hold ? "hold" : "again", k);
	if (hold) {
		CHECK(peer_wait_held(p, n));
		peer_release(p);
	}
	for (int i = 0; i < n; i++) {
		caller_join(&c[i]);
		CHECK_EQ_INT(c[i].ok, k);
	}
}

TEST(many_threads_at_once_keep_a_bounded_pool)
{
	enum { N = WN_RPC_DIRECT_IDLE + 4 };
	peer *p = peer_start(true, WN_SP_REP0, PEER_HOLD, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	calls_at_once(p, r, N, 1, true);
	CHECK_EQ_INT(p->connections, N);
	/* the idle ones kept are bounded, the rest closed */
	CHECK(open_count(p, WN_RPC_DIRECT_IDLE));
	/* and reused: more calls, from as many threads, open none */
	calls_at_once(p, r, WN_RPC_DIRECT_IDLE, 50, false);
	CHECK_EQ_INT(p->connections, N);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, N + 50 * WN_RPC_DIRECT_IDLE);
	free(p);
}

TEST(a_client_told_its_threads_keeps_a_connection_for_each)
{
	enum { N = WN_RPC_DIRECT_IDLE + 8 };
	peer *p = peer_start(true, WN_SP_REP0, PEER_HOLD, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	wn_rpc_set_threads(r, N);
	calls_at_once(p, r, N, 1, true);
	/* all N kept: as many threads calling again open none */
	CHECK(open_count(p, N));
	calls_at_once(p, r, N, 20, false);
	CHECK_EQ_INT(p->connections, N);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, N + 20 * N);
	free(p);
}

TEST(a_server_restarted_under_a_waiting_call)
{
	/* a call the server holds when it dies; it comes back 300 ms later at
	 * the same address: a client that connects in the background resends
	 * the same request there */
	peer *p = peer_start(true, WN_SP_REP0, PEER_HOLD, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, WN_RPC_BACKGROUND);
	wn_rpc_set_timeout(r, PEER_WAIT_MS);
	caller held, idle;
	char *err = NULL;
	CHECK_OK(call(r, "before", 0, &err)); /* an idle connection to be */
	caller_start(&held, r, "hold", 1);
	CHECK(peer_wait_held(p, 1));
	peer_kill(p);
	peer *back = peer_start(true, WN_SP_REP0, PEER_ECHO, 300, wn_test_tmpdir());
	caller_start(&idle, r, "after", 1); /* takes the idle connection, now dead */
	caller_join(&held);
	caller_join(&idle);
	CHECK_EQ_INT(held.ok, 1);
	CHECK_EQ_INT(idle.ok, 1);
	wn_rpc_close(r);
	peer_join(back);
	CHECK_EQ_INT(back->requests, 2);
	uint64_t id = p->req_ids[1]; /* the held call's */
	CHECK(back->req_ids[0] == id || back->req_ids[1] == id);
	free(back);
	free(p);
}

TEST(a_server_restarted_under_a_call_opened_at_once)
{
	/* without background the resend connects once: the server is not
	 * back yet, the call fails at once (its caller decides); the next call
	 * finds the new server */
	peer *p = peer_start(true, WN_SP_REP0, PEER_HOLD, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	wn_rpc_set_timeout(r, PEER_WAIT_MS);
	caller held;
	caller_start(&held, r, "hold", 1);
	CHECK(peer_wait_held(p, 1));
	peer_kill(p);
	pthread_join(held.tid, NULL);
	CHECK_EQ_INT(held.last, WN_EUNAVAIL);
	CHECK(held.err != NULL && strstr(held.err, "cannot connect to ipc://") != NULL);
	free(held.err);
	free(p);
	p = peer_start(true, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	char *err = NULL;
	CHECK_OK(call(r, "after", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 1);
	free(p);
}

TEST(a_server_that_closes_halfway_through_a_reply)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_HALF, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "x", 0, &err));
	CHECK_OK(call(r, "y", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 2);
	CHECK_EQ_INT(p->requests, 3);
	CHECK_EQ_INT(p->req_ids[1], p->req_ids[0]); /* resent under its id */
	CHECK_EQ_INT(p->sp_ids[1], p->sp_ids[0]);
	free(p);
}

TEST(an_unreachable_server_fails_every_thread_in_time)
{
	char url[160];
	snprintf(url, sizeof(url), "ipc://%s/nobody.sock", wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(url, WN_RPC_BACKGROUND);
	wn_rpc_set_timeout(r, 300);
	caller c[4];
	for (int i = 0; i < 4; i++)
		caller_start(&c[i], r, "x", 2);
	for (int i = 0; i < 4; i++) {
		pthread_join(c[i].tid, NULL);
		CHECK_EQ_INT(c[i].last, WN_ETIMEDOUT);
		CHECK(c[i].err != NULL && strstr(c[i].err, "cannot connect to ipc://") != NULL);
		CHECK(c[i].err != NULL && strstr(c[i].err, "within 300 ms") != NULL);
		free(c[i].err);
	}
	wn_rpc_close(r);
}

TEST(a_server_gone_for_good_fails_the_call)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "x", 0, &err));
	peer_kill(p);
	CHECK_EQ_INT(call(r, "y", 0, &err), WN_EUNAVAIL); /* at once, not after 30 s */
	CHECK(strstr(err, "cannot connect to tcp://127.0.0.1:") != NULL);
	CHECK(strstr(err, "Connection refused") != NULL);
	free(err);
	wn_rpc_close(r);
	free(p);
}

/* greet starts a tcp peer that sends its SP header after greet_ms (negative:
 * never) and opens a client of it, which must not wait for that header
 * for longer than about half a second. */
static wn_rpc *greet(int greet_ms, peer **out)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	pthread_mutex_lock(&p->mu);
	p->greet_ms = greet_ms; /* before any client connects */
	pthread_mutex_unlock(&p->mu);
	wn_rpc *r = peer_open_direct(p->url, 0);
	*out = p;
	return r;
}

TEST(a_server_that_takes_the_connection_but_never_answers)
{
	/* as a stopped wnd: the kernel accepts, nobody greets; the call's own
	 * timeout, not the client's default, bounds the wait */
	peer *p = NULL;
	wn_rpc *r = greet(-1, &p);
	wn_rpc_set_timeout(r, 300);
	char *err = NULL;
	CHECK_EQ_INT(call(r, "x", 0, &err), WN_ETIMEDOUT);
	CHECK(strstr(err, "cannot connect to tcp://127.0.0.1:") != NULL);
	CHECK(strstr(err, "within 300 ms") != NULL);
	free(err);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 0);
	free(p);
}

TEST(a_server_slow_to_greet_is_waited_for_by_the_first_call)
{
	peer *p = NULL;
	wn_rpc *r = greet(1200, &p);
	char *err = NULL;
	CHECK_OK(call(r, "x", 0, &err));
	CHECK_OK(call(r, "y", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 1); /* the one opened first */
	CHECK_EQ_INT(p->requests, 2);
	free(p);
}

TEST_MAIN()
