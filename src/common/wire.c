#include "wire.h"

#include "err.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

void wn_wire_handshake(uint8_t out[WN_SP_HANDSHAKE_LEN], uint16_t proto)
{
	out[0] = 0;
	out[1] = 'S';
	out[2] = 'P';
	out[3] = WN_SP_VERSION;
	out[4] = (uint8_t)(proto >> 8);
	out[5] = (uint8_t)proto;
	out[6] = 0;
	out[7] = 0;
}

bool wn_wire_handshake_parse(const uint8_t in[WN_SP_HANDSHAKE_LEN], uint16_t *proto)
{
	if (in[0] != 0 || in[1] != 'S' || in[2] != 'P' || in[3] != WN_SP_VERSION || in[6] != 0 ||
	    in[7] != 0)
		return false;
	*proto = (uint16_t)(in[4] << 8 | in[5]);
	return true;
}

void wn_wire_put32(uint8_t *p, uint32_t v)
{
	for (int i = 3; i >= 0; i--, v >>= 8)
		p[i] = (uint8_t)v;
}

uint32_t wn_wire_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t get_be64(const uint8_t *p)
{
	return (uint64_t)wn_wire_get32(p) << 32 | wn_wire_get32(p + 4);
}

int wn_wire_frame_next(const uint8_t *buf, size_t len, bool ipc, size_t max, wn_wire_frame *f,
                       size_t *need)
{
	size_t pre = ipc ? 9 : 8;
	*need = 0;
	if (len < pre)
		return 0;
	if (ipc && buf[0] != 1)
		return WN_EPROTO;
	uint64_t mlen = get_be64(buf + pre - 8);
	if (mlen > max) {
		f->len = mlen > SIZE_MAX ? SIZE_MAX : (size_t)mlen;
		return WN_ETOOBIG;
	}
	if (len - pre < mlen) {
		*need = pre + (size_t)mlen;
		return 0;
	}
	f->size = pre + (size_t)mlen;
	f->data = buf + pre;
	f->len = (size_t)mlen;
	return 1;
}

size_t wn_wire_frame_prefix(uint8_t out[WN_SP_PREFIX_MAX], bool ipc, uint64_t len)
{
	size_t i = 0;
	if (ipc)
		out[i++] = 1;
	for (int s = 56; s >= 0; s -= 8)
		out[i++] = (uint8_t)(len >> s);
	return i;
}

size_t wn_wire_split_header(const uint8_t *msg, size_t len)
{
	for (size_t off = 0; off + 4 <= len && off + 4 <= WN_SP_HEADER_MAX; off += 4) {
		if (msg[off] & 0x80)
			return off + 4;
	}
	return 0;
}

/* ------------------------------------------------------------ addresses */

/* url_copy copies len bytes of s into out (size n) as a string; false when
 * they do not fit. */
static bool url_copy(char *out, size_t n, const char *s, size_t len)
{
	if (len >= n)
		return false;
	memcpy(out, s, len);
	out[len] = '\0';
	return true;
}

/* url_tcp parses HOST:PORT (rest) of a tcp address into u. */
static int url_tcp(const char *rest, wn_wire_url *u, char **errmsg)
{
	const char *host = rest, *end, *colon;
	if (strchr(rest, '/') != NULL) { /* tcp://h:7640/, as a web address is written */
		*errmsg = wn_xstrdup("a server address has no path: tcp://HOST:PORT, without '/'");
		return WN_EINVAL;
	}
	if (host[0] == '[') {
		host++;
		end = strchr(host, ']');
		if (end == NULL) {
			*errmsg =
			    wn_xstrdup("an IPv6 host needs its closing bracket ([HOST]:PORT)");
			return WN_EINVAL;
		}
		colon = end[1] == ':' ? end + 1 : NULL;
	} else {
		colon = strrchr(host, ':');
		end = colon;
	}
	if (colon == NULL || colon[1] == '\0') {
		*errmsg = wn_xstrdup("the address needs a port (tcp://HOST:PORT)");
		return WN_EINVAL;
	}
	if (!url_copy(u->host, sizeof(u->host), host, (size_t)(end - host))) {
		*errmsg = wn_xstrdup("host name too long");
		return WN_EINVAL;
	}
	/* the resolver would take 99999 as 34463, another port, and a name
	 * (http) as a service's: a port is written in digits, 0 to 65535 */
	size_t digits = strspn(colon + 1, "0123456789");
	if (colon[1 + digits] != '\0' || digits > 5 || strtoul(colon + 1, NULL, 10) > 65535 ||
	    !url_copy(u->port, sizeof(u->port), colon + 1, digits)) {
		*errmsg = wn_xstrdup("the port must be a number from 0 to 65535");
		return WN_EINVAL;
	}
	return WN_OK;
}

int wn_wire_url_parse(const char *url, wn_wire_url *u, char **errmsg)
{
	static const struct {
		const char *scheme;
		int family;
	} tcp[] = {{"tcp://", AF_UNSPEC}, {"tcp4://", AF_INET}, {"tcp6://", AF_INET6}};
	const char *tls = "tls+";
	memset(u, 0, sizeof(*u));
	if (strncmp(url, "ipc://", 6) == 0) {
		const char *path = url + 6;
		u->ipc = true;
		if (path[0] == '\0' || !url_copy(u->path, sizeof(u->path), path, strlen(path))) {
			*errmsg =
			    wn_xasprintf("the path must have 1 to %zu bytes", sizeof(u->path) - 1);
			return WN_EINVAL;
		}
		return WN_OK;
	}
	if (strncmp(url, tls, strlen(tls)) == 0) {
		u->tls = true;
		url += strlen(tls);
	}
	for (size_t i = 0; i < sizeof(tcp) / sizeof(tcp[0]); i++) {
		size_t k = strlen(tcp[i].scheme);
		if (strncmp(url, tcp[i].scheme, k) == 0) {
			u->family = tcp[i].family;
			return url_tcp(url + k, u, errmsg);
		}
	}
	*errmsg = wn_xstrdup(
	    "unsupported address (use tcp://HOST:PORT, tls+tcp://HOST:PORT or ipc://PATH)");
	return WN_EINVAL;
}
