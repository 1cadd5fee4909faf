/* wnctl: the WhatsNext admin and user CLI. Global options, the noun table and
 * dispatch; each noun's verbs live in cmd_<noun>.c. */
#include "ctl.h"
#include "json.h"
#include "termsafe.h"

#include "envelope.h"
#include "kit.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

static const struct wn_ctl_noun *const main_nouns[] = {
    &wn_ctl_project, &wn_ctl_task,   &wn_ctl_job,   &wn_ctl_queue, &wn_ctl_sweep,
    &wn_ctl_worker,  &wn_ctl_status, &wn_ctl_admin, &wn_ctl_token,
};

static const struct option main_opts[] = {
    {"server", required_argument, NULL, WN_CTL_OPT_SERVER},
    {"token", required_argument, NULL, WN_CTL_OPT_TOKEN},
    {"token-file", required_argument, NULL, WN_CTL_OPT_TOKEN_FILE},
    {"json", no_argument, NULL, WN_CTL_OPT_JSON},
    {"timeout", required_argument, NULL, WN_CTL_OPT_TIMEOUT},
    {"tls-ca", required_argument, NULL, WN_CTL_OPT_TLS_CA},
    {"tls-cert", required_argument, NULL, WN_CTL_OPT_TLS_CERT},
    {"tls-key", required_argument, NULL, WN_CTL_OPT_TLS_KEY},
    {"tls-server-name", required_argument, NULL, WN_CTL_OPT_TLS_SERVER_NAME},
    {"version", no_argument, NULL, WN_CTL_OPT_VERSION},
    {"help", no_argument, NULL, WN_CTL_OPT_HELP},
    {NULL, 0, NULL, 0},
};

static wn_ctl *main_ctl;

static void main_cleanup(void)
{
	/* stdout's escaping stream reads the --json flag in main_ctl: flush it
	 * before main_ctl goes (exit flushes streams after atexit handlers) */
	fflush(stdout);
	fflush(stderr);
	wn_ctl_free(main_ctl);
	main_ctl = NULL;
}

static void main_help(FILE *f)
{
	fputs("usage: " WN_CTL_USAGE "\n"
	      "       wnctl help [NOUN [VERB]] | NOUN --help | NOUN VERB --help | --version\n"
	      "\n"
	      "Manage the projects, tasks, jobs, queues, sweeps and workers of a WhatsNext\n"
	      "server (wnd), and back up its data.\n"
	      "Options may come anywhere: before the noun, between the noun and its verb,\n"
	      "before or after the arguments; a negative number is an argument, and\n"
	      "everything after '--' is one too.\n"
	      "\n"
	      "commands:\n",
	      f);
	for (size_t i = 0; i < WN_ARRAY_LEN(main_nouns); i++) {
		const struct wn_ctl_noun *n = main_nouns[i];
		for (size_t k = 0; k < n->nverbs; k++) {
			const struct wn_ctl_verb *v = &n->verbs[k];
			fprintf(f, "  wnctl %s%s%s%s%s\n", n->name, v->name ? " " : "",
			        v->name ? v->name : "", v->synopsis[0] ? " " : "", v->synopsis);
		}
		fputc('\n', f);
	}
	wn_ctl_help_globals(f);
	fputs("\nRun 'wnctl NOUN --help' or 'wnctl NOUN VERB --help' for details.\n", f);
}

/* main_hint returns " (did you mean 'X'?)" for the nearest of names to word, or "". */
static const char *main_hint(wn_ctl *c, const char *word, const char *const *names, size_t n)
{
	struct wn_nearest near;
	wn_nearest_init(&near, word);
	for (size_t i = 0; i < n; i++)
		wn_nearest_add(&near, names[i]);
	const char *best = wn_nearest_best(&near);
	return best != NULL ? wn_ctl_printf(c, " (did you mean '%s'?)", best) : "";
}

/* main_unknown_noun exits 2 on the unknown command name, with the nearest noun. */
__attribute__((noreturn)) static void main_unknown_noun(wn_ctl *c, const char *name)
{
	const char *names[WN_ARRAY_LEN(main_nouns) + 1];
	for (size_t i = 0; i < WN_ARRAY_LEN(main_nouns); i++)
		names[i] = main_nouns[i]->name;
	names[WN_ARRAY_LEN(main_nouns)] = "help";
	if (strcmp(name, "version") == 0) /* an option, as in wnd and wnworker */
		wn_ctl_usage(c, "unknown command 'version' (the version is 'wnctl --version', "
		                "'wnctl --json --version' as JSON)");
	wn_ctl_usage(c, "unknown command '%s'%s", name,
	             main_hint(c, name, names, WN_ARRAY_LEN(names)));
}

