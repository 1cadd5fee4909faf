/* rpcpeer: a small REP peer for the direct client's tests (test_rpc_direct,
 * test_rpc_pool), written byte by byte from the SP framing: it takes any
 * number of connections, each served by a thread of its own, and acts as
 * its mode says. */
#ifndef WN_RPCPEER_H
#define WN_RPCPEER_H

#include "rpc.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#define PEER_WAIT_MS 5000 /* a peer gives up on a silent client after this */
#define PEER_LOG     8    /* requests whose ids a peer keeps */
#define PEER_CONNS   64   /* connections a peer serves at most */

/* What the peer does with the requests it gets. */
enum {
	PEER_ECHO,       /* answers OK with the request's body */
	PEER_ERROR,      /* answers NOT_FOUND "no such thing" */
	PEER_STALE,      /* first a reply under another id, then the echo */
	PEER_LATE,       /* leaves the first connection's request unanswered */
	PEER_TOOBIG,     /* announces a reply one byte over the limit */
	PEER_SILENT,     /* never answers */
	PEER_DROP_FIRST, /* closes the first connection after reading its request */
	/* as wnd: answers a request over 64 KiB "authenticate first" until one
	 * was answered on the connection */
	PEER_AUTH_FIRST,
	PEER_AUTH_AGAIN, /* as PEER_AUTH_FIRST, closing the first connection when
	                    its second request came, unanswered */
	PEER_HOLD,       /* echoes, but holds a Project named "hold" until released */
	PEER_HALF,       /* closes the first connection halfway through its first reply */
};

typedef struct peer {
	bool ipc;
	int proto; /* protocol number it announces */
	int mode;
	int delay_ms; /* waits this long before listening */
	int lfd;
	int stop[2]; /* a pipe: written to stop accepting */
	struct sockaddr_un sun;
	char url[160];
	pthread_t tid;
	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cond;
	bool released; /* PEER_HOLD: held requests may be answered */
	bool stopping;
	int greet_ms; /* waits this long before its SP header (negative: never) */
	int nconns;
	int fds[PEER_CONNS];
	pthread_t conn_tids[PEER_CONNS];
	/* what it saw, to read after peer_join */
	int connections;
	int open; /* connections open now */
	int held; /* PEER_HOLD: requests held now */
	int requests;
	bool handshake_ok; /* every client sent REQ v0's header */
	bool saw_eof;      /* a client closed its connection */
	uint32_t sp_ids[PEER_LOG];
	uint64_t req_ids[PEER_LOG];
	char method[128];
	char token[64];
	char methods[PEER_LOG][64]; /* of the first requests */
} peer;

/* peer_start starts a peer announcing proto and acting as mode; an ipc peer
 * listens on peer.sock in dir, after delay_ms (tcp: at once, on a free port
 * of 127.0.0.1). */
/* peer_open_direct opens a direct client of url (token "sekret") with
 * flags besides WN_RPC_DIRECT; fails the case on error. */
wn_rpc *peer_open_direct(const char *url, int flags);

peer *peer_start(bool ipc, int proto, int mode, int delay_ms, const char *dir);

/* peer_release lets a PEER_HOLD peer answer the requests it holds, and those
 * to come. */
void peer_release(peer *p);

/* peer_wait_held waits until n requests are held; false after PEER_WAIT_MS. */
bool peer_wait_held(peer *p, int n);

/* peer_kill stops the peer at once, as a server that dies: its listener and
 * every connection closed, held requests unanswered; it waits as peer_join
 * does (do not call both). */
void peer_kill(peer *p);

/* peer_join stops accepting, waits for the connections to end (their
 * clients gone) and frees nothing: the caller reads what the peer saw,
 * then frees it. */
void peer_join(peer *p);

#endif
