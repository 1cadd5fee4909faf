#include "tls.h"

#include "err.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/entropy.h>
#include <mbedtls/error.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/pk.h>
#include <mbedtls/ssl.h>
#include <mbedtls/x509_crt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct wn_tls {
	mbedtls_ssl_config conf;
	mbedtls_x509_crt cert;
	mbedtls_x509_crt ca;
	mbedtls_pk_context key;
	mbedtls_entropy_context entropy;
	mbedtls_ctr_drbg_context drbg; /* thread safe: MBEDTLS_THREADING_C */
	bool has_ca;
};

/* Bytes read from the socket ahead of mbedTLS, which asks for a record's
 * header and then its body: one recv instead of two per request. */
#define TLS_READ_AHEAD 4096

struct wn_tls_conn {
	mbedtls_ssl_context ssl;
	wn_tls *t;
	int fd;
	uint16_t ra_off, ra_len; /* unread: ra[ra_off, ra_len) */
	uint8_t ra[TLS_READ_AHEAD];
	uint32_t want; /* EPOLLIN or EPOLLOUT: what the handshake waits for */
	bool done;
	char why[128];
};

/* tls_text returns mbedTLS's words for error rv in buf. */
static const char *tls_text(int rv, char *buf, size_t n)
{
	mbedtls_strerror(rv, buf, n);
	return buf;
}

/* tls_file_check says why the file at path (setting what) cannot be read:
 * mbedTLS names a missing or unreadable file "Read/write of file failed" and
 * a directory "Memory allocation failed". */
static int tls_file_check(const char *path, const char *what, char **errmsg)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0) {
		*errmsg = wn_xasprintf("cannot read %s %s: %s", what, path, strerror(errno));
		return WN_EIO;
	}
	bool regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	close(fd);
	if (regular)
		return WN_OK;
	*errmsg = wn_xasprintf("cannot read %s %s: not a regular file", what, path);
	return WN_EINVAL;
}

/* tls_parse_certs reads the PEM or DER certificates of path (setting what)
 * into crt: every one, or an error (mbedTLS takes those it can read and
 * counts the others). */
static int tls_parse_certs(mbedtls_x509_crt *crt, const char *path, const char *what, char **errmsg)
{
	char buf[128];
	int rv = tls_file_check(path, what, errmsg);
	if (rv != WN_OK)
		return rv;
	rv = mbedtls_x509_crt_parse_file(crt, path);
	if (rv > 0)
		*errmsg = wn_xasprintf("cannot read %s %s: %d of its certificates are not valid "
		                       "PEM certificates",
		                       what, path, rv);
	else if (rv < 0)
		*errmsg = wn_xasprintf("cannot read %s %s: %s", what, path,
		                       tls_text(rv, buf, sizeof(buf)));
	return rv == 0 ? WN_OK : WN_EINVAL;
}

/* tls_cert_dates warns when the server's certificate is out of date: every
 * client refuses it then (wnctl and wnworker say why, each time). */
static void tls_cert_dates(const mbedtls_x509_crt *crt, const char *path)
{
	const mbedtls_x509_time *t = NULL;
	const char *what = NULL;
	if (mbedtls_x509_time_is_past(&crt->valid_to)) {
		t = &crt->valid_to;
		what = "expired on";
	} else if (mbedtls_x509_time_is_future(&crt->valid_from)) {
		t = &crt->valid_from;
		what = "is not valid before";
	}
	if (t != NULL)
		wn_warn("tls_cert %s %s %04d-%02d-%02d %02d:%02d UTC: clients refuse it until "
		        "it is replaced (docs/security.md, Rotation)",
		        path, what, t->year, t->mon, t->day, t->hour, t->min);
}

/* tls_load_cert reads the server's certificate chain and its key. */
static int tls_load_cert(wn_tls *t, const wn_tls_settings *s, char **errmsg)
{
	char buf[128];
	int rv = tls_parse_certs(&t->cert, s->cert, "tls_cert", errmsg);
	if (rv != WN_OK)
		return rv;
	if ((rv = tls_file_check(s->key, "tls_key", errmsg)) != WN_OK)
		return rv;
	rv = mbedtls_pk_parse_keyfile(&t->key, s->key, NULL);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot read tls_key %s: %s", s->key,
		                       tls_text(rv, buf, sizeof(buf)));
		return WN_EINVAL;
	}
	if (mbedtls_pk_check_pair(&t->cert.pk, &t->key) != 0) {
		*errmsg = wn_xasprintf("tls_key %s is not the key of tls_cert %s", s->key, s->cert);
		return WN_EINVAL;
	}
	if (s->client_ca != NULL && s->client_ca[0] != '\0') {
		rv = tls_parse_certs(&t->ca, s->client_ca, "tls_client_ca", errmsg);
		if (rv != WN_OK)
			return rv;
		t->has_ca = true;
	}
	tls_cert_dates(&t->cert, s->cert);
	return WN_OK;
}

