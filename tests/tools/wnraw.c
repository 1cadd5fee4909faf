/* wnraw: send raw bytes, or a hand-built Request envelope, to wnd as one nng
 * REQ message and print the decoded Response. Used by the bad-input tests.
 *
 *   wnraw URL [--hex HEX | --file F | --garbage N [--seed S]]
 *             [--method M [--body-hex HEX | --body-file F] [--id N] [--token T]]
 *             [--truncate N] [--repeat K] [--timeout MS] [--hello]
 *
 * --method builds Request{id, method, body, token} (id random unless given);
 * otherwise the message is the given bytes. --hello first sends a small
 * request (ProjectService/List with --token) on the same connection and
 * prints nothing of it: wnd takes a request over max_unauthenticated_request
 * only on a connection that has authenticated. --truncate keeps the first N
 * bytes. --repeat sends the same bytes K times, each as a separate request.
 * For every reply it prints
 *   code=N name=CODE_NAME message=TEXT
 *   id=N body_len=N body=HEX
 * Exit: 0 every request got a reply, 1 bad reply, 2 usage, 3 no reply. */
#include "envelope.h"
#include "err.h"
#include "kit.h"
#include "util.h"

#include <errno.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	uint8_t *data;
	size_t len;
} raw_buf;

static void raw_usage(void)
{
	fprintf(stderr,
	        "usage: wnraw URL [--hex HEX | --file F | --garbage N [--seed S]]\n"
	        "             [--method M [--body-hex HEX | --body-file F] [--id N] [--token T]]\n"
	        "             [--truncate N] [--repeat K] [--timeout MS] [--hello]\n");
	exit(2);
}

static void raw_die(const char *what, const char *why)
{
	fprintf(stderr, "wnraw: %s: %s\n", what, why);
	exit(2);
}

static uint64_t raw_number(const char *opt, const char *s)
{
	int64_t v = 0;
	if (s == NULL || wn_parse_i64(s, 0, INT64_MAX, &v) != WN_OK)
		raw_die(opt, "expected a non-negative number");
	return (uint64_t)v;
}

/* raw_id parses a request id: any 64-bit unsigned decimal number. */
static uint64_t raw_id(const char *opt, const char *s)
{
	char *end = NULL;
	errno = 0;
	if (s == NULL || *s < '0' || *s > '9')
		raw_die(opt, "expected a number from 0 to 18446744073709551615");
	unsigned long long v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		raw_die(opt, "expected a number from 0 to 18446744073709551615");
	return (uint64_t)v;
}

static raw_buf raw_from_hex(const char *s)
{
	raw_buf b = {wn_xmalloc(strlen(s) / 2 + 1), 0};
	int hi = -1;
	for (; *s; s++) {
		if (*s == ' ' || *s == '\n' || *s == '\t')
			continue;
		int v = wn_hex_digit((unsigned char)*s);
		if (v < 0)
			raw_die("--hex", "not a hex string");
		if (hi < 0) {
			hi = v;
		} else {
			b.data[b.len++] = (uint8_t)(hi << 4 | v);
			hi = -1;
		}
	}
	if (hi >= 0)
		raw_die("--hex", "odd number of hex digits");
	return b;
}

static raw_buf raw_from_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		raw_die(path, "cannot open");
	raw_buf b = {NULL, 0};
	char *text = NULL;
	if (wn_read_all(f, SIZE_MAX, &text, &b.len) != WN_OK)
		raw_die(path, "cannot read");
	fclose(f);
	b.data = (void *)text;
	return b;
}

/* raw_garbage returns n reproducible pseudo-random bytes (xorshift64). */
static raw_buf raw_garbage(size_t n, uint64_t seed)
{
	raw_buf b = {wn_xmalloc(n), n};
	uint64_t x = seed * 0x9E3779B97F4A7C15ull + 1;
	for (size_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		b.data[i] = (uint8_t)(x >> 24);
	}
	return b;
}

static void raw_print_reply(nng_msg *reply, bool quiet)
{
	size_t len = nng_msg_len(reply);
	Whatsnext__V1__Response *resp =
	    whatsnext__v1__response__unpack(NULL, len, nng_msg_body(reply));
	if (resp == NULL) {
		printf("undecodable reply len=%zu\n", len);
		exit(1);
	}
	if (quiet) {
		whatsnext__v1__response__free_unpacked(resp, NULL);
		return;
	}
	printf("code=%d name=%s message=%s\n", (int)resp->code, wn_code_name((int)resp->code),
	       resp->message ? resp->message : "");
	printf("id=%llu body_len=%zu body=", (unsigned long long)resp->id, resp->body.len);
	for (size_t i = 0; i < resp->body.len; i++)
		printf("%02x", resp->body.data[i]);
	printf("\n");
	whatsnext__v1__response__free_unpacked(resp, NULL);
}

/* raw_send sends b as one request and prints the reply (unless quiet);
 * returns 0 or 3. */
static int raw_send(nng_socket sock, const raw_buf *b, int timeout_ms, bool quiet)
{
	nng_ctx ctx;
	nng_aio *aio = NULL;
	nng_msg *msg = NULL;
	int rv = nng_ctx_open(&ctx, sock);
	if (rv != 0)
		goto out;
	rv = nng_aio_alloc(&aio, NULL, NULL);
	if (rv != 0)
		goto out_ctx;
	rv = nng_msg_alloc(&msg, b->len);
	if (rv != 0)
		goto out_aio;
	if (b->len)
		memcpy(nng_msg_body(msg), b->data, b->len);
	nng_aio_set_msg(aio, msg);
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv != 0) {
		nng_msg_free(msg);
		goto out_aio;
	}
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	rv = nng_aio_result(aio);
	if (rv == 0) {
		msg = nng_aio_get_msg(aio);
		raw_print_reply(msg, quiet);
		nng_msg_free(msg);
	}
