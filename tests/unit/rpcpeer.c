#define WN_TEST_HELPER
#include "test.h"

#include "rpcpeer.h"

#include "envelope.h"
#include "rpc_direct.h"
#include "util.h"
#include "wire.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include "whatsnext.pb-c.h"

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
		if (k == 0) {
			pthread_mutex_lock(&p->mu);
			p->saw_eof = true;
			pthread_mutex_unlock(&p->mu);
		}
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
		unlink(p->sun.sun_path); /* a peer before this one's */
		p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (bind(p->lfd, (struct sockaddr *)&p->sun, sizeof(p->sun)) != 0)
			printf("# bind %s: %s\n", p->sun.sun_path, strerror(errno));
	} else {
		struct sockaddr_in sa = {.sin_family = AF_INET};
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		socklen_t len = sizeof(sa);
		p->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
		    getsockname(p->lfd, (struct sockaddr *)&sa, &len) != 0)
			printf("# bind 127.0.0.1:0: %s\n", strerror(errno));
		snprintf(p->url, sizeof(p->url), "tcp://127.0.0.1:%d", ntohs(sa.sin_port));
	}
	listen(p->lfd, 64);
}

/* peer_handshake exchanges SP headers on a new connection. */
static void peer_handshake(peer *p, int fd)
{
	struct timeval tv = {PEER_WAIT_MS / 1000, 0};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	static const uint8_t req0[8] = {0, 'S', 'P', 0, 0, 48, 0, 0};
	uint8_t hs[8] = {0, 'S', 'P', 0, (uint8_t)(p->proto >> 8), (uint8_t)p->proto, 0, 0};
	uint8_t got[8];
	pthread_mutex_lock(&p->mu);
	int greet_ms = p->greet_ms;
	pthread_mutex_unlock(&p->mu);
	if (greet_ms != 0) {
		struct timespec ts = {greet_ms / 1000, (long)(greet_ms % 1000) * 1000000};
		if (greet_ms > 0) {
			nanosleep(&ts, NULL);
		} else {
			while (peer_read(p, fd, got, 1)) /* until the client gives up */
				;
			return;
		}
	}
	peer_write(fd, hs, sizeof(hs));
	bool ok = peer_read(p, fd, got, sizeof(got)) && memcmp(got, req0, sizeof(got)) == 0;
	pthread_mutex_lock(&p->mu);
	p->handshake_ok = p->handshake_ok && ok;
	pthread_mutex_unlock(&p->mu);
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

/* peer_reply sends Response{id, code, message, body} under SP id sp; with
 * half, only the first half of its frame. */
static void peer_reply(peer *p, int fd, uint32_t sp, uint64_t id, int code, const char *message,
                       ProtobufCBinaryData body, bool half)
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
	peer_write(fd, frame, half ? (k + 4 + len) / 2 : k + 4 + len);
	free(frame);
	free(packed);
}

/* peer_echo answers request m (payload of len bytes) with its own body. */
static void peer_echo(peer *p, int fd, const uint8_t *m, size_t len, bool half)
{
	Whatsnext__V1__Request *req = whatsnext__v1__request__unpack(NULL, len - 4, m + 4);
	if (req == NULL)
		return;
	peer_reply(p, fd, peer_get32(m), req->id, WHATSNEXT__V1__CODE__OK, NULL, req->body, half);
	whatsnext__v1__request__free_unpacked(req, NULL);
}

/* peer_note records what request m holds; true when it is a Project named
 * "hold". */
static bool peer_note(peer *p, const uint8_t *m, size_t len)
{
	Whatsnext__V1__Request *req = whatsnext__v1__request__unpack(NULL, len - 4, m + 4);
	bool hold = false;
	pthread_mutex_lock(&p->mu);
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
		Whatsnext__V1__Project *pr =
		    whatsnext__v1__project__unpack(NULL, req->body.len, req->body.data);
		hold = pr != NULL && pr->name != NULL && strcmp(pr->name, "hold") == 0;
		if (pr != NULL)
			whatsnext__v1__project__free_unpacked(pr, NULL);
		whatsnext__v1__request__free_unpacked(req, NULL);
	}
	pthread_mutex_unlock(&p->mu);
	return hold;
}

