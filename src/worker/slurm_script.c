#include "slurm_script.h"

#include "err.h"
#include "strbuf.h"
#include "template.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- text helpers */

char *wn_slurm_script_quote(const char *s)
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

char *wn_slurm_script_word(const char *s)
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

/* wn_slurm_script_pct doubles every '%' of a file name, so that sbatch reads none of
 * it as a pattern (%j, %A, ...). */
char *wn_slurm_script_pct(const char *s)
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

/* wn_slurm_script_directive appends "#SBATCH WORD\n" for the argument arg. */
void wn_slurm_script_directive(wn_strbuf *b, const char *arg)
{
	char *w = wn_slurm_script_word(arg);
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

/* sh_delim_char reads c as part of a here-document's delimiter word; false
 * when c ends the word and is to be read as code. */
static bool sh_delim_char(sh_lexer *lx, char c)
{
	if (lx->word_q != 0) {
		if (c == lx->word_q)
			lx->word_q = 0;
		else
			wn_strbuf_add(&lx->word_buf, &c, 1);
		return true;
	}
	if (lx->escape) {
		lx->escape = false;
		wn_strbuf_add(&lx->word_buf, &c, 1);
		return true;
	}
	if (!lx->word_started && c == '<' && lx->lt == 2) {
		lx->word = false; /* <<<: a here-string, no document */
		lx->lt = 3;
		return true;
	}
	if (!lx->word_started && (c == ' ' || c == '\t'))
		return true;
	if (!lx->word_started && c == '-' && !lx->word_tabs && lx->prev == '<') {
		lx->word_tabs = true;
		lx->prev = c;
		return true;
	}
	if (c == '\'' || c == '"') {
		lx->word_started = lx->word_quoted = true;
		lx->word_q = c;
		return true;
	}
	if (c == '\\') {
		lx->word_started = lx->word_quoted = true;
		lx->escape = true;
		return true;
	}
	if (strchr(" \t\n;&|<>()", c) == NULL) {
		lx->word_started = true;
		wn_strbuf_add(&lx->word_buf, &c, 1);
		lx->prev = c;
		return true;
	}
	if (!lx->word_started) {
		lx->error = "a here-document without a delimiter";
		return true;
	}
	sh_word_end(lx);
	return false;
}

/* sh_quoted_char reads c inside quotes or a comment (frame f); false when c
 * is to be read as code (f is code, or c ends the comment). */
static bool sh_quoted_char(sh_lexer *lx, const sh_frame *f, char c, char prev)
{
	switch (f->kind) {
	case SH_SQUOTE:
		if (c == '\'')
			sh_pop(lx);
		return true;
	case SH_ANSI:
		if (c == '\\')
			lx->escape = true;
		else if (c == '\'')
			sh_pop(lx);
		return true;
	case SH_COMMENT:
		if (c != '\n')
			return true;
		sh_pop(lx);
		return false; /* the line's end, as code */
	case SH_DQUOTE:
		if (c == '\\')
			lx->escape = true;
		else if (c == '"')
			sh_pop(lx);
		else if (c == '`')
			sh_push(lx, SH_BACKTICK, false);
		else if (c == '(' && prev == '$')
			sh_push(lx, SH_CODE, true);
		return true;
	default:
		return false;
	}
}

/* sh_keyword follows the word being read in code (frame f), for case and
 * esac; true when c is a letter of it. */
static bool sh_keyword(sh_lexer *lx, sh_frame *f, char c, bool boundary)
{
	if (c >= 'a' && c <= 'z') {
		if (boundary)
			lx->kwlen = 0;
		if (lx->kwlen >= 0 && lx->kwlen < (int)sizeof(lx->kw) - 1)
			lx->kw[lx->kwlen++] = c;
		else
			lx->kwlen = -1;
		return true;
	}
	if (lx->kwlen > 0 && strchr(" \t\n;&|()", c) != NULL) {
		lx->kw[lx->kwlen] = '\0';
		if (strcmp(lx->kw, "case") == 0)
			f->cases++;
		else if (strcmp(lx->kw, "esac") == 0 && f->cases > 0)
			f->cases--;
	}
	lx->kwlen = -1;
	return false;
}

/* sh_code_char reads c in code: at the top, in $( ... ) or in backquotes
 * (frame f). */
static void sh_code_char(sh_lexer *lx, sh_frame *f, char c, char prev, bool boundary)
{
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
	/* the delimiter of a here-document: a word, maybe quoted */
	if (lx->word && sh_delim_char(lx, c))
		return;
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
	if (sh_quoted_char(lx, f, c, prev))
		return;
	f = sh_top(lx);
	/* code: at the top, in $( ... ) or in backquotes */
	bool boundary = prev == 0 || strchr(" \t\n;&|()", prev) != NULL;
	if (sh_keyword(lx, f, c, boundary))
		return;
	sh_code_char(lx, f, c, prev, boundary);
}

static void sh_release(sh_lexer *lx)
{
	for (int i = 0; i < lx->ndocs; i++)
		free(lx->docs[i].delim);
	wn_strbuf_free(&lx->line);
	wn_strbuf_free(&lx->word_buf);
}

/* sh_doc_value appends value to out inside a here-document's body. */
static void sh_doc_value(sh_lexer *lx, wn_strbuf *out, const char *value)
{
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
}

/* sh_backquotes returns text (which it takes) escaped for the backquotes
 * around where the lexer stands: each takes one level of backslashes off
 * '\\', '`' and '$' before the text inside is read. */
static char *sh_backquotes(const sh_lexer *lx, char *text)
{
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
	return text;
}

/* sh_value appends value to out, quoted for where the lexer stands. */
static void sh_value(sh_lexer *lx, wn_strbuf *out, const char *value)
{
	if (lx->word) {
		lx->error = "a here-document's delimiter cannot be a value";
		return;
	}
	if (lx->in_doc) {
		sh_doc_value(lx, out, value);
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
		q = wn_slurm_script_quote(value);
		wn_strbuf_addf(&t, "'%s%s", q, f->kind == SH_ANSI ? "$'" : "'");
		free(q);
		break;
	case SH_COMMENT:
		for (const char *p = value; *p; p++)
			wn_strbuf_add(&t, *p == '\n' || *p == '\r' ? " " : p, 1);
		break;
	default:
		q = wn_slurm_script_quote(value);
		wn_strbuf_adds(&t, q);
		free(q);
		break;
	}
	char *text = sh_backquotes(lx, wn_strbuf_take(&t));
	wn_strbuf_adds(out, text);
	free(text);
	lx->prev = 'x'; /* a word character: no '#' comment starts right after it */
}

int wn_slurm_script_body(const char *tmpl, const wn_fmt_job *job, char **out, char **reason)
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
