/* libFuzzer target: the bytes a tls+tcp client sends wnd before it is
 * anyone (tls.c: the mbedTLS session over a non-blocking socket, the
 * read-ahead in front of it, the handshake driven step by step as net.c
 * drives it). The input is what the client sends, then it closes; nothing
 * may crash, hang or leak, and a handshake that fails says why. The
 * certificate and key below are made for this target only.
 * Run: build/fuzz/fuzz_tls -max_total_time=60 */
#include "tls.h"

#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fuzz_cert[] = "-----BEGIN CERTIFICATE-----\n"
                                "MIIBdDCCARmgAwIBAgIUSf8EdTE+j2r98UCNg8hiT8el+gEwCgYIKoZIzj0EAwIw\n"
                                "DzENMAsGA1UEAwwEZnV6ejAeFw0yNjEyMDUxMjE5MDNaFw0zNjEyMDIxMjE5MDNa\n"
                                "MA8xDTALBgNVBAMMBGZ1enowWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARXJ32e\n"
                                "ec1DUOgNV1ynJ5PxCABFdriYAOup69pwxzLGyXjxaMVRr1z6QrHuI/jbA7riVV2j\n"
                                "KxBt28qLtT1NKcwko1MwUTAdBgNVHQ4EFgQUA73f4Sf/wH0WA8bew9kSwBNwdIsw\n"
                                "HwYDVR0jBBgwFoAUA73f4Sf/wH0WA8bew9kSwBNwdIswDwYDVR0TAQH/BAUwAwEB\n"
                                "/zAKBggqhkjOPQQDAgNJADBGAiEAmyYZw6wP1vYBzk05P30lrkQ3HWMl306gki/T\n"
                                "Lk77yXkCIQCvpzzIEcEBN74sRTiydct92iFN1AqUjFoqzOy3gmZ0Uw==\n"
                                "-----END CERTIFICATE-----\n";

static const char fuzz_key[] = "-----BEGIN PRIVATE KEY-----\n"
                               "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgUL2ZHLRJ0S3dbhqN\n"
                               "Jw65NWGoQ5N65GJTMumEqsvBvrahRANCAARXJ32eec1DUOgNV1ynJ5PxCABFdriY\n"
                               "AOup69pwxzLGyXjxaMVRr1z6QrHuI/jbA7riVV2jKxBt28qLtT1NKcwk\n"
                               "-----END PRIVATE KEY-----\n";

/* fuzz_server makes the server configuration once, from the PEM above. */
static wn_tls *fuzz_server(void)
{
	static wn_tls *t;
	if (t != NULL)
		return t;
	char dir[] = "/tmp/wn-fuzz-tls.XXXXXX";
	if (mkdtemp(dir) == NULL)
		abort();
	char cert[64], key[64];
	snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
	snprintf(key, sizeof(key), "%s/key.pem", dir);
	FILE *f = fopen(cert, "w");
	fputs(fuzz_cert, f);
	fclose(f);
	f = fopen(key, "w");
	fputs(fuzz_key, f);
	fclose(f);
	wn_tls_settings s = {.cert = cert, .key = key, .client_ca = cert};
	char *err = NULL;
	if (wn_tls_new(&s, &t, &err) != WN_OK) {
		fprintf(stderr, "fuzz_tls: %s\n", err);
		abort();
	}
	unlink(cert);
	unlink(key);
	rmdir(dir);
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 65536)
		return 0;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) != 0)
		abort();
	int big = 1 << 20;
	setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	size_t off = 0;
	while (off < size) {
		ssize_t w = write(sv[1], data + off, size - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
	shutdown(sv[1], SHUT_WR);
	wn_tls_conn *c = wn_tls_conn_new(fuzz_server(), sv[0]);
	uint8_t sink[4096];
	for (int step = 0; step < 64; step++) {
		const char *why = NULL;
		int rv = wn_tls_handshake(c, &why);
		if (rv < 0) {
			if (why == NULL || why[0] == '\0')
				abort(); /* a failure says why */
			break;
		}
		if (rv == 1) {
			uint8_t buf[512];
			while (wn_tls_recv(c, buf, sizeof(buf)) > 0 || wn_tls_pending(c) > 0)
				;
			break;
		}
		if (wn_tls_want(c) != EPOLLIN && wn_tls_want(c) != EPOLLOUT)
			abort();
		while (read(sv[1], sink, sizeof(sink)) > 0)
			; /* the server's replies: take them so it can write */
	}
	wn_tls_conn_free(c);
	close(sv[0]);
	close(sv[1]);
	return 0;
}
