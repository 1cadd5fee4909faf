/* The direct client (WN_RPC_DIRECT) against a small REP peer written here,
 * byte by byte from the SP framing, and against nng's own REP socket. */
#include "envelope.h"
#include "methods.h"
#include "rpc.h"
#include "rpc_direct.h"
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

#define PEER_WAIT_MS 5000 /* a peer gives up on a silent client after this */
#define PEER_LOG     8    /* requests whose ids a peer keeps */

/* What the peer does with the requests it gets. */
enum {
	PEER_ECHO,       /* answers OK with the request's body */
	PEER_ERROR,      /* answers NOT_FOUND "no such thing" */
	PEER_STALE,      /* first a reply under another id, then the echo */
	PEER_LATE,       /* answers the first request only when the second came */
	PEER_TOOBIG,     /* announces a reply one byte over the limit */
	PEER_SILENT,     /* never answers */
	PEER_DROP_FIRST, /* closes the first connection after reading its request */
	/* as wnd: answers a request over 64 KiB "authenticate first" until one
	 * was answered on the connection */
	PEER_AUTH_FIRST,
	PEER_AUTH_AGAIN, /* as PEER_AUTH_FIRST, closing the first connection after
	                    answering its first request */
};

typedef struct peer {
	bool ipc;
	int proto; /* protocol number it announces */
	int mode;
	int delay_ms; /* waits this long before listening */
	int lfd;
	struct sockaddr_un sun;
	char url[160];
	pthread_t tid;
	/* what it saw, to read after peer_join */
	int connections;
	int requests;
	bool handshake_ok; /* every client sent REQ v0's header */
	bool saw_eof;      /* the client closed the connection */
	uint32_t sp_ids[PEER_LOG];
	uint64_t req_ids[PEER_LOG];
	char method[128];
	char token[64];
	char methods[PEER_LOG][64]; /* of the first requests */
} peer;

static void peer_put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static void peer_put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

static uint32_t peer_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* peer_read reads exactly n bytes; false at the end of the stream (saw_eof
 * set) or on an error or timeout. */