out_aio:
	nng_aio_free(aio);
out_ctx:
	nng_ctx_close(ctx);
out:
	if (rv != 0) {
		printf("no reply: %s\n", nng_strerror(rv));
		return 3;
	}
	return 0;
}

/* What the command line asks for. */
typedef struct raw_opts {
	const char *url, *method, *body_hex, *body_file, *token, *hex, *file;
	int have_bytes; /* how many of --hex, --file, --garbage were given */
	uint64_t id, seed, garbage, repeat;
	int64_t truncate; /* -1: send it whole */
	int timeout_ms;
	bool hello;
} raw_opts;

/* raw_option takes option o with value v into *r; false if o is unknown. */
static bool raw_option(raw_opts *r, const char *o, const char *v)
{
	if (strcmp(o, "--hex") == 0)
		r->hex = v, r->have_bytes++;
	else if (strcmp(o, "--file") == 0)
		r->file = v, r->have_bytes++;
	else if (strcmp(o, "--garbage") == 0)
		r->garbage = raw_number(o, v), r->have_bytes++;
	else if (strcmp(o, "--seed") == 0)
		r->seed = raw_number(o, v);
	else if (strcmp(o, "--method") == 0)
		r->method = v;
	else if (strcmp(o, "--body-hex") == 0)
		r->body_hex = v;
	else if (strcmp(o, "--body-file") == 0)
		r->body_file = v;
	else if (strcmp(o, "--id") == 0)
		r->id = raw_id(o, v);
	else if (strcmp(o, "--token") == 0)
		r->token = v;
	else if (strcmp(o, "--truncate") == 0)
		r->truncate = (int64_t)raw_number(o, v);
	else if (strcmp(o, "--repeat") == 0)
		r->repeat = raw_number(o, v);
	else if (strcmp(o, "--timeout") == 0)
		r->timeout_ms = (int)raw_number(o, v);
	else
		return false;
	return true;
}

static raw_opts raw_parse(int argc, char **argv)
{
	if (argc < 2 || argv[1][0] == '-')
		raw_usage();
	raw_opts r = {.url = argv[1],
	              .body_hex = "",
	              .token = "",
	              .seed = 1,
	              .repeat = 1,
	              .truncate = -1,
	              .timeout_ms = 5000};
	for (int i = 2; i < argc; i += 2) {
		if (strcmp(argv[i], "--hello") == 0) {
			r.hello = true;
			i--;
			continue;
		}
		if (i + 1 >= argc || !raw_option(&r, argv[i], argv[i + 1]))
			raw_usage();
	}
	if (r.have_bytes + (r.method != NULL) != 1)
		raw_die("message", "give exactly one of --hex, --file, --garbage, --method");
	return r;
}

/* raw_message returns the bytes to send: given, garbage, or a Request. */
static raw_buf raw_message(const raw_opts *r)
{
	raw_buf b = {NULL, 0};
	if (r->hex != NULL) {
		b = raw_from_hex(r->hex);
	} else if (r->file != NULL) {
		b = raw_from_file(r->file);
	} else if (r->method == NULL) {
		b = raw_garbage(r->garbage, r->seed);
	} else {
		raw_buf body =
		    r->body_file ? raw_from_file(r->body_file) : raw_from_hex(r->body_hex);
		Whatsnext__V1__Request req = WHATSNEXT__V1__REQUEST__INIT;
		req.id = r->id ? r->id : wn_random_u64() | 1;
		req.method = (char *)r->method;
		req.body.data = body.data;
		req.body.len = body.len;
		req.token = (char *)r->token;
		b.data = wn_message_pack(&req.base, &b.len);
		free(body.data);
	}
	if (r->truncate >= 0 && (size_t)r->truncate < b.len)
		b.len = (size_t)r->truncate;
	return b;
}

int main(int argc, char **argv)
{
	raw_opts r = raw_parse(argc, argv);
	raw_buf b = raw_message(&r);
	const char *url = r.url;

	nng_socket sock;
	int rv = nng_req0_open(&sock);
	if (rv != 0)
		raw_die("socket", nng_strerror(rv));
	/* Resend only when a connection drops, never because a reply is slow. */
	nng_socket_set_ms(sock, NNG_OPT_REQ_RESENDTIME, 10 * 60 * 1000);
	nng_socket_set_ms(sock, NNG_OPT_RECONNMINT, 200);
	nng_socket_set_ms(sock, NNG_OPT_RECONNMAXT, 1000);
	nng_socket_set_size(sock, NNG_OPT_RECVMAXSZ, 0);
	rv = nng_dial(sock, url, NULL, 0);
	if (rv != 0) {
		printf("no reply: cannot connect to %s: %s\n", url, nng_strerror(rv));
		return 3;
	}
	int status = 0;
	if (r.hello) {
		Whatsnext__V1__Request req = WHATSNEXT__V1__REQUEST__INIT;
		req.id = wn_random_u64() | 1;
		req.method = "/whatsnext.v1.ProjectService/List";
		req.token = (char *)r.token;
		raw_buf h = {NULL, 0};
		h.data = wn_message_pack(&req.base, &h.len);
		if (raw_send(sock, &h, r.timeout_ms, true) != 0)
			status = 3;
		free(h.data);
	}
	for (uint64_t k = 0; k < r.repeat && status == 0; k++)
		if (raw_send(sock, &b, r.timeout_ms, false) != 0)
			status = 3;
	free(b.data);
	/* No nng_close: with a large request still unsent to a peer that stopped
	 * reading, closing waits for the connection to drain, possibly forever.
	 * The process ends here anyway. */
	fflush(stdout);
	_exit(status);
}
