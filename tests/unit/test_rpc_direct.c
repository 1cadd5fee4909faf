/* The direct client (WN_RPC_DIRECT) against a small REP peer (rpcpeer.h),
 * and against nng's own REP socket. */
#include "envelope.h"
#include "methods.h"
#include "rpc.h"
#include "rpc_direct.h"
#include "rpcpeer.h"
#include "test.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>

/* call sends Project{name} to a peer that echoes it and checks the reply. */
static int call(wn_rpc *r, const char *name, uint64_t id, char **err)
{
	Whatsnext__V1__Project in = WHATSNEXT__V1__PROJECT__INIT;
	in.name = (char *)name;
	in.description = "direct";
	ProtobufCMessage *out = NULL;
	int rv = wn_rpc_call(r, "/whatsnext.v1.ProjectService/Get", &in.base,
	                     &whatsnext__v1__project__descriptor, &out, err, id, 0);
	if (rv == WN_OK) {
		Whatsnext__V1__Project *got = (Whatsnext__V1__Project *)out;
		CHECK_EQ_STR(got->name, name);
		CHECK_EQ_STR(got->description, "direct");
		protobuf_c_message_free_unpacked(out, NULL);
	} else {
		CHECK(out == NULL);
		CHECK(*err != NULL && (*err)[0] != '\0');
	}
	return rv;
}

static void round_trip(bool ipc)
{
	peer *p = peer_start(ipc, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "first", 12345, &err));
	CHECK_OK(call(r, "second", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK(p->handshake_ok);
	CHECK(p->saw_eof);
	CHECK_EQ_INT(p->connections, 1);
	CHECK_EQ_INT(p->requests, 2);
	CHECK_EQ_STR(p->method, "/whatsnext.v1.ProjectService/Get");
	CHECK_EQ_STR(p->token, "sekret");
	CHECK_EQ_INT(p->req_ids[0], 12345);
	CHECK(p->req_ids[1] != 0 && p->req_ids[1] != 12345);
	/* SP request ids: high bit set, one counter */
	CHECK(p->sp_ids[0] & 0x80000000u);
	CHECK_EQ_INT(p->sp_ids[1], 0x80000000u | ((p->sp_ids[0] + 1) & 0x7fffffffu));
	free(p);
}

TEST(round_trip_tcp)
{
	round_trip(false);
}

TEST(round_trip_ipc)
{
	round_trip(true);
}

TEST(error_code_and_message)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_ERROR, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_EQ_INT(call(r, "x", 0, &err), WHATSNEXT__V1__CODE__NOT_FOUND);
	CHECK_EQ_STR(err, "no such thing");
	free(err);
	wn_rpc_close(r);
	peer_join(p);
	free(p);
}

/* invoke calls ProjectService/Get {name} by the method list, as a peer that
 * echoes answers it with a Project of that name. */
static int invoke(wn_rpc *r, const char *name, char **err)
{
	Whatsnext__V1__GetProjectRequest in = WHATSNEXT__V1__GET_PROJECT_REQUEST__INIT;
	in.name = (char *)name;
	ProtobufCMessage *out = NULL;
	int rv = wn_rpc_invoke(r, WN_MID_PROJECT_GET, &in.base, &out, err, 0, 0);
	if (rv == WN_OK) {
		CHECK(out != NULL && out->descriptor == &whatsnext__v1__project__descriptor);
		CHECK_EQ_STR(((Whatsnext__V1__Project *)out)->name, name);
		protobuf_c_message_free_unpacked(out, NULL);
	} else {
		CHECK(out == NULL);
		CHECK(*err != NULL && (*err)[0] != '\0');
	}
	return rv;
}