static bool peer_read(peer *p, int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t k = recv(fd, (uint8_t *)buf + got, n - got, 0);
		if (k == 0)
			p->saw_eof = true;
		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

static void peer_write(int fd, const void *buf, size_t n)
{
	size_t off = 0;
	while (off < n) {
		ssize_t k = send(fd, (const uint8_t *)buf + off, n - off, MSG_NOSIGNAL);
		if (k <= 0)
			return;
		off += (size_t)k;
	}
}

/* peer_listen opens the listening socket and sets url. */
static void peer_listen(peer *p)
{
	if (p->ipc) {
		p->lfd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (bind(p->lfd, (struct sockaddr *)&p->sun, sizeof(p->sun)) != 0)
			printf("# bind %s: %s\n", p->sun.sun_path, strerror(errno));
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(sa);
		p->lfd = socket(AF_INET, SOCK_STREAM, 0);
		if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(p->lfd, (struct sockaddr *)&sa, &len) != 0)
			printf("# bind 127.0.0.1:0: %s\n", strerror(errno));
		snprintf(p->url, sizeof(p->url), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
	}
	listen(p->lfd, 8);
}

/* peer_accept takes the next connection and exchanges SP headers; -1 if no
 * client came. */
static int peer_accept(peer *p)
{
	struct pollfd pfd = {.fd = p->lfd, .events = POLLIN};
	if (poll(&pfd, 1, PEER_WAIT_MS) != 1)
		return -1;
	int fd = accept(p->lfd, NULL, NULL);
	if (fd < 0)
		return -1;
	struct timeval tv = {PEER_WAIT_MS / 1000, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static const uint8_t req0[8] = {0, 'S', 'P', 0, 0, 48, 0, 0};
	uint8_t hs[8] = {0, 'S', 'P', 0, (uint8_t)(p->proto >> 8), (uint8_t)p->proto, 0, 0};
	uint8_t got[8];
	peer_write(fd, hs, sizeof(hs));
	bool ok = peer_read(p, fd, got, sizeof(got)) && memcmp(got, req0, sizeof(got)) == 0;
	p->handshake_ok = p->connections == 0 ? ok : p->handshake_ok && ok;
	p->connections++;
	return fd;
}

/* peer_recv reads one request frame; its payload (malloc'd), or NULL. */
static uint8_t *peer_recv(peer *p, int fd, size_t *len)
{
	uint8_t h[9];
	size_t hlen = p->ipc ? 9 : 8;
	if (!peer_read(p, fd, h, hlen) || (p->ipc && h[0] != 1))
		return NULL;
	uint64_t n = 0;
	for (size_t i = hlen - 8; i < hlen; i++)
		n = n << 8 | h[i];
	if (n < 4 || n > WN_MSG_MAX)
		return NULL;
	uint8_t *m = wn_xmalloc((size_t)n);
	if (!peer_read(p, fd, m, (size_t)n)) {
		free(m);
		return NULL;
	}
	*len = (size_t)n;
	return m;
}

/* peer_frame_header writes the frame header for a payload of n bytes into h;
 * returns its length. */
static size_t peer_frame_header(const peer *p, uint8_t *h, uint64_t n)
{
	size_t k = 0;
	if (p->ipc)
		h[k++] = 1;
	peer_put64(h + k, n);
	return k + 8;
}

/* peer_reply sends Response{id, code, message, body} under SP id sp. */
static void peer_reply(peer *p, int fd, uint32_t sp, uint64_t id, int code, const char *message,
                       ProtobufCBinaryData body)
{
	Whatsnext__V1__Response resp = WHATSNEXT__V1__RESPONSE__INIT;
	resp.id = id;
	resp.code = code;
	resp.message = (char *)(message ? message : "");
	resp.body = body;
	size_t len = 0;
	uint8_t *packed = wn_message_pack(&resp.base, &len);
	uint8_t *frame = wn_xmalloc(13 + len);
	size_t k = peer_frame_header(p, frame, len + 4);
	peer_put32(frame + k, sp);
	memcpy(frame + k + 4, packed, len);
	peer_write(fd, frame, k + 4 + len);
	free(frame);
	free(packed);
}

/* peer_echo answers request m (payload of len bytes) with its own body. */
static void peer_echo(peer *p, int fd, const uint8_t *m, size_t len)
{
	Whatsnext__V1__Request *req = whatsnext__v1__request__unpack(NULL, len - 4, m + 4);
	if (req == NULL)
		return;
	peer_reply(p, fd, peer_get32(m), req->id, WHATSNEXT__V1__CODE__OK, NULL, req->body);
	whatsnext__v1__request__free_unpacked(req, NULL);
}

/* peer_note records what request m holds. */
static void peer_note(peer *p, const uint8_t *m, size_t len)
{
	Whatsnext__V1__Request *req = whatsnext__v1__request__unpack(NULL, len - 4, m + 4);
	if (p->requests < PEER_LOG) {
		p->sp_ids[p->requests] = peer_get32(m);
		p->req_ids[p->requests] = req ? req->id : 0;
		snprintf(p->methods[p->requests], sizeof(p->methods[0]), "%s",
		         req && req->method ? req->method : "");
	}
	p->requests++;
	if (req != NULL) {
		snprintf(p->method, sizeof(p->method), "%s", req->method);
		snprintf(p->token, sizeof(p->token), "%s", req->token);
		whatsnext__v1__request__free_unpacked(req, NULL);
	}
}

/* peer_serve answers the requests of one connection until it closes. */
static void peer_serve(peer *p, int fd)
{
	uint8_t *held = NULL; /* PEER_LATE: the first request, not answered yet */
	size_t held_len = 0, len = 0;
	bool authed = false; /* PEER_AUTH_*: a request was answered */
	uint8_t *m;
	while ((m = peer_recv(p, fd, &len)) != NULL) {
		peer_note(p, m, len);
		bool auth = p->mode == PEER_AUTH_FIRST || p->mode == PEER_AUTH_AGAIN;
		if (auth && !authed && len > (64u << 10)) {
			ProtobufCBinaryData none = {0, NULL};
			peer_reply(p, fd, peer_get32(m), 0, WHATSNEXT__V1__CODE__UNAUTHENTICATED,
			           "authenticate first: a request over 65536 bytes", none);
		} else if (auth || p->mode == PEER_ECHO || p->mode == PEER_DROP_FIRST) {
			authed = true;
			peer_echo(p, fd, m, len);
		} else if (p->mode == PEER_ERROR) {
			ProtobufCBinaryData none = {0, NULL};
			peer_reply(p, fd, peer_get32(m), 1, WHATSNEXT__V1__CODE__NOT_FOUND,
			           "no such thing", none);
		} else if (p->mode == PEER_STALE) {
			Whatsnext__V1__Project stale = WHATSNEXT__V1__PROJECT__INIT;
			stale.name = "stale";
			ProtobufCBinaryData body;
			body.data = wn_message_pack(&stale.base, &body.len);
			peer_reply(p, fd, peer_get32(m) ^ 1, 1, WHATSNEXT__V1__CODE__OK, NULL,
			           body);
			free(body.data);
			peer_echo(p, fd, m, len);
		} else if (p->mode == PEER_LATE && held == NULL && p->requests == 1) {
			held = m;
			held_len = len;
			continue;
		} else if (p->mode == PEER_LATE) {
			if (held != NULL)
				peer_echo(p, fd, held, held_len);
			free(held);
			held = NULL;
			peer_echo(p, fd, m, len);
		} else if (p->mode == PEER_TOOBIG) {
			uint8_t h[13];
			size_t k = peer_frame_header(p, h, (uint64_t)WN_RPC_DIRECT_MAX + 1);
			peer_put32(h + k, peer_get32(m));
			peer_write(fd, h, k + 4);
		}
		free(m);
	}
	free(held);
}

static void *peer_main(void *arg)
{
	peer *p = arg;
	if (p->delay_ms > 0) {
		struct timespec ts = {0, (long)p->delay_ms * 1000000};
		nanosleep(&ts, NULL);
		peer_listen(p);
	}
	int fd = peer_accept(p);
	if (fd < 0)
		return NULL;
	if (p->mode == PEER_DROP_FIRST || p->mode == PEER_AUTH_AGAIN) {
		size_t len;
		uint8_t *m = peer_recv(p, fd, &len);
		if (m != NULL)
			peer_note(p, m, len);
		if (m != NULL && p->mode == PEER_AUTH_AGAIN)
			peer_echo(p, fd, m, len);
		free(m);
		close(fd);
		fd = peer_accept(p);
		if (fd < 0)
			return NULL;
	}
	if (p->proto == WN_SP_REP0) {
		peer_serve(p, fd);
	} else {
		uint8_t b;
		peer_read(p, fd, &b, 1); /* until the client hangs up */
	}
	close(fd);
	return NULL;
}

/* peer_start starts a peer announcing proto and acting as mode; ipc peers
 * listen on peer.sock in the case's directory, after delay_ms. */
static peer *peer_start(bool ipc, int proto, int mode, int delay_ms)
{
	peer *p = wn_xcalloc(1, sizeof(*p));
	p->ipc = ipc;
	p->proto = proto;
	p->mode = mode;
	p->delay_ms = ipc ? delay_ms : 0;
	p->lfd = -1;
	if (ipc) {
		p->sun.sun_family = AF_UNIX;
		snprintf(p->sun.sun_path, sizeof(p->sun.sun_path), "%s/peer.sock",
		         wn_test_tmpdir());
		snprintf(p->url, sizeof(p->url), "ipc://%s", p->sun.sun_path);
	}
	if (p->delay_ms == 0)
		peer_listen(p);
	pthread_create(&p->tid, NULL, peer_main, p);
	return p;
}

/* peer_join waits for the peer to finish (its client gone) and frees nothing:
 * the caller reads what it saw, then frees it. */
static void peer_join(peer *p)
{
	pthread_join(p->tid, NULL);
	if (p->lfd >= 0)
		close(p->lfd);
}

/* open_direct opens a direct client of p with token "sekret"; fails the case
 * on error. */
static wn_rpc *open_direct(const char *url, int flags)
{
	wn_rpc *r = NULL;
	char *err = NULL;
	int rv = wn_rpc_open(url, "sekret", WN_RPC_DIRECT | flags, &r, &err);
	if (rv != WN_OK)
		printf("# %s\n", err);
	free(err);
	CHECK_OK(rv);
	return r;
}

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
	peer *p = peer_start(ipc, WN_SP_REP0, PEER_ECHO, 0);
	wn_rpc *r = open_direct(p->url, 0);
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
	peer *p = peer_start(false, WN_SP_REP0, PEER_ERROR, 0);
	wn_rpc *r = open_direct(p->url, 0);
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
	peer *p = peer_start(false, WN_SP_REP0, PEER_ECHO, 0);
	wn_rpc *r = open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(invoke(r, "first", &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_STR(p->method, WN_PATH_PROJECT_GET);
	free(p);

	p = peer_start(false, WN_SP_REP0, PEER_ERROR, 0); /* NOT_FOUND */
	r = open_direct(p->url, 0);
	CHECK_EQ_INT(invoke(r, "x", &err), WN_ENOTFOUND);
	CHECK_EQ_STR(err, "no such thing");
	free(err);
	wn_rpc_close(r);
	peer_join(p);
	free(p);

	/* a reply over the limit is no answer from the server, not its
	 * RESOURCE_EXHAUSTED (WN_ETOOBIG) */
	p = peer_start(false, WN_SP_REP0, PEER_TOOBIG, 0);
	r = open_direct(p->url, 0);
	CHECK_EQ_INT(invoke(r, "x", &err), WN_EPROTO);
	CHECK(strstr(err, "over the limit") != NULL);
	free(err);
	peer_join(p);
	wn_rpc_close(r);
	free(p);
}

TEST(refuses_a_peer_that_is_not_rep)
{
	peer *p = peer_start(false, 16, PEER_ECHO, 0); /* PAIR v0 */
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
	peer *p = peer_start(false, WN_SP_REP0, PEER_STALE, 0);
	wn_rpc *r = open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "mine", 0, &err)); /* not "stale" */
	CHECK_OK(call(r, "again", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->requests, 2);
	free(p);
}

TEST(times_out_then_skips_the_late_reply)
{
	peer *p = peer_start(true, WN_SP_REP0, PEER_LATE, 0);
	wn_rpc *r = open_direct(p->url, 0);
	char *err = NULL;
	wn_rpc_set_timeout(r, 200);
	CHECK_EQ_INT(call(r, "late", 0, &err), WN_ETIMEDOUT);
	CHECK(strstr(err, "no reply from ipc://") != NULL);
	free(err);
	err = NULL;
	/* the reply to "late" comes first on the same connection, then this one's */
	wn_rpc_set_timeout(r, PEER_WAIT_MS);
	CHECK_OK(call(r, "next", 0, &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 1);
	CHECK_EQ_INT(p->requests, 2);
	free(p);
}

TEST(times_out_on_a_silent_peer)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_SILENT, 0);
	wn_rpc *r = open_direct(p->url, 0);
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

TEST(refuses_a_reply_over_the_limit)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_TOOBIG, 0);
	wn_rpc *r = open_direct(p->url, 0);
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
	peer *p = peer_start(false, WN_SP_REP0, PEER_DROP_FIRST, 0);
	wn_rpc *r = open_direct(p->url, 0);
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
	peer *p = peer_start(false, WN_SP_REP0, PEER_AUTH_FIRST, 0);
	wn_rpc *r = open_direct(p->url, 0);
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
	/* the client authenticated on its first connection; the second (a
	 * reconnect) has not: told so, it sends the small call, then again */
	peer *p = peer_start(false, WN_SP_REP0, PEER_AUTH_AGAIN, 0);
	wn_rpc *r = open_direct(p->url, 0);
	char *err = NULL;
	CHECK_OK(call(r, "small", 0, &err));
	CHECK_OK(big_call(r, "big", &err));
	wn_rpc_close(r);
	peer_join(p);
	CHECK_EQ_INT(p->connections, 2);
	CHECK_EQ_INT(p->requests, 4);
	CHECK_EQ_STR(p->methods[1], "/whatsnext.v1.ProjectService/Create");
	CHECK_EQ_STR(p->methods[2], "/whatsnext.v1.TaskService/Get");
	CHECK_EQ_STR(p->methods[3], "/whatsnext.v1.ProjectService/Create");
	CHECK_EQ_INT(p->req_ids[3], p->req_ids[1]); /* the same request, again */
	free(p);
}

TEST(background_waits_for_the_server)
{
	peer *p = peer_start(true, WN_SP_REP0, PEER_ECHO, 300);
	wn_rpc *r = open_direct(p->url, WN_RPC_BACKGROUND); /* nobody listens yet */
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

TEST(threads_take_turns_on_one_connection)
{
	peer *p = peer_start(false, WN_SP_REP0, PEER_ECHO, 0);
	wn_rpc *r = open_direct(p->url, 0);
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
	CHECK_EQ_INT(p->connections, 1);
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
	wn_rpc *r = open_direct(url, 0);
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
