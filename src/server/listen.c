#include "listen.h"

#include "err.h"
#include "util.h"
#include "wire.h"

#include <errno.h>
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

static int listen_tcp(wn_listener *ls, const char *url, const wn_wire_url *u, char **errmsg)
{
	/* no host, or "*": every address */
	const char *h = strcmp(u->host, "*") == 0 || u->host[0] == '\0' ? NULL : u->host;
	struct addrinfo hints = {.ai_family = u->family,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	int g = getaddrinfo(h, u->port, &hints, &res);
	if (g != 0) {
		*errmsg = wn_xasprintf("cannot listen on %s: %s", url, gai_strerror(g));
		return WN_EINVAL;
	}
	int err = 0;
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next) {
		int fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0) {
			err = errno;
			continue;
		}
		int one = 1;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, SOMAXCONN) == 0) {
			ls->fd = fd;
			freeaddrinfo(res);
			return WN_OK;
		}
		err = errno;
		close(fd);
	}
	freeaddrinfo(res);
	*errmsg = wn_xasprintf("cannot listen on %s: %s", url,
	                       err == EADDRINUSE ? "address in use" : strerror(err));
	return err == EADDRINUSE ? WN_EBUSY : WN_EINVAL;
}

static int listen_ipc(wn_listener *ls, const char *url, const char *path, char **errmsg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_Static_assert(sizeof(sa.sun_path) == WN_WIRE_PATH_MAX, "wire's ipc path length");
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*errmsg = wn_xasprintf("cannot listen on %s: %s", url, strerror(errno));
		return WN_EINVAL;
	}
	int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (rc != 0 && errno == EADDRINUSE) {
		/* a socket file: in use if something answers on it, else left over */
		int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		if (probe >= 0)
			close(probe);
		struct stat st;
		if (!live && lstat(path, &st) == 0 && !S_ISSOCK(st.st_mode)) {
			/* not a socket left over: what it is stays */
			close(fd);
			*errmsg =
			    wn_xasprintf("cannot listen on %s: %s is there and is not a socket "
			                 "(wnd replaces only a socket left over): give another "
			                 "path",
			                 url, path);
			return WN_EINVAL;
		}
		if (live || stat(path, &st) != 0 || !S_ISSOCK(st.st_mode)) {
			close(fd);
			*errmsg = wn_xasprintf("cannot listen on %s: address in use", url);
			return WN_EBUSY;
		}
		unlink(path);
		rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	}
	/* connecting takes write permission: the owner's only (created so
	 * under wnd's umask, 077) */
	if (rc != 0 || chmod(path, 0600) != 0 || listen(fd, SOMAXCONN) != 0) {
		int err = errno;
		close(fd);
		*errmsg = wn_xasprintf("cannot listen on %s: %s", url, strerror(err));
		return WN_EINVAL;
	}
	ls->fd = fd;
	ls->path = wn_xstrdup(path);
	return WN_OK;
}

int wn_listener_check(const char *url, char **errmsg)
{
	wn_listener ls;
	int rv = wn_listener_open(&ls, url, errmsg);
	if (rv == WN_OK)
		wn_listener_close(&ls);
	return rv;
}

int wn_listener_open(wn_listener *ls, const char *url, char **errmsg)
{
	memset(ls, 0, sizeof(*ls));
	ls->fd = -1;
	wn_wire_url u;
	char *why = NULL;
	int rv = wn_wire_url_parse(url, &u, &why);
	if (rv != WN_OK) {
		*errmsg = wn_xasprintf("cannot listen on %s: %s", url, why);
		free(why);
	} else if (u.ipc) {
		ls->ipc = true;
		rv = listen_ipc(ls, url, u.path, errmsg);
	} else {
		ls->tls = u.tls;
		rv = listen_tcp(ls, url, &u, errmsg);
	}
	if (rv == WN_OK)
		ls->url = wn_xstrdup(url);
	return rv;
}

/* listen_loopback says whether address a is a loopback one (127.0.0.0/8,
 * ::1, or 127.x as an IPv4-mapped IPv6 address). */
static bool listen_loopback(const struct sockaddr *a)
{
	if (a->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)a;
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (a->sa_family == AF_INET6) {
		const struct in6_addr *in6 = &((const struct sockaddr_in6 *)a)->sin6_addr;
		if (IN6_IS_ADDR_LOOPBACK(in6))
			return true;
		return IN6_IS_ADDR_V4MAPPED(in6) && in6->s6_addr[12] == 127;
	}
	return false;
}

bool wn_listener_exposed(const char *url, bool *tls)
{
	wn_wire_url u;
	char *why = NULL;
	*tls = false;
	if (wn_wire_url_parse(url, &u, &why) != WN_OK) {
		free(why);
		return false;
	}
	*tls = u.tls;
	if (u.ipc)
		return false;
	if (u.host[0] == '\0' || strcmp(u.host, "*") == 0)
		return true;
	struct addrinfo hints = {.ai_family = u.family,
	                         .ai_socktype = SOCK_STREAM,
	                         .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
	struct addrinfo *res = NULL;
	if (getaddrinfo(u.host, u.port, &hints, &res) != 0)
		return false; /* no address: listening fails and says so */
	bool exposed = false;
	for (struct addrinfo *a = res; a != NULL; a = a->ai_next)
		exposed = exposed || !listen_loopback(a->ai_addr);
	freeaddrinfo(res);
	return exposed;
}

void wn_listener_close(wn_listener *ls)
{
	close(ls->fd);
	if (ls->path != NULL)
		unlink(ls->path);
	free(ls->path);
	free(ls->url);
	memset(ls, 0, sizeof(*ls));
	ls->fd = -1;
}
