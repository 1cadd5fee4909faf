#include "tlsdiag.h"

#include "err.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <netdb.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* One diagnostic handshake: its socket, deadline and mbedTLS state. */
struct diag {
	int fd;
	int64_t deadline; /* monotonic ms */
	mbedtls_ssl_context ssl;
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca, cert;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg;
};

/* diag_wait waits until fd is ready for events or the deadline: true if ready. */
static bool diag_wait(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - wn_mono_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {.fd = fd, .events = events};
		int n = poll(&p, 1, (int)left);
		if (n > 0)
			return true;
		if (n == 0 || errno != EINTR)
			return false;
	}
}

/* diag_connect opens a non-blocking tcp connection to u; -1 when it cannot. */
static int diag_connect(const wn_wire_url *u, int64_t deadline)
{
	struct addrinfo hints = {.ai_family = u->family, .ai_socktype = SOCK_STREAM};
	struct addrinfo *res = NULL;
	if (u->ipc || getaddrinfo(u->host, u->port, &hints, &res) != 0)
		return -1;
	int fd = -1;
	for (struct addrinfo *a = res; a != NULL && fd < 0; a = a->ai_next) {
		fd = socket(a->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		int err = 0;
		socklen_t elen = sizeof(err);
		if (connect(fd, a->ai_addr, a->ai_addrlen) != 0 &&
		    (errno != EINPROGRESS || !diag_wait(fd, POLLOUT, deadline) ||
		     getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0 || err != 0)) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* diag_plain_sp says whether the server at u greets a new connection with
 * an SP handshake, as a plain (not TLS) wnd or nng listener does at once. */
static bool diag_plain_sp(const wn_wire_url *u, int64_t deadline)
{
	int fd = diag_connect(u, deadline);
	if (fd < 0)
		return false;
	uint8_t hs[WN_SP_HANDSHAKE_LEN];
	size_t got = 0;
	int64_t until = wn_mono_ms() + 300; /* a plain server speaks at once */
	if (until > deadline)
		until = deadline;
	while (got < sizeof(hs) && diag_wait(fd, POLLIN, until)) {
		ssize_t r = recv(fd, hs + got, sizeof(hs) - got, 0);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	uint16_t proto = 0;
	return got == sizeof(hs) && wn_wire_handshake_parse(hs, &proto);
}

static int diag_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct diag *d = ctx;
	if (!diag_wait(d->fd, POLLOUT, d->deadline))
		return MBEDTLS_ERR_SSL_TIMEOUT;
	ssize_t w = send(d->fd, buf, len, MSG_NOSIGNAL);
	return w < 0 ? MBEDTLS_ERR_NET_SEND_FAILED : (int)w;
}

static int diag_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct diag *d = ctx;
	if (!diag_wait(d->fd, POLLIN, d->deadline))
		return MBEDTLS_ERR_SSL_TIMEOUT;
	ssize_t r = recv(d->fd, buf, len, 0);
	return r < 0 ? MBEDTLS_ERR_NET_RECV_FAILED : (int)r;
}

/* diag_setup readies d's client configuration from o (o NULL: verify
 * nothing); false when a file cannot be read (rpc says so on its own). */
static bool diag_setup(struct diag *d, const wn_tlsdiag_opts *o)
{
	static const char pers[] = "wn-tlsdiag";
	if (mbedtls_ctr_drbg_seed(&d->drbg, mbedtls_entropy_func, &d->entropy,
	                          (const unsigned char *)pers, sizeof(pers) - 1) != 0 ||
	    mbedtls_ssl_config_defaults(&d->conf, MBEDTLS_SSL_IS_CLIENT,
	                                MBEDTLS_SSL_TRANSPORT_STREAM,
	                                MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		return false;
	mbedtls_ssl_conf_rng(&d->conf, mbedtls_ctr_drbg_random, &d->drbg);
	/* complete the handshake whatever the certificate, then say what is wrong */
	mbedtls_ssl_conf_authmode(&d->conf, o != NULL ? MBEDTLS_SSL_VERIFY_OPTIONAL
	                                              : MBEDTLS_SSL_VERIFY_NONE);
	if (o != NULL && o->ca != NULL) {
		if (mbedtls_x509_crt_parse_file(&d->ca, o->ca) != 0)
			return false;
		mbedtls_ssl_conf_ca_chain(&d->conf, &d->ca, NULL);
	}
	if (o != NULL && o->cert != NULL && o->key != NULL) {
		if (mbedtls_x509_crt_parse_file(&d->cert, o->cert) != 0 ||
		    mbedtls_pk_parse_keyfile(&d->key, o->key, NULL) != 0 ||
		    mbedtls_ssl_conf_own_cert(&d->conf, &d->cert, &d->key) != 0)
			return false;
	}
	if (mbedtls_ssl_setup(&d->ssl, &d->conf) != 0)
		return false;
	if (o != NULL && o->server_name != NULL &&
	    mbedtls_ssl_set_hostname(&d->ssl, o->server_name) != 0)
		return false;
	mbedtls_ssl_set_bio(&d->ssl, d, diag_send, diag_recv, NULL);
	return true;
}

static void diag_init(struct diag *d)
{
	memset(d, 0, sizeof(*d));
	d->fd = -1;
	mbedtls_ssl_init(&d->ssl);
	mbedtls_ssl_config_init(&d->conf);
	mbedtls_x509_crt_init(&d->ca);
	mbedtls_x509_crt_init(&d->cert);
	mbedtls_pk_init(&d->key);
	mbedtls_entropy_init(&d->entropy);
	mbedtls_ctr_drbg_init(&d->drbg);
}

static void diag_release(struct diag *d)
{
	if (d->fd >= 0)
		close(d->fd);
	mbedtls_ssl_free(&d->ssl);
	mbedtls_ssl_config_free(&d->conf);
	mbedtls_x509_crt_free(&d->ca);
	mbedtls_x509_crt_free(&d->cert);
	mbedtls_pk_free(&d->key);
	mbedtls_ctr_drbg_free(&d->drbg);
	mbedtls_entropy_free(&d->entropy);
}

/* diag_names returns the names a certificate holds: its DNS names, else its
 * subject. */
static char *diag_names(const mbedtls_x509_crt *crt)
{
	char buf[512];
	size_t n = 0;
	buf[0] = '\0';
	for (const mbedtls_x509_sequence *s = &crt->subject_alt_names; s != NULL && s->buf.p;
	     s = s->next) {
		if ((s->buf.tag & MBEDTLS_ASN1_TAG_VALUE_MASK) != MBEDTLS_X509_SAN_DNS_NAME ||
		    n + s->buf.len + 3 >= sizeof(buf))
			continue;
		n += (size_t)snprintf(buf + n, sizeof(buf) - n, "%s%.*s", n ? ", " : "",
		                      (int)s->buf.len, (const char *)s->buf.p);
	}
	if (n == 0 && mbedtls_x509_dn_gets(buf, sizeof(buf), &crt->subject) < 0)
		snprintf(buf, sizeof(buf), "another name");
	return wn_xstrdup(buf);
}

/* diag_cert explains the verify flags of the server's certificate. */
static char *diag_cert(struct diag *d, const wn_tlsdiag_opts *o, uint32_t flags)
{
	const mbedtls_x509_crt *crt = mbedtls_ssl_get_peer_cert(&d->ssl);
	if ((flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED) || crt == NULL)
		return wn_xasprintf("the server's certificate is not signed by the CA in %s (a "
		                    "different CA file is needed, the one that signed the "
		                    "server's certificate)",
		                    o->ca ? o->ca : "the system's CA list");
	if (flags & MBEDTLS_X509_BADCERT_EXPIRED) {
		const mbedtls_x509_time *t = &crt->valid_to;
		return wn_xasprintf("the server's certificate expired on %04d-%02d-%02d %02d:%02d "
		                    "UTC (the server needs a new one)",
		                    t->year, t->mon, t->day, t->hour, t->min);
	}
	if (flags & MBEDTLS_X509_BADCERT_FUTURE) {
		const mbedtls_x509_time *t = &crt->valid_from;
		return wn_xasprintf("the server's certificate is not valid before %04d-%02d-%02d "
		                    "%02d:%02d UTC (check the clocks)",
		                    t->year, t->mon, t->day, t->hour, t->min);
	}
	if (flags & MBEDTLS_X509_BADCERT_CN_MISMATCH) {
		char *names = diag_names(crt);
		char *m = wn_xasprintf("the server's certificate is not for \"%s\" but for %s "
		                       "(connect by one of its names, or set the expected name "
		                       "with --tls-server-name)",
		                       o->server_name ? o->server_name : "", names);
		free(names);
		return m;
	}
	char info[256];
	int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	while (n > 0 && (info[n - 1] == '\n' || info[n - 1] == ' '))
		info[--n] = '\0';
	return wn_xasprintf("the server's certificate is refused: %s", n > 0 ? info : "invalid");
}

/* diag_tls makes a handshake with o's settings (o NULL: verify nothing) and
 * explains how it went; NULL when it went well or nothing can be said. *hello
 * is set when the server answered as a TLS server. */
static char *diag_tls(const wn_wire_url *u, const wn_tlsdiag_opts *o, int64_t deadline, bool *hello)
{
	struct diag d;
	diag_init(&d);
	d.deadline = deadline;
	char *why = NULL;
	*hello = false;
	if (!diag_setup(&d, o) || (d.fd = diag_connect(u, deadline)) < 0)
		goto out;
	int rv = mbedtls_ssl_handshake(&d.ssl);
	*hello = rv == 0 || d.ssl.state > MBEDTLS_SSL_SERVER_HELLO;
	if (o == NULL)
		goto out;
	uint32_t flags = mbedtls_ssl_get_verify_result(&d.ssl);
	if (*hello && flags != 0 && flags != (uint32_t)-1)
		why = diag_cert(&d, o, flags);
	else if (rv != 0 && *hello && d.ssl.client_auth)
		why = wn_xstrdup(
		    o->cert == NULL
		        ? "the server refused the TLS handshake: it requires a client certificate "
		          "(give one signed by the CA the server trusts, with its key)"
		        : "the server refused this client's certificate (is it signed by the CA "
		          "the server trusts, and still valid?)");
out:
	diag_release(&d);
	return why;
}

char *wn_tlsdiag_run(const char *url, const wn_tlsdiag_opts *o, int timeout_ms)
{
	wn_wire_url u;
	char *err = NULL;
	if (wn_wire_url_parse(url, &u, &err) != WN_OK || u.ipc) {
		free(err);
		return NULL;
	}
	int64_t deadline = wn_mono_ms() + timeout_ms;
	bool plain = diag_plain_sp(&u, deadline);
	if (u.tls && plain)
		return wn_xasprintf("the server does not speak TLS on this port (connect with "
		                    "%s instead, or serve tls+tcp:// on wnd)",
		                    url + strlen("tls+"));
	if (plain)
		return NULL;
	bool hello = false;
	if (!u.tls) {
		free(diag_tls(&u, NULL, deadline, &hello));
		return hello ? wn_xasprintf("the server speaks TLS on this port (connect with "
		                            "tls+%s and a CA file)",
		                            url)
		             : NULL;
	}
	return diag_tls(&u, o, deadline, &hello);
}
