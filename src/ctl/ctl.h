/* ctl: what every wnctl command shares: the command table types, option and
 * argument parsing, the RPC call, exit codes and output helpers.
 *
 * wnctl runs one command and exits, so the helpers here that fail print one
 * line "wnctl: <message>" on stderr and exit with the matching code; commands
 * read as a straight line. Everything a command gets from these helpers
 * (replies, strings, allocations) is owned by the context and freed when it is
 * freed (main does that at exit). */
#ifndef WN_CTL_H
#define WN_CTL_H

#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <protobuf-c/protobuf-c.h>

#include "whatsnext.pb-c.h"

/* Exit codes; documented in `wnctl --help` and docs/cli.md, scripts rely on them. */
enum wn_ctl_exit {
	WN_CTL_EXIT_OK = 0,
	WN_CTL_EXIT_ERROR = 1,        /* any other error */
	WN_CTL_EXIT_USAGE = 2,        /* bad command line or input file */
	WN_CTL_EXIT_UNREACHABLE = 3,  /* server unreachable, no reply, or unavailable */
	WN_CTL_EXIT_NOT_FOUND = 4,    /* NOT_FOUND */
	WN_CTL_EXIT_EXISTS = 5,       /* ALREADY_EXISTS */
	WN_CTL_EXIT_PRECONDITION = 6, /* FAILED_PRECONDITION */
	WN_CTL_EXIT_INVALID = 7,      /* INVALID_ARGUMENT or RESOURCE_EXHAUSTED */
	WN_CTL_EXIT_DENIED = 8,       /* UNAUTHENTICATED or PERMISSION_DENIED */
	WN_CTL_EXIT_JOB_FAILED = 9,   /* job log -f, job wait: a job ended without completing */
	WN_CTL_EXIT_TIMEOUT = 10,     /* job wait: --timeout passed first */
};

/* Option values of the global options; verb options use values below these. */
enum {
	WN_CTL_OPT_SERVER = 0x1000,
	WN_CTL_OPT_TOKEN,
	WN_CTL_OPT_JSON,
	WN_CTL_OPT_TIMEOUT,
	WN_CTL_OPT_VERSION,
	WN_CTL_OPT_TLS_CA,
	WN_CTL_OPT_TLS_CERT,
	WN_CTL_OPT_TLS_KEY,
	WN_CTL_OPT_TLS_SERVER_NAME,
	WN_CTL_OPT_TOKEN_FILE,
	WN_CTL_OPT_YES,
	WN_CTL_OPT_HELP = 'h',
};

typedef struct wn_ctl wn_ctl;

/* One line of a command's option help: "--name N" and what it does. */
struct wn_ctl_opthelp {
	const char *opt;
	const char *text;
};

/* One command: `wnctl NOUN VERB ARGS`. */
struct wn_ctl_verb {
	const char *name;                  /* NULL when the noun itself is the command */
	int (*run)(wn_ctl *c);             /* returns the exit code */
	const char *synopsis;              /* arguments and options after the verb */
	const char *summary;               /* one sentence */
	const struct option *opts;         /* getopt_long options, {0}-terminated, or NULL */
	const struct wn_ctl_opthelp *help; /* one per option, {NULL}-terminated, or NULL */
};

/* A noun and its verbs. */
struct wn_ctl_noun {
	const char *name;
	const char *summary;
	const struct wn_ctl_verb *verbs;
	size_t nverbs;
};

/* The nouns, one file each. */
extern const struct wn_ctl_noun wn_ctl_project;
extern const struct wn_ctl_noun wn_ctl_task;
extern const struct wn_ctl_noun wn_ctl_job;
extern const struct wn_ctl_noun wn_ctl_queue;
extern const struct wn_ctl_noun wn_ctl_sweep;
extern const struct wn_ctl_noun wn_ctl_worker;
extern const struct wn_ctl_noun wn_ctl_status;
extern const struct wn_ctl_noun wn_ctl_admin;
extern const struct wn_ctl_noun wn_ctl_token;

/* ---------------------------------------------------------------- context */

/* wn_ctl_new returns a context with the defaults and WN_SERVER / WN_TOKEN applied. */
wn_ctl *wn_ctl_new(void);