/* tls_setup makes t's server configuration: TLS 1.2 at least, the
 * certificate, client certificates as s asks. */
static int tls_setup(wn_tls *t, const wn_tls_settings *s, char **errmsg)
{
	static const char pers[] = "wnd";
	char buf[128];
	int rv = mbedtls_ctr_drbg_seed(&t->drbg, mbedtls_entropy_func, &t->entropy,
	                               (const unsigned char *)pers, sizeof(pers) - 1);
	if (rv == 0)
		rv = mbedtls_ssl_config_defaults(&t->conf, MBEDTLS_SSL_IS_SERVER,
		                                 MBEDTLS_SSL_TRANSPORT_STREAM,
		                                 MBEDTLS_SSL_PRESET_DEFAULT);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot set up tls: %s", tls_text(rv, buf, sizeof(buf)));
		return WN_EINTERNAL;
	}
	if (s->require_client_cert && !t->has_ca) {
		*errmsg = wn_xstrdup("tls_require_client_cert needs tls_client_ca (the CA that "
		                     "signs the clients' certificates)");
		return WN_EINVAL;
	}
	mbedtls_ssl_conf_rng(&t->conf, mbedtls_ctr_drbg_random, &t->drbg);
	mbedtls_ssl_conf_min_version(&t->conf, MBEDTLS_SSL_MAJOR_VERSION_3,
	                             MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_renegotiation(&t->conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	rv = mbedtls_ssl_conf_own_cert(&t->conf, &t->cert, &t->key);
	if (rv != 0) {
		*errmsg = wn_xasprintf("cannot use tls_cert %s: %s", s->cert,
		                       tls_text(rv, buf, sizeof(buf)));
		return WN_EINVAL;
	}
	if (t->has_ca) {
		mbedtls_ssl_conf_ca_chain(&t->conf, &t->ca, NULL);
		mbedtls_ssl_conf_authmode(&t->conf, s->require_client_cert
		                                        ? MBEDTLS_SSL_VERIFY_REQUIRED
		                                        : MBEDTLS_SSL_VERIFY_OPTIONAL);
	} else {
		mbedtls_ssl_conf_authmode(&t->conf, MBEDTLS_SSL_VERIFY_NONE);
	}
	return WN_OK;
}

int wn_tls_new(const wn_tls_settings *s, wn_tls **out, char **errmsg)
{
	wn_tls *t = wn_xcalloc(1, sizeof(*t));
	mbedtls_ssl_config_init(&t->conf);
	mbedtls_x509_crt_init(&t->cert);
	mbedtls_x509_crt_init(&t->ca);
	mbedtls_pk_init(&t->key);
	mbedtls_entropy_init(&t->entropy);
	mbedtls_ctr_drbg_init(&t->drbg);
	if (s->cert == NULL || s->cert[0] == '\0' || s->key == NULL || s->key[0] == '\0') {
		*errmsg = wn_xstrdup("tls+tcp:// needs tls_cert and tls_key (PEM files)");
		wn_tls_free(t);
		return WN_EINVAL;
	}
	int rv = tls_load_cert(t, s, errmsg);
	if (rv == WN_OK)
		rv = tls_setup(t, s, errmsg);
	if (rv != WN_OK) {
		wn_tls_free(t);
		return rv;
	}
	*out = t;
	return WN_OK;
}

void wn_tls_free(wn_tls *t)
{
	if (t == NULL)
		return;
	mbedtls_ssl_config_free(&t->conf);
	mbedtls_x509_crt_free(&t->cert);
	mbedtls_x509_crt_free(&t->ca);
	mbedtls_pk_free(&t->key);
	mbedtls_ctr_drbg_free(&t->drbg);
	mbedtls_entropy_free(&t->entropy);
	free(t);
}

/* ------------------------------------------------------------ the socket */

static int bio_send(void *ctx, const unsigned char *buf, size_t len)
{
	wn_tls_conn *c = ctx;
	for (;;) {
		ssize_t w = send(c->fd, buf, len, MSG_NOSIGNAL);
		if (w >= 0)
			return (int)w;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_WRITE;
		return MBEDTLS_ERR_NET_SEND_FAILED;
	}
}

static int bio_recv(void *ctx, unsigned char *buf, size_t len)
{
	wn_tls_conn *c = ctx;
	if (c->ra_off < c->ra_len) {
		size_t left = (size_t)(c->ra_len - c->ra_off);
		size_t n = len < left ? len : left;
		memcpy(buf, c->ra + c->ra_off, n);
		c->ra_off += (uint16_t)n;
		return (int)n;
	}
	for (;;) {
		bool ahead = len < sizeof(c->ra);
		ssize_t r = recv(c->fd, ahead ? c->ra : buf, ahead ? sizeof(c->ra) : len, 0);
		if (r > 0 && ahead) {
			c->ra_off = 0;
			c->ra_len = (uint16_t)r;
			return bio_recv(ctx, buf, len);
		}
		if (r >= 0)
			return (int)r;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return MBEDTLS_ERR_SSL_WANT_READ;
		return MBEDTLS_ERR_NET_RECV_FAILED;
	}
}

wn_tls_conn *wn_tls_conn_new(wn_tls *t, int fd)
{
	wn_tls_conn *c = wn_xcalloc(1, sizeof(*c));
	c->t = t;
	c->fd = fd;
	c->want = EPOLLIN; /* the client speaks first */
	mbedtls_ssl_init(&c->ssl);
	if (mbedtls_ssl_setup(&c->ssl, &t->conf) != 0) {
		fprintf(stderr, "out of memory for a tls session\n");
		abort();
	}
	mbedtls_ssl_set_bio(&c->ssl, c, bio_send, bio_recv, NULL);
	return c;
}

void wn_tls_conn_free(wn_tls_conn *c)
{
	if (c == NULL)
		return;
	if (c->done)
		mbedtls_ssl_close_notify(&c->ssl); /* once, without waiting */
	mbedtls_ssl_free(&c->ssl);
	free(c);
}

/* conn_peer_check refuses a client certificate that was given but does not
 * verify (with tls_client_ca and no requirement, a certificate is optional
 * but a bad one is not accepted). */
static int conn_peer_check(wn_tls_conn *c)
{
	if (!c->t->has_ca)
		return WN_OK;
	uint32_t flags = mbedtls_ssl_get_verify_result(&c->ssl);
	if (flags == 0 || flags == MBEDTLS_X509_BADCERT_MISSING)
		return WN_OK;
	char info[96];
	int n = mbedtls_x509_crt_verify_info(info, sizeof(info), "", flags);
	if (n > 0 && info[n - 1] == '\n')
		info[n - 1] = '\0';
	snprintf(c->why, sizeof(c->why), "client certificate refused: %s",
	         n > 0 ? info : "does not verify");
	return WN_EPROTO;
}

int wn_tls_handshake(wn_tls_conn *c, const char **why)
{
	if (c->done)
		return 1;
	int rv = mbedtls_ssl_handshake(&c->ssl);
	if (rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE) {
		c->want = rv == MBEDTLS_ERR_SSL_WANT_READ ? EPOLLIN : EPOLLOUT;
		return 0;
	}
	if (rv == 0 && conn_peer_check(c) == WN_OK) {
		c->done = true;
		return 1;
	}
	if (rv == 0 || rv == MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE)
		/* tell the client its certificate is why (mbedTLS would just close) */
		mbedtls_ssl_send_alert_message(&c->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
		                               rv == 0 ? MBEDTLS_SSL_ALERT_MSG_BAD_CERT
		                                       : MBEDTLS_SSL_ALERT_MSG_HANDSHAKE_FAILURE);
	if (rv != 0) {
		char buf[96];
		snprintf(c->why, sizeof(c->why), "tls handshake failed: %s",
		         rv == MBEDTLS_ERR_SSL_CONN_EOF ? "the peer closed the connection"
		                                        : tls_text(rv, buf, sizeof(buf)));
	}
	if (why != NULL)
		*why = c->why;
	return WN_EPROTO;
}

uint32_t wn_tls_want(const wn_tls_conn *c)
{
	return c->done ? 0 : c->want;
}

ssize_t wn_tls_recv(wn_tls_conn *c, void *buf, size_t len)
{
	int rv = mbedtls_ssl_read(&c->ssl, buf, len);
	if (rv > 0)
		return rv;
	if (rv == 0 || rv == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY || rv == MBEDTLS_ERR_SSL_CONN_EOF)
		return 0;
	errno = rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE ? EAGAIN
	                                                                            : ECONNRESET;
	return -1;
}

ssize_t wn_tls_send(wn_tls_conn *c, const void *buf, size_t len)
{
	int rv = mbedtls_ssl_write(&c->ssl, buf, len);
	if (rv >= 0)
		return rv;
	errno = rv == MBEDTLS_ERR_SSL_WANT_READ || rv == MBEDTLS_ERR_SSL_WANT_WRITE ? EAGAIN
	                                                                            : ECONNRESET;
	return -1;
}

size_t wn_tls_pending(const wn_tls_conn *c)
{
	return mbedtls_ssl_get_bytes_avail(&c->ssl) + (size_t)(c->ra_len - c->ra_off);
}