TEST(invoke_answers_in_wn_errors)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(invoke(r, "first", &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_STR(p->method, WN_PATH_PROJECT_GET);
	free(p);

	p = peer_start(false, WN_SP_REP0, PEER_ERROR, 0, wn_test_tmpdir()); /* NOT_FOUND */
	r = peer_open_direct(p->url, 0);
	CHECK_EQ_INT(invoke(r, "x", &err), WN_ENOTFOUND);
	CHECK_EQ_STR(err, "no such thing");
	free(err);
	wn_rpc_close(r);
	peer_join(p);
	free(p);

	/* a reply over the limit is no answer from the server, not its
	 * RESOURCE_EXHAUSTED (WN_ETOOBIG) */
	p = peer_start(false, WN_SP_REP0, PEER_TOOBIG, 0, wn_test_tmpdir());
	r = peer_open_direct(p->url, 0);
	CHECK_EQ_INT(invoke(r, "x", &err), WN_EPROTO);
	CHECK(strstr(err, "over the limit") != NULL);
	free(err);
	peer_join(p);
	wn_rpc_close(r);
	free(p);
}

TEST(refuses_a_peer_that_is_not_rep)
{
	peer *p = peer_start(false, 16, PEER_ECHO, 0, wn_test_tmpdir()); /* PAIR v0 */
	wn_rpc *r = NULL;
	char *err = NULL;
	int rv = wn_rpc_open(p->url, NULL, WN_RPC_DIRECT, &r, &err);
	CHECK_EQ_INT(rv, WN_EPROTO);
	CHECK(r == NULL);
	CHECK(err != NULL && strstr(err, "peer is not a REP socket") != NULL);
	free(err);
	peer_join(p);
	CHECK(p->handshake_ok); /* it did send REQ's header */
	CHECK(p->saw_eof);      /* and hung up */
	free(p);
}

TEST(skips_a_reply_with_another_id)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_STALE, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "mine", 0, &err)); /* not "stale" */
	CHECK_OK(call(r, "again", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 2);
	free(p);
}

TEST(times_out_then_calls_on_a_new_connection)
{
	peer *p = peer_start(true, WN_SP_REP0, PEER_LATE, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	wn_rpc_set_timeout(r, 200);
	CHECK_EQ_INT(call(r, "late", 0, &err), WN_ETIMEDOUT);
	CHECK(strstr(err, "no reply from ipc://") != NULL);
	free(err);
	err = NULL;
	/* the connection that owes a reply is closed: it would hold this call up */
	wn_rpc_set_timeout(r, PEER_WAIT_MS);
	CHECK_OK(call(r, "next", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK(p->saw_eof);
	CHECK_EQ_INT(p->connections, 2);
	CHECK_EQ_INT(p->requests, 2);
	free(p);
}

TEST(times_out_on_a_silent_peer)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_SILENT, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	wn_rpc_set_timeout(r, 300);
	int64_t t0 = wn_mono_ms();
	CHECK_EQ_INT(call(r, "x", 0, &err), WN_ETIMEDOUT);
	CHECK(wn_mono_ms() - t0 >= 299);
	CHECK(strstr(err, "within 300 ms") != NULL);
	free(err);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 1);
	free(p);
}

typedef struct silent_call {
	wn_rpc *r;
	int rc;
	char *err;
} silent_call;

static void *silent_call_main(void *arg)
{
	silent_call *sc = arg;
	sc->rc = call(sc->r, "x", 0, &sc->err);
	return NULL;
}

/* peer_requests reads how many requests p has taken. */
static int peer_requests(peer *p)
{
	pthread_mutex_lock(&p->mu);
	int n = p->requests;
	pthread_mutex_unlock(&p->mu);
	return n;
}

TEST(an_interrupt_gives_up_the_call_in_flight_only)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_SILENT, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	wn_rpc_set_timeout(r, 60000);
	silent_call sc = {.r = r};
	pthread_t tid;
	pthread_create(&tid, NULL, silent_call_main, &sc);
	for (int i = 0; i < 500 && peer_requests(p) < 1; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
	}
	CHECK_EQ_INT(peer_requests(p), 1);
	wn_rpc_interrupt(r);
	pthread_join(tid, NULL);
	CHECK_EQ_INT(sc.rc, WN_ETIMEDOUT);
	CHECK(sc.err != NULL && strstr(sc.err, "interrupted") != NULL);
	free(sc.err);
	/* a later call is not touched: it waits for its own timeout */
	char *err = NULL;
	wn_rpc_set_timeout(r, 300);
	CHECK_EQ_INT(call(r, "y", 0, &err), WN_ETIMEDOUT);
	CHECK(strstr(err, "within 300 ms") != NULL);
	free(err);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 2); /* the interrupted one was not sent again */
	free(p);
}

TEST(refuses_a_reply_over_the_limit)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_TOOBIG, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_EQ_INT(call(r, "x", 0, &err), WN_ETOOBIG);
	CHECK(strstr(err, "over the limit") != NULL);
	free(err);
	peer_join(p); /* the client closed the connection on its own */
	CHECK(p->saw_eof);
	wn_rpc_close(r);
	free(p);
}

TEST(resends_after_the_connection_drops)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_DROP_FIRST, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "x", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 2);
	CHECK_EQ_INT(p->requests, 2);
	CHECK(p->handshake_ok);
	CHECK_EQ_INT(p->sp_ids[1], p->sp_ids[0]);
	CHECK_EQ_INT(p->req_ids[1], p->req_ids[0]);
	free(p);
}