/* main_unknown_verb exits 2 on the unknown verb name of noun n, with the nearest verb. */
__attribute__((noreturn)) static void main_unknown_verb(wn_ctl *c, const struct wn_ctl_noun *n,
                                                        const char *name)
{
	const char **names = wn_ctl_alloc(c, (n->nverbs + 1) * sizeof(*names));
	for (size_t i = 0; i < n->nverbs; i++)
		names[i] = n->verbs[i].name;
	wn_ctl_die(c, WN_CTL_EXIT_USAGE, "unknown %s command '%s'%s (see 'wnctl %s --help')",
	           n->name, name, main_hint(c, name, names, n->nverbs), n->name);
}

static const struct wn_ctl_noun *main_find_noun(const char *name)
{
	for (size_t i = 0; i < WN_ARRAY_LEN(main_nouns); i++)
		if (strcmp(main_nouns[i]->name, name) == 0)
			return main_nouns[i];
	return NULL;
}

static const struct wn_ctl_verb *main_find_verb(const struct wn_ctl_noun *n, const char *name)
{
	for (size_t i = 0; i < n->nverbs; i++)
		if (n->verbs[i].name != NULL && strcmp(n->verbs[i].name, name) == 0)
			return &n->verbs[i];
	return NULL;
}

static bool main_is_help(const char *s)
{
	return strcmp(s, "--help") == 0 || strcmp(s, "-h") == 0 || strcmp(s, "help") == 0;
}

/* main_help_extra exits 2 on word, which follows all that `wnctl help` takes. */
__attribute__((noreturn)) static void main_help_extra(wn_ctl *c, const char *word)
{
	wn_ctl_die(c, WN_CTL_EXIT_USAGE,
	           "unexpected argument '%s' (usage: wnctl help [NOUN [VERB]])", word);
}

/* main_help_print prints the help of noun's verb, of noun (verb NULL) or of wnctl
 * (both NULL), as JSON with --json. */
static int main_help_print(wn_ctl *c, const struct wn_ctl_noun *noun,
                           const struct wn_ctl_verb *verb)
{
	if (wn_ctl_json(c))
		wn_ctl_help_json(main_nouns, WN_ARRAY_LEN(main_nouns), noun, verb);
	else if (verb != NULL)
		wn_ctl_help_verb(stdout, noun, verb);
	else if (noun != NULL)
		wn_ctl_help_noun(stdout, noun);
	else
		main_help(stdout);
	return wn_ctl_output_done(c, WN_CTL_EXIT_OK);
}

/* main_help_command answers `wnctl help [NOUN [VERB]]` (and `wnctl help help`); a
 * --json among the words asks for JSON, as before them. */
static int main_help_command(wn_ctl *c, int argc, char **argv)
{
	int kept = 0;
	for (int i = 0; i < argc; i++)
		if (wn_ctl_help_wants_json(1, argv + i))
			wn_ctl_global_option(c, WN_CTL_OPT_JSON, NULL);
		else
			argv[kept++] = argv[i];
	argc = kept;
	if (argc == 0 || strcmp(argv[0], "help") == 0) {
		if (argc > 1)
			main_help_extra(c, argv[1]);
		return main_help_print(c, NULL, NULL);
	}
	const struct wn_ctl_noun *n = main_find_noun(argv[0]);
	if (n == NULL)
		main_unknown_noun(c, argv[0]);
	if (argc == 1 || n->verbs[0].name == NULL) {
		if (argc > 1)
			main_help_extra(c, argv[1]);
		return main_help_print(c, n, NULL);
	}
	const struct wn_ctl_verb *v = main_find_verb(n, argv[1]);
	if (v == NULL)
		main_unknown_verb(c, n, argv[1]);
	/* the word the synopsis begins with may follow: `help job artifact get` */
	size_t word = argc > 2 ? strlen(argv[2]) : 0;
	bool literal = word > 0 && strncmp(v->synopsis, argv[2], word) == 0 &&
	               (v->synopsis[word] == ' ' || v->synopsis[word] == '\0');
	if (argc > 3 || (argc == 3 && !literal))
		main_help_extra(c, argv[literal ? 3 : 2]);
	return main_help_print(c, n, v);
}

