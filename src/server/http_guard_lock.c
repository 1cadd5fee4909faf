/* http_guard_lock: nng's HTTP server behind the guard listens on a
 * loopback port that every user of the machine could connect to, past the
 * guard's checks (a few thousand requests with a percent-escape in the path
 * sent there crashed wnd); a socket filter on that listening socket lets in
 * only the guard's own connections (http_guard.h). */
#include "http_guard.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "util.h"

int wn_http_guard_upstream_fd(uint16_t port)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return -1;
	int found = -1, dfd = dirfd(d);
	struct dirent *e;
	while (found < 0 && (e = readdir(d)) != NULL) {
		char *end;
		long fd = strtol(e->d_name, &end, 10);
		if (*end != '\0' || end == e->d_name || fd == dfd || fd < 0 || fd > INT32_MAX)
			continue;
		int listening = 0;
		socklen_t ol = sizeof(listening);
		struct sockaddr_in sa;
		socklen_t sl = sizeof(sa);
		if (getsockopt((int)fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) != 0 ||
		    !listening || getsockname((int)fd, (struct sockaddr *)&sa, &sl) != 0 ||
		    sa.sin_family != AF_INET || ntohs(sa.sin_port) != port ||
		    sa.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
			continue;
		found = (int)fd;
	}
	closedir(d);
	return found;
}

int wn_http_guard_admit(int fd, const uint16_t *ports, size_t n)
{
	/* a socket filter of a TCP socket sees the TCP header at 0, the IP
	 * header at SKF_NET_OFF; one of a listening socket sees the SYNs */
	size_t max = 5 + 2 * n, k = 0;
	struct sock_filter *f = wn_xcalloc(max, sizeof(*f));
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)SKF_NET_OFF + 12);
	f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, INADDR_LOOPBACK, 1, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_H | BPF_ABS, 0); /* source port */
	for (size_t i = 0; i < n; i++) {
		f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ports[i], 0, 1);
		f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0xffffffffu);
	}
	f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, 0);
	struct sock_fprog prog = {.len = (unsigned short)k, .filter = f};
	int rv = setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog));
	free(f);
	return rv;
}