/* wn_ctl_free closes the connection and frees everything the context owns; NULL is a no-op. */
void wn_ctl_free(wn_ctl *c);

/* wn_ctl_global_option applies global option val (a WN_CTL_OPT_*) with argument arg. */
void wn_ctl_global_option(wn_ctl *c, int val, const char *arg);

/* wn_ctl_set_command selects the command to run with its arguments (argv[0] is its name). */
void wn_ctl_set_command(wn_ctl *c, const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb,
                        int argc, char **argv);

/* wn_ctl_json returns true when --json was given. */
bool wn_ctl_json(const wn_ctl *c);

/* wn_ctl_has_token returns true when c's calls carry a token (known once a
 * call was made: a token file is read when the first call connects). */
bool wn_ctl_has_token(const wn_ctl *c);

/* wn_ctl_json_flag returns where c keeps whether output is JSON (--json). */
const bool *wn_ctl_json_flag(const wn_ctl *c);

/* The option of a command that asks before it changes something (wn_ctl_confirm): put
 * WN_CTL_YES_OPT in its options and WN_CTL_YES_HELP in its help; wn_ctl_getopt takes
 * --yes (or -y) itself. */
/* clang-format off */
#define WN_CTL_YES_OPT {"yes", no_argument, NULL, WN_CTL_OPT_YES}
#define WN_CTL_YES_HELP {"-y, --yes", "do not ask for confirmation on a terminal"}
/* clang-format on */

/* wn_ctl_yes returns true when the command was given --yes. */
bool wn_ctl_yes(const wn_ctl *c);

/* wn_ctl_confirm asks the question fmt ("delete project ml") on a terminal and
 * exits 1 ("not confirmed: nothing changed") unless the answer is y or yes; it
 * returns at once, asking nothing, when --yes was given or stdin is not a
 * terminal (scripts, pipes). Call it after the arguments are checked, before
 * the change. */
__attribute__((format(printf, 2, 3))) void wn_ctl_confirm(wn_ctl *c, const char *fmt, ...);

/* ---------------------------------------------------------------- errors */

/* wn_ctl_die prints "wnctl: <message>" on stderr, one line (controls and line breaks in
 * the message as visible escapes, as wn_ctl_line), and exits with code. */
__attribute__((noreturn, format(printf, 3, 4))) void wn_ctl_die(wn_ctl *c, int code,
                                                                const char *fmt, ...);

/* wn_ctl_output_done returns rc once stdout is written out, or exits 1 saying why it
 * cannot be ("cannot write output: No space left on device"). */
int wn_ctl_output_done(wn_ctl *c, int rc);

/* wn_ctl_output_check writes out what stdout holds, and ends wnctl when that fails as the
 * write itself would: a reader gone (EPIPE) raises SIGPIPE, and with SIGPIPE ignored wnctl
 * exits 1 "cannot write output: Broken pipe", as on any other failure. A command that
 * writes as it goes on asking the server (the pages of `--json job list --all`) calls it
 * after each part, to stop at the first write that failed. */
void wn_ctl_output_check(wn_ctl *c);

/* wn_ctl_usage prints "wnctl: <message> (see 'wnctl NOUN VERB --help')" and exits 2. */
__attribute__((noreturn, format(printf, 2, 3))) void wn_ctl_usage(wn_ctl *c, const char *fmt, ...);

/* wn_ctl_exit_code maps a wn_rpc_call result (gRPC code or negative WN_E*) to an exit code. */
int wn_ctl_exit_code(int rv);

/* ---------------------------------------------------------------- arguments */

/* wn_ctl_getopt returns the command's next option (its val, with its value in
 * optarg) or 0 when none is left; global options are applied, --help prints the
 * command's help and exits 0, a bad option exits 2. */
int wn_ctl_getopt(wn_ctl *c);

/* wn_ctl_bad_option exits 2 on the option getopt_long refused ('?'), arg the last
 * argument it read: a value given to an option of opts that takes none ("--force=1"),
 * an unknown short option (optopt) or an unknown long one (wn_ctl_unknown_option). */
__attribute__((noreturn)) void wn_ctl_bad_option(wn_ctl *c, const struct option *opts,
                                                 const char *arg);

/* wn_ctl_unknown_option exits 2 on the unknown option arg ("--stauts"), naming the
 * nearest long option of opts ({0}-terminated) when one is near. */