/* ---------------------------------------------------------------- between noun and verb */

/* An option as wnctl and the verbs of a noun know it, between the noun and its verb. */
struct main_opt {
	const char *name;
	int arg;     /* has_arg, or MAIN_ARG_MIXED: verbs differ on whether it takes a value */
	bool global; /* one of wnctl's own options */
};

enum { MAIN_ARG_MIXED = -1 };

/* main_opts_of returns the options of every verb of n and wnctl's own, each name once, in
 * *n_out (context-owned). */
static struct main_opt *main_opts_of(wn_ctl *c, const struct wn_ctl_noun *n, size_t *n_out)
{
	size_t cap = WN_ARRAY_LEN(main_opts);
	for (size_t k = 0; k < n->nverbs; k++)
		for (const struct option *o = n->verbs[k].opts; o != NULL && o->name != NULL; o++)
			cap++;
	struct main_opt *v = wn_ctl_alloc(c, cap * sizeof(*v));
	size_t nv = 0;
	for (size_t k = 0; k <= n->nverbs; k++) {
		const struct option *o = k < n->nverbs ? n->verbs[k].opts : main_opts;
		for (; o != NULL && o->name != NULL; o++) {
			size_t i = 0;
			while (i < nv && strcmp(v[i].name, o->name) != 0)
				i++;
			if (i == nv)
				v[nv++] = (struct main_opt){o->name, o->has_arg, false};
			else if (v[i].arg != o->has_arg)
				v[i].arg = MAIN_ARG_MIXED;
			v[i].global |= k == n->nverbs;
		}
	}
	*n_out = nv;
	return v;
}

/* main_opt_find returns the option the word a ("--name", "--name=V", "-x") names among the nv
 * options at v: the one of its exact name, else the first of those its name begins (NULL:
 * none); *arg gets whether the next word is its value (1), not (0), or may be and may not
 * be (MAIN_ARG_MIXED: the options it may name differ on it). */
static const struct main_opt *main_opt_find(const struct wn_ctl_noun *n, const struct main_opt *v,
                                            size_t nv, const char *a, int *arg)
{
	static const struct main_opt shorts[] = {{"help", no_argument, true},
	                                         {"yes", no_argument, false}};
	*arg = 0;
	if (a[1] != '-') { /* -h, -y, or a letter of a verb's option (-f, -o F) */
		if (a[2] != '\0')
			return NULL;
		if (a[1] == 'h' || a[1] == 'y')
			return &shorts[a[1] == 'y'];
		for (size_t k = 0; k < n->nverbs; k++)
			for (const struct option *o = n->verbs[k].opts; o && o->name; o++)
				if (o->val == a[1] && o->flag == NULL) {
					*arg = o->has_arg == required_argument;
					for (size_t i = 0; i < nv; i++)
						if (strcmp(v[i].name, o->name) == 0)
							return &v[i];
				}
		return NULL;
	}
	size_t len = strcspn(a + 2, "=");
	const struct main_opt *found = NULL;
	int want = 0;
	for (int exact = 1; exact >= 0 && found == NULL; exact--)
		for (size_t i = 0; i < nv; i++) {
			if (strncmp(v[i].name, a + 2, len) != 0 ||
			    (exact && v[i].name[len] != '\0'))
				continue;
			int takes = v[i].arg == MAIN_ARG_MIXED ? MAIN_ARG_MIXED
			                                       : v[i].arg == required_argument;
			want = found == NULL || want == takes ? takes : MAIN_ARG_MIXED;
			if (found == NULL)
				found = &v[i];
		}
	if (found != NULL && a[2 + len] != '=') /* "--name=V" holds its value */
		*arg = want;
	return found;
}

/* main_shadowed exits 2 when the option word a, given between noun n and its verb v, names
 * both an option of v and a global option of that name (task create --timeout): which one
 * is meant cannot be told there. */
