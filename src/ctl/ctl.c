#include "ctl.h"

#include "envelope.h"
#include "err.h"
#include "json.h"
#include "kit.h"
#include "rpc.h"
#include "termsafe.h"
#include "util.h"
#include "wire.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct wn_ctl {
	const char *server;
	const char *token;
	bool token_env;             /* token is $WN_TOKEN's, checked when it is sent */
	const char *token_file_env; /* $WN_TOKEN_FILE, read when no other token is given */
	const char *server_from;    /* " (from $WN_SERVER)" when the address is $WN_SERVER, or "" */
	wn_rpc_tls tls;             /* --tls-*: tls+tcp:// settings (NULL: $WN_TLS_*) */
	bool json;
	bool yes;       /* --yes: a command's confirmation is not asked */
	int timeout_ms; /* 0: the client's default */
	wn_rpc *rpc;
	bool lost;    /* a call got no answer: the next client waits for the server */
	bool reached; /* a connection to the server was made once */

	const struct wn_ctl_noun *noun;
	const struct wn_ctl_verb *verb;
	int argc; /* the command's arguments, argv[0] its name */
	char **argv;
	/* Option parsing: the arguments reordered as options, "--", positionals. */
	bool parsing;
	int pargc;
	char **pargv;
	int npos;
	char **pos;
	struct option *longopts;
	struct ctl_given { /* the values given to options of one number (wn_ctl_once_opt) */
		const char *opt, *value;
	} * given;
	size_t ngiven;

	void **blocks; /* context-owned allocations */
	size_t nblocks, capblocks;
	ProtobufCMessage **msgs; /* context-owned replies */
	size_t nmsgs, capmsgs;
	struct ctl_deferred {
		void (*fn)(void *);
		void *p;
	} * deferred; /* calls to make when the context is freed */
	size_t ndeferred;
	const char *call_error; /* message of the last call wn_ctl_call_try let fail */
};

/* Global options, also accepted after the verb unless the verb has an option
 * of the same name (task create --timeout is the task's timeout). */