__attribute__((noreturn)) void wn_ctl_unknown_option(wn_ctl *c, const struct option *opts,
                                                     const char *arg);

/* wn_ctl_args returns the positional arguments and stores their count in *n;
 * exits 2 unless there are min to max of them (max -1: no limit). */
char **wn_ctl_args(wn_ctl *c, int min, int max, int *n);

/* wn_ctl_parse_id parses a positive integer id, at most UINT64_MAX; what names it in the
 * error (one past the largest says so, with the largest). */
uint64_t wn_ctl_parse_id(wn_ctl *c, const char *what, const char *s);

/* wn_ctl_parse_u64 parses an unsigned integer from lo (0 or 1) to UINT64_MAX, as
 * wn_ctl_parse_id does. */
uint64_t wn_ctl_parse_u64(wn_ctl *c, const char *what, const char *s, uint64_t lo);

/* wn_ctl_filter returns s, the value of filter what (--task, --name, a
 * PROJECT argument), and exits 2 when it is empty: "" is no value to match,
 * not "all of them". */
const char *wn_ctl_filter(wn_ctl *c, const char *what, const char *s);

/* wn_ctl_split returns the comma-separated items of arg, the value of option
 * opt (--status, --project), as a NULL-terminated array owned by c; *n gets
 * their number. An empty item exits 2 (ctl_split.c). */
char **wn_ctl_split(wn_ctl *c, const char *opt, const char *arg, size_t *n);

/* wn_ctl_once returns value, given to option opt, which takes one value and was given
 * prev before (NULL or "": not given); another value than prev exits 2: a filter given
 * twice, one of them dropped without a word, would select other jobs than meant. */
const char *wn_ctl_once(wn_ctl *c, const char *opt, const char *prev, const char *value);

/* wn_ctl_once_opt refuses option opt, which takes one value, given value after
 * another one among the command's options (wn_ctl_once): wn_ctl_parse_int and
 * wn_ctl_parse_mb call it for the options they parse ("--priority"). The
 * global options before the command are not counted. */
void wn_ctl_once_opt(wn_ctl *c, const char *opt, const char *value);

/* wn_ctl_once_id is wn_ctl_once for an id (0: not given before). */
uint64_t wn_ctl_once_id(wn_ctl *c, const char *opt, uint64_t prev, uint64_t value);

/* wn_ctl_check_filters exits 2 when the nprojects projects or the glob (may be NULL) of a
 * job filter are more than the server takes: refused before anything is sent. */
void wn_ctl_check_filters(wn_ctl *c, size_t nprojects, const char *glob);

/* wn_ctl_parse_int parses a decimal integer within [lo, hi]; what names it in the error. */
int64_t wn_ctl_parse_int(wn_ctl *c, const char *what, const char *s, int64_t lo, int64_t hi);

/* wn_ctl_parse_mb parses a memory size in MiB as wn_size_parse reads it: "512", "512M",
 * "1.5G" or "2T". */
uint64_t wn_ctl_parse_mb(wn_ctl *c, const char *what, const char *s);

/* wn_ctl_parse_kv splits "KEY=VALUE" (non-empty key) into context-owned strings. */
void wn_ctl_parse_kv(wn_ctl *c, const char *what, const char *s, char **key, char **value);

/* wn_ctl_utf8 exits 2 when s, the value of what ("--reason"), is not UTF-8: the server
 * takes text only (and refused it naming a field of the request). */
void wn_ctl_utf8(wn_ctl *c, const char *what, const char *s);

/* wn_ctl_parse_enum parses a lowercase enum name ("pending", "archived") of ed. */
int wn_ctl_parse_enum(wn_ctl *c, const char *what, const ProtobufCEnumDescriptor *ed,
                      const char *s);

/* KEY=VALUE pairs from a repeated option (--param, --label), in the order given. */
struct wn_ctl_kv {
	size_t n;
	char **keys;
	char **values;
	size_t cap;         /* room in keys and values */
	struct wn_map *idx; /* each key's place + 1, to find a key given again */
};

/* wn_ctl_kv_add parses arg as KEY=VALUE into kv; a key given again replaces its value. */
void wn_ctl_kv_add(wn_ctl *c, struct wn_ctl_kv *kv, const char *what, const char *arg);