static void main_shadowed(wn_ctl *c, const struct wn_ctl_noun *n, const struct wn_ctl_verb *v,
                          const char *a)
{
	if (a[1] != '-')
		return;
	size_t len = strcspn(a + 2, "="), nfound = 0;
	const struct option *found = NULL;
	for (const struct option *o = v->opts; o != NULL && o->name != NULL; o++)
		if (strncmp(o->name, a + 2, len) == 0) {
			found = o;
			nfound++;
			if (o->name[len] == '\0') {
				nfound = 1;
				break;
			}
		}
	for (const struct option *g = main_opts; nfound == 1 && g->name != NULL; g++)
		if (strcmp(g->name, found->name) == 0)
			wn_ctl_usage(c,
			             "option '%s' between '%s' and '%s' may be wnctl's or the "
			             "command's --%s: give it before '%s' for wnctl's, after '%s' "
			             "for the command's",
			             a, n->name, v->name, g->name, n->name, v->name);
}

/* main_noun_help prints the help of noun n, as JSON when --json is among its argc words,
 * and exits. */
__attribute__((noreturn)) static void main_noun_help(wn_ctl *c, const struct wn_ctl_noun *n,
                                                     int argc, char **argv)
{
	if (wn_ctl_help_wants_json(argc, argv))
		wn_ctl_global_option(c, WN_CTL_OPT_JSON, NULL);
	exit(main_help_print(c, n, NULL));
}

/* main_unknown_opt exits 2 on the option word a, which neither wnctl nor a verb of the nv
 * options at v knows, naming the nearest of them. */
__attribute__((noreturn)) static void main_unknown_opt(wn_ctl *c, const struct main_opt *v,
                                                       size_t nv, const char *a)
{
	struct option *o = wn_ctl_alloc(c, (nv + 1) * sizeof(*o));
	for (size_t i = 0; i < nv; i++)
		o[i] = (struct option){v[i].name, no_argument, NULL, 0};
	wn_ctl_unknown_option(c, o, a);
}

/* main_verb_at returns the place of the verb among the argc words after noun n, past the
 * options that may stand before it (`wnctl job --json list`), marking in value[] the words
 * that are their values; prints n's help when they ask for it, exits 2 when no verb
 * follows. */
static int main_verb_at(wn_ctl *c, const struct wn_ctl_noun *n, int argc, char **argv, bool *value)
{
	size_t nv = 0;
	const struct main_opt *opts = main_opts_of(c, n, &nv);
	const char *unknown = NULL;
	int at = 0;
	for (; at < argc; at++) {
		const char *a = argv[at];
		if (strcmp(a, "--") == 0)
			wn_ctl_usage(c, "%s: missing command before '--'", n->name);
		if (a[0] != '-' || a[1] == '\0' || (a[1] >= '0' && a[1] <= '9'))
			break; /* a word: the verb (a negative number is no option) */
		int arg = 0;
		const struct main_opt *o = main_opt_find(n, opts, nv, a, &arg);
		if (o != NULL && o->global && strcmp(o->name, "help") == 0 && !strchr(a, '='))
			main_noun_help(c, n, argc, argv);
		if (arg == MAIN_ARG_MIXED)
			wn_ctl_usage(c,
			             "option '%s' before the command: give it after the command, "
			             "whose help says whether it takes a value",
			             a);
		if (o == NULL && unknown == NULL)
			unknown = a;
		if (arg == 1 && at + 1 >= argc)
			wn_ctl_usage(c, "option '%s' needs a value", a);
		if (arg == 1)
			value[++at] = true;
	}
	if (at < argc && main_is_help(argv[at]))
		main_noun_help(c, n, argc, argv);
	if (unknown != NULL && (at >= argc || main_find_verb(n, argv[at]) == NULL))
		main_unknown_opt(c, opts, nv, unknown); /* its value taken for the verb? */
	if (at >= argc && argc > 1 && value[argc - 1] && main_find_verb(n, argv[argc - 1]))
		wn_ctl_usage(c, "%s: missing command ('%s' is the value of option '%s')", n->name,
		             argv[argc - 1], argv[argc - 2]);
	if (at >= argc)
		wn_ctl_usage(c, "%s: missing command", n->name);
	return at;
}

/* main_verb selects noun n's verb, found among the argc words after n, as the command: its
 * own words first, then the options that stood before it, then the rest. A missing or
 * unknown verb exits 2, and so does an option before it that may be wnctl's or the
 * verb's. */