/* peer_hold waits until held requests may be answered; false when the peer
 * is killed first. */
static bool peer_hold(peer *p)
{
	pthread_mutex_lock(&p->mu);
	p->held++;
	pthread_cond_broadcast(&p->cond);
	while (!p->released && !p->stopping)
		pthread_cond_wait(&p->cond, &p->mu);
	p->held--;
	bool go = !p->stopping;
	pthread_mutex_unlock(&p->mu);
	return go;
}

/* peer_first acts out the special first connection of some modes; false
 * when the connection ends there. */
static bool peer_first(peer *p, int fd)
{
	size_t len = 0;
	uint8_t *m = peer_recv(p, fd, &len);
	if (m == NULL)
		return false;
	peer_note(p, m, len);
	if (p->mode == PEER_HALF) {
		peer_echo(p, fd, m, len, true);
	} else if (p->mode == PEER_AUTH_AGAIN) {
		peer_echo(p, fd, m, len, false);
		free(m);
		m = peer_recv(p, fd, &len);
		if (m != NULL)
			peer_note(p, m, len);
	} else if (p->mode == PEER_LATE) {
		uint8_t b;
		while (peer_read(p, fd, &b, 1)) /* until the client gives up */
			;
	}
	free(m);
	return false;
}

/* peer_serve answers the requests of one connection until it closes. */
static void peer_serve(peer *p, int fd)
{
	bool authed = false; /* PEER_AUTH_*: a request was answered */
	size_t len = 0;
	uint8_t *m;
	ProtobufCBinaryData none = {0, NULL};
	while ((m = peer_recv(p, fd, &len)) != NULL) {
		bool hold = peer_note(p, m, len);
		bool auth = p->mode == PEER_AUTH_FIRST || p->mode == PEER_AUTH_AGAIN;
		if (auth && !authed && len > (64u << 10)) {
			peer_reply(p, fd, peer_get32(m), 0, WHATSNEXT__V1__CODE__UNAUTHENTICATED,
			           "authenticate first: a request over 65536 bytes", none, false);
		} else if (p->mode == PEER_HOLD && hold && !peer_hold(p)) {
			free(m);
			return;
		} else if (p->mode == PEER_ERROR) {
			peer_reply(p, fd, peer_get32(m), 1, WHATSNEXT__V1__CODE__NOT_FOUND,
			           "no such thing", none, false);
		} else if (p->mode == PEER_STALE) {
			Whatsnext__V1__Project stale = WHATSNEXT__V1__PROJECT__INIT;
			stale.name = "stale";
			ProtobufCBinaryData body;
			body.data = wn_message_pack(&stale.base, &body.len);
			peer_reply(p, fd, peer_get32(m) ^ 1, 1, WHATSNEXT__V1__CODE__OK, NULL, body,
			           false);
			free(body.data);
			peer_echo(p, fd, m, len, false);
		} else if (p->mode == PEER_TOOBIG) {
			uint8_t h[13];
			size_t k = peer_frame_header(p, h, (uint64_t)WN_RPC_DIRECT_MAX + 1);
			peer_put32(h + k, peer_get32(m));
			peer_write(fd, h, k + 4);
		} else if (p->mode != PEER_SILENT) {
			authed = true;
			peer_echo(p, fd, m, len, false);
		}
		free(m);
	}
}

typedef struct peer_conn {
	peer *p;
	int k; /* its index */
} peer_conn;