/* wn_ctl_param_add is wn_ctl_kv_add for --param, which refuses an empty value (as --grid
 * does). */
void wn_ctl_param_add(wn_ctl *c, struct wn_ctl_kv *kv, const char *arg);

/* ---------------------------------------------------------------- rpc */

/* wn_ctl_call connects if needed, calls method (a WN_PATH_* of methods.h)
 * with in and returns the context-owned reply of type out_desc; on failure it
 * prints the error and exits with its code. extra_ms lengthens the timeout. */
void *wn_ctl_call(wn_ctl *c, const char *method, const ProtobufCMessage *in,
                  const ProtobufCMessageDescriptor *out_desc, int extra_ms);

/* wn_ctl_call_soft is wn_ctl_call for a reply the command can do without: when the server
 * answers with an error it returns NULL and stores the gRPC code in *code; if transport,
 * also when no answer came (server unreachable, no reply in time), with the negative WN_E*
 * in *code and its message in wn_ctl_call_error, for commands that retry; otherwise a
 * transport failure exits. */
void *wn_ctl_call_soft(wn_ctl *c, const char *method, const ProtobufCMessage *in,
                       const ProtobufCMessageDescriptor *out_desc, int extra_ms, int *code,
                       bool transport);

/* wn_ctl_reached tells whether wnctl connected to the server once (a server that was
 * there and is gone now is waited for by the commands that ride out a restart). */
bool wn_ctl_reached(const wn_ctl *c);

/* wn_ctl_release frees reply, a reply of wn_ctl_call the command is done with
 * (a command that calls without end, such as `job log -f`, keeps none). */
void wn_ctl_release(wn_ctl *c, void *reply);

/* wn_ctl_call_try is wn_ctl_call for a reply the command can do without: when the server
 * answers with an error it returns NULL and stores the gRPC code in *code (a transport
 * failure still exits). */
static inline void *wn_ctl_call_try(wn_ctl *c, const char *method, const ProtobufCMessage *in,
                                    const ProtobufCMessageDescriptor *out_desc, int extra_ms,
                                    int *code)
{
	return wn_ctl_call_soft(c, method, in, out_desc, extra_ms, code, false);
}

/* wn_ctl_call_error returns the server's message for the last call wn_ctl_call_try let fail,
 * as one line (wn_ctl_line). */
const char *wn_ctl_call_error(const wn_ctl *c);

/* ---------------------------------------------------------------- memory */

/* wn_ctl_alloc returns n zeroed bytes owned by the context. */
void *wn_ctl_alloc(wn_ctl *c, size_t n);

/* wn_ctl_strdup returns a context-owned copy of s. */
char *wn_ctl_strdup(wn_ctl *c, const char *s);

/* wn_ctl_printf returns a context-owned formatted string. */
__attribute__((format(printf, 2, 3))) char *wn_ctl_printf(wn_ctl *c, const char *fmt, ...);

/* wn_ctl_mark returns a mark of what the context owns now, for wn_ctl_rewind. */
size_t wn_ctl_mark(const wn_ctl *c);

/* wn_ctl_rewind frees what wn_ctl_alloc, wn_ctl_strdup and wn_ctl_printf gave since mark:
 * texts made for one page of output do not pile up over many pages. */
void wn_ctl_rewind(wn_ctl *c, size_t mark);

/* wn_ctl_defer has the context call fn(p) when it is freed (in the reverse order of the calls). */
void wn_ctl_defer(wn_ctl *c, void (*fn)(void *), void *p);

/* ---------------------------------------------------------------- input */

/* wn_ctl_input_name returns how messages name the input path: "stdin" for "-". */
const char *wn_ctl_input_name(const char *path);

/* wn_ctl_read_input returns the whole of path ("-": stdin, also a pipe left non-blocking),
 * context-owned and NUL-terminated, its length in *len; it exits 1 when path cannot be
 * read or holds more than max bytes ("cannot read stdin: larger than N bytes" and why, a
 * text starting with a blank, or NULL). */
char *wn_ctl_read_input(wn_ctl *c, const char *path, size_t max, const char *why, size_t *len);

/* ---------------------------------------------------------------- output */

