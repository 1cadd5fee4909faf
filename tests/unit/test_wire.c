/* wire: the SP handshake, framing and routing header, and server address
 * parsing, on bytes and strings. */
#include "test.h"
#include "wire.h"

#include <sys/socket.h>

/* parse_ok parses url, which must be accepted. */
static wn_wire_url parse_ok(const char *url)
{
	wn_wire_url u;
	char *why = NULL;
	int rv = wn_wire_url_parse(url, &u, &why);
	if (rv != WN_OK)
		wn_test_fail(__FILE__, __LINE__, "%s refused: %s", url, why);
	CHECK_EQ_INT(rv, WN_OK);
	CHECK(why == NULL);
	return u;
}

/* parse_bad parses url, which must be refused with a reason naming want. */
static void parse_bad(const char *url, const char *want)
{
	wn_wire_url u;
	char *why = NULL;
	CHECK_EQ_INT(wn_wire_url_parse(url, &u, &why), WN_EINVAL);
	CHECK(why != NULL);
	bool found = strstr(why, want) != NULL;
	if (!found)
		wn_test_fail(__FILE__, __LINE__, "%s: reason \"%s\" lacks \"%s\"", url, why, want);
	free(why);
	CHECK(found);
}

TEST(url_tcp_forms)
{
	wn_wire_url u = parse_ok("tcp://127.0.0.1:7640");
	CHECK(!u.ipc);
	CHECK_EQ_INT(u.family, AF_UNSPEC);
	CHECK_EQ_STR(u.host, "127.0.0.1");
	CHECK_EQ_STR(u.port, "7640");
	u = parse_ok("tcp4://localhost:1");
	CHECK_EQ_INT(u.family, AF_INET);
	CHECK_EQ_STR(u.host, "localhost");
	u = parse_ok("tcp6://[::1]:80");
	CHECK_EQ_INT(u.family, AF_INET6);
	CHECK_EQ_STR(u.host, "::1");
	CHECK_EQ_STR(u.port, "80");
	u = parse_ok("tcp://::1:80"); /* without brackets the last colon starts the port */
	CHECK_EQ_STR(u.host, "::1");
	CHECK_EQ_STR(u.port, "80");
	u = parse_ok("tcp://*:80"); /* any address: the server's to read */
	CHECK_EQ_STR(u.host, "*");
	u = parse_ok("tcp://:80");
	CHECK_EQ_STR(u.host, "");
}

TEST(url_ipc)
{
	wn_wire_url u = parse_ok("ipc:///tmp/wn.sock");
	CHECK(u.ipc);
	CHECK_EQ_STR(u.path, "/tmp/wn.sock");
	char url[200] = "ipc://";
	memset(url + 6, 'a', WN_WIRE_PATH_MAX - 1);
	url[6 + WN_WIRE_PATH_MAX - 1] = '\0';
	u = parse_ok(url);
	CHECK_EQ_INT((long long)strlen(u.path), WN_WIRE_PATH_MAX - 1);
	strcat(url, "a");
	parse_bad(url, "the path must have 1 to 107 bytes");
	parse_bad("ipc://", "the path must have 1 to 107 bytes");
}

TEST(url_tls_forms)
{
	wn_wire_url u = parse_ok("tls+tcp://127.0.0.1:7640");
	CHECK(u.tls && !u.ipc);
	CHECK_EQ_INT(u.family, AF_UNSPEC);
	CHECK_EQ_STR(u.host, "127.0.0.1");
	CHECK_EQ_STR(u.port, "7640");
	u = parse_ok("tls+tcp6://[::1]:1");
	CHECK(u.tls);
	CHECK_EQ_INT(u.family, AF_INET6);
	CHECK_EQ_STR(u.host, "::1");
	u = parse_ok("tls+tcp4://localhost:2");
	CHECK(u.tls);
	CHECK_EQ_INT(u.family, AF_INET);
	CHECK(!parse_ok("tcp://h:1").tls);
	parse_bad("tls+ipc:///tmp/x", "unsupported address");
	parse_bad("tls+tcp://h", "needs a port");
	parse_bad("tls+", "unsupported address");
}

TEST(url_port_is_digits_up_to_65535)
{
	CHECK_EQ_STR(parse_ok("tcp://h:65535").port, "65535");
	CHECK_EQ_STR(parse_ok("tcp://h:0").port, "0");
	parse_bad("tcp://h:65536", "the port must be a number from 0 to 65535");
	parse_bad("tcp://h:99999", "the port must be a number from 0 to 65535");
	parse_bad("tcp://h:http", "the port must be a number from 0 to 65535");
	parse_bad("tcp://h:7640/x", "a server address has no path: tcp://HOST:PORT, without '/'");
	parse_bad("tcp://h:7640/", "a server address has no path");
	parse_bad("tls+tcp://h/x:7640", "a server address has no path");
	parse_bad("tcp://[::1]:-1", "the port must be a number from 0 to 65535");
	parse_bad("tcp://h:0000000000007640", "the port must be a number from 0 to 65535");
}