static void *peer_conn_main(void *arg)
{
	peer_conn *pc = arg;
	peer *p = pc->p;
	int k = pc->k;
	free(pc);
	int fd = p->fds[k];
	peer_handshake(p, fd);
	bool special = p->mode == PEER_DROP_FIRST || p->mode == PEER_AUTH_AGAIN ||
	               p->mode == PEER_HALF || p->mode == PEER_LATE;
	if (p->proto != WN_SP_REP0) {
		uint8_t b;
		peer_read(p, fd, &b, 1); /* until the client hangs up */
	} else if (k > 0 || !special || peer_first(p, fd)) {
		peer_serve(p, fd);
	}
	pthread_mutex_lock(&p->mu);
	close(fd);
	p->fds[k] = -1;
	p->open--;
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

static void *peer_main(void *arg)
{
	peer *p = arg;
	if (p->delay_ms > 0) {
		struct timespec ts = {p->delay_ms / 1000, (long)(p->delay_ms % 1000) * 1000000};
		nanosleep(&ts, NULL);
		peer_listen(p);
	}
	for (;;) {
		struct pollfd pf[2] = {{.fd = p->lfd, .events = POLLIN},
		                       {.fd = p->stop[0], .events = POLLIN}};
		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents != 0)
			break;
		if ((pf[0].revents & POLLIN) == 0)
			continue;
		int fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&p->mu);
		if (p->nconns == PEER_CONNS) {
			close(fd);
		} else {
			peer_conn *pc = wn_xmalloc(sizeof(*pc));
			*pc = (peer_conn){p, p->nconns++};
			p->fds[pc->k] = fd;
			p->connections++;
			p->open++;
			pthread_create(&p->conn_tids[pc->k], NULL, peer_conn_main, pc);
		}
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

peer *peer_start(bool ipc, int proto, int mode, int delay_ms, const char *dir)
{
	peer *p = wn_xcalloc(1, sizeof(*p));
	p->ipc = ipc;
	p->proto = proto;
	p->mode = mode;
	p->delay_ms = ipc ? delay_ms : 0;
	p->lfd = -1;
	p->handshake_ok = true;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cond, NULL);
	if (pipe2(p->stop, O_CLOEXEC) != 0)
		abort();
	if (ipc) {
		p->sun.sun_family = AF_UNIX;
		snprintf(p->sun.sun_path, sizeof(p->sun.sun_path), "%s/peer.sock", dir);
		snprintf(p->url, sizeof(p->url), "ipc://%s", p->sun.sun_path);
	}
	if (p->delay_ms == 0)
		peer_listen(p);
	pthread_create(&p->tid, NULL, peer_main, p);
	return p;
}

void peer_release(peer *p)
{
	pthread_mutex_lock(&p->mu);
	p->released = true;
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
}

bool peer_wait_held(peer *p, int n)
{
	int64_t end = wn_mono_ms() + PEER_WAIT_MS;
	pthread_mutex_lock(&p->mu);
	while (p->held < n && wn_mono_ms() < end) {
		pthread_mutex_unlock(&p->mu);
		struct timespec ts = {0, 5 * 1000000};
		nanosleep(&ts, NULL);
		pthread_mutex_lock(&p->mu);
	}
	bool ok = p->held >= n;
	pthread_mutex_unlock(&p->mu);
	return ok;
}

/* peer_stop_accepting ends the accepting thread and closes the listener. */
static void peer_stop_accepting(peer *p)
{
	if (write(p->stop[1], "x", 1) != 1)
		abort();
	pthread_join(p->tid, NULL);
	if (p->lfd >= 0)
		close(p->lfd);
	p->lfd = -1;
	if (p->ipc)
		unlink(p->sun.sun_path);
}

static void peer_join_conns(peer *p)
{
	for (int k = 0; k < p->nconns; k++)
		pthread_join(p->conn_tids[k], NULL);
	close(p->stop[0]);
	close(p->stop[1]);
}

void peer_kill(peer *p)
{
	peer_stop_accepting(p);
	pthread_mutex_lock(&p->mu);
	p->stopping = true;
	for (int k = 0; k < p->nconns; k++)
		if (p->fds[k] >= 0)
			shutdown(p->fds[k], SHUT_RDWR);
	pthread_cond_broadcast(&p->cond);
	pthread_mutex_unlock(&p->mu);
	peer_join_conns(p);
}

void peer_join(peer *p)
{
	peer_stop_accepting(p);
	peer_join_conns(p);
}

wn_rpc *peer_open_direct(const char *url, int flags)
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