static const struct wn_ctl_verb *main_verb(wn_ctl *c, const struct wn_ctl_noun *n, int argc,
                                           char **argv)
{
	wn_ctl_set_command(c, n, NULL, 0, NULL); /* errors point to the noun's help */
	bool *value = wn_ctl_alloc(c, (size_t)argc + 1);
	int at = main_verb_at(c, n, argc, argv, value);
	const struct wn_ctl_verb *v = main_find_verb(n, argv[at]);
	if (v == NULL)
		main_unknown_verb(c, n, argv[at]);
	char **words = wn_ctl_alloc(c, ((size_t)argc + 1) * sizeof(*words));
	int nw = 0;
	words[nw++] = argv[at];
	for (int i = 0; i < at; i++) {
		if (!value[i])
			main_shadowed(c, n, v, argv[i]);
		words[nw++] = argv[i];
	}
	for (int i = at + 1; i < argc; i++)
		words[nw++] = argv[i];
	wn_ctl_set_command(c, n, v, nw, words);
	return v;
}

/* main_version answers --version: "wnctl VERSION (protocol N)", or with --json
 * {"version", "protocol"}. */
static int main_version(wn_ctl *c)
{
	if (!wn_ctl_json(c)) {
		printf("wnctl %s (protocol %d)\n", WN_VERSION, WN_PROTOCOL_VERSION);
		return wn_ctl_output_done(c, WN_CTL_EXIT_OK);
	}
	json_t *j = json_object();
	json_object_set_new(j, "version", json_string(WN_VERSION));
	json_object_set_new(j, "protocol", json_integer(WN_PROTOCOL_VERSION));
	wn_json_print(j);
	return wn_ctl_output_done(c, WN_CTL_EXIT_OK);
}

/* main_std_fds fills a closed standard descriptor with /dev/null opened for reading
 * only: else the first socket opened takes its place and the output goes to the
 * server. A write to it then fails, and wnctl says it cannot write its output. */
static void main_std_fds(void)
{
	for (int fd = 0; fd < 3; fd++)
		if (fcntl(fd, F_GETFD) < 0 && open("/dev/null", O_RDONLY) < 0)
			exit(WN_CTL_EXIT_ERROR);
}

int main(int argc, char **argv)
{
	main_std_fds();
	main_ctl = wn_ctl_new();
	wn_termsafe_install(wn_ctl_json_flag(main_ctl));
	atexit(main_cleanup);
	wn_ctl *c = main_ctl;

	opterr = 0;
	int ch;
	bool version = false, help = false;
	while ((ch = getopt_long(argc, argv, "+:h", main_opts, NULL)) != -1) {
		/* after --help, only --json counts: the help is printed whatever else follows */
		if (help && ch != WN_CTL_OPT_JSON)
			continue;
		switch (ch) {
		case WN_CTL_OPT_HELP:
			help = true; /* printed after the options: --json may follow */
			break;
		case WN_CTL_OPT_VERSION:
			version = true; /* printed after the options: --json may follow */
			break;
		case ':':
			wn_ctl_usage(c, "option '%s' needs a value", argv[optind - 1]);
		case '?':
			wn_ctl_bad_option(c, main_opts, argv[optind - 1]);
		default:
			wn_ctl_global_option(c, ch, optarg);
		}
	}
	if (help)
		return main_help_print(c, NULL, NULL);
	if (version)
		return main_version(c);
	if (optind >= argc)
		wn_ctl_usage(c, "missing command");

	const char *name = argv[optind];
	if (strcmp(name, "__complete") == 0)
		return wn_ctl_output_done(c, wn_ctl_complete(argc - optind - 1, argv + optind + 1,
		                                             main_nouns, WN_ARRAY_LEN(main_nouns),
		                                             main_opts));
	if (strcmp(name, "help") == 0)
		return main_help_command(c, argc - optind - 1, argv + optind + 1);
	const struct wn_ctl_noun *n = main_find_noun(name);
	if (n == NULL)
		main_unknown_noun(c, name);

	const struct wn_ctl_verb *v = &n->verbs[0];
	if (n->verbs[0].name == NULL) /* the noun is the command (status) */
		wn_ctl_set_command(c, n, v, argc - optind, argv + optind);
	else
		v = main_verb(c, n, argc - optind - 1, argv + optind + 1);
	return wn_ctl_output_done(c, v->run(c));
}
