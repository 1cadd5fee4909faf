/* ctl_help: wnctl's usage texts: a command's, a noun's, the global options'
 * and the exit codes (ctl.h). */
#include "ctl.h"
#include "json.h"

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

static const struct wn_ctl_opthelp ctl_env_help[] = {
    {"WN_SERVER", "server address when --server is not given"},
    {"WN_TOKEN", "token when neither --token-file nor --token is given"},
    {"WN_TOKEN_FILE", "file of the token when none of those is given"},
    {"WN_TLS_CA, WN_TLS_CERT, WN_TLS_KEY, WN_TLS_SERVER_NAME",
     "as --tls-ca, --tls-cert, --tls-key, --tls-server-name"},
    {NULL, NULL},
};

static const struct {
	int code;
	const char *text;
} ctl_exit_help[] = {
    {WN_CTL_EXIT_OK, "success"},
    {WN_CTL_EXIT_ERROR, "other error"},
    {WN_CTL_EXIT_USAGE, "usage error: bad command, option, argument or input file"},
    {WN_CTL_EXIT_UNREACHABLE, "server unreachable, no reply in time, or unavailable"},
    {WN_CTL_EXIT_NOT_FOUND, "not found"},
    {WN_CTL_EXIT_EXISTS, "already exists"},
    {WN_CTL_EXIT_PRECONDITION, "failed precondition: not allowed in the current state"},
    {WN_CTL_EXIT_INVALID, "invalid argument or resource exhausted (refused by the server)"},
    {WN_CTL_EXIT_DENIED, "unauthenticated or permission denied"},
    {WN_CTL_EXIT_JOB_FAILED,
     "job log -f, job wait: a job ended without completing (failed, cancelled, ...)"},
    {WN_CTL_EXIT_TIMEOUT, "job wait: --timeout passed before the jobs ended"},
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

/* ctl_help_note returns the text of option o, a global option when verb is
 * given: one that verb has a namesake of says it goes before the command
 * ("wnctl --timeout MS job wait ..."). Free it. */
static char *ctl_help_note(const struct wn_ctl_opthelp *o, const struct wn_ctl_noun *noun,
                           const struct wn_ctl_verb *verb)
{
	if (!ctl_help_shadowed(o->opt, verb))
		return wn_xstrdup(o->text);
	return wn_xasprintf("%s; only before the command (wnctl %s %s%s%s ...): "
	                    "after it, %.*s is this command's own option above",
	                    o->text, o->opt, noun->name, verb->name ? " " : "",
	                    verb->name ? verb->name : "", (int)strcspn(o->opt, " "), o->opt);
}

/* ctl_help_options prints the options h, each with its text (ctl_help_note). */
static void ctl_help_options(FILE *f, const struct wn_ctl_opthelp *h,
                             const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb)
{
	int w = 0;
	for (const struct wn_ctl_opthelp *o = h; o->opt != NULL; o++)
		if ((int)strlen(o->opt) > w)
			w = (int)strlen(o->opt);
	for (const struct wn_ctl_opthelp *o = h; o->opt != NULL; o++) {
		fprintf(f, "  %-*s  ", w, o->opt);
		char *text = ctl_help_note(o, noun, verb);
		ctl_help_text(f, text, w + 4, w + 4);
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
	fputs("\nenvironment:\n", f);
	for (const struct wn_ctl_opthelp *e = ctl_env_help; e->opt != NULL; e++)
		if (strlen(e->opt) > 20) /* the text under it */
			fprintf(f, "  %s\n%13s%s\n", e->opt, "", e->text);
		else
			fprintf(f, "  %-9s  %s\n", e->opt, e->text);
	fputs("\nexit codes:\n", f);
	for (size_t i = 0; i < WN_ARRAY_LEN(ctl_exit_help); i++)
		fprintf(f, "  %-2d %s\n", ctl_exit_help[i].code, ctl_exit_help[i].text);
}

/* ---------------------------------------------------------------- as JSON */

/* ctl_help_json_options returns the options h as [{"option", "help"}] (ctl_help_note). */
static json_t *ctl_help_json_options(const struct wn_ctl_opthelp *h, const struct wn_ctl_noun *noun,
                                     const struct wn_ctl_verb *verb)
{
	json_t *a = json_array();
	for (const struct wn_ctl_opthelp *o = h; o != NULL && o->opt != NULL; o++) {
		char *text = ctl_help_note(o, noun, verb);
		json_t *e = json_object();
		json_object_set_new(e, "option", json_string(o->opt));
		json_object_set_new(e, "help", json_string(text));
		json_array_append_new(a, e);
		free(text);
	}
	return a;
}

/* ctl_help_json_command returns {"command", "usage", "summary"} of noun's verb v. */
static json_t *ctl_help_json_command(const struct wn_ctl_noun *noun, const struct wn_ctl_verb *v)
{
	char *cmd = wn_xasprintf("%s%s%s", noun->name, v->name ? " " : "", v->name ? v->name : "");
	char *usage = wn_xasprintf("wnctl %s%s%s", cmd, v->synopsis[0] ? " " : "", v->synopsis);
	json_t *j = json_object();
	json_object_set_new(j, "command", json_string(cmd));
	json_object_set_new(j, "usage", json_string(usage));
	json_object_set_new(j, "summary", json_string(v->summary));
	free(usage);
	free(cmd);
	return j;
}

static void ctl_help_json_commands(json_t *a, const struct wn_ctl_noun *noun)
{
	for (size_t i = 0; i < noun->nverbs; i++)
		json_array_append_new(a, ctl_help_json_command(noun, &noun->verbs[i]));
}

/* ctl_help_json_top returns `wnctl --json help`: every command, the global options,
 * the environment and the exit codes. */
static json_t *ctl_help_json_top(const struct wn_ctl_noun *const *nouns, size_t n)
{
	json_t *j = json_object();
	json_object_set_new(j, "usage", json_string(WN_CTL_USAGE));
	json_t *cmds = json_array();
	for (size_t i = 0; i < n; i++)
		ctl_help_json_commands(cmds, nouns[i]);
	json_object_set_new(j, "commands", cmds);
	json_t *opts = ctl_help_json_options(ctl_global_help, NULL, NULL);
	json_t *v = json_object();
	json_object_set_new(v, "option", json_string("--version"));
	json_object_set_new(v, "help",
	                    json_string("print the version (as JSON with --json) and exit"));
	json_array_append_new(opts, v);
	json_object_set_new(j, "global_options", opts);
	json_t *env = json_array();
	for (const struct wn_ctl_opthelp *e = ctl_env_help; e->opt != NULL; e++) {
		json_t *o = json_object();
		json_object_set_new(o, "variable", json_string(e->opt));
		json_object_set_new(o, "help", json_string(e->text));
		json_array_append_new(env, o);
	}
	json_object_set_new(j, "environment", env);
	json_t *codes = json_array();
	for (size_t i = 0; i < WN_ARRAY_LEN(ctl_exit_help); i++) {
		json_t *o = json_object();
		json_object_set_new(o, "code", json_integer(ctl_exit_help[i].code));
		json_object_set_new(o, "help", json_string(ctl_exit_help[i].text));
		json_array_append_new(codes, o);
	}
	json_object_set_new(j, "exit_codes", codes);
	return j;
}

void wn_ctl_help_json(const struct wn_ctl_noun *const *nouns, size_t n,
                      const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb)
{
	if (noun != NULL && verb == NULL && noun->verbs[0].name == NULL)
		verb = &noun->verbs[0]; /* status: the noun is the command */
	json_t *j;
	if (verb != NULL) {
		j = ctl_help_json_command(noun, verb);
		json_object_set_new(j, "options", ctl_help_json_options(verb->help, NULL, NULL));
		json_object_set_new(j, "global_options",
		                    ctl_help_json_options(ctl_global_help, noun, verb));
	} else if (noun != NULL) {
		j = json_object();
		char *usage = wn_xasprintf("wnctl %s VERB [ARGS] [OPTIONS]", noun->name);
		json_object_set_new(j, "command", json_string(noun->name));
		json_object_set_new(j, "usage", json_string(usage));
		json_object_set_new(j, "summary", json_string(noun->summary));
		free(usage);
		json_t *cmds = json_array();
		ctl_help_json_commands(cmds, noun);
		json_object_set_new(j, "commands", cmds);
		json_object_set_new(j, "global_options",
		                    ctl_help_json_options(ctl_global_help, NULL, NULL));
	} else {
		j = ctl_help_json_top(nouns, n);
	}
	wn_json_print(j);
}

bool wn_ctl_help_wants_json(int argc, char *const *argv)
{
	for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++) {
		size_t n = strlen(argv[i]);
		if (n >= 3 && strncmp(argv[i], "--json", n) == 0)
			return true;
	}
	return false;
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
