/* ctl_help: wnctl's usage texts: a command's, a noun's, the global options'
 * and the exit codes (ctl.h). */
#include "ctl.h"

#include "envelope.h"
#include "util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct wn_ctl_opthelp ctl_global_help[] = {
    {"--server URL", "server address: tcp://HOST:PORT, ipc://PATH or tls+tcp://HOST:PORT "
                     "(default: $WN_SERVER, else " WN_DEFAULT_URL ")"},
    {"--token-file FILE", "read the token from FILE's first line (FILE readable by its owner "
                          "only; default $WN_TOKEN, else $WN_TOKEN_FILE)"},
    {"--token T", "the token itself: other users of the machine can see it (ps, /proc), "
                  "prefer --token-file or $WN_TOKEN"},
    {"--json", "print results as JSON (every command that prints a result)"},
    {"--timeout MS", "how long to wait for each reply, ms (default 30000)"},
    {"--tls-ca FILE", "tls+tcp://: the CA (PEM) that signed the server's certificate "
                      "(default $WN_TLS_CA, else the system's CA list)"},
    {"--tls-cert FILE", "tls+tcp://: this client's certificate (PEM), for a server that "
                        "requires one (default $WN_TLS_CERT)"},
    {"--tls-key FILE", "the key (PEM) of --tls-cert (default $WN_TLS_KEY)"},
    {"--tls-server-name NAME", "the name the server's certificate must hold (default "
                               "$WN_TLS_SERVER_NAME, else the host of --server)"},
    {"-h, --help", "print usage and exit"},
    {NULL, NULL},
};

/* ctl_help_text prints text wrapped to 80 columns, continuation lines
 * indented by indent; the first line starts at column col. */
static void ctl_help_text(FILE *f, const char *text, int col, int indent)
{
	const char *p = text;
	while (*p) {
		size_t word = strcspn(p, " ");
		if (col > indent && col + 1 + (int)word > 80) {
			fprintf(f, "\n%*s", indent, "");
			col = indent;
		} else if (col > indent) {
			fputc(' ', f);
			col++;
		}
		fwrite(p, 1, word, f);
		col += (int)word;
		p += word;
		while (*p == ' ')
			p++;
	}
	fputc('\n', f);
}

/* ctl_help_shadowed tells whether global option o ("--timeout MS") has a
 * namesake among the options of verb, which then wins after the command. */
static bool ctl_help_shadowed(const char *o, const struct wn_ctl_verb *verb)
{
	for (const struct option *vo = verb ? verb->opts : NULL; vo && vo->name; vo++) {
		size_t n = strlen(vo->name);
		if (strncmp(o, "--", 2) == 0 && strncmp(o + 2, vo->name, n) == 0 &&
		    (o[2 + n] == ' ' || o[2 + n] == '\0'))
			return true;
	}
	return false;
}

/* ctl_help_options prints the options h, each with its text; with verb, h are the
 * global options, and one that verb has a namesake of says it goes before the
 * command ("wnctl --timeout MS job wait ..."). */
static void ctl_help_options(FILE *f, const struct wn_ctl_opthelp *h,
                             const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb)
{
	int w = 0;
	for (const struct wn_ctl_opthelp *o = h; o->opt != NULL; o++)
		if ((int)strlen(o->opt) > w)
			w = (int)strlen(o->opt);
	for (const struct wn_ctl_opthelp *o = h; o->opt != NULL; o++) {
		fprintf(f, "  %-*s  ", w, o->opt);
		char *text = NULL;
		if (ctl_help_shadowed(o->opt, verb))
			text = wn_xasprintf("%s; only before the command (wnctl %s %s%s%s ...): "
			                    "after it, %.*s is this command's own option above",
			                    o->text, o->opt, noun->name, verb->name ? " " : "",
			                    verb->name ? verb->name : "", (int)strcspn(o->opt, " "),
			                    o->opt);
		ctl_help_text(f, text ? text : o->text, w + 4, w + 4);
		free(text);
	}
}

