#include "fmt_slurm.h"

#include "err.h"
#include "kit.h"
#include "log.h"
#include "proc.h"
#include "strbuf.h"
#include "template.h"
#include "util.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define SLURM_OUTPUT_DEFAULT "{project}/{task}/{job.id}.{attempt}.out"
#define SLURM_NAME_DEFAULT   "{project}.{task}"
#define SLURM_SQUEUE_FORMAT  "JobID:|,JobArrayID:|,State:|,exit_code:|,Reason:|"
#define SLURM_SACCT_FIELDS   "JobIDRaw,JobID,State,ExitCode"
#define SLURM_SUBMIT_MS      120000 /* sbatch may wait on a busy controller */
#define SLURM_QUERY_MS       60000
#define SLURM_IDS_PER_CALL   500
#define SLURM_UNKNOWN_MS     60000 /* unknown to squeue and sacct this long: give up */
#define SLURM_KICK_MS        300   /* after a cancel, look again this soon */
#define SLURM_REASON_MAX     1000

static const char *const slurm_accounting[] = {"auto", "sacct", "jobcomp", "none", NULL};

/* Which sacct answers for jobs SLURM no longer lists. */
enum { SLURM_ACCT_UNKNOWN = 0, SLURM_ACCT_SACCT, SLURM_ACCT_JOBCOMP, SLURM_ACCT_NONE };

typedef struct slurm_conf {
	char *script;
	char *shell;
	char *job_name;
	char *partition, *time, *nodes, *ntasks, *cpus_per_task, *mem, *gres, *gpus, *account, *qos,
	    *constraint;
	char *workdir;
	char *output;
	char *error;
	wn_conf_strv extra;
	wn_conf_strmap env;
	bool array;
	int64_t array_max;
	int64_t poll_ms;
	char *accounting;
	char *sbatch, *squeue, *sacct, *scancel;
	/* from the worker */
	char *log_dir;
	size_t tail_bytes;
	/* learnt by the poller (under its lock): SLURM_ACCT_* */
	int acct_mode;
} slurm_conf;

#define SC(field) offsetof(slurm_conf, field)