/* big_call sends Project{name, a description of 100 KiB} and checks the echo. */
static int big_call(wn_rpc *r, const char *name, char **err)
{
	Whatsnext__V1__Project in = WHATSNEXT__V1__PROJECT__INIT;
	in.name = (char *)name;
	in.description = wn_xmalloc(100 << 10);
	memset(in.description, 'd', (100 << 10) - 1);
	in.description[(100 << 10) - 1] = '\0';
	ProtobufCMessage *out = NULL;
	int rv = wn_rpc_call(r, "/whatsnext.v1.ProjectService/Create", &in.base,
	                     &whatsnext__v1__project__descriptor, &out, err, 0, 0);
	if (rv == WN_OK)
		CHECK_EQ_STR(((Whatsnext__V1__Project *)out)->name, name);
	if (out != NULL)
		protobuf_c_message_free_unpacked(out, NULL);
	free(in.description);
	return rv;
}

TEST(authenticates_a_connection_before_a_large_request)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_AUTH_FIRST, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(big_call(r, "big", &err));
	CHECK_OK(big_call(r, "again", &err)); /* authenticated: no small call */
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 1);
	CHECK_EQ_INT(p->requests, 3);
	CHECK_EQ_STR(p->methods[0], "/whatsnext.v1.TaskService/Get");
	CHECK_EQ_STR(p->methods[1], "/whatsnext.v1.ProjectService/Create");
	CHECK_EQ_STR(p->methods[2], "/whatsnext.v1.ProjectService/Create");
	free(p);
}

TEST(authenticates_a_new_connection_when_told_to)
{
	/* the client authenticated on its first connection, which breaks under
	 * the large request; the second has not: told so, the client sends the
	 * small call, then the large one again */
	peer *p = peer_start(false, WN_SP_REP0, PEER_AUTH_AGAIN, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "small", 0, &err));
	CHECK_OK(big_call(r, "big", &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 2);
	CHECK_EQ_INT(p->requests, 5);
	CHECK_EQ_STR(p->methods[1], "/whatsnext.v1.ProjectService/Create");
	CHECK_EQ_STR(p->methods[2], "/whatsnext.v1.ProjectService/Create");
	CHECK_EQ_STR(p->methods[3], "/whatsnext.v1.TaskService/Get");
	CHECK_EQ_STR(p->methods[4], "/whatsnext.v1.ProjectService/Create");
	CHECK_EQ_INT(p->req_ids[2], p->req_ids[1]); /* the same request, again */
	CHECK_EQ_INT(p->req_ids[4], p->req_ids[1]);
	free(p);
}

TEST(authenticates_a_connection_opened_again)
{
	/* the idle connection was authenticated, then the server restarted:
	 * the new connection is authenticated before the large request */
	peer *p = peer_start(true, WN_SP_REP0, PEER_AUTH_FIRST, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "small", 0, &err));
	peer_kill(p);
	free(p);
	p = peer_start(true, WN_SP_REP0, PEER_AUTH_FIRST, 0, wn_test_tmpdir());
	CHECK_OK(big_call(r, "big", &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 1);
	CHECK_EQ_INT(p->requests, 2);
	CHECK_EQ_STR(p->methods[0], "/whatsnext.v1.TaskService/Get");
	CHECK_EQ_STR(p->methods[1], "/whatsnext.v1.ProjectService/Create");
	free(p);
}

TEST(a_server_restarted_between_calls_gets_the_next_call_once)
{
	/* the idle connection was given back a moment ago, so it is taken
	 * without a look: its send fails, and the call goes on a new one */
	peer *p = peer_start(true, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "before", 0, &err));
	peer_kill(p);
	free(p);
	p = peer_start(true, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	CHECK_OK(call(r, "after", 0, &err));
	CHECK(err == NULL);
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 1);
	CHECK_EQ_INT(p->requests, 1);
	free(p);
}

