/* server: the wnd process of a run. */
#include "server.h"

#include "err.h"
#include "methods.h"
#include "util.h"
#include "whatsnext.pb-c.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model.h"

/* run_capture runs argv, returns its exit status (-1: could not run) and
 * its output (stdout and stderr, at most cap bytes) in out. */
static int run_capture(char *const *argv, char *out, size_t cap)
{
	int fd[2];
	if (pipe(fd) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0) {
		close(fd[0]);
		close(fd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(fd[1], 1);
		dup2(fd[1], 2);
		close(fd[0]);
		close(fd[1]);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fd[1]);
	size_t n = 0;
	ssize_t k;
	char sink[4096];
	while ((k = read(fd[0], n + 1 < cap ? out + n : sink,
	                 n + 1 < cap ? cap - 1 - n : sizeof(sink))) > 0)
		if (n + 1 < cap)
			n += (size_t)k;
	out[n] = '\0';
	close(fd[0]);
	int st = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int server_init(server *s, const char *wnd, const char *dir, char **err)
{
	memset(s, 0, sizeof(*s));
	if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
		*err = wn_xasprintf("cannot create %s: %s", dir, strerror(errno));
		return -1;
	}
	s->wnd = wn_xstrdup(wnd);
	s->dir = wn_xstrdup(dir);
	s->data = wn_xasprintf("%s/data", dir);
	s->url = wn_xasprintf("ipc://%s/wnd.sock", dir);
	s->clock = wn_xasprintf("%s/clock", dir);
	s->log = wn_xasprintf("%s/wnd.log", dir);
	char *argv[] = {s->wnd, "--help", NULL};
	static char help[16384];
	if (run_capture(argv, help, sizeof(help)) != 0) {
		*err = wn_xasprintf("cannot run %s --help", wnd);
		return -1;
	}
	s->test_clock = strstr(help, "--test-clock") != NULL;
	s->check = strstr(help, "--check") != NULL;
	s->tokens = strstr(help, "--admin-token-file") != NULL;
	s->has_http = strstr(help, "--http ") != NULL;
	s->admin = wn_xasprintf("%s/admin.token", dir);
	int fd = open(s->admin, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, SERVER_ADMIN_SECRET "\n", sizeof(SERVER_ADMIN_SECRET)) !=
	                  (ssize_t)sizeof(SERVER_ADMIN_SECRET)) {
		*err = wn_xasprintf("cannot write %s: %s", s->admin, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

void server_release(server *s)
{
	if (s->pid > 0) {
		kill(s->pid, SIGKILL);
		waitpid(s->pid, NULL, 0);
		s->pid = 0;
	}
	wn_rpc_close(s->rpc);
	free(s->wnd);
	free(s->dir);
	free(s->data);
	free(s->url);
	free(s->clock);
	free(s->log);
	free(s->http);
	free(s->admin);
	free(s->faults);
	memset(s, 0, sizeof(*s));
}

void server_clock(server *s, int64_t offset)
{
	if (!s->test_clock)
		return;
	char tmp[4200], buf[64];
	snprintf(tmp, sizeof(tmp), "%s.tmp", s->clock);
	int n =
	    snprintf(buf, sizeof(buf), "%lld %lld\n", (long long)offset, (long long)s->wall_off);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return;
	if (write(fd, buf, (size_t)n) != n) {
		close(fd);
		return;
	}
	close(fd);
	rename(tmp, s->clock);
}

/* log_tail returns the last lines of the server's log (static). */
static const char *log_tail(const server *s)
{
	static char buf[2048];
	buf[0] = '\0';
	FILE *f = fopen(s->log, "r");
	if (f == NULL)
		return buf;
	fseek(f, 0, SEEK_END);
	long end = ftell(f);
	fseek(f, end > (long)sizeof(buf) - 1 ? end - (long)sizeof(buf) + 1 : 0, SEEK_SET);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static char lease_arg[32], worker_arg[32], retention_arg[32], http_arg[32];

/* free_port returns a loopback TCP port free right now (0: none found). */
static unsigned free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	unsigned port = 0;
	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* server_wait_ready waits until the wnd just started (pid) answers. */
static int server_wait_ready(server *s, pid_t pid, char **err)
{
	for (int i = 0; i < 400; i++) {
		int st = 0;
		if (waitpid(pid, &st, WNOHANG) == pid) {
			s->pid = 0;
			*err =
			    wn_xasprintf("wnd exited during start (status %d); its log ends:\n%s",
			                 WIFEXITED(st) ? WEXITSTATUS(st) : -1, log_tail(s));
			return -1;
		}
		char *msg = NULL;
		if (s->rpc == NULL && wn_rpc_open(s->url, s->tokens ? SERVER_ADMIN_SECRET : NULL,
		                                  WN_RPC_DIRECT, &s->rpc, &msg) != 0) {
			free(msg);
			sleep_ms(25);
			continue;
		}
		free(msg);
		msg = NULL;
		wn_rpc_set_timeout(s->rpc, 2000);
		Whatsnext__V1__ListProjectsRequest rq = WHATSNEXT__V1__LIST_PROJECTS_REQUEST__INIT;
		ProtobufCMessage *out = NULL;
		int code = wn_rpc_call(s->rpc, WN_PATH_PROJECT_LIST, &rq.base,
		                       &whatsnext__v1__list_projects_response__descriptor, &out,
		                       &msg, 0, 0);
		free(msg);
		if (out != NULL)
			protobuf_c_message_free_unpacked(out, NULL);
		if (code == 0) {
			wn_rpc_set_timeout(s->rpc, 60000);
			return 0;
		}
		wn_rpc_close(s->rpc);
		s->rpc = NULL;
		sleep_ms(25);
	}
	*err = wn_xasprintf("wnd did not answer at %s within 10 s", s->url);
	return -1;
}

static int server_start_once(server *s, int64_t offset, char **err)
{
	snprintf(lease_arg, sizeof(lease_arg), "%lld", (long long)MODEL_LEASE_MS);
	snprintf(worker_arg, sizeof(worker_arg), "%lld", (long long)MODEL_WORKER_MS);
	snprintf(retention_arg, sizeof(retention_arg), "%lld", (long long)MODEL_RETENTION_MS);
	char *argv[] = {s->wnd,        "--data",
	                s->data,       "--listen",
	                s->url,        "--lease-ms",
	                lease_arg,     "--worker-timeout-ms",
	                worker_arg,    "--retention-ms",
	                retention_arg, "--log-level",
	                "warn",        "--test-clock",
	                s->clock,      NULL,
	                NULL,          NULL,
	                NULL,          NULL};
	int argc = s->test_clock ? 15 : 13;
	argv[argc] = NULL;
	if (s->tokens) {
		argv[argc++] = "--admin-token-file";
		argv[argc++] = s->admin;
		argv[argc] = NULL;
	}
	free(s->http);
	s->http = NULL;
	unsigned port = s->has_http ? free_port() : 0;
	if (port != 0) {
		snprintf(http_arg, sizeof(http_arg), "127.0.0.1:%u", port);
		argv[argc++] = "--http";
		argv[argc++] = http_arg;
		argv[argc] = NULL;
		s->http = wn_xasprintf("http://%s", http_arg);
	}
	server_clock(s, offset);
	pid_t pid = fork();
	if (pid < 0) {
		*err = wn_xasprintf("cannot fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		/* wnd goes with wnmodel, however wnmodel ends */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		int fd = open(s->log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		/* faults only where the run puts them */
		if (s->faults != NULL)
			setenv("WN_STORE_FAULTS", s->faults, 1);
		else
			unsetenv("WN_STORE_FAULTS");
		execv(argv[0], argv);
		_exit(127);
	}
	s->pid = pid;
	return server_wait_ready(s, pid, err);
}

int server_start(server *s, int64_t offset, char **err)
{
	/* the HTTP port, free when it was picked, may be taken by another
	 * process before wnd binds it: wnd then starts again on another */
	for (int i = 0;; i++) {
		int rv = server_start_once(s, offset, err);
		if (rv == 0 || i == 2 || s->http == NULL || strstr(*err, "address in use") == NULL)
			return rv;
		free(*err);
		*err = NULL;
	}
}

int server_stop(server *s, bool kill9, char **err)
{
	wn_rpc_close(s->rpc);
	s->rpc = NULL;
	if (s->pid <= 0)
		return 0;
	kill(s->pid, kill9 ? SIGKILL : SIGTERM);
	int st = 0;
	for (int i = 0; i < 3000; i++) {
		pid_t r = waitpid(s->pid, &st, WNOHANG);
		if (r == s->pid)
			break;
		if (i == 2999) {
			kill(s->pid, SIGKILL);
			waitpid(s->pid, &st, 0);
			s->pid = 0;
			*err = wn_xasprintf("wnd did not stop within 30 s of SIGTERM");
			return -1;
		}
		sleep_ms(10);
	}
	s->pid = 0;
	if (!kill9 && !(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
		*err =
		    wn_xasprintf("wnd ended with status %d after SIGTERM; its log ends:\n%s",
		                 WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st), log_tail(s));
		return -1;
	}
	return 0;
}

int server_check(server *s, char **err)
{
	if (!s->check)
		return 0;
	char *argv[] = {s->wnd, "--check", "--data", s->data, NULL};
	static char out[16384];
	int st = run_capture(argv, out, sizeof(out));
	if (st != 0) {
		*err = wn_xasprintf("wnd --check --data %s exited with status %d:\n%s", s->data, st,
		                    out);
		return -1;
	}
	return 0;
}