static const wn_conf_key slurm_keys[] = {
    WN_FMT_KEY_FORMATTER,
    {"script", WN_CONF_T_STR, SC(script), NULL, 0, 0, WN_CONF_REQUIRED | WN_CONF_NONEMPTY, NULL,
     "the body of the batch script (template; every value is shell-quoted)"},
    {"shell", WN_CONF_T_STR, SC(shell), "/bin/bash", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the interpreter of the batch script (its #! line)"},
    {"job_name", WN_CONF_T_STR, SC(job_name), SLURM_NAME_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--job-name (template)"},
    {"partition", WN_CONF_T_STR, SC(partition), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--partition (template)"},
    {"time", WN_CONF_T_STR, SC(time), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--time (template); default: the task's timeout"},
    {"nodes", WN_CONF_T_STR, SC(nodes), NULL, 0, 0, WN_CONF_NONEMPTY, NULL, "--nodes (template)"},
    {"ntasks", WN_CONF_T_STR, SC(ntasks), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--ntasks (template)"},
    {"cpus_per_task", WN_CONF_T_STR, SC(cpus_per_task), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--cpus-per-task (template); default: the task's cpu"},
    {"mem", WN_CONF_T_STR, SC(mem), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--mem (template); default: the task's memory"},
    {"gres", WN_CONF_T_STR, SC(gres), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--gres (template); default gpu:N for a task needing N gpu"},
    {"gpus", WN_CONF_T_STR, SC(gpus), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--gpus (template), instead of gres"},
    {"account", WN_CONF_T_STR, SC(account), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--account (template)"},
    {"qos", WN_CONF_T_STR, SC(qos), NULL, 0, 0, WN_CONF_NONEMPTY, NULL, "--qos (template)"},
    {"constraint", WN_CONF_T_STR, SC(constraint), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--constraint (template)"},
    {"workdir", WN_CONF_T_STR, SC(workdir), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "--chdir (template); default: the worker's directory"},
    {"output", WN_CONF_T_STR, SC(output), SLURM_OUTPUT_DEFAULT, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the job's output file (template), relative to log_dir"},
    {"error", WN_CONF_T_STR, SC(error), NULL, 0, 0, WN_CONF_NONEMPTY, NULL,
     "the job's error file (template), relative to log_dir; default: with the output"},
    {"extra", WN_CONF_T_STRLIST, SC(extra), NULL, 0, 0, 0, NULL,
     "more sbatch options, one per item (templates)"},
    {"env", WN_CONF_T_STRMAP, SC(env), NULL, 0, 0, 0, NULL,
     "variables the script exports (values are templates, shell-quoted)"},
    {"array", WN_CONF_T_BOOL, SC(array), "true", 0, 0, 0, NULL,
     "submit jobs of one sweep fetched together as one job array"},
    {"array_max", WN_CONF_T_INT, SC(array_max), "1000", 1, 100000, 0, NULL,
     "largest job array submitted (SLURM's MaxArraySize bounds it too)"},
    {"poll_ms", WN_CONF_T_INT, SC(poll_ms), "10000", 200, 3600000, 0, NULL,
     "how often squeue is asked about the worker's SLURM jobs"},
    {"accounting", WN_CONF_T_STR, SC(accounting), "auto", 0, 0, 0, slurm_accounting,
     "how the end of a job squeue forgot is learnt: auto, sacct, jobcomp (sacct -c) or none"},
    {"sbatch", WN_CONF_T_STR, SC(sbatch), "sbatch", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the sbatch program"},
    {"squeue", WN_CONF_T_STR, SC(squeue), "squeue", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the squeue program"},
    {"sacct", WN_CONF_T_STR, SC(sacct), "sacct", 0, 0, WN_CONF_NONEMPTY, NULL, "the sacct program"},
    {"scancel", WN_CONF_T_STR, SC(scancel), "scancel", 0, 0, WN_CONF_NONEMPTY, NULL,
     "the scancel program"},
};

/* The #SBATCH options taken from the task's keys, in the order written. */
static const struct {
	size_t offset;
	const char *key;
	const char *flag;
} slurm_opts[] = {
    {SC(partition), "partition", "--partition"},
    {SC(time), "time", "--time"},
    {SC(nodes), "nodes", "--nodes"},
    {SC(ntasks), "ntasks", "--ntasks"},
    {SC(cpus_per_task), "cpus_per_task", "--cpus-per-task"},
    {SC(mem), "mem", "--mem"},
    {SC(gres), "gres", "--gres"},
    {SC(gpus), "gpus", "--gpus"},
    {SC(account), "account", "--account"},
    {SC(qos), "qos", "--qos"},
    {SC(constraint), "constraint", "--constraint"},
    {SC(workdir), "workdir", "--chdir"},
};

#define SLURM_NOPTS WN_ARRAY_LEN(slurm_opts)

static const char *slurm_opt(const slurm_conf *c, size_t i)
{
	return *(char *const *)((const char *)c + slurm_opts[i].offset);
}

typedef struct slurm_run slurm_run;
struct slurm_run {
	slurm_conf *conf;
	uint64_t job_id;
	uint32_t attempt;
	char *project, *task;
	char *job_name;
	char **opts; /* "--partition=debug", ... (without job name, output, error) */
	size_t nopts;
	char *opts_key; /* the options joined: runs with equal keys may share an array */
	char *output;   /* absolute */
	char *error;    /* absolute, or NULL: with the output */
	char *exports;  /* "export NAME=value" lines */
	char *body;
	char *script_path;
	char *desc;
	char *ext_id; /* once submitted: "123" or "123_4" */
	int efd;      /* signalled by the poller when the job ended */
	/* under the poller's lock */
	slurm_run *next;
	bool tracked;
	bool cancelling; /* the worker asked scancel */
	bool ended;
	char *raw_id;
	wn_slurm_row end;      /* how it ended */
	int64_t unknown_since; /* monotonic ms; 0 while SLURM knows the job */
	int unknown_polls;
};

/* ---------------------------------------------------------------- text helpers */

char *wn_slurm_quote(const char *s)
{
	if (*s == '\0')
		return wn_xstrdup("''");
	bool plain = true;
	for (const char *p = s; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		        (*p >= '0' && *p <= '9') || strchr("@%+:,./_-", *p) != NULL;
	if (plain)
		return wn_xstrdup(s);
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_adds(&b, "'");
	for (const char *p = s; *p; p++) {
		if (*p == '\'')
			wn_strbuf_adds(&b, "'\\''");
		else
			wn_strbuf_add(&b, p, 1);
	}
	wn_strbuf_adds(&b, "'");
	return wn_strbuf_take(&b);
}

char *wn_slurm_directive_word(const char *s)
{
	bool plain = *s != '\0';
	for (const char *p = s; *p && plain; p++)
		plain = strchr(" \t\"'\\#", *p) == NULL;
	if (plain)
		return wn_xstrdup(s);
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_adds(&b, "\"");
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			wn_strbuf_adds(&b, "\\");
		wn_strbuf_add(&b, p, 1);
	}
	wn_strbuf_adds(&b, "\"");
	return wn_strbuf_take(&b);
}

/* slurm_pct doubles every '%' of a file name, so that sbatch reads none of
 * it as a pattern (%j, %A, ...). */
static char *slurm_pct(const char *s)
{
	wn_strbuf b = WN_STRBUF_INIT;
	for (const char *p = s; *p; p++) {
		if (*p == '%')
			wn_strbuf_adds(&b, "%%");
		else
			wn_strbuf_add(&b, p, 1);
	}
	return wn_strbuf_take(&b);
}

/* slurm_directive appends "#SBATCH WORD\n" for the argument arg. */
static void slurm_directive(wn_strbuf *b, const char *arg)
{
	char *w = wn_slurm_directive_word(arg);
	wn_strbuf_addf(b, "#SBATCH %s\n", w);
	free(w);
}

/* ---------------------------------------------------------------- the script body */

/* The body of a batch script is shell code, and a value goes into it quoted
 * for the place it lands in: a plain word, a double- or single-quoted
 * string, $'...', a comment, a here-document. A small lexer follows the
 * template's own text (the values never steer it) to know that place. */

typedef enum {
	SH_CODE,
	SH_SQUOTE,
	SH_DQUOTE,
	SH_ANSI,
	SH_BACKTICK,
	SH_COMMENT,
	SH_HEREDOC
} sh_kind;

#define SH_DEPTH_MAX 64
#define SH_DOCS_MAX  16

typedef struct sh_frame {
	sh_kind kind;
	bool subst; /* SH_CODE of a $( ... ): ends at its own ')' */
	int parens; /* '(' open inside it */
	int cases;  /* `case` open inside it: a ')' ends a pattern */
} sh_frame;

typedef struct sh_doc {
	char *delim;
	bool quoted;     /* <<'EOF': nothing in the body is expanded */
	bool strip_tabs; /* <<-EOF */
} sh_doc;

typedef struct sh_lexer {
	sh_frame st[SH_DEPTH_MAX];
	int depth;
	sh_doc docs[SH_DOCS_MAX]; /* announced; the first one's body is read when active */
	int ndocs;
	bool in_doc;         /* the body of docs[0] is being read */
	wn_strbuf line;      /* its current line */
	bool line_has_value; /* a value went into that line */
	bool escape;         /* the previous character was an unquoted backslash */
	bool escape_bq;      /* ... inside backquotes */
	bool unsure;         /* backquotes with escaped quotes: not followed exactly */
	char prev;           /* the previous character of the template's text */
	int lt;              /* '<' seen in a row (CODE) */
	int arith;           /* (( ... )) open: '<<' is a shift there */
	char kw[8];          /* the word being read in code, for case and esac */
	int kwlen;           /* -1: not a word that could be one */
	bool word;           /* reading a here-document's delimiter */
	bool word_started;
	wn_strbuf word_buf;
	bool word_quoted;
	bool word_tabs;
	char word_q; /* the quote the word is inside, or 0 */
	const char *error;
} sh_lexer;

static sh_frame *sh_top(sh_lexer *lx)
{
	return &lx->st[lx->depth - 1];
}

static void sh_push(sh_lexer *lx, sh_kind kind, bool subst)
{
	if (lx->depth >= SH_DEPTH_MAX) {
		lx->error = "the script nests quotes and substitutions too deeply";
		return;
	}
	lx->st[lx->depth++] = (sh_frame){kind, subst, 0, 0};
}

static void sh_pop(sh_lexer *lx)
{
	if (lx->depth > 1)
		lx->depth--;
}

static void sh_word_end(sh_lexer *lx)
{
	if (lx->ndocs >= SH_DOCS_MAX) {
		lx->error = "too many here-documents on one line";
		wn_strbuf_free(&lx->word_buf);
	} else {
		char *d = wn_strbuf_take(&lx->word_buf);
		lx->docs[lx->ndocs++] = (sh_doc){d, lx->word_quoted, lx->word_tabs};
	}
	lx->word = false;
}

/* sh_doc_line ends a line of a here-document body: the delimiter ends it. */
static void sh_doc_line(sh_lexer *lx)
{
	const char *l = wn_strbuf_str(&lx->line);
	if (lx->docs[0].strip_tabs)
		while (*l == '\t')
			l++;
	if (strcmp(l, lx->docs[0].delim) == 0) {
		if (lx->line_has_value)
			lx->error = "a value would end a here-document";
		free(lx->docs[0].delim);
		memmove(lx->docs, lx->docs + 1, (size_t)(lx->ndocs - 1) * sizeof(*lx->docs));
		lx->ndocs--;
		lx->in_doc = lx->ndocs > 0;
	}
	wn_strbuf_free(&lx->line);
	lx->line_has_value = false;
}

/* sh_char moves the lexer over one character of the template's text. */
static void sh_char(sh_lexer *lx, char c)
{
	if (lx->in_doc) {
		if (c == '\n')
			sh_doc_line(lx);
		else
			wn_strbuf_add(&lx->line, &c, 1);
		return;
	}
	if (lx->word) {
		/* the delimiter of a here-document: a word, maybe quoted */
		if (lx->word_q != 0) {
			if (c == lx->word_q)
				lx->word_q = 0;
			else
				wn_strbuf_add(&lx->word_buf, &c, 1);
			return;
		}
		if (lx->escape) {
			lx->escape = false;
			wn_strbuf_add(&lx->word_buf, &c, 1);
			return;
		}
		if (!lx->word_started && c == '<' && lx->lt == 2) {
			lx->word = false; /* <<<: a here-string, no document */
			lx->lt = 3;
			return;
		}
		if (!lx->word_started && (c == ' ' || c == '\t'))
			return;
		if (!lx->word_started && c == '-' && !lx->word_tabs && lx->prev == '<') {
			lx->word_tabs = true;
			lx->prev = c;
			return;
		}
		if (c == '\'' || c == '"') {
			lx->word_started = lx->word_quoted = true;
			lx->word_q = c;
			return;
		}
		if (c == '\\') {
			lx->word_started = lx->word_quoted = true;
			lx->escape = true;
			return;
		}
		if (strchr(" \t\n;&|<>()", c) == NULL) {
			lx->word_started = true;
			wn_strbuf_add(&lx->word_buf, &c, 1);
			lx->prev = c;
			return;
		}
		if (!lx->word_started) {
			lx->error = "a here-document without a delimiter";
			return;
		}
		sh_word_end(lx);
		/* and c is read as code below */
	}
	sh_frame *f = sh_top(lx);
	char prev = lx->prev;
	lx->prev = c;
	if (c != '<')
		lx->lt = 0;
	if (lx->escape) {
		if (lx->escape_bq && strchr("\"'`", c) != NULL)
			lx->unsure = true;
		lx->escape = lx->escape_bq = false;
		lx->prev = 0; /* an escaped character starts nothing */
		lx->kwlen = -1;
		return;
	}
	switch (f->kind) {
	case SH_SQUOTE:
		if (c == '\'')
			sh_pop(lx);
		return;
	case SH_ANSI:
		if (c == '\\')
			lx->escape = true;
		else if (c == '\'')
			sh_pop(lx);
		return;
	case SH_COMMENT:
		if (c != '\n')
			return;
		sh_pop(lx);
		f = sh_top(lx);
		break; /* the line's end, as code */
	case SH_DQUOTE:
		if (c == '\\')
			lx->escape = true;
		else if (c == '"')
			sh_pop(lx);
		else if (c == '`')
			sh_push(lx, SH_BACKTICK, false);
		else if (c == '(' && prev == '$')
			sh_push(lx, SH_CODE, true);
		return;
	default:
		break;
	}
	/* code: at the top, in $( ... ) or in backquotes */
	bool boundary = prev == 0 || strchr(" \t\n;&|()", prev) != NULL;
	if (c >= 'a' && c <= 'z') {
		if (boundary)
			lx->kwlen = 0;
		if (lx->kwlen >= 0 && lx->kwlen < (int)sizeof(lx->kw) - 1)
			lx->kw[lx->kwlen++] = c;
		else
			lx->kwlen = -1;
		return;
	}
	if (lx->kwlen > 0 && strchr(" \t\n;&|()", c) != NULL) {
		lx->kw[lx->kwlen] = '\0';
		if (strcmp(lx->kw, "case") == 0)
			f->cases++;
		else if (strcmp(lx->kw, "esac") == 0 && f->cases > 0)
			f->cases--;
	}
	lx->kwlen = -1;
	switch (c) {
	case '\\':
		lx->escape = true;
		lx->escape_bq = f->kind == SH_BACKTICK;
		return;
	case '\'':
		sh_push(lx, prev == '$' ? SH_ANSI : SH_SQUOTE, false);
		return;
	case '"':
		sh_push(lx, SH_DQUOTE, false);
		return;
	case '`':
		if (f->kind == SH_BACKTICK)
			sh_pop(lx);
		else
			sh_push(lx, SH_BACKTICK, false);
		return;
	case '(':
		if (prev == '(')
			lx->arith++; /* (( or $(( */
		if (prev == '$')
			sh_push(lx, SH_CODE, true);
		else if (f->subst)
			f->parens++;
		return;
	case ')':
		if (prev == ')' && lx->arith > 0)
			lx->arith--;
		if (f->cases > 0)
			return; /* the end of a case pattern */
		if (f->subst && f->parens > 0)
			f->parens--;
		else if (f->subst)
			sh_pop(lx);
		return;
	case '#':
		if (boundary)
			sh_push(lx, SH_COMMENT, false);
		return;
	case '<':
		if (++lx->lt == 2 && lx->arith == 0) {
			lx->word = true; /* unless a third '<' makes it a here-string */
			lx->word_started = lx->word_quoted = lx->word_tabs = false;
			lx->word_q = 0;
		}
		return;
	case '\n':
		lx->prev = 0;
		if (lx->ndocs > 0) {
			lx->in_doc = true;
			lx->line_has_value = false;
		}
		return;
	default:
		return;
	}
}

static void sh_release(sh_lexer *lx)
{
	for (int i = 0; i < lx->ndocs; i++)
		free(lx->docs[i].delim);
	wn_strbuf_free(&lx->line);
	wn_strbuf_free(&lx->word_buf);
}

/* sh_value appends value to out, quoted for where the lexer stands. */
static void sh_value(sh_lexer *lx, wn_strbuf *out, const char *value)
{
	if (lx->word) {
		lx->error = "a here-document's delimiter cannot be a value";
		return;
	}
	if (lx->in_doc) {
		if (strpbrk(value, "\n\r") != NULL) {
			lx->error = "a value with a line break cannot go into a here-document";
			return;
		}
		lx->line_has_value = true;
		wn_strbuf_adds(&lx->line, value);
		if (lx->docs[0].quoted) {
			wn_strbuf_adds(out, value);
			return;
		}
		for (const char *p = value; *p; p++) {
			if (*p == '\\' || *p == '$' || *p == '`')
				wn_strbuf_adds(out, "\\");
			wn_strbuf_add(out, p, 1);
		}
		lx->prev = 'x';
		return;
	}
	sh_frame *f = sh_top(lx);
	if (lx->unsure) {
		lx->error = "backquotes with escaped quotes inside (write $( ... ) instead)";
		return;
	}
	lx->kwlen = -1;
	if (lx->prev == '$' && f->kind != SH_SQUOTE && f->kind != SH_ANSI &&
	    f->kind != SH_COMMENT) {
		lx->error = "a value right after '$' (write ${{NAME}} for a shell variable)";
		return;
	}
	wn_strbuf t = WN_STRBUF_INIT;
	char *q;
	switch (f->kind) {
	case SH_DQUOTE:
		for (const char *p = value; *p; p++) {
			if (*p == '\\' || *p == '$' || *p == '`' || *p == '"')
				wn_strbuf_adds(&t, "\\");
			wn_strbuf_add(&t, p, 1);
		}
		break;
	case SH_SQUOTE:
	case SH_ANSI:
		/* leave the quotes, put the value in as a word of its own, go back */
		q = wn_slurm_quote(value);
		wn_strbuf_addf(&t, "'%s%s", q, f->kind == SH_ANSI ? "$'" : "'");
		free(q);
		break;
	case SH_COMMENT:
		for (const char *p = value; *p; p++)
			wn_strbuf_add(&t, *p == '\n' || *p == '\r' ? " " : p, 1);
		break;
	default:
		q = wn_slurm_quote(value);
		wn_strbuf_adds(&t, q);
		free(q);
		break;
	}
	/* each backquote around this place takes one level of backslashes
	 * off '\\', '`' and '$' before the text inside is read */
	char *text = wn_strbuf_take(&t);
	for (int i = lx->depth - 1; i >= 1; i--) {
		if (lx->st[i].kind != SH_BACKTICK)
			continue;
		wn_strbuf e = WN_STRBUF_INIT;
		for (const char *p = text; *p; p++) {
			if (*p == '\\' || *p == '`' || *p == '$')
				wn_strbuf_adds(&e, "\\");
			wn_strbuf_add(&e, p, 1);
		}
		free(text);
		text = wn_strbuf_take(&e);
	}
	wn_strbuf_adds(out, text);
	free(text);
	lx->prev = 'x'; /* a word character: no '#' comment starts right after it */
}

int wn_slurm_body(const char *tmpl, const wn_fmt_job *job, char **out, char **reason)
{
	sh_lexer lx = {.depth = 1, .kwlen = -1};
	lx.st[0] = (sh_frame){SH_CODE, false, 0, 0};
	wn_strbuf b = WN_STRBUF_INIT;
	char num[32];
	for (const char *p = tmpl; *p != '\0' && lx.error == NULL;) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			wn_strbuf_add(&b, p, 1);
			sh_char(&lx, *p);
			p += 2;
			continue;
		}
		if (*p != '{') {
			wn_strbuf_add(&b, p, 1);
			sh_char(&lx, *p);
			p++;
			continue;
		}
		size_t n = strcspn(p + 1, "}");
		char *name = strndup(p + 1, n);
		if (name == NULL)
			abort();
		const char *v = job ? wn_fmt_job_value(job, name, num, sizeof(num)) : "x";
		if (v == NULL) {
			*reason = wn_xasprintf("missing parameter '%s'", name);
			free(name);
			wn_strbuf_free(&b);
			sh_release(&lx);
			return WN_ENOTFOUND;
		}
		free(name);
		sh_value(&lx, &b, v);
		p += n + (p[n + 1] == '}' ? 2 : 1);
	}
	if (lx.error == NULL && lx.word)
		lx.error = "a here-document without a delimiter";
	if (lx.error != NULL) {
		*reason = wn_xasprintf("cannot put a value into the script: %s", lx.error);
		wn_strbuf_free(&b);
		sh_release(&lx);
		return WN_EINVAL;
	}
	sh_release(&lx);
	*out = wn_strbuf_take(&b);
	return WN_OK;
}

/* ---------------------------------------------------------------- states and parsing */

wn_slurm_end wn_slurm_state_end(const char *state)
{
	static const char *const failed[] = {"FAILED",    "TIMEOUT",   "OUT_OF_MEMORY",
	                                     "NODE_FAIL", "PREEMPTED", "BOOT_FAIL",
	                                     "DEADLINE",  "REVOKED",   NULL};
	size_t n = strcspn(state, " +");
	if (n == 9 && strncmp(state, "COMPLETED", 9) == 0)
		return WN_SLURM_COMPLETED;
	if (n == 9 && strncmp(state, "CANCELLED", 9) == 0)
		return WN_SLURM_CANCELLED;
	for (size_t i = 0; failed[i] != NULL; i++)
		if (strlen(failed[i]) == n && strncmp(state, failed[i], n) == 0)
			return WN_SLURM_FAILED;
	return WN_SLURM_ACTIVE;
}

static bool slurm_digits(const char *s, size_t n)
{
	if (n == 0 || n > 18)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return true;
}

bool wn_slurm_id_ok(const char *s)
{
	size_t n = strcspn(s, "_");
	if (!slurm_digits(s, n))
		return false;
	return s[n] == '\0' || slurm_digits(s + n + 1, strlen(s + n + 1));
}

static bool slurm_state_ok(const char *s, size_t n)
{
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || s[i] == '_'))
			return false;
	return true;
}

/* slurm_fields splits line (len bytes) at '|' into at most max fields;
 * the last takes the rest. Returns the count. */
static size_t slurm_fields(const char *line, size_t len, char **f, size_t max)
{
	size_t n = 0;
	const char *p = line, *end = line + len;
	while (n < max) {
		const char *bar = n + 1 < max ? memchr(p, '|', (size_t)(end - p)) : NULL;
		const char *stop = bar ? bar : end;
		f[n++] = strndup(p, (size_t)(stop - p));
		if (f[n - 1] == NULL)
			abort();
		if (bar == NULL)
			break;
		p = bar + 1;
	}
	return n;
}

static void slurm_row_release(wn_slurm_row *r)
{
	free(r->id);
	free(r->raw_id);
	free(r->state);
	free(r->reason);
	memset(r, 0, sizeof(*r));
}

void wn_slurm_rows_free(wn_slurm_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		slurm_row_release(&rows[i]);
	free(rows);
}

/* slurm_each_line calls fn for every line of text. */
static void slurm_each_line(const char *text, void (*fn)(const char *, size_t, void *), void *ctx)
{
	const char *p = text ? text : "";
	while (*p) {
		size_t n = strcspn(p, "\n");
		size_t e = n;
		while (e > 0 && (p[e - 1] == '\r' || p[e - 1] == ' '))
			e--;
		if (e > 0)
			fn(p, e, ctx);
		p += n;
		if (*p == '\n')
			p++;
	}
}

typedef struct slurm_rows {
	wn_slurm_row *v;
	size_t n;
} slurm_rows;

/* slurm_rows_put adds row to rs, replacing an earlier row of the same id. */
static void slurm_rows_put(slurm_rows *rs, wn_slurm_row *row)
{
	for (size_t i = 0; i < rs->n; i++)
		if (strcmp(rs->v[i].id, row->id) == 0) {
			slurm_row_release(&rs->v[i]);
			rs->v[i] = *row;
			return;
		}
	rs->v = wn_xrealloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
	rs->v[rs->n++] = *row;
}

static void slurm_squeue_line(const char *line, size_t len, void *ctx)
{
	char *f[5] = {0};
	size_t nf = slurm_fields(line, len, f, 5);
	wn_slurm_row row = {0};
	int64_t status = 0;
	size_t sl = nf >= 3 ? strcspn(f[2], " ") : 0;
	if (nf == 5 && wn_slurm_id_ok(f[1]) && slurm_state_ok(f[2], sl) &&
	    (strcmp(f[3], "") == 0 || wn_parse_i64(f[3], 0, INT32_MAX, &status) == WN_OK)) {
		row.id = f[1];
		row.raw_id = slurm_digits(f[0], strlen(f[0])) ? f[0] : wn_xstrdup("");
		if (row.raw_id != f[0])
			free(f[0]);
		f[2][sl] = '\0';
		row.state = f[2];
		row.exit_code = f[3][0] ? (int)((status >> 8) & 0xff) : -1;
		row.signal = f[3][0] ? (int)(status & 0x7f) : 0;
		free(f[3]);
		size_t rl = strlen(f[4]);
		while (rl > 0 && (f[4][rl - 1] == '|' || f[4][rl - 1] == ' '))
			f[4][--rl] = '\0';
		if (strcmp(f[4], "None") == 0 || strcmp(f[4], "(null)") == 0)
			f[4][0] = '\0';
		row.reason = f[4];
		slurm_rows_put(ctx, &row);
		return;
	}
	for (size_t i = 0; i < nf; i++)
		free(f[i]);
}

void wn_slurm_parse_squeue(const char *text, wn_slurm_row **rows, size_t *n)
{
	slurm_rows rs = {0};
	slurm_each_line(text, slurm_squeue_line, &rs);
	*rows = rs.v;
	*n = rs.n;
}

static void slurm_sacct_line(const char *line, size_t len, void *ctx)
{
	char *f[4] = {0};
	size_t nf = slurm_fields(line, len, f, 4);
	size_t sl = nf >= 3 ? strcspn(f[2], " ") : 0;
	int64_t code = 0, sig = 0;
	char *colon = nf == 4 ? strchr(f[3], ':') : NULL;
	bool ok = nf == 4 && slurm_digits(f[0], strlen(f[0])) && wn_slurm_id_ok(f[1]) &&
	          slurm_state_ok(f[2], sl) && colon != NULL;
	if (ok) {
		*colon = '\0';
		ok = wn_parse_i64(f[3], 0, 255, &code) == WN_OK &&
		     wn_parse_i64(colon + 1, 0, 255, &sig) == WN_OK;
	}
	if (!ok) {
		for (size_t i = 0; i < nf; i++)
			free(f[i]);
		return;
	}
	f[2][sl] = '\0';
	wn_slurm_row row = {.id = f[1],
	                    .raw_id = f[0],
	                    .state = f[2],
	                    .exit_code = (int)code,
	                    .signal = (int)sig,
	                    .reason = wn_xstrdup("")};
	free(f[3]);
	slurm_rows_put(ctx, &row);
}

void wn_slurm_parse_sacct(const char *text, wn_slurm_row **rows, size_t *n)
{
	slurm_rows rs = {0};
	slurm_each_line(text, slurm_sacct_line, &rs);
	*rows = rs.v;
	*n = rs.n;
}

/* slurm_exit_text describes how a job's script ended ("exit status 3",
 * "killed by SIGKILL"), or NULL if nothing is known. */
static char *slurm_exit_text(const wn_slurm_row *row)
{
	if (row->signal > 0) {
		const char *abbrev = sigabbrev_np(row->signal);
		return abbrev ? wn_xasprintf("killed by SIG%s", abbrev)
		              : wn_xasprintf("killed by signal %d", row->signal);
	}
	if (row->exit_code > 0)
		return wn_xasprintf("exit status %d", row->exit_code);
	return NULL;
}

void wn_slurm_outcome(const wn_slurm_row *row, wn_fmt_result *res)
{
	wn_slurm_end end = wn_slurm_state_end(row->state);
	res->success = end == WN_SLURM_COMPLETED;
	res->cancelled = end == WN_SLURM_CANCELLED;
	if (row->signal > 0)
		res->exit_code = 128 + row->signal;
	else if (row->exit_code > 0 || end == WN_SLURM_COMPLETED)
		res->exit_code = row->exit_code > 0 ? row->exit_code : 0;
	else
		res->exit_code = -1;
	if (end == WN_SLURM_COMPLETED)
		return;
	char *how = slurm_exit_text(row);
	const char *why =
	    row->reason && row->reason[0] && strcmp(row->reason, "NonZeroExitCode") != 0
	        ? row->reason
	        : NULL;
	wn_strbuf b = WN_STRBUF_INIT;
	wn_strbuf_addf(&b, "SLURM job %s %s", row->id, row->state);
	if (end == WN_SLURM_CANCELLED)
		wn_strbuf_adds(&b, " outside WhatsNext");
	if (how != NULL && end != WN_SLURM_CANCELLED)
		wn_strbuf_addf(&b, ": %s", how);
	if (why != NULL)
		wn_strbuf_addf(&b, " (%s)", why);
	free(how);
	res->reason = wn_strbuf_take(&b);
}

/* ---------------------------------------------------------------- the poller */

/* One poller thread follows every SLURM job of the worker: a round asks
 * squeue about all of them at once, and sacct about those squeue no longer
 * lists. It runs while there is a job to follow. */
static struct {
	pthread_once_t once;
	pthread_mutex_t mu;
	pthread_cond_t cond;
	slurm_run *runs;
	bool running;     /* the thread exists */
	int64_t kick_at;  /* monotonic ms of an early round; 0 = none */
	bool squeue_down; /* the last squeue failed: logged once */
} slurm_poller = {.once = PTHREAD_ONCE_INIT, .mu = PTHREAD_MUTEX_INITIALIZER};

static void slurm_poller_init(void)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&slurm_poller.cond, &ca);
	pthread_condattr_destroy(&ca);
}

static void slurm_poller_wait(int64_t until)
{
	struct timespec ts = {.tv_sec = until / 1000, .tv_nsec = (until % 1000) * 1000000};
	pthread_cond_timedwait(&slurm_poller.cond, &slurm_poller.mu, &ts);
}

/* What a round asks about one job, copied so that the lock can be dropped. */
typedef struct slurm_ask {
	char *id, *raw_id;
	slurm_conf *conf;
	bool answered;
} slurm_ask;

/* slurm_run_ended records how r ended and wakes its waiter (lock held). */
static void slurm_run_end(slurm_run *r, const wn_slurm_row *row)
{
	if (r->ended)
		return;
	r->ended = true;
	r->end.id = wn_xstrdup(r->ext_id);
	r->end.raw_id = wn_xstrdup(row->raw_id ? row->raw_id : "");
	r->end.state = wn_xstrdup(row->state);
	r->end.exit_code = row->exit_code;
	r->end.signal = row->signal;
	r->end.reason = wn_xstrdup(row->reason ? row->reason : "");
	uint64_t one = 1;
	ssize_t w = write(r->efd, &one, sizeof(one));
	(void)w;
}

/* slurm_apply records what rows say about the jobs of asks (lock held). */
static void slurm_apply(slurm_ask *asks, size_t nasks, const wn_slurm_row *rows, size_t nrows)
{
	for (size_t i = 0; i < nrows; i++) {
		const wn_slurm_row *row = &rows[i];
		for (size_t k = 0; k < nasks; k++) {
			slurm_ask *a = &asks[k];
			bool same =
			    strcmp(a->id, row->id) == 0 ||
			    (a->raw_id[0] && row->raw_id[0] &&
			     strcmp(a->raw_id, row->raw_id) == 0 && strchr(row->id, '_') == NULL);
			if (!same)
				continue;
			a->answered = true;
			for (slurm_run *r = slurm_poller.runs; r != NULL; r = r->next) {
				if (strcmp(r->ext_id, a->id) != 0)
					continue;
				r->unknown_since = 0;
				r->unknown_polls = 0;
				/* a pending array element shows the array's id until it
				 * is split off: learn its own id once it is not pending */
				if (row->raw_id[0] && strchr(row->id, '_') != NULL &&
				    strcmp(row->state, "PENDING") != 0) {
					free(r->raw_id);
					r->raw_id = wn_xstrdup(row->raw_id);
				}
				if (wn_slurm_state_end(row->state) != WN_SLURM_ACTIVE)
					slurm_run_end(r, row);
			}
		}
	}
}

/* slurm_query runs prog with the fixed arguments args, then "-j" and the ids
 * of asks (chunked); on success appends the parsed rows to *rows. Returns
 * WN_OK, WN_ENOTFOUND when SLURM says it knows none of them, or another
 * error with *why set. */
static int slurm_query(const char *prog, const char *const *args, size_t nargs, slurm_ask *asks,
                       size_t nasks, bool raw, bool sacct, slurm_rows *rows, char **why)
{
	*why = NULL;
	int result = WN_OK;
	for (size_t from = 0; from < nasks; from += SLURM_IDS_PER_CALL) {
		size_t to = from + SLURM_IDS_PER_CALL < nasks ? from + SLURM_IDS_PER_CALL : nasks;
		wn_strbuf ids = WN_STRBUF_INIT;
		for (size_t i = from; i < to; i++) {
			const char *id = raw && asks[i].raw_id[0] ? asks[i].raw_id : asks[i].id;
			if (ids.len > 0)
				wn_strbuf_adds(&ids, ",");
			wn_strbuf_adds(&ids, id);
		}
		char **argv = wn_xcalloc(nargs + 4, sizeof(char *));
		size_t an = 0;
		argv[an++] = (char *)prog;
		for (size_t i = 0; i < nargs; i++)
			argv[an++] = (char *)args[i];
		argv[an++] = (char *)"-j";
		argv[an++] = ids.s;
		int status = 0;
		char *out = NULL, *err = NULL;
		int rc = wn_fmt_capture(argv, SLURM_QUERY_MS, &status, &out, &err);
		free(argv);
		wn_strbuf_free(&ids);
		if (rc == WN_OK && WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			wn_slurm_row *v = NULL;
			size_t n = 0;
			if (sacct)
				wn_slurm_parse_sacct(out, &v, &n);
			else
				wn_slurm_parse_squeue(out, &v, &n);
			for (size_t i = 0; i < n; i++)
				slurm_rows_put(rows, &v[i]);
			free(v);
		} else if (rc == WN_OK && err != NULL && strstr(err, "Invalid job id") != NULL) {
			/* squeue knows none of this chunk: the others may still be known */
		} else {
			free(*why);
			char *line = wn_one_line(err, SLURM_REASON_MAX);
			*why = rc == WN_OK ? wn_xasprintf("%s failed: %s", prog,
			                                  line[0] ? line : "no message")
			                   : wn_xstrdup(line);
			free(line);
			result = WN_EIO;
		}
		free(out);
		free(err);
	}
	return result;
}

/* slurm_round asks about the jobs of asks, which share their commands. */
static void slurm_round(slurm_ask *asks, size_t n)
{
	const slurm_conf *c = asks[0].conf;
	static const char *const sq_args[] = {"-h", "-r", "-t", "all", "-O", SLURM_SQUEUE_FORMAT};
	slurm_rows rows = {0};
	char *why = NULL;
	int rc = slurm_query(c->squeue, sq_args, WN_ARRAY_LEN(sq_args), asks, n, false, false,
	                     &rows, &why);
	pthread_mutex_lock(&slurm_poller.mu);
	if (rc != WN_OK) {
		if (!slurm_poller.squeue_down)
			wn_warn("cannot ask SLURM about its jobs: %s; asking again every %lld ms",
			        why, (long long)c->poll_ms);
		slurm_poller.squeue_down = true;
	} else if (slurm_poller.squeue_down) {
		wn_info("squeue answers again");
		slurm_poller.squeue_down = false;
	}
	slurm_apply(asks, n, rows.v, rows.n);
	int mode = c->acct_mode;
	pthread_mutex_unlock(&slurm_poller.mu);
	free(why);
	wn_slurm_rows_free(rows.v, rows.n);
	if (rc != WN_OK)
		return; /* nothing is known of the others: ask again next round */

	/* The jobs squeue no longer lists: ask the accounting. */
	slurm_ask *gone = wn_xcalloc(n, sizeof(*gone));
	size_t ngone = 0;
	for (size_t i = 0; i < n; i++)
		if (!asks[i].answered)
			gone[ngone++] = asks[i];
	bool known_acct = false;
	if (ngone > 0 && strcmp(c->accounting, "none") != 0 && mode != SLURM_ACCT_NONE) {
		static const char *const sa_args[] = {"-n", "-P", "-X", "-o", SLURM_SACCT_FIELDS};
		static const char *const sc_args[] = {"-c", "-n", "-P",
		                                      "-X", "-o", SLURM_SACCT_FIELDS};
		bool try_sacct = strcmp(c->accounting, "sacct") == 0 ||
		                 (strcmp(c->accounting, "auto") == 0 && mode != SLURM_ACCT_JOBCOMP);
		bool try_comp = strcmp(c->accounting, "jobcomp") == 0 ||
		                (strcmp(c->accounting, "auto") == 0 && mode != SLURM_ACCT_SACCT);
		rows = (slurm_rows){0};
		int learnt = SLURM_ACCT_UNKNOWN;
		if (try_sacct) {
			rc = slurm_query(c->sacct, sa_args, WN_ARRAY_LEN(sa_args), gone, ngone,
			                 true, true, &rows, &why);
			if (rc == WN_OK)
				learnt = SLURM_ACCT_SACCT;
			else
				wn_debug("sacct: %s", why);
			free(why);
			why = NULL;
		}
		if (learnt == SLURM_ACCT_UNKNOWN && try_comp) {
			rc = slurm_query(c->sacct, sc_args, WN_ARRAY_LEN(sc_args), gone, ngone,
			                 true, true, &rows, &why);
			if (rc == WN_OK)
				learnt = SLURM_ACCT_JOBCOMP;
			else
				wn_debug("sacct -c: %s", why);
			free(why);
			why = NULL;
		}
		known_acct = learnt != SLURM_ACCT_UNKNOWN;
		pthread_mutex_lock(&slurm_poller.mu);
		if (known_acct && c->acct_mode == SLURM_ACCT_UNKNOWN)
			for (size_t i = 0; i < ngone; i++)
				gone[i].conf->acct_mode = learnt;
		slurm_apply(gone, ngone, rows.v, rows.n);
		pthread_mutex_unlock(&slurm_poller.mu);
		wn_slurm_rows_free(rows.v, rows.n);
	}
	/* Known to neither: give up on a job after a while. */
	pthread_mutex_lock(&slurm_poller.mu);
	int64_t now = wn_mono_ms();
	for (size_t i = 0; i < ngone; i++) {
		if (gone[i].answered)
			continue;
		for (slurm_run *r = slurm_poller.runs; r != NULL; r = r->next) {
			if (strcmp(r->ext_id, gone[i].id) != 0 || r->ended)
				continue;
			if (r->unknown_since == 0)
				r->unknown_since = now;
			r->unknown_polls++;
			if (r->unknown_polls >= 3 && now - r->unknown_since >= SLURM_UNKNOWN_MS) {
				wn_slurm_row row = {.id = r->ext_id,
				                    .raw_id = (char *)"",
				                    .state = (char *)"UNKNOWN",
				                    .exit_code = -1,
				                    .reason = (char *)""};
				slurm_run_end(r, &row);
			}
		}
	}
	pthread_mutex_unlock(&slurm_poller.mu);
	free(gone);
}

static bool slurm_same_commands(const slurm_conf *a, const slurm_conf *b)
{
	return strcmp(a->squeue, b->squeue) == 0 && strcmp(a->sacct, b->sacct) == 0 &&
	       strcmp(a->accounting, b->accounting) == 0;
}

static void *slurm_poller_main(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&slurm_poller.mu);
	int64_t last = wn_mono_ms();
	while (slurm_poller.runs != NULL) {
		int64_t interval = INT64_MAX;
		size_t n = 0;
		for (slurm_run *r = slurm_poller.runs; r != NULL; r = r->next)
			if (!r->ended) {
				n++;
				if (r->conf->poll_ms < interval)
					interval = r->conf->poll_ms;
			}
		if (n == 0) {
			pthread_cond_wait(&slurm_poller.cond, &slurm_poller.mu);
			continue;
		}
		int64_t due = last + interval;
		if (slurm_poller.kick_at > 0 && slurm_poller.kick_at < due)
			due = slurm_poller.kick_at;
		if (wn_mono_ms() < due) {
			slurm_poller_wait(due);
			continue;
		}
		slurm_poller.kick_at = 0;
		slurm_ask *asks = wn_xcalloc(n, sizeof(*asks));
		size_t k = 0;
		for (slurm_run *r = slurm_poller.runs; r != NULL && k < n; r = r->next)
			if (!r->ended)
				asks[k++] = (slurm_ask){wn_xstrdup(r->ext_id),
				                        wn_xstrdup(r->raw_id ? r->raw_id : ""),
				                        r->conf, false};
		pthread_mutex_unlock(&slurm_poller.mu);
		/* one round per set of commands (all of them, as a rule) */
		bool *done = wn_xcalloc(k, sizeof(*done));
		slurm_ask *set = wn_xcalloc(k, sizeof(*set));
		for (size_t i = 0; i < k; i++) {
			if (done[i])
				continue;
			size_t ns = 0;
			for (size_t m = i; m < k; m++)
				if (!done[m] && slurm_same_commands(asks[i].conf, asks[m].conf)) {
					set[ns++] = asks[m];
					done[m] = true;
				}
			slurm_round(set, ns);
		}
		for (size_t i = 0; i < k; i++) {
			free(asks[i].id);
			free(asks[i].raw_id);
		}
		free(set);
		free(done);
		free(asks);
		pthread_mutex_lock(&slurm_poller.mu);
		last = wn_mono_ms();
	}
	slurm_poller.running = false;
	pthread_mutex_unlock(&slurm_poller.mu);
	return NULL;
}

/* slurm_follow hands r to the poller. */
static void slurm_follow(slurm_run *r)
{
	pthread_once(&slurm_poller.once, slurm_poller_init);
	pthread_mutex_lock(&slurm_poller.mu);
	r->next = slurm_poller.runs;
	slurm_poller.runs = r;
	r->tracked = true;
	if (!slurm_poller.running) {
		pthread_t t;
		pthread_attr_t attr;
		pthread_attr_init(&attr);
		pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
		int rv = pthread_create(&t, &attr, slurm_poller_main, NULL);
		pthread_attr_destroy(&attr);
		if (rv != 0) {
			fprintf(stderr, "wnworker: cannot start a thread: %s\n", strerror(rv));
			abort();
		}
		slurm_poller.running = true;
	}
	pthread_cond_broadcast(&slurm_poller.cond);
	pthread_mutex_unlock(&slurm_poller.mu);
}

/* slurm_unfollow takes r from the poller. */
static void slurm_unfollow(slurm_run *r)
{
	pthread_mutex_lock(&slurm_poller.mu);
	for (slurm_run **pp = &slurm_poller.runs; *pp != NULL; pp = &(*pp)->next)
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	r->tracked = false;
	pthread_cond_broadcast(&slurm_poller.cond);
	pthread_mutex_unlock(&slurm_poller.mu);
}

/* ---------------------------------------------------------------- loading */

static void slurm_unload(void *p)
{
	slurm_conf *c = p;
	if (c == NULL)
		return;
	wn_conf_release(slurm_keys, WN_ARRAY_LEN(slurm_keys), c);
	free(c->log_dir);
	free(c);
}

static int slurm_load(const wn_conf_doc *doc, const wn_conf_node *task, const wn_fmt_env *env,
                      void **out, char **err)
{
	slurm_conf *c = wn_xcalloc(1, sizeof(*c));
	int rc = wn_conf_apply(doc, task, slurm_keys, WN_ARRAY_LEN(slurm_keys), c, err);
	if (rc != WN_OK)
		goto fail;
	/* every template is checked now, so that a job never meets a bad one */
	static const char *const tkeys[] = {"script", "job_name", "output", "error"};
	const char *tvals[] = {c->script, c->job_name, c->output, c->error};
	for (size_t i = 0; i < WN_ARRAY_LEN(tkeys); i++) {
		if (tvals[i] == NULL)
			continue;
		const wn_conf_node *n = wn_conf_get(task, tkeys[i]);
		rc = wn_fmt_check_template(doc, n ? n : task, tkeys[i], tvals[i], err);
		if (rc != WN_OK)
			goto fail;
	}
	char *body = NULL, *why = NULL;
	if (wn_slurm_body(c->script, NULL, &body, &why) != WN_OK) {
		const wn_conf_node *n = wn_conf_get(task, "script");
		*err = wn_conf_error(doc, n ? n : task, "%s", why);
		free(why);
		rc = WN_EINVAL;
		goto fail;
	}
	free(body);
	for (size_t i = 0; i < SLURM_NOPTS; i++) {
		const char *v = slurm_opt(c, i);
		if (v == NULL)
			continue;
		rc = wn_fmt_check_template(doc, wn_conf_get(task, slurm_opts[i].key),
		                           slurm_opts[i].key, v, err);
		if (rc != WN_OK)
			goto fail;
	}
	const wn_conf_node *xn = wn_conf_get(task, "extra");
	for (size_t i = 0; i < c->extra.n; i++) {
		const wn_conf_node *n = xn && xn->kind == WN_CONF_SEQ ? xn->items[i] : xn;
		if (c->extra.v[i][0] != '-') {
			*err = wn_conf_error(doc, n,
			                     "'extra' holds sbatch options, one per item; '%s' is "
			                     "not one (it must start with '-')",
			                     c->extra.v[i]);
			rc = WN_EINVAL;
			goto fail;
		}
		rc = wn_fmt_check_template(doc, n, "extra", c->extra.v[i], err);
		if (rc != WN_OK)
			goto fail;
	}
	if ((rc = wn_fmt_check_env(doc, task, &c->env, err)) != WN_OK)
		goto fail;
	if (strchr(c->shell, '\n') != NULL || c->shell[0] != '/') {
		*err = wn_conf_error(doc, wn_conf_get(task, "shell"),
		                     "'shell' must be an absolute path, such as /bin/bash");
		rc = WN_EINVAL;
		goto fail;
	}
	c->log_dir = wn_xstrdup(env->log_dir ? env->log_dir : ".");
	c->tail_bytes = env->tail_bytes;
	*out = c;
	return WN_OK;
fail:
	slurm_unload(c);
	return rc;
}

/* ---------------------------------------------------------------- runs */

static void slurm_release(void *p)
{
	slurm_run *r = p;
	if (r == NULL)
		return;
	if (r->tracked)
		slurm_unfollow(r);
	if (r->efd >= 0)
		close(r->efd);
	free(r->project);
	free(r->task);
	free(r->job_name);
	for (size_t i = 0; i < r->nopts; i++)
		free(r->opts[i]);
	free(r->opts);
	free(r->opts_key);
	free(r->output);
	free(r->error);
	free(r->exports);
	free(r->body);
	free(r->script_path);
	free(r->desc);
	free(r->ext_id);
	free(r->raw_id);
	slurm_row_release(&r->end);
	free(r);
}

/* slurm_export appends "export NAME=value" (value shell-quoted). */
static void slurm_export(wn_strbuf *b, const char *name, const char *value)
{
	char *q = wn_slurm_quote(value ? value : "");
	wn_strbuf_addf(b, "export %s=%s\n", name, q);
	free(q);
}

/* slurm_line_ok checks that a value for key holds no line break (it would
 * end its #SBATCH line and start a command). */
static int slurm_line_ok(const char *key, const char *v, char **reason)
{
	if (strpbrk(v, "\n\r") == NULL)
		return WN_OK;
	*reason = wn_xasprintf("the value of '%s' holds a line break", key);
	return WN_EINVAL;
}

static int slurm_prepare(const void *conf, const wn_fmt_job *job, void **out, char **reason)
{
	slurm_conf *c = (slurm_conf *)conf;
	*out = NULL;
	/* The plain templates (options, names, paths), then the quoted ones
	 * (script, env). The first pass renders all of them, so that a
	 * missing parameter anywhere is named. */
	enum { T_NAME, T_OUTPUT, T_ERROR, T_OPTS };
	size_t nplain = T_OPTS + SLURM_NOPTS + c->extra.n, nq = 1 + c->env.n;
	const char **tmpls = wn_xcalloc(nplain + nq, sizeof(*tmpls));
	char **vals = wn_xcalloc(nplain + nq, sizeof(*vals));
	tmpls[T_NAME] = c->job_name;
	tmpls[T_OUTPUT] = c->output;
	tmpls[T_ERROR] = c->error ? c->error : "";
	for (size_t i = 0; i < SLURM_NOPTS; i++)
		tmpls[T_OPTS + i] = slurm_opt(c, i) ? slurm_opt(c, i) : "";
	for (size_t i = 0; i < c->extra.n; i++)
		tmpls[T_OPTS + SLURM_NOPTS + i] = c->extra.v[i];
	tmpls[nplain] = c->script;
	for (size_t i = 0; i < c->env.n; i++)
		tmpls[nplain + 1 + i] = c->env.vals[i];
	int rc = wn_fmt_expand(job, tmpls, nplain + nq, vals, reason);
	if (rc != WN_OK) {
		free(tmpls);
		free(vals);
		return rc;
	}
	for (size_t i = nplain; i < nplain + nq; i++) {
		free(vals[i]);
		vals[i] = NULL;
	}
	/* the body, quoted for where each value lands; env values go after
	 * "export NAME=", as words */
	rc = wn_slurm_body(c->script, job, &vals[nplain], reason);
	if (rc == WN_OK) {
		rc = wn_fmt_expand_quoted(job, tmpls + nplain + 1, nq - 1, vals + nplain + 1,
		                          reason, wn_slurm_quote);
		if (rc != WN_OK)
			free(vals[nplain]);
	}
	free(tmpls);
	if (rc != WN_OK) {
		for (size_t i = 0; i < nplain; i++)
			free(vals[i]);
		free(vals);
		return rc;
	}
	slurm_run *r = wn_xcalloc(1, sizeof(*r));
	r->conf = c;
	r->efd = -1;
	r->job_id = job->id;
	r->attempt = job->attempt;
	r->project = wn_xstrdup(job->project);
	r->task = wn_xstrdup(job->task);
	r->job_name = vals[T_NAME];
	r->output = wn_path_join(c->log_dir, vals[T_OUTPUT]);
	r->error = c->error ? wn_path_join(c->log_dir, vals[T_ERROR]) : NULL;
	free(vals[T_OUTPUT]);
	free(vals[T_ERROR]);
	rc = slurm_line_ok("job_name", r->job_name, reason);
	if (rc == WN_OK)
		rc = slurm_line_ok("output", r->output, reason);
	if (rc == WN_OK && r->error)
		rc = slurm_line_ok("error", r->error, reason);
	r->opts = wn_xcalloc(SLURM_NOPTS + 4 + c->extra.n, sizeof(char *));
	wn_strbuf key = WN_STRBUF_INIT;
	for (size_t i = 0; i < SLURM_NOPTS; i++) {
		char *v = vals[T_OPTS + i];
		if (slurm_opt(c, i) != NULL) {
			if (rc == WN_OK)
				rc = slurm_line_ok(slurm_opts[i].key, v, reason);
			r->opts[r->nopts++] = wn_xasprintf("%s=%s", slurm_opts[i].flag, v);
		}
		free(v);
	}
	/* What the task asks for, where the options do not say. */
	if (c->time == NULL && job->timeout_s > 0)
		r->opts[r->nopts++] = wn_xasprintf("--time=%u", (job->timeout_s + 59) / 60);
	if (c->cpus_per_task == NULL && job->cpu > 0)
		r->opts[r->nopts++] = wn_xasprintf("--cpus-per-task=%u", job->cpu);
	if (c->mem == NULL && job->memory_mb > 0)
		r->opts[r->nopts++] =
		    wn_xasprintf("--mem=%lluM", (unsigned long long)job->memory_mb);
	if (c->gres == NULL && c->gpus == NULL && job->gpu > 0)
		r->opts[r->nopts++] = wn_xasprintf("--gres=gpu:%u", job->gpu);
	for (size_t i = 0; i < c->extra.n; i++) {
		char *v = vals[T_OPTS + SLURM_NOPTS + i];
		if (rc == WN_OK)
			rc = slurm_line_ok("extra", v, reason);
		r->opts[r->nopts++] = v;
	}
	for (size_t i = 0; i < r->nopts; i++) {
		wn_strbuf_adds(&key, r->opts[i]);
		wn_strbuf_add(&key, "\n", 1);
	}
	r->opts_key = wn_strbuf_take(&key);
	r->body = vals[nplain];
	wn_strbuf ex = WN_STRBUF_INIT;
	char num[32];
	snprintf(num, sizeof(num), "%llu", (unsigned long long)job->id);
	slurm_export(&ex, "WN_JOB_ID", num);
	slurm_export(&ex, "WN_JOB_NAME", job->name);
	slurm_export(&ex, "WN_PROJECT", job->project);
	slurm_export(&ex, "WN_TASK", job->task);
	snprintf(num, sizeof(num), "%u", (unsigned)job->attempt);
	slurm_export(&ex, "WN_ATTEMPT", num);
	slurm_export(&ex, "WN_WORKER", job->worker);
	slurm_export(&ex, "WN_SERVER", job->server);
	for (size_t i = 0; i < c->env.n; i++) {
		wn_strbuf_addf(&ex, "export %s=%s\n", c->env.keys[i], vals[nplain + 1 + i]);
		free(vals[nplain + 1 + i]);
	}
	r->exports = wn_strbuf_take(&ex);
	free(vals);
	size_t ol = strlen(r->output);
	if (ol > 4 && strcmp(r->output + ol - 4, ".out") == 0)
		r->script_path = wn_xasprintf("%.*s.sbatch", (int)(ol - 4), r->output);
	else
		r->script_path = wn_xasprintf("%s.sbatch", r->output);
	if (rc != WN_OK) {
		slurm_release(r);
		return rc;
	}
	*out = r;
	return WN_OK;
}

/* slurm_head writes the #! line, the job name and the options of r. */
static void slurm_head(wn_strbuf *b, const slurm_run *r)
{
	wn_strbuf_addf(b, "#!%s\n", r->conf->shell);
	char *arg = wn_xasprintf("--job-name=%s", r->job_name);
	slurm_directive(b, arg);
	free(arg);
}

static void slurm_options(wn_strbuf *b, const slurm_run *r)
{
	for (size_t i = 0; i < r->nopts; i++)
		slurm_directive(b, r->opts[i]);
}

char *wn_slurm_script(const void *p)
{
	const slurm_run *r = p;
	wn_strbuf b = WN_STRBUF_INIT;
	slurm_head(&b, r);
	char *pct = slurm_pct(r->output);
	char *arg = wn_xasprintf("--output=%s", pct);
	slurm_directive(&b, arg);
	free(arg);
	free(pct);
	if (r->error != NULL) {
		pct = slurm_pct(r->error);
		arg = wn_xasprintf("--error=%s", pct);
		slurm_directive(&b, arg);
		free(arg);
		free(pct);
	}
	slurm_options(&b, r);
	wn_strbuf_addf(&b, "# WhatsNext job %llu, attempt %u (project %s, task %s)\n",
	               (unsigned long long)r->job_id, (unsigned)r->attempt, r->project, r->task);
	wn_strbuf_adds(&b, r->exports);
	wn_strbuf_adds(&b, r->body);
	if (b.len > 0 && b.s[b.len - 1] != '\n')
		wn_strbuf_adds(&b, "\n");
	return wn_strbuf_take(&b);
}

char *wn_slurm_array_script(void *const *runs, size_t n, uint32_t max_running)
{
	const slurm_run *first = runs[0];
	wn_strbuf b = WN_STRBUF_INIT;
	slurm_head(&b, first);
	if (max_running > 0 && max_running < n)
		wn_strbuf_addf(&b, "#SBATCH --array=0-%zu%%%u\n", n - 1, (unsigned)max_running);
	else
		wn_strbuf_addf(&b, "#SBATCH --array=0-%zu\n", n - 1);
	/* each element sends its output to its job's own files, below */
	wn_strbuf_adds(&b, "#SBATCH --output=/dev/null\n");
	slurm_options(&b, first);
	wn_strbuf_addf(&b, "# WhatsNext jobs of project %s, task %s, as one job array:\n",
	               first->project, first->task);
	wn_strbuf_adds(&b, "# each element runs the script of its job in a shell of its own.\n");
	wn_strbuf_adds(&b, "case ${SLURM_ARRAY_TASK_ID:-} in\n");
	for (size_t i = 0; i < n; i++) {
		const slurm_run *r = runs[i];
		char *out = wn_slurm_quote(r->output);
		char *err = r->error ? wn_slurm_quote(r->error) : NULL;
		char *body = wn_slurm_quote(r->body);
		char *shell = wn_slurm_quote(r->conf->shell);
		wn_strbuf_addf(&b, "%zu) # job %llu, attempt %u\n", i,
		               (unsigned long long)r->job_id, (unsigned)r->attempt);
		wn_strbuf_addf(&b, "exec >%s 2>%s\n", out, err ? err : "&1");
		wn_strbuf_adds(&b, r->exports);
		wn_strbuf_addf(&b, "exec %s -c %s %s\n;;\n", shell, body, shell);
		free(out);
		free(err);
		free(body);
		free(shell);
	}
	wn_strbuf_adds(&b, "*)\n\techo \"no WhatsNext job for array index "
	                   "${SLURM_ARRAY_TASK_ID:-}\" >&2\n\texit 1\n\t;;\nesac\n");
	return wn_strbuf_take(&b);
}

/* slurm_write writes text to path (creating its directories). */
static int slurm_write(const char *path, const char *text, char **reason)
{
	if (wn_proc_mkdirs(path) != 0) {
		*reason =
		    wn_xasprintf("cannot create the directory of %s: %s", path, strerror(errno));
		return WN_EIO;
	}
	FILE *f = fopen(path, "we");
	if (f == NULL) {
		*reason = wn_xasprintf("cannot write %s: %s", path, strerror(errno));
		return WN_EIO;
	}
	size_t len = strlen(text);
	bool ok = fwrite(text, 1, len, f) == len;
	ok = fclose(f) == 0 && ok;
	if (!ok) {
		*reason = wn_xasprintf("cannot write %s: %s", path, strerror(errno));
		return WN_EIO;
	}
	return WN_OK;
}

/* slurm_submit runs sbatch on script_path and gives the SLURM job id. A
 * controller that cannot be reached is tried again a few times (the job
 * was not submitted then); any other failure gives sbatch's message. */
static int slurm_submit(const slurm_conf *c, const char *script_path, char **id, char **reason)
{
	*id = NULL;
	char *argv[] = {c->sbatch, (char *)"--parsable", (char *)script_path, NULL};
	for (int attempt = 0;; attempt++) {
		int status = 0;
		char *out = NULL, *err = NULL;
		int rc = wn_fmt_capture(argv, SLURM_SUBMIT_MS, &status, &out, &err);
		if (rc != WN_OK) {
			*reason = wn_xasprintf("cannot submit to SLURM: %s", err);
			free(out);
			free(err);
			return rc;
		}
		if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
			size_t n = strspn(out, "0123456789");
			if (n > 0 && n <= 18 &&
			    (out[n] == ';' || out[n] == '\n' || out[n] == '\0')) {
				*id = strndup(out, n);
				free(out);
				free(err);
				return WN_OK;
			}
			char *line = wn_one_line(out, SLURM_REASON_MAX);
			*reason = wn_xasprintf("cannot submit to SLURM: sbatch printed no job id "
			                       "(\"%s\")",
			                       line);
			free(line);
			free(out);
			free(err);
			return WN_EPROTO;
		}
		bool again = err && strstr(err, "Unable to contact slurm controller") != NULL;
		if (again && attempt < 3) {
			wn_warn("sbatch cannot reach the SLURM controller; trying again in %d s",
			        1 << attempt);
			free(out);
			free(err);
			sleep(1u << attempt);
			continue;
		}
		char *line = wn_one_line(err && err[0] ? err : out, SLURM_REASON_MAX);
		if (line[0] == '\0') {
			free(line);
			line = WIFEXITED(status) ? wn_xasprintf("sbatch exited with status %d",
			                                        WEXITSTATUS(status))
			                         : wn_xstrdup("sbatch was killed");
		}
		*reason = wn_xasprintf("cannot submit to SLURM: %s", line);
		free(line);
		free(out);
		free(err);
		return WN_EINVAL;
	}
}

/* slurm_started records that r is SLURM job id and starts following it. */
static void slurm_started(slurm_run *r, const char *id)
{
	r->ext_id = wn_xstrdup(id);
	r->raw_id = strchr(id, '_') ? wn_xstrdup("") : wn_xstrdup(id);
	r->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (r->efd < 0) {
		fprintf(stderr, "wnworker: cannot make an eventfd: %s\n", strerror(errno));
		abort();
	}
	free(r->desc);
	r->desc = wn_xasprintf("SLURM job %s, output %s", id, r->output ? r->output : "unknown");
	slurm_follow(r);
}

static int slurm_start(void *p, char **reason)
{
	slurm_run *r = p;
	char *script = wn_slurm_script(r);
	int rc = slurm_write(r->script_path, script, reason);
	free(script);
	if (rc == WN_OK && wn_proc_mkdirs(r->output) != 0)
		wn_warn("job %llu: cannot create the directory of %s: %s",
		        (unsigned long long)r->job_id, r->output, strerror(errno));
	if (rc == WN_OK && r->error != NULL)
		wn_proc_mkdirs(r->error);
	char *id = NULL;
	if (rc == WN_OK)
		rc = slurm_submit(r->conf, r->script_path, &id, reason);
	if (rc != WN_OK)
		return rc;
	slurm_started(r, id);
	free(id);
	return WN_OK;
}

/* slurm_start_array submits runs[0..n) (same options) as one job array. */
static void slurm_start_array(slurm_run **runs, size_t n, uint32_t max_running, int *rcs,
                              char **reasons)
{
	const slurm_run *first = runs[0];
	char *dir = wn_xstrdup(first->output);
	char *slash = strrchr(dir, '/');
	if (slash != NULL)
		*slash = '\0';
	char *path = wn_xasprintf("%s/array.%llu.%u.sbatch", dir, (unsigned long long)first->job_id,
	                          (unsigned)first->attempt);
	free(dir);
	char *script = wn_slurm_array_script((void *const *)runs, n, max_running);
	char *reason = NULL, *id = NULL;
	int rc = slurm_write(path, script, &reason);
	free(script);
	for (size_t i = 0; rc == WN_OK && i < n; i++) {
		wn_proc_mkdirs(runs[i]->output);
		if (runs[i]->error)
			wn_proc_mkdirs(runs[i]->error);
	}
	if (rc == WN_OK)
		rc = slurm_submit(first->conf, path, &id, &reason);
	if (rc == WN_OK) {
		wn_info("submitted %zu jobs (%llu to %llu) as SLURM job array %s%s, script %s", n,
		        (unsigned long long)runs[0]->job_id,
		        (unsigned long long)runs[n - 1]->job_id, id,
		        max_running > 0 && max_running < n ? " (capped)" : "", path);
		for (size_t i = 0; i < n; i++) {
			char *eid = wn_xasprintf("%s_%zu", id, i);
			free(runs[i]->script_path);
			runs[i]->script_path = wn_xstrdup(path);
			slurm_started(runs[i], eid);
			free(eid);
			rcs[i] = WN_OK;
			reasons[i] = NULL;
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			rcs[i] = rc;
			reasons[i] = wn_xstrdup(reason);
		}
	}
	free(reason);
	free(id);
	free(path);
}

static void slurm_start_group(void **runs, size_t n, uint32_t max_running, int *rcs, char **reasons)
{
	slurm_run **rs = (slurm_run **)runs;
	bool *done = wn_xcalloc(n, sizeof(*done));
	slurm_run **set = wn_xcalloc(n, sizeof(*set));
	size_t *at = wn_xcalloc(n, sizeof(*at));
	int *src = wn_xcalloc(n, sizeof(*src));
	char **srs = wn_xcalloc(n, sizeof(*srs));
	/* in job id order, so that element i is the i-th job */
	size_t *order = wn_xcalloc(n, sizeof(*order));
	for (size_t i = 0; i < n; i++) {
		size_t k = i;
		while (k > 0 && rs[order[k - 1]]->job_id > rs[i]->job_id) {
			order[k] = order[k - 1];
			k--;
		}
		order[k] = i;
	}
	for (size_t oi = 0; oi < n; oi++) {
		size_t i = order[oi];
		if (done[i])
			continue;
		/* runs with the same options (and config) share an array */
		size_t ns = 0;
		for (size_t ok = oi; ok < n && ns < (size_t)rs[i]->conf->array_max; ok++) {
			size_t k = order[ok];
			if (!done[k] && rs[k]->conf == rs[i]->conf &&
			    strcmp(rs[k]->opts_key, rs[i]->opts_key) == 0) {
				set[ns] = rs[k];
				at[ns++] = k;
				done[k] = true;
			}
		}
		if (ns == 1 || !rs[i]->conf->array) {
			for (size_t k = 0; k < ns; k++) {
				reasons[at[k]] = NULL;
				rcs[at[k]] = slurm_start(set[k], &reasons[at[k]]);
			}
			continue;
		}
		slurm_start_array(set, ns, max_running, src, srs);
		for (size_t k = 0; k < ns; k++) {
			rcs[at[k]] = src[k];
			reasons[at[k]] = srs[k];
		}
	}
	free(order);
	free(srs);
	free(src);
	free(at);
	free(set);
	free(done);
}

static int slurm_resume(const void *conf, const wn_fmt_job *job, const char *external_id,
                        void **out, char **reason)
{
	*out = NULL;
	if (external_id == NULL || external_id[0] == '\0') {
		*reason = wn_xstrdup("no SLURM job id was recorded for it");
		return WN_ENOTFOUND;
	}
	if (!wn_slurm_id_ok(external_id)) {
		*reason = wn_xasprintf("'%s' is not a SLURM job id", external_id);
		return WN_EINVAL;
	}
	void *p = NULL;
	char *why = NULL;
	if (slurm_prepare(conf, job, &p, &why) != WN_OK) {
		/* the output file stays unknown; the job is followed all the same */
		wn_debug("job %llu: %s", (unsigned long long)job->id, why);
		free(why);
		slurm_run *r = wn_xcalloc(1, sizeof(*r));
		r->conf = (slurm_conf *)conf;
		r->efd = -1;
		r->job_id = job->id;
		r->attempt = job->attempt;
		r->project = wn_xstrdup(job->project);
		r->task = wn_xstrdup(job->task);
		p = r;
	}
	slurm_started(p, external_id);
	*out = p;
	return WN_OK;
}

static const char *slurm_describe(void *p)
{
	slurm_run *r = p;
	return r->desc ? r->desc : "not submitted";
}

static const char *slurm_external_id(void *p)
{
	slurm_run *r = p;
	return r->ext_id;
}

static int slurm_wait(void *p, int wake_fd, int timeout_ms)
{
	slurm_run *r = p;
	if (!r->tracked)
		return 1;
	int64_t deadline = timeout_ms >= 0 ? wn_mono_ms() + timeout_ms : -1;
	for (;;) {
		pthread_mutex_lock(&slurm_poller.mu);
		bool ended = r->ended;
		pthread_mutex_unlock(&slurm_poller.mu);
		if (ended)
			return 1;
		int left = -1;
		if (deadline >= 0) {
			int64_t l = deadline - wn_mono_ms();
			if (l <= 0)
				return 0;
			left = l > INT32_MAX ? INT32_MAX : (int)l;
		}
		struct pollfd pf[2] = {{.fd = r->efd, .events = POLLIN},
		                       {.fd = wake_fd, .events = POLLIN}};
		int n = poll(pf, wake_fd >= 0 ? 2 : 1, left);
		if (n < 0 && errno != EINTR)
			return 0;
		if (n > 0 && (pf[0].revents & POLLIN)) {
			uint64_t v;
			ssize_t rd = read(r->efd, &v, sizeof(v));
			(void)rd;
		}
		if (n > 0 && wake_fd >= 0 && pf[1].revents != 0) {
			pthread_mutex_lock(&slurm_poller.mu);
			ended = r->ended;
			pthread_mutex_unlock(&slurm_poller.mu);
			return ended ? 1 : 0;
		}
	}
}

static void slurm_stop(void *p, bool force)
{
	slurm_run *r = p;
	if (r->ext_id == NULL)
		return;
	pthread_mutex_lock(&slurm_poller.mu);
	bool ended = r->ended;
	r->cancelling = true;
	pthread_mutex_unlock(&slurm_poller.mu);
	if (ended)
		return;
	char *argv[] = {r->conf->scancel, r->ext_id, NULL};
	int status = 0;
	char *out = NULL, *err = NULL;
	int rc = wn_fmt_capture(argv, SLURM_QUERY_MS, &status, &out, &err);
	if (rc != WN_OK || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *line = wn_one_line(err, SLURM_REASON_MAX);
		wn_warn("job %llu: cannot cancel SLURM job %s%s: %s", (unsigned long long)r->job_id,
		        r->ext_id, force ? " (again)" : "", line[0] ? line : "scancel failed");
		free(line);
	} else {
		wn_debug("job %llu: scancel %s", (unsigned long long)r->job_id, r->ext_id);
	}
	free(out);
	free(err);
	/* look again soon rather than at the next round */
	pthread_mutex_lock(&slurm_poller.mu);
	slurm_poller.kick_at = wn_mono_ms() + SLURM_KICK_MS;
	pthread_cond_broadcast(&slurm_poller.cond);
	pthread_mutex_unlock(&slurm_poller.mu);
}

/* slurm_tail returns the end of the job's output (and error) file. */
static char *slurm_tail(const slurm_run *r)
{
	size_t max = r->conf->tail_bytes;
	if (max == 0 || r->output == NULL)
		return wn_xstrdup("");
	if (r->error == NULL)
		return wn_proc_tail(r->output, max);
	char *o = wn_proc_tail(r->output, max / 2);
	char *e = wn_proc_tail(r->error, max - max / 2);
	char *t = e[0] == '\0' ? wn_xstrdup(o) : wn_xasprintf("%s%s%s", o, o[0] ? "\n" : "", e);
	free(o);
	free(e);
	return t;
}

static void slurm_result(void *p, wn_fmt_result *res)
{
	slurm_run *r = p;
	res->exit_code = -1;
	if (r->ext_id == NULL)
		return;
	res->external_id = wn_xstrdup(r->ext_id);
	pthread_mutex_lock(&slurm_poller.mu);
	bool ended = r->ended, cancelling = r->cancelling;
	wn_slurm_row row = {0};
	if (ended)
		row = (wn_slurm_row){wn_xstrdup(r->end.id),
		                     wn_xstrdup(r->end.raw_id),
		                     wn_xstrdup(r->end.state),
		                     r->end.exit_code,
		                     r->end.signal,
		                     wn_xstrdup(r->end.reason)};
	pthread_mutex_unlock(&slurm_poller.mu);
	if (!ended) {
		res->reason = wn_xasprintf("SLURM job %s: not followed to its end", r->ext_id);
	} else if (strcmp(row.state, "UNKNOWN") == 0) {
		res->reason = wn_xasprintf("SLURM job %s: its end is unknown (squeue no longer "
		                           "lists it and sacct has no record of it)",
		                           r->ext_id);
	} else {
		wn_slurm_outcome(&row, res);
		if (cancelling)
			res->cancelled = false; /* the worker's own cancel: the agent says why */
	}
	slurm_row_release(&row);
	res->output_tail = slurm_tail(r);
}

const wn_fmt_ops wn_fmt_slurm_ops = {
    .name = "slurm",
    .load = slurm_load,
    .unload = slurm_unload,
    .prepare = slurm_prepare,
    .start = slurm_start,
    .describe = slurm_describe,
    .wait = slurm_wait,
    .stop = slurm_stop,
    .result = slurm_result,
    .release = slurm_release,
    .resume = slurm_resume,
    .external_id = slurm_external_id,
    .start_group = slurm_start_group,
};