/* wn_ctl_print_message prints m (NULL: null) as JSON on stdout. */
void wn_ctl_print_message(const ProtobufCMessage *m);

/* wn_ctl_line returns s as one line of text (context-owned), every control (line breaks
 * and tabs too) a visible escape (wn_termsafe_escape): for the server's strings. */
const char *wn_ctl_line(wn_ctl *c, const char *s);

/* wn_ctl_states returns s, a message or reason from wnd (context-owned), with
 * each job state it names after "is " or "is already " in lower case ("job 5
 * is already cancelled"), as wnctl prints states everywhere else; other upper
 * case ("SLURM job 12 CANCELLED outside WhatsNext") stays. NULL for NULL. */
const char *wn_ctl_states(wn_ctl *c, const char *s);

/* wn_ctl_call_message returns the message of a failed call (context-owned, one
 * line): err, else what rv means; the server's (rv > 0) through wn_ctl_states. */
const char *wn_ctl_call_message(wn_ctl *c, int rv, const char *err);

/* wn_ctl_time formats epoch ms as local ISO-8601 ("2024-05-01T12:00:00+02:00"), "-" for 0. */
const char *wn_ctl_time(wn_ctl *c, int64_t ms);

/* wn_ctl_count returns n and the noun, in the plural unless n is 1 ("1 job", "2 jobs");
 * context-owned. plural NULL adds an s. */
const char *wn_ctl_count(wn_ctl *c, unsigned long long n, const char *noun, const char *plural);

/* wn_ctl_enum returns the lowercase name of value in ed ("pending"). */
const char *wn_ctl_enum(wn_ctl *c, const ProtobufCEnumDescriptor *ed, int value);

/* wn_ctl_field prints one "key: value" line on stdout, controls in the value (line
 * breaks too) as visible escapes. */
__attribute__((format(printf, 2, 3))) void wn_ctl_field(const char *key, const char *fmt, ...);

/* wn_ctl_field_text prints "key:" and then text, each line indented, at most max_lines of
 * its last lines (0: all); nothing when text is empty. */
void wn_ctl_field_text(const char *key, const char *text, int max_lines);

/* wn_ctl_complete answers `wnctl __complete WORD...` for the shell's completion: argv holds
 * the words after "wnctl", the last the one being completed; prints the words that may
 * stand there (nouns of nouns, their verbs, options of the command and globals, values of
 * --status and --state), one per line. */
int wn_ctl_complete(int argc, char **argv, const struct wn_ctl_noun *const *nouns, size_t n,
                    const struct option *globals);

/* wn_ctl_help_verb prints the usage of one command, with every option, to f. */
void wn_ctl_help_verb(FILE *f, const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb);

/* wn_ctl_help_noun prints the usage of every command of noun to f. */
void wn_ctl_help_noun(FILE *f, const struct wn_ctl_noun *noun);

/* wn_ctl_help_globals prints the global options, the environment and the exit codes to f. */
void wn_ctl_help_globals(FILE *f);

/* The first line of `wnctl --help`, after "usage: ". */
#define WN_CTL_USAGE                                                                               \
	"wnctl [--server URL] [--token-file FILE] [--json] [--timeout MS] NOUN VERB [ARGS]"

/* wn_ctl_help_json prints as one JSON document on stdout what the help prints as text:
 * with verb, the command's (its "command", "usage", "summary", "options",
 * "global_options"); with noun alone, the noun's ("commands": each one's "command",
 * "usage" and "summary"); with neither, `wnctl --help`'s (the commands of nouns, the
 * global options, the "environment" and the "exit_codes"). */
void wn_ctl_help_json(const struct wn_ctl_noun *const *nouns, size_t n,
                      const struct wn_ctl_noun *noun, const struct wn_ctl_verb *verb);

/* wn_ctl_help_wants_json tells whether --json (or a prefix only it has) is among the argc
 * words at argv, before a "--": help given before it is printed as JSON. */
bool wn_ctl_help_wants_json(int argc, char *const *argv);

/* ---------------------------------------------------------------- shared by commands */

/* wn_ctl_stats_print prints a StatsResponse as a table (or JSON), with a total row if totals. */
void wn_ctl_stats_print(wn_ctl *c, const Whatsnext__V1__StatsResponse *r, bool totals);

