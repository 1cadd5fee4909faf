/* listen: which listen addresses other machines could reach (the secure
 * default of wnd refuses those without TLS or tokens). Nothing is bound. */
#include "listen.h"
#include "test.h"

/* exposed says whether url is exposed; *tls gets whether it is TLS. */
static bool exposed(const char *url, bool *tls)
{
	bool t = false;
	bool e = wn_listener_exposed(url, &t);
	if (tls != NULL)
		*tls = t;
	return e;
}

TEST(loopback_is_not_exposed)
{
	bool tls = true;
	CHECK(!exposed("tcp://127.0.0.1:7640", &tls));
	CHECK(!tls);
	CHECK(!exposed("tcp://127.3.2.1:1", NULL));
	CHECK(!exposed("tcp4://127.0.0.1:1", NULL));
	CHECK(!exposed("tcp://[::1]:1", NULL));
	CHECK(!exposed("tcp6://[::1]:1", NULL));
	CHECK(!exposed("tcp://[::ffff:127.0.0.1]:1", NULL));
	CHECK(!exposed("tcp://localhost:1", NULL));
	CHECK(!exposed("tls+tcp://127.0.0.1:1", &tls));
	CHECK(tls);
}

TEST(ipc_is_not_exposed)
{
	CHECK(!exposed("ipc:///tmp/wnd.sock", NULL));
}

TEST(every_address_is_exposed)
{
	bool tls = true;
	CHECK(exposed("tcp://0.0.0.0:7640", &tls));
	CHECK(!tls);
	CHECK(exposed("tcp://*:7640", NULL));
	CHECK(exposed("tcp://:7640", NULL));
	CHECK(exposed("tcp://[::]:7640", NULL));
	CHECK(exposed("tcp6://[::]:7640", NULL));
	CHECK(exposed("tls+tcp://0.0.0.0:7640", &tls));
	CHECK(tls);
}

TEST(network_addresses_are_exposed)
{
	CHECK(exposed("tcp://10.1.2.3:7640", NULL));
	CHECK(exposed("tcp://192.168.0.10:7640", NULL));
	CHECK(exposed("tcp://128.0.0.1:7640", NULL)); /* next to 127/8, not in it */
	CHECK(exposed("tcp://126.255.255.255:7640", NULL));
	CHECK(exposed("tcp://[2001:db8::1]:7640", NULL));
	CHECK(exposed("tcp://[::2]:7640", NULL));
	CHECK(exposed("tcp://[::ffff:10.0.0.1]:7640", NULL));
}

TEST(addresses_that_cannot_be_listened_on_are_left_to_listen)
{
	/* listen refuses them with its own message */
	CHECK(!exposed("ws://0.0.0.0:1", NULL));
	CHECK(!exposed("tcp://no.such.host.invalid:1", NULL));
	CHECK(!exposed("tcp://0.0.0.0", NULL));
}

TEST_MAIN()
