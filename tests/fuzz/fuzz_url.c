/* libFuzzer target: server addresses as wnd's --listen and config and the
 * direct client read them (wn_wire_url_parse). The input is the address.
 * Nothing may crash; a refused address has a reason; an accepted one has
 * its parts within bounds, and the address written back from its parts
 * parses to the same. Run: build/fuzz/fuzz_url -max_total_time=60 */
#include "wire.h"

#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* url_again writes u back as an address into out (size n). */
static void url_again(const wn_wire_url *u, char *out, size_t n)
{
	if (u->ipc) {
		snprintf(out, n, "ipc://%s", u->path);
		return;
	}
	const char *scheme = u->family == AF_INET    ? "tcp4://"
	                     : u->family == AF_INET6 ? "tcp6://"
	                                             : "tcp://";
	/* brackets where the last colon would not be the port's */
	bool brackets = u->host[0] == '[' || strchr(u->port, ':') != NULL;
	snprintf(out, n, brackets ? "%s%s[%s]:%s" : "%s%s%s:%s", u->tls ? "tls+" : "", scheme,
	         u->host, u->port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *url = malloc(size + 1);
	memcpy(url, data, size);
	url[size] = '\0';
	wn_wire_url u;
	char *why = NULL;
	int rv = wn_wire_url_parse(url, &u, &why);
	if (rv != WN_OK) {
		if (rv != WN_EINVAL || why == NULL || why[0] == '\0')
			abort();
		free(why);
		free(url);
		return 0;
	}
	if (why != NULL)
		abort(); /* set on failure only */
	if (u.ipc) {
		if (u.path[0] == '\0' || strcmp(u.path, url + 6) != 0)
			abort();
	} else {
		if (u.port[0] == '\0' || strlen(u.host) >= sizeof(u.host) ||
		    strlen(u.port) >= sizeof(u.port) || strchr(url, ':') == NULL)
			abort();
		if (u.tls != (strncmp(url, "tls+", 4) == 0))
			abort();
		if (u.family != AF_UNSPEC && u.family != AF_INET && u.family != AF_INET6)
			abort();
	}
	char again[2 * WN_WIRE_HOST_MAX];
	url_again(&u, again, sizeof(again));
	wn_wire_url v;
	if (wn_wire_url_parse(again, &v, &why) != WN_OK || memcmp(&u, &v, sizeof(u)) != 0)
		abort();
	free(url);
	return 0;
}