/* wn_ctl_batch_done prints a SubmitBatch reply: the ids one per line (and the sweep on stderr),
 * or the reply as JSON. */
void wn_ctl_batch_done(wn_ctl *c, const Whatsnext__V1__SubmitBatchResponse *r);

/* `job sweep`, which lives with the sweep noun in cmd_sweep.c. */
int wn_ctl_job_sweep(wn_ctl *c);
extern const struct option wn_ctl_job_sweep_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_sweep_help[];

/* `job log` (cmd_log.c): a job's live output, followed with -f. */
int wn_ctl_job_log(wn_ctl *c);
extern const struct option wn_ctl_job_log_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_log_help[];

/* `job wait` (cmd_wait.c): until jobs, a sweep or a project have ended. */
int wn_ctl_job_wait(wn_ctl *c);
extern const struct option wn_ctl_job_wait_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_wait_help[];

/* The changes to jobs (cmd_bulk.c): job cancel|retry|remove|priority|hold|release on ids, a
 * sweep or filters, job update, sweep cancel|retry. */
int wn_ctl_job_cancel(wn_ctl *c);
int wn_ctl_job_retry(wn_ctl *c);
int wn_ctl_job_remove(wn_ctl *c);
int wn_ctl_job_priority(wn_ctl *c);
int wn_ctl_job_hold(wn_ctl *c);
int wn_ctl_job_release(wn_ctl *c);
int wn_ctl_job_update(wn_ctl *c);
int wn_ctl_sweep_cancel(wn_ctl *c);
int wn_ctl_sweep_retry(wn_ctl *c);
extern const struct option wn_ctl_job_cancel_opts[], wn_ctl_job_remove_opts[],
    wn_ctl_job_bulk_opts[], wn_ctl_job_update_opts[], wn_ctl_sweep_cancel_opts[],
    wn_ctl_sweep_retry_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_cancel_help[], wn_ctl_job_remove_help[],
    wn_ctl_job_bulk_help[], wn_ctl_job_update_help[], wn_ctl_sweep_cancel_help[],
    wn_ctl_sweep_retry_help[];
/* `sweep results` (cmd_results.c): one row per job of a sweep with its results. */
int wn_ctl_sweep_results(wn_ctl *c);
extern const struct option wn_ctl_sweep_results_opts[];
extern const struct wn_ctl_opthelp wn_ctl_sweep_results_help[];

/* wn_ctl_job_results_print prints what job j reported, its results and artifacts, as
 * `job show` does (nothing when it reported none). */
void wn_ctl_job_results_print(wn_ctl *c, const Whatsnext__V1__Job *j);

/* Result keys named on the command line (`job list --results K,...`), context-owned. */
struct wn_ctl_results_keys {
	size_t n;
	const char **v;
};

/* wn_ctl_results_keys appends the comma-separated keys of arg to keys; an empty key, or one
 * keys holds already, exits 2. */
void wn_ctl_results_keys(wn_ctl *c, const char *arg, struct wn_ctl_results_keys *keys);

/* wn_ctl_result_text returns the result key of job j as text (context-owned): a number in
 * its shortest exact decimal, a text as it is, "" when j has none. */
const char *wn_ctl_result_text(wn_ctl *c, const Whatsnext__V1__Job *j, const char *key);
/* `job list`, in cmd_joblist.c. */
int wn_ctl_job_list(wn_ctl *c);
extern const struct option wn_ctl_job_list_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_list_help[];
/* `job history`, in cmd_history.c. */
int wn_ctl_job_history(wn_ctl *c);
extern const struct option wn_ctl_job_history_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_history_help[];
/* `job artifacts` and `job artifact get`, in cmd_artifact.c. */
int wn_ctl_job_artifacts(wn_ctl *c);
int wn_ctl_job_artifact(wn_ctl *c);
extern const struct option wn_ctl_job_artifact_opts[];
extern const struct wn_ctl_opthelp wn_ctl_job_artifact_help[];

/* wn_ctl_sweeps_table prints sweeps as a table whose first column is headed id_header
 * (`sweep list`, `status`). */
void wn_ctl_sweeps_table(wn_ctl *c, Whatsnext__V1__Sweep *const *sweeps, size_t n,
                         const char *id_header);

#endif