TEST(url_refused)
{
	parse_bad("udp://127.0.0.1:1", "unsupported address");
	parse_bad("", "unsupported address");
	parse_bad("TCP://127.0.0.1:1", "unsupported address");
	parse_bad("tcp://127.0.0.1", "needs a port");
	parse_bad("tcp://127.0.0.1:", "needs a port");
	parse_bad("tcp://[::1]", "needs a port");
	parse_bad("tcp://[::1]80", "needs a port");
	parse_bad("tcp6://[::1:80", "closing bracket");
	char url[400] = "tcp://";
	memset(url + 6, 'h', 300);
	strcpy(url + 306, ":80");
	parse_bad(url, "host name too long");
	parse_bad("tcp://h:0123456789012345678901234567890123456789",
	          "the port must be a number from 0 to 65535");
}

TEST(handshake)
{
	uint8_t hs[WN_SP_HANDSHAKE_LEN];
	wn_wire_handshake(hs, WN_SP_REQ0);
	static const uint8_t want[] = {0, 'S', 'P', 0, 0, 48, 0, 0};
	CHECK(memcmp(hs, want, sizeof(want)) == 0);
	uint16_t proto = 0;
	CHECK(wn_wire_handshake_parse(hs, &proto));
	CHECK_EQ_INT(proto, WN_SP_REQ0);
	hs[3] = 1; /* another version */
	CHECK(!wn_wire_handshake_parse(hs, &proto));
	hs[3] = 0;
	hs[7] = 1; /* reserved bytes are zero */
	CHECK(!wn_wire_handshake_parse(hs, &proto));
	static const uint8_t http[] = "GET / HT";
	CHECK(!wn_wire_handshake_parse(http, &proto));
}

TEST(frames_tcp_and_ipc)
{
	for (int ipc = 0; ipc <= 1; ipc++) {
		uint8_t buf[64];
		size_t pre = wn_wire_frame_prefix(buf, ipc, 5);
		CHECK_EQ_INT(pre, ipc ? 9 : 8);
		memcpy(buf + pre, "\x80\0\0\x07x", 5);
		wn_wire_frame f;
		size_t need = 99;
		for (size_t len = 0; len < pre; len++) {
			CHECK_EQ_INT(wn_wire_frame_next(buf, len, ipc, 100, &f, &need), 0);
			CHECK_EQ_INT(need, 0); /* the length is not known yet */
		}
		CHECK_EQ_INT(wn_wire_frame_next(buf, pre + 4, ipc, 100, &f, &need), 0);
		CHECK_EQ_INT(need, pre + 5);
		CHECK_EQ_INT(wn_wire_frame_next(buf, pre + 5, ipc, 100, &f, &need), 1);
		CHECK_EQ_INT(f.size, pre + 5);
		CHECK_EQ_INT(f.len, 5);
		CHECK(f.data == buf + pre);
		CHECK_EQ_INT(wn_wire_split_header(f.data, f.len), 4);
		CHECK_EQ_INT(wn_wire_get32(f.data), WN_SP_LAST_HOP | 7);
		CHECK_EQ_INT(wn_wire_frame_next(buf, pre + 5, ipc, 4, &f, &need), WN_ETOOBIG);
		CHECK_EQ_INT(f.len, 5);
	}
	uint8_t bad[9] = {2, 0, 0, 0, 0, 0, 0, 0, 1};
	wn_wire_frame f;
	size_t need = 0;
	CHECK_EQ_INT(wn_wire_frame_next(bad, sizeof(bad), true, 100, &f, &need), WN_EPROTO);
}

TEST(routing_header)
{
	uint8_t msg[40] = {0};
	wn_wire_put32(msg, 3);                  /* a hop */
	wn_wire_put32(msg + 4, WN_SP_LAST_HOP); /* the request id */
	CHECK_EQ_INT(wn_wire_split_header(msg, sizeof(msg)), 8);
	CHECK_EQ_INT(wn_wire_split_header(msg, 7), 0); /* cut short */
	memset(msg, 0, sizeof(msg));
	CHECK_EQ_INT(wn_wire_split_header(msg, sizeof(msg)), 0); /* no last hop in 32 bytes */
	msg[32] = 0x80;
	CHECK_EQ_INT(wn_wire_split_header(msg, sizeof(msg)), 0);
	msg[28] = 0x80;
	CHECK_EQ_INT(wn_wire_split_header(msg, sizeof(msg)), 32);
}

TEST_MAIN()