static const struct option ctl_global_opts[] = {
    {"server", required_argument, NULL, WN_CTL_OPT_SERVER},
    {"token", required_argument, NULL, WN_CTL_OPT_TOKEN},
    {"token-file", required_argument, NULL, WN_CTL_OPT_TOKEN_FILE},
    {"json", no_argument, NULL, WN_CTL_OPT_JSON},
    {"timeout", required_argument, NULL, WN_CTL_OPT_TIMEOUT},
    {"tls-ca", required_argument, NULL, WN_CTL_OPT_TLS_CA},
    {"tls-cert", required_argument, NULL, WN_CTL_OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, WN_CTL_OPT_TLS_KEY},
    {"tls-server-name", required_argument, NULL, WN_CTL_OPT_TLS_SERVER_NAME},
    {"help", no_argument, NULL, WN_CTL_OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* ---------------------------------------------------------------- context */

wn_ctl *wn_ctl_new(void)
{
	wn_ctl *c = wn_xcalloc(1, sizeof(*c));
	const char *s = getenv("WN_SERVER");
	c->server = s != NULL && s[0] != '\0' ? s : WN_DEFAULT_URL;
	c->server_from = s != NULL && s[0] != '\0' ? " (from $WN_SERVER)" : "";
	s = getenv("WN_TOKEN");
	c->token = s != NULL && s[0] != '\0' ? s : NULL;
	c->token_env = c->token != NULL;
	s = getenv("WN_TOKEN_FILE");
	c->token_file_env = s != NULL && s[0] != '\0' ? s : NULL;
	return c;
}

void wn_ctl_free(wn_ctl *c)
{
	if (c == NULL)
		return;
	while (c->ndeferred > 0) {
		c->ndeferred--;
		c->deferred[c->ndeferred].fn(c->deferred[c->ndeferred].p);
	}
	free(c->deferred);
	wn_rpc_close(c->rpc);
	for (size_t i = 0; i < c->nmsgs; i++)
		protobuf_c_message_free_unpacked(c->msgs[i], NULL);
	free(c->msgs);
	for (size_t i = 0; i < c->nblocks; i++)
		free(c->blocks[i]);
	free(c->blocks);
	free(c->pargv);
	free(c->pos);
	free(c->longopts);
	free(c);
}

bool wn_ctl_json(const wn_ctl *c)
{
	return c->json;
}

bool wn_ctl_has_token(const wn_ctl *c)
{
	return c->token != NULL;
}

bool wn_ctl_yes(const wn_ctl *c)
{
	return c->yes;
}

const bool *wn_ctl_json_flag(const wn_ctl *c)
{
	return &c->json;
}

/* ctl_token_arg takes the token given as --token T and wipes it from the
 * command line, which other users can read (/proc/PID/cmdline), with a
 * warning: it was there until now. */
static void ctl_token_arg(wn_ctl *c, char *arg)
{
	size_t n = strlen(arg); /* as a token file must hold */
	if (n == 0 || n > 4096 || strpbrk(arg, "\r\n") != NULL)
		wn_ctl_usage(c, "invalid --token: a token is one line of 1 to 4096 bytes");
	c->token = wn_ctl_strdup(c, arg);
	c->token_env = false;
	memset(arg, 'x', strlen(arg));
	fputs("wnctl: warning: a token given with --token can be seen by other users of this "
	      "machine (ps, /proc); use --token-file FILE or $WN_TOKEN\n",
	      stderr);
}

/* ctl_token_file reads the token from path (only its owner may read it); from names
 * where path came from in a message (" (from $WN_TOKEN_FILE)"), or is "". */
static void ctl_token_file(wn_ctl *c, const char *path, const char *from)
{
	if (strcmp(path, "-") == 0) /* a secret comes from a file only its owner reads */
		wn_ctl_die(c, WN_CTL_EXIT_USAGE,
		           "token file -%s: a token is read from a file, not from stdin: name the "
		           "file, or set $WN_TOKEN",
		           from);
	char *tok = NULL, *err = NULL;
	int rv = wn_secret_file_read(path, "token file", &tok, &err);
	if (rv != WN_OK) {
		char *msg = wn_ctl_strdup(c, err);
		free(err);
		wn_ctl_die(c, WN_CTL_EXIT_USAGE, "%s%s", msg, from);
	}
	c->token = wn_ctl_strdup(c, tok);
	c->token_env = false;
	explicit_bzero(tok, strlen(tok));
	free(tok);
}

/* ctl_token_env checks the token of $WN_TOKEN as a token file's first line is read: blanks
 * and a line break at its end left out (WN_TOKEN=$(cat FILE) of a file saved with CRLF),
 * and one line of 1 to 4096 bytes left, else exits 2. */
static void ctl_token_env(wn_ctl *c)
{
	size_t n = strlen(c->token);
	while (n > 0 && strchr(" \t\r\n", c->token[n - 1]) != NULL)
		n--;
	if (n == 0 || n > 4096 || strcspn(c->token, "\r\n") < n)
		wn_ctl_die(c, WN_CTL_EXIT_USAGE,
		           "invalid $WN_TOKEN: a token is one line of 1 to 4096 bytes");
	char *tok = wn_ctl_strdup(c, c->token);
	tok[n] = '\0';
	c->token = tok;
	c->token_env = false;
}

void wn_ctl_once_opt(wn_ctl *c, const char *opt, const char *value)
{
	if (!c->parsing)
		return; /* a global option before the command: it may be given again after */
	for (size_t i = 0; i < c->ngiven; i++)
		if (strcmp(c->given[i].opt, opt) == 0) {
			wn_ctl_once(c, opt, c->given[i].value, value);
			return;
		}
	struct ctl_given *g = wn_ctl_alloc(c, (c->ngiven + 1) * sizeof(*g));
	if (c->ngiven > 0)
		memcpy(g, c->given, c->ngiven * sizeof(*g));
	g[c->ngiven++] = (struct ctl_given){opt, value};
	c->given = g;
}

void wn_ctl_global_option(wn_ctl *c, int val, const char *arg)
{
	switch (val) {
	case WN_CTL_OPT_SERVER:
		if (arg[0] == '\0')
			wn_ctl_usage(c, "invalid --server: empty address");
		c->server = arg;
		c->server_from = "";
		break;
	case WN_CTL_OPT_TOKEN:
		ctl_token_arg(c, (char *)arg);
		break;
	case WN_CTL_OPT_TOKEN_FILE:
		ctl_token_file(c, arg, "");
		break;
	case WN_CTL_OPT_JSON:
		c->json = true;
		break;
	case WN_CTL_OPT_TIMEOUT:
		c->timeout_ms = (int)wn_ctl_parse_int(c, "--timeout", arg, 1, 24 * 3600 * 1000);
		break;
	case WN_CTL_OPT_TLS_CA:
		c->tls.ca = arg;
		break;
	case WN_CTL_OPT_TLS_CERT:
		c->tls.cert = arg;
		break;
	case WN_CTL_OPT_TLS_KEY:
		c->tls.key = arg;
		break;
	case WN_CTL_OPT_TLS_SERVER_NAME:
		c->tls.server_name = arg;
		break;
	}
}

void wn_ctl_set_command(wn_ctl *c, const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb,
                        int argc, char **argv)
{
	c->noun = noun;
	c->verb = verb;
	c->argc = argc;
	c->argv = argv;
}

/* ---------------------------------------------------------------- errors */

/* ctl_command names the running command for messages ("job add"). */
static const char *ctl_command(wn_ctl *c)
{
	if (c->noun == NULL)
		return NULL;
	if (c->verb == NULL || c->verb->name == NULL)
		return c->noun->name;
	return wn_ctl_printf(c, "%s %s", c->noun->name, c->verb->name);
}

/* ctl_vdie prints the message, with a pointer to the help of command cmd
 * when usage is set, and exits. */
__attribute__((noreturn)) static void ctl_vdie(int code, bool usage, const char *cmd,
                                               const char *fmt, va_list ap)
{
	fflush(stdout);
	char *msg = NULL;
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	/* one line: a line break in the server's message or an argument is escaped */
	char *line = msg ? wn_termsafe_escape(msg, strlen(msg), false) : NULL;
	fprintf(stderr, "wnctl: %s", line ? line : fmt);
	if (usage)
		fprintf(stderr, " (see 'wnctl %s%s--help')", cmd ? cmd : "", cmd ? " " : "");
	fputc('\n', stderr);
	free(line);
	free(msg);
	exit(code);
}

void wn_ctl_die(wn_ctl *c, int code, const char *fmt, ...)
{
	(void)c;
	va_list ap;
	va_start(ap, fmt);
	ctl_vdie(code, false, NULL, fmt, ap);
}

void wn_ctl_usage(wn_ctl *c, const char *fmt, ...)
{
	const char *cmd = ctl_command(c);
	va_list ap;
	va_start(ap, fmt);
	ctl_vdie(WN_CTL_EXIT_USAGE, true, cmd, fmt, ap);
}

static const struct {
	int code;
	int exit;
} ctl_exit_map[] = {
    {WHATSNEXT__V1__CODE__OK, WN_CTL_EXIT_OK},
    {WHATSNEXT__V1__CODE__NOT_FOUND, WN_CTL_EXIT_NOT_FOUND},
    {WHATSNEXT__V1__CODE__ALREADY_EXISTS, WN_CTL_EXIT_EXISTS},
    {WHATSNEXT__V1__CODE__FAILED_PRECONDITION, WN_CTL_EXIT_PRECONDITION},
    {WHATSNEXT__V1__CODE__INVALID_ARGUMENT, WN_CTL_EXIT_INVALID},
    {WHATSNEXT__V1__CODE__RESOURCE_EXHAUSTED, WN_CTL_EXIT_INVALID},
    {WHATSNEXT__V1__CODE__UNAUTHENTICATED, WN_CTL_EXIT_DENIED},
    {WHATSNEXT__V1__CODE__PERMISSION_DENIED, WN_CTL_EXIT_DENIED},
    {WHATSNEXT__V1__CODE__UNAVAILABLE, WN_CTL_EXIT_UNREACHABLE},
};

int wn_ctl_exit_code(int rv)
{
	if (rv == WN_EIO) /* no socket could be opened here: this machine's failure */
		return WN_CTL_EXIT_ERROR;
	if (rv < 0)
		return WN_CTL_EXIT_UNREACHABLE;
	for (size_t i = 0; i < WN_ARRAY_LEN(ctl_exit_map); i++)
		if (ctl_exit_map[i].code == rv)
			return ctl_exit_map[i].exit;
	return WN_CTL_EXIT_ERROR;
}

/* ---------------------------------------------------------------- arguments */

/* ctl_find_long returns the long option a "--name" argument selects (exact
 * name or unique prefix, as getopt_long does), or NULL. */
static const struct option *ctl_find_long(const struct option *opts, const char *arg)
{
	const char *name = arg + 2;
	size_t len = strcspn(name, "=");
	const struct option *found = NULL;
	for (const struct option *o = opts; o->name != NULL; o++) {
		if (strncmp(o->name, name, len) != 0)
			continue;
		if (strlen(o->name) == len)
			return o;
		if (found != NULL)
			return NULL;
		found = o;
	}
	return found;
}

/* ctl_is_number tells whether arg is a negative number ("-3"), which is an
 * argument, not an option. */
static bool ctl_is_number(const char *arg)
{
	return arg[0] == '-' && arg[1] >= '0' && arg[1] <= '9';
}

/* ctl_parse_start builds the combined option table and reorders the
 * arguments as options, "--", positionals, so that options may follow
 * positionals and negative numbers stay positionals. */
static void ctl_parse_start(wn_ctl *c)
{
	size_t nverb = 0, nglob = WN_ARRAY_LEN(ctl_global_opts) - 1;
	const struct option *vo = c->verb->opts;
	while (vo != NULL && vo[nverb].name != NULL)
		nverb++;
	c->longopts = wn_xcalloc(nverb + nglob + 1, sizeof(*c->longopts));
	size_t n = 0;
	for (size_t i = 0; i < nverb; i++)
		c->longopts[n++] = vo[i];
	for (size_t i = 0; i < nglob; i++) {
		bool shadowed = false;
		for (size_t k = 0; k < nverb; k++)
			shadowed |= strcmp(vo[k].name, ctl_global_opts[i].name) == 0;
		if (!shadowed)
			c->longopts[n++] = ctl_global_opts[i];
	}

	c->pargv = wn_xcalloc((size_t)c->argc + 2, sizeof(char *));
	c->pos = wn_xcalloc((size_t)c->argc + 1, sizeof(char *));
	c->pargv[c->pargc++] = c->argv[0];
	for (int i = 1; i < c->argc; i++) {
		char *a = c->argv[i];
		if (strcmp(a, "--") == 0) {
			while (++i < c->argc)
				c->pos[c->npos++] = c->argv[i];
			break;
		}
		if (a[0] != '-' || a[1] == '\0' || ctl_is_number(a)) {
			c->pos[c->npos++] = a;
			continue;
		}
		/* a short option: -o F is --output F (F may be "-"), -y is --yes */
		for (const struct option *o = c->longopts; a[2] == '\0' && o->name; o++)
			if ((o->val == a[1] || (o->val == WN_CTL_OPT_YES && a[1] == 'y')) &&
			    o->flag == NULL)
				a = wn_ctl_printf(c, "--%s", o->name);
		c->pargv[c->pargc++] = a;
		if (a[1] == '-' && strchr(a, '=') == NULL) {
			const struct option *o = ctl_find_long(c->longopts, a);
			if (o != NULL && o->has_arg == required_argument) {
				if (i + 1 >= c->argc)
					wn_ctl_usage(c, "option '%s' needs a value", a);
				c->pargv[c->pargc++] = c->argv[++i];
			}
		}
	}
	c->pargv[c->pargc++] = "--";
	c->parsing = true;
	optind = 0; /* GNU getopt: start over */
	opterr = 0;
}

/* ctl_shortopts writes the getopt string of the verb's options: -h and the
 * options whose value is a letter (`job log -f`). */
static void ctl_shortopts(const wn_ctl *c, char *buf, size_t cap)
{
	size_t n = (size_t)snprintf(buf, cap, "+:h");
	for (const struct option *o = c->verb->opts; o != NULL && o->name != NULL; o++)
		if (o->val > 0 && o->val < 0x80 && isalpha(o->val) && n + 3 < cap) {
			buf[n++] = (char)o->val;
			if (o->has_arg == required_argument)
				buf[n++] = ':';
		}
	buf[n] = '\0';
}

/* ctl_opt_utf8 checks the value of the verb's option ch, unless it names a local
 * file ("-o, --output FILE" in the verb's help): a file name is any bytes. */
static void ctl_opt_utf8(wn_ctl *c, int ch, const char *arg)
{
	const struct option *o = c->longopts;
	while (o->name != NULL && o->val != ch)
		o++;
	if (arg == NULL || o->name == NULL)
		return;
	char *opt = wn_ctl_printf(c, "--%s", o->name), *file = wn_ctl_printf(c, "%s FILE", opt);
	for (const struct wn_ctl_opthelp *h = c->verb->help; h != NULL && h->opt != NULL; h++)
		if (strstr(h->opt, file) != NULL)
			return;
	wn_ctl_utf8(c, opt, arg);
}

int wn_ctl_getopt(wn_ctl *c)
{
	if (!c->parsing)
		ctl_parse_start(c);
	char shortopts[64];
	ctl_shortopts(c, shortopts, sizeof(shortopts));
	for (;;) {
		int ch = getopt_long(c->pargc, c->pargv, shortopts, c->longopts, NULL);
		switch (ch) {
		case -1:
			return 0;
		case WN_CTL_OPT_HELP: /* a --json after it counts too */
			if (c->json || wn_ctl_help_wants_json(c->pargc - optind, c->pargv + optind))
				wn_ctl_help_json(NULL, 0, c->noun, c->verb);
			else
				wn_ctl_help_verb(stdout, c->noun, c->verb);
			exit(wn_ctl_output_done(c, WN_CTL_EXIT_OK));
		case WN_CTL_OPT_SERVER:
		case WN_CTL_OPT_TOKEN:
		case WN_CTL_OPT_TOKEN_FILE:
		case WN_CTL_OPT_JSON:
		case WN_CTL_OPT_TIMEOUT:
		case WN_CTL_OPT_TLS_CA:
		case WN_CTL_OPT_TLS_CERT:
		case WN_CTL_OPT_TLS_KEY:
		case WN_CTL_OPT_TLS_SERVER_NAME:
			wn_ctl_global_option(c, ch, optarg);
			continue;
		case WN_CTL_OPT_YES:
			c->yes = true;
			continue;
		case ':':
			wn_ctl_usage(c, "option '%s' needs a value", c->pargv[optind - 1]);
		case '?':
			wn_ctl_bad_option(c, c->longopts, c->pargv[optind - 1]);
		default:
			ctl_opt_utf8(c, ch, optarg);
			return ch;
		}
	}
}

void wn_ctl_unknown_option(wn_ctl *c, const struct option *opts, const char *arg)
{
	const char *hint = "";
	if (strncmp(arg, "--", 2) == 0) {
		char *word = wn_ctl_strdup(c, arg + 2);
		word[strcspn(word, "=")] = '\0';
		const char *starts = NULL; /* the options word begins, when several */
		size_t nstarts = 0;
		for (const struct option *o = opts; o->name != NULL && word[0]; o++) {
			if (strncmp(o->name, word, strlen(word)) != 0)
				continue;
			starts = wn_ctl_printf(c, "%s%s--%s", starts ? starts : "",
			                       starts ? ", " : "", o->name);
			nstarts++;
		}
		if (nstarts > 1)
			wn_ctl_usage(c, "ambiguous option '%s': %s", arg, starts);
		struct wn_nearest near;
		wn_nearest_init(&near, word);
		for (const struct option *o = opts; o->name != NULL; o++)
			wn_nearest_add(&near, o->name);
		const char *best = wn_nearest_best(&near);
		if (best != NULL)
			hint = wn_ctl_printf(c, " (did you mean '--%s'?)", best);
	}
	wn_ctl_usage(c, "unknown option '%s'%s", arg, hint);
}

char **wn_ctl_args(wn_ctl *c, int min, int max, int *n)
{
	while (wn_ctl_getopt(c) != 0)
		wn_ctl_usage(c, "unexpected option '%s'", c->pargv[optind - 1]);
	if (c->npos < min || (max >= 0 && c->npos > max)) {
		const char *v = c->verb->name;
		const char *usage =
		    wn_ctl_printf(c, "wnctl %s%s%s%s%s", c->noun->name, v ? " " : "", v ? v : "",
		                  c->verb->synopsis[0] ? " " : "", c->verb->synopsis);
		if (c->npos < min)
			wn_ctl_die(c, WN_CTL_EXIT_USAGE, "missing arguments (usage: %s)", usage);
		wn_ctl_die(c, WN_CTL_EXIT_USAGE, "unexpected argument '%s' (usage: %s)",
		           c->pos[max], usage);
	}
	/* the arguments are sent as text, but for a local file (job batch FILE) */
	for (int i = strncmp(c->verb->synopsis, "FILE", 4) == 0 ? 1 : 0; i < c->npos; i++)
		wn_ctl_utf8(c, "argument", c->pos[i]);
	if (n != NULL)
		*n = c->npos;
	return c->pos;
}

/* ---------------------------------------------------------------- rpc */

/* ctl_fail exits on rv, a call's failure with message msg; a local one
 * (WN_EIO: no socket could be opened, out of descriptors say) is said to be
 * one, exit 1: the server is not unreachable. */
__attribute__((noreturn)) static void ctl_fail(wn_ctl *c, int rv, const char *msg)
{
	if (rv == WN_EIO)
		wn_ctl_die(c, WN_CTL_EXIT_ERROR,
		           "%s (a local failure on this machine, not the server's)", msg);
	wn_ctl_die(c, wn_ctl_exit_code(rv), "%s", msg);
}

/* ctl_connect_soft opens the client unless it is open; a server that cannot be
 * reached ends wnctl, unless soft: then its error is returned (the message in
 * c->call_error). */
static int ctl_connect_soft(wn_ctl *c, bool soft)
{
	if (c->rpc != NULL)
		return WN_OK;
	char *err = NULL;
	if (c->token == NULL && c->token_file_env != NULL)
		ctl_token_file(c, c->token_file_env, " (from $WN_TOKEN_FILE)");
	if (c->token_env)
		ctl_token_env(c);
	wn_wire_url u; /* not an address at all: a usage error, not an unreachable server */
	int prv = wn_wire_url_parse(c->server, &u, &err);
	if (prv == WN_OK && !u.ipc && (u.host[0] == '\0' || strcmp(u.host, "*") == 0)) {
		/* tcp://:7640, tcp://\*:7640: a server listens there, a client names a host */
		err = wn_xstrdup("the address needs a host (tcp://HOST:PORT)");
		prv = WN_EINVAL;
	}
	if (prv != WN_OK) {
		char *msg = wn_ctl_printf(c, "bad server address %s%s: %s", c->server,
		                          c->server_from, err ? err : wn_strerror(prv));
		free(err);
		wn_ctl_die(c, WN_CTL_EXIT_USAGE, "%s", msg);
	}
	int flags = WN_RPC_DIRECT | (c->lost ? WN_RPC_BACKGROUND : 0);
	int rv =
	    wn_rpc_open_within(c->server, c->token, flags, &c->tls, c->timeout_ms, &c->rpc, &err);
	if (rv != WN_OK) {
		const char *msg = wn_ctl_line(c, err ? err : wn_strerror(rv));
		free(err);
		if (soft && rv != WN_EINVAL && rv != WN_EIO) {
			c->call_error = msg;
			return rv;
		}
		if (rv == WN_EINVAL)
			wn_ctl_die(c, WN_CTL_EXIT_USAGE, "%s", msg);
		ctl_fail(c, rv, msg);
	}
	c->reached = true; /* connected (a background open only follows a lost call) */
	return WN_OK;
}

bool wn_ctl_reached(const wn_ctl *c)
{
	return c->reached;
}

void *wn_ctl_call(wn_ctl *c, const char *method, const ProtobufCMessage *in,
                  const ProtobufCMessageDescriptor *out_desc, int extra_ms)
{
	return wn_ctl_call_try(c, method, in, out_desc, extra_ms, NULL);
}

void *wn_ctl_call_soft(wn_ctl *c, const char *method, const ProtobufCMessage *in,
                       const ProtobufCMessageDescriptor *out_desc, int extra_ms, int *code,
                       bool transport)
{
	/* a waiting command rides out a restart of the server: a connection
	 * refused meanwhile is one more call without an answer */
	int open = ctl_connect_soft(c, code != NULL && transport);
	if (open != WN_OK) {
		*code = open;
		return NULL;
	}
	ProtobufCMessage *out = NULL;
	char *err = NULL;
	int rv = wn_rpc_call(c->rpc, method, in, out_desc, &out, &err, 0, extra_ms);
	if (code != NULL && (rv > 0 || (rv < 0 && transport && rv != WN_EIO))) {
		if (rv < 0) { /* no answer: the next try on a fresh socket */
			wn_rpc_close(c->rpc);
			c->rpc = NULL;
			c->lost = true;
		}
		c->call_error = wn_ctl_call_message(c, rv, err);
		free(err);
		*code = rv;
		return NULL;
	}
	if (rv != 0) {
		const char *msg = wn_ctl_call_message(c, rv, err);
		free(err);
		ctl_fail(c, rv, msg);
	}
	free(err);
	if (code != NULL)
		*code = 0;
	if (c->nmsgs == c->capmsgs) {
		c->capmsgs = c->capmsgs ? c->capmsgs * 2 : 8;
		c->msgs = wn_xrealloc(c->msgs, c->capmsgs * sizeof(*c->msgs));
	}
	c->msgs[c->nmsgs++] = out;
	return out;
}

void wn_ctl_release(wn_ctl *c, void *reply)
{
	for (size_t i = c->nmsgs; i-- > 0;)
		if (c->msgs[i] == reply) {
			protobuf_c_message_free_unpacked(reply, NULL);
			c->msgs[i] = c->msgs[--c->nmsgs];
			return;
		}
}

/* ---------------------------------------------------------------- memory */

static void *ctl_keep(wn_ctl *c, void *p)
{
	if (c->nblocks == c->capblocks) {
		c->capblocks = c->capblocks ? c->capblocks * 2 : 32;
		c->blocks = wn_xrealloc(c->blocks, c->capblocks * sizeof(*c->blocks));
	}
	c->blocks[c->nblocks++] = p;
	return p;
}

size_t wn_ctl_mark(const wn_ctl *c)
{
	return c->nblocks;
}

void wn_ctl_rewind(wn_ctl *c, size_t mark)
{
	while (c->nblocks > mark)
		free(c->blocks[--c->nblocks]);
}

void *wn_ctl_alloc(wn_ctl *c, size_t n)
{
	return ctl_keep(c, wn_xcalloc(1, n));
}

char *wn_ctl_strdup(wn_ctl *c, const char *s)
{
	return ctl_keep(c, wn_xstrdup(s));
}

char *wn_ctl_printf(wn_ctl *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0) {
		fprintf(stderr, "wnctl: out of memory\n");
		abort();
	}
	va_end(ap);
	return ctl_keep(c, s);
}

const char *wn_ctl_line(wn_ctl *c, const char *s)
{
	char *e = wn_termsafe_escape(s, strlen(s), false);
	const char *kept = wn_ctl_strdup(c, e);
	free(e);
	return kept;
}

const char *wn_ctl_call_error(const wn_ctl *c)
{
	return c->call_error != NULL ? c->call_error : "";
}

void wn_ctl_defer(wn_ctl *c, void (*fn)(void *), void *p)
{
	c->deferred = wn_xrealloc(c->deferred, (c->ndeferred + 1) * sizeof(*c->deferred));
	c->deferred[c->ndeferred].fn = fn;
	c->deferred[c->ndeferred].p = p;
	c->ndeferred++;
}

/* ---------------------------------------------------------------- output */

void wn_ctl_print_message(const ProtobufCMessage *m)
{
	wn_json_print(wn_json_encode(m));
}

const char *wn_ctl_time(wn_ctl *c, int64_t ms)
{
	if (ms == 0)
		return "-";
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[64], off[8];
	if (localtime_r(&t, &tm) == NULL)
		return wn_ctl_printf(c, "%lld", (long long)ms);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	strftime(off, sizeof(off), "%z", &tm);
	/* "+0200" -> "+02:00" */
	return wn_ctl_printf(c, "%s%.3s:%.2s", buf, off, off + 3);
}

const char *wn_ctl_count(wn_ctl *c, unsigned long long n, const char *noun, const char *plural)
{
	if (n == 1)
		return wn_ctl_printf(c, "1 %s", noun);
	if (plural != NULL)
		return wn_ctl_printf(c, "%llu %s", n, plural);
	return wn_ctl_printf(c, "%llu %ss", n, noun);
}

const char *wn_ctl_enum(wn_ctl *c, const ProtobufCEnumDescriptor *ed, int value)
{
	char buf[128];
	return wn_ctl_strdup(c, wn_json_enum_name(ed, value, buf, sizeof(buf)));
}

void wn_ctl_field(const char *key, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *v = NULL;
	if (vasprintf(&v, fmt, ap) < 0)
		v = NULL;
	va_end(ap);
	char *e = v ? wn_termsafe_escape(v, strlen(v), false) : NULL;
	printf("%s:%s%s\n", key, e && e[0] ? " " : "", e ? e : "");
	free(e);
	free(v);
}

void wn_ctl_field_text(const char *key, const char *text, int max_lines)
{
	if (text == NULL || text[0] == '\0')
		return;
	size_t len = strlen(text);
	if (text[len - 1] == '\n')
		len--;
	const char *start = text;
	if (max_lines > 0) {
		int lines = 0;
		for (size_t i = len; i > 0; i--) {
			if (text[i - 1] == '\n' && ++lines == max_lines) {
				start = text + i;
				break;
			}
		}
	}
	printf("%s:%s\n", key, start != text ? " (last lines)" : "");
	const char *p = start, *end = text + len;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (nl == NULL)
			nl = end;
		printf("  %.*s\n", (int)(nl - p), p);
		p = nl + 1;
	}
}