TEST(background_waits_for_the_server)
{
	peer *p = peer_start(true, WN_SP_REP0, PEER_ECHO, 300, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, WN_RPC_BACKGROUND); /* nobody listens yet */
	char *err = NULL;
	wn_rpc_set_timeout(r, PEER_WAIT_MS);
	CHECK_OK(call(r, "x", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 1);
	free(p);
}

TEST(open_fails_without_a_server_or_with_a_bad_address)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	char url[128];
	snprintf(url, sizeof(url), "ipc://%s/nobody.sock", wn_test_tmpdir());
	CHECK_EQ_INT(wn_rpc_open(url, NULL, WN_RPC_DIRECT, &r, &err), WN_EUNAVAIL);
	CHECK(strstr(err, "cannot connect to ipc://") != NULL);
	free(err);
	static const char *const bad[] = {"udp://127.0.0.1:1", "tcp://127.0.0.1", "tcp://:80",
	                                  "ipc://", "tcp6://[::1:80"};
	for (size_t i = 0; i < WN_ARRAY_LEN(bad); i++) {
		err = NULL;
		CHECK_EQ_INT(wn_rpc_open(bad[i], NULL, WN_RPC_DIRECT, &r, &err), WN_EINVAL);
		CHECK(strstr(err, bad[i]) != NULL);
		free(err);
	}
	CHECK(r == NULL);
}

typedef struct caller {
	wn_rpc *r;
	int index;
	int ok;
	pthread_t tid;
} caller;

static void *caller_main(void *arg)
{
	caller *c = arg;
	for (int i = 0; i < 100; i++) {
		char name[32], *err = NULL;
		snprintf(name, sizeof(name), "t%d-%d", c->index, i);
		if (call(c->r, name, 0, &err) == WN_OK)
			c->ok++;
		free(err);
	}
	return NULL;
}

TEST(threads_share_a_pool_of_connections)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_ECHO, 0, wn_test_tmpdir());
	wn_rpc *r = peer_open_direct(p->url, 0);
	caller c[4];
	for (int i = 0; i < 4; i++) {
		c[i] = (caller){.r = r, .index = i};
		pthread_create(&c[i].tid, NULL, caller_main, &c[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(c[i].tid, NULL);
	wn_rpc_close(r);
	peer_join(p);
	for (int i = 0; i < 4; i++)
		CHECK_EQ_INT(c[i].ok, 100);
	CHECK(p->connections >= 1 && p->connections <= 4); /* one per thread at most */
	CHECK_EQ_INT(p->requests, 400);
	free(p);
}

/* An nng REP socket that echoes request bodies: the reference peer. */
typedef struct nng_peer {
	nng_socket sock;
	int served;
	pthread_t tid;
} nng_peer;

static void *nng_peer_main(void *arg)
{
	nng_peer *np = arg;
	nng_msg *m;
	while (nng_recvmsg(np->sock, &m, 0) == 0) {
		Whatsnext__V1__Request *req =
		    whatsnext__v1__request__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
		if (req == NULL) {
			nng_msg_free(m);
			continue;
		}
		Whatsnext__V1__Response resp = WHATSNEXT__V1__RESPONSE__INIT;
		resp.id = req->id;
		resp.body = req->body;
		size_t len = 0;
		uint8_t *packed = wn_message_pack(&resp.base, &len);
		whatsnext__v1__request__free_unpacked(req, NULL);
		nng_msg_clear(m); /* the body; the header routes the reply back */
		nng_msg_append(m, packed, len);
		free(packed);
		if (nng_sendmsg(np->sock, m, 0) != 0)
			nng_msg_free(m);
		else
			np->served++;
	}
	return NULL;
}

static void against_nng(bool ipc)
{
	nng_peer np = {0};
	nng_listener l;
	char url[160];
	if (ipc)
		snprintf(url, sizeof(url), "ipc://%s/nng.sock", wn_test_tmpdir());
	else
		snprintf(url, sizeof(url), "tcp://127.0.0.1:0");
	CHECK_EQ_INT(nng_rep0_open(&np.sock), 0);
	CHECK_EQ_INT(nng_listen(np.sock, url, &l, 0), 0);
	if (!ipc) {
		int port = 0;
		CHECK_EQ_INT(nng_listener_get_int(l, NNG_OPT_TCP_BOUND_PORT, &port), 0);
		snprintf(url, sizeof(url), "tcp://127.0.0.1:%d", port);
	}
	pthread_create(&np.tid, NULL, nng_peer_main, &np);
	wn_rpc *r = peer_open_direct(url, 0);
	char *err = NULL;
	int ok = 0;
	for (int i = 0; i < 3; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		ok += call(r, name, 0, &err) == WN_OK;
		free(err);
		err = NULL;
	}
	wn_rpc_close(r);
	nng_close(np.sock);
	pthread_join(np.tid, NULL);
	CHECK_EQ_INT(ok, 3);
	CHECK_EQ_INT(np.served, 3);
}

TEST(talks_to_nng_rep_over_tcp)
{
	against_nng(false);
}

TEST(talks_to_nng_rep_over_ipc)
{
	against_nng(true);
}

TEST_MAIN()