static void ctl_help_usage(FILE *f, const struct wn_ctl_noun *noun, const struct wn_ctl_verb *v)
{
	fprintf(f, "wnctl %s%s%s%s%s\n", noun->name, v->name ? " " : "", v->name ? v->name : "",
	        v->synopsis[0] ? " " : "", v->synopsis);
}

void wn_ctl_help_verb(FILE *f, const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb)
{
	fputs("usage: ", f);
	ctl_help_usage(f, noun, verb);
	fputc('\n', f);
	ctl_help_text(f, verb->summary, 0, 0);
	if (verb->help != NULL && verb->help[0].opt != NULL) {
		fputs("\noptions:\n", f);
		ctl_help_options(f, verb->help, NULL, NULL);
	}
	fputs("\nglobal options (before the command or among its options, unless said "
	      "otherwise):\n",
	      f);
	ctl_help_options(f, ctl_global_help, noun, verb);
}

void wn_ctl_help_noun(FILE *f, const struct wn_ctl_noun *noun)
{
	if (noun->verbs[0].name == NULL) {
		wn_ctl_help_verb(f, noun, &noun->verbs[0]);
		return;
	}
	fprintf(f, "usage: wnctl %s VERB [ARGS] [OPTIONS]\n\n%s\n\ncommands:\n", noun->name,
	        noun->summary);
	for (size_t i = 0; i < noun->nverbs; i++) {
		fputs("  ", f);
		ctl_help_usage(f, noun, &noun->verbs[i]);
		fputs("      ", f);
		ctl_help_text(f, noun->verbs[i].summary, 6, 6);
	}
	fprintf(f, "\nRun 'wnctl %s VERB --help' for what each option does.\n", noun->name);
	fputs("\nglobal options:\n", f);
	ctl_help_options(f, ctl_global_help, NULL, NULL);
}

void wn_ctl_help_globals(FILE *f)
{
	fputs("global options:\n", f);
	ctl_help_options(f, ctl_global_help, NULL, NULL);
	fputs("  --version               print the version (as JSON with --json) and exit\n", f);
	fputs("\nenvironment:\n"
	      "  WN_SERVER  server address when --server is not given\n"
	      "  WN_TOKEN   token when neither --token-file nor --token is given\n"
	      "  WN_TOKEN_FILE  file of the token when none of those is given\n"
	      "  WN_TLS_CA, WN_TLS_CERT, WN_TLS_KEY, WN_TLS_SERVER_NAME\n"
	      "             as --tls-ca, --tls-cert, --tls-key, --tls-server-name\n"
	      "\nexit codes:\n"
	      "  0  success\n"
	      "  1  other error\n"
	      "  2  usage error: bad command, option, argument or input file\n"
	      "  3  server unreachable, no reply in time, or unavailable\n"
	      "  4  not found\n"
	      "  5  already exists\n"
	      "  6  failed precondition: not allowed in the current state\n"
	      "  7  invalid argument or resource exhausted (refused by the server)\n"
	      "  8  unauthenticated or permission denied\n"
	      "  9  job log -f, job wait: a job ended without completing (failed, cancelled, ...)\n"
	      "  10 job wait: --timeout passed before the jobs ended\n",
	      f);
}

void wn_ctl_bad_option(wn_ctl *c, const struct option *opts, const char *arg)
{
	/* "--force=1": getopt_long sets optopt to the option's val, which may be a
	 * letter; the option, exact or a unique prefix, takes no value */
	if (strncmp(arg, "--", 2) == 0 && strchr(arg, '=') != NULL) {
		size_t len = strcspn(arg + 2, "=");
		const struct option *found = NULL;
		size_t nfound = 0;
		for (const struct option *o = opts; o->name != NULL; o++) {
			if (strncmp(o->name, arg + 2, len) != 0)
				continue;
			if (strlen(o->name) == len) {
				found = o;
				nfound = 1;
				break;
			}
			found = o;
			nfound++;
		}
		if (nfound == 1 && found->has_arg == no_argument)
			wn_ctl_usage(c, "option '--%s' takes no value (given '%s')", found->name,
			             arg);
	}
	if (optopt != 0 && optopt < 0x100)
		wn_ctl_usage(c, "unknown option '-%c'", optopt);
	wn_ctl_unknown_option(c, opts, arg);
}
