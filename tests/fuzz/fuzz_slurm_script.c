/* libFuzzer target: the SLURM batch script's body (slurm_script.c), checked
 * by a shell lexer of its own. The input builds a template out of shell
 * fragments (quotes, substitutions, here-documents, comments, case, line
 * continuations, ...) and placeholders {p0}..{p3}, then four values out of an
 * alphabet of shell's special characters. Each value is rendered between two
 * marks (\x01 and \x02) that no template holds. A script the renderer accepts
 * is read by the lexer below, written for this check and sharing nothing
 * with the renderer's: it follows the script as the shell reads it and tells
 * for each character whether it is literal data (quoted, escaped, in a
 * here-document's body or a comment) or shell syntax. Every value must be
 * found, in order, as literal data only and byte for byte (a comment's line
 * breaks become blanks); else the target aborts. Run:
 * build/fuzz/fuzz_slurm_script -max_total_time=60 */
#include "err.h"
#include "fmt.h"
#include "slurm_script.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the checker's lexer */

enum { SYN, LIT, CMT }; /* shell syntax, literal data, a comment's text */

typedef struct ev {
	char c;
	unsigned char cls;
} ev;

typedef struct chk {
	ev *evs;
	size_t nev, cap;
	int force;   /* inside ${ } or arithmetic: everything is syntax */
	int depth;   /* nesting of the lexer's own calls */
	bool unsure; /* met what this lexer does not follow: no verdict */
} chk;

typedef struct hdoc {
	char delim[512];
	bool quoted, tabs;
} hdoc;

typedef struct src {
	const char *s;
	size_t n, i;
	hdoc docs[8];
	int ndocs;
} src;

/* joins tells whether a line continuation between the characters a and b
 * may make one token of them: this lexer then gives no verdict. */
static bool joins(int a, int b)
{
	bool wa = a == '_' || (a >= '0' && a <= '9') || ((a | 32) >= 'a' && (a | 32) <= 'z');
	bool wb = b == '_' || (b >= '0' && b <= '9') || ((b | 32) >= 'a' && (b | 32) <= 'z');
	return (a > 0 && strchr("$<>;&|(", a) != NULL) || (wa && wb);
}

static void emit(chk *k, char c, int cls)
{
	if (k->nev == k->cap) {
		k->cap = k->cap ? 2 * k->cap : 256;
		k->evs = realloc(k->evs, k->cap * sizeof(*k->evs));
		if (k->evs == NULL)
			abort();
	}
	k->evs[k->nev++] = (ev){c, (unsigned char)(k->force > 0 ? SYN : cls)};
}

static int at(const src *b, size_t off)
{
	return b->i + off < b->n ? (unsigned char)b->s[b->i + off] : -1;
}

static void lex_code(chk *k, src *b, bool subst);
static void lex_dquote(chk *k, src *b);
static void lex_backtick(chk *k, src *b, bool in_dq);
static void lex_dollar(chk *k, src *b);

static void lex_squote(chk *k, src *b)
{
	b->i++;
	while (at(b, 0) >= 0 && at(b, 0) != '\'')
		emit(k, b->s[b->i++], LIT);
	b->i++;
}

/* lex_ansi reads $'...': its backslash sequences mean other bytes. */
static void lex_ansi(chk *k, src *b)
{
	b->i += 2;
	while (at(b, 0) >= 0 && at(b, 0) != '\'') {
		if (at(b, 0) == '\\' && at(b, 1) >= 0) {
			emit(k, '\\', SYN);
			emit(k, b->s[b->i + 1], SYN);
			b->i += 2;
		} else {
			emit(k, b->s[b->i++], LIT);
		}
	}
	b->i++;
}

/* lex_inner reads ${ ... } or $(( ... )) (arith), whose text is syntax. */
static void lex_inner(chk *k, src *b, bool arith)
{
	if (k->depth > 48) {
		k->unsure = true;
		return;
	}
	k->depth++;
	k->force++;
	int depth = 0;
	while (at(b, 0) >= 0 && !k->unsure) {
		int c = at(b, 0);
		if (c == '\\' && at(b, 1) == '\n') { /* a line continuation: $\<nl>' is $' */
			k->unsure = k->unsure || (b->i > 0 && joins(b->s[b->i - 1], at(b, 2)));
			b->i += 2;
		} else if (c == '\\' && at(b, 1) >= 0) {
			b->i += 2;
		} else if (c == '\'') { /* quotes even in $(( )), as bash parses it */
			lex_squote(k, b);
		} else if (c == '$' && at(b, 1) == '\'') {
			lex_ansi(k, b);
		} else if (c == '"') {
			lex_dquote(k, b);
		} else if (c == '`') {
			lex_backtick(k, b, false);
		} else if (c == '$') {
			lex_dollar(k, b);
		} else if (!arith && c == '}') {
			b->i++;
			break;
		} else if (!arith && c == '{') {
			k->unsure = true;
		} else if (arith && c == '(') {
			depth++;
			b->i++;
		} else if (arith && c == ')' && depth > 0) {
			depth--;
			b->i++;
		} else if (arith && c == ')') {
			if (at(b, 1) != ')')
				k->unsure = true;
			b->i += 2;
			break;
		} else {
			emit(k, (char)c, SYN);
			b->i++;
		}
	}
	k->force--;
	k->depth--;
}

/* lex_dollar reads what starts with '$' outside single quotes. */
static void lex_dollar(chk *k, src *b)
{
	int c = at(b, 1);
	if (c == '(' && at(b, 2) == '(') {
		b->i += 3;
		lex_inner(k, b, true);
	} else if (c == '(') {
		b->i += 2;
		lex_code(k, b, true);
	} else if (c == '{') {
		b->i += 2;
		lex_inner(k, b, false);
	} else if (c == '[') {
		k->unsure = true;
		b->i++;
	} else if (c == '$') { /* $$, the shell's pid: what follows opens nothing with it */
		emit(k, '$', SYN);
		emit(k, '$', SYN);
		b->i += 2;
	} else {
		emit(k, '$', SYN);
		b->i++;
	}
}

/* lex_expanding reads the text of "..." (dq) or of an expanded
 * here-document's body up to its end. */
static void lex_expanding(chk *k, src *b, bool dq)
{
	while (at(b, 0) >= 0 && !k->unsure) {
		int c = at(b, 0);
		if (dq && c == '"') {
			b->i++;
			return;
		}
		if (c == '\\' && at(b, 1) == '\n' && dq) {
			k->unsure = k->unsure || (b->i > 0 && joins(b->s[b->i - 1], at(b, 2)));
			b->i += 2;
		} else if (c == '\\' && at(b, 1) >= 0 && strchr(dq ? "$`\"\\" : "$`\\", at(b, 1))) {
			emit(k, b->s[b->i + 1], LIT);
			b->i += 2;
		} else if (c == '$') {
			lex_dollar(k, b);
		} else if (c == '`') {
			lex_backtick(k, b, dq);
		} else {
			emit(k, (char)c, LIT);
			b->i++;
		}
	}
}

static void lex_dquote(chk *k, src *b)
{
	b->i++;
	lex_expanding(k, b, true);
}

/* lex_backtick reads `...`: its text, with one level of backslashes taken
 * off, is read again as code. */
static void lex_backtick(chk *k, src *b, bool in_dq)
{
	b->i++;
	char *t = malloc(b->n + 1);
	if (t == NULL)
		abort();
	size_t n = 0;
	while (at(b, 0) >= 0 && at(b, 0) != '`') {
		if (at(b, 0) == '\\' && at(b, 1) >= 0) {
			int e = at(b, 1);
			if (!(strchr("$`\\", e) || (in_dq && e == '"')))
				t[n++] = '\\';
			t[n++] = (char)e;
			b->i += 2;
		} else {
			t[n++] = b->s[b->i++];
		}
	}
	b->i++;
	src inner = {.s = t, .n = n};
	lex_code(k, &inner, false);
	if (inner.ndocs > 0)
		k->unsure = true;
	free(t);
}

/* lex_doc_word reads "<<WORD" (or "<<<") and announces the here-document. */
static void lex_doc_word(chk *k, src *b)
{
	if (at(b, 2) == '<') {
		for (int j = 0; j < 3; j++)
			emit(k, '<', SYN);
		b->i += 3;
		return;
	}
	hdoc d = {.delim = ""};
	size_t n = 0;
	b->i += 2;
	if (at(b, 0) == '-') {
		d.tabs = true;
		b->i++;
	}
	while (at(b, 0) == ' ' || at(b, 0) == '\t')
		b->i++;
	while (at(b, 0) >= 0 && !strchr(" \t\n;&|<>()", at(b, 0)) && n < sizeof(d.delim) - 2) {
		int c = at(b, 0);
		if (c == '\'' || c == '"') {
			d.quoted = true;
			b->i++;
			while (at(b, 0) >= 0 && at(b, 0) != c && n < sizeof(d.delim) - 2)
				d.delim[n++] = b->s[b->i++];
			b->i++;
		} else if (c == '\\' && at(b, 1) >= 0) {
			d.quoted = true;
			d.delim[n++] = b->s[b->i + 1];
			b->i += 2;
		} else {
			if (c == '$' || c == '`')
				k->unsure = true;
			d.delim[n++] = b->s[b->i++];
		}
	}
	d.delim[n] = '\0';
	emit(k, '<', SYN);
	if (n == 0 || n >= sizeof(d.delim) - 2 || b->ndocs == 8)
		k->unsure = true;
	else
		b->docs[b->ndocs++] = d;
}

/* lex_doc_body reads the body of here-document d from b, as the shell
 * does: whole lines up to the delimiter's, then its expansions. */
static void lex_doc_body(chk *k, src *b, const hdoc *d)
{
	char *body = malloc(b->n + 1), *line = malloc(b->n + 1);
	if (body == NULL || line == NULL)
		abort();
	size_t bn = 0;
	bool ended = false;
	while (at(b, 0) >= 0 && !ended) {
		size_t ln = 0;
		for (;;) {
			while (at(b, 0) >= 0 && at(b, 0) != '\n')
				line[ln++] = b->s[b->i++];
			size_t bs = 0;
			while (bs < ln && line[ln - 1 - bs] == '\\')
				bs++;
			if (d->quoted || bs % 2 == 0 || at(b, 0) < 0)
				break;
			ln--; /* a backslash and the line's end join the next line */
			b->i++;
		}
		line[ln] = '\0';
		const char *l = line;
		while (d->tabs && *l == '\t')
			l++;
		ended = strcmp(l, d->delim) == 0;
		if (!ended) {
			memcpy(body + bn, l, strlen(l));
			bn += strlen(l);
			if (at(b, 0) == '\n')
				body[bn++] = '\n';
		}
		if (at(b, 0) == '\n')
			b->i++;
	}
	if (d->quoted) {
		for (size_t j = 0; j < bn; j++)
			emit(k, body[j], LIT);
	} else {
		src inner = {.s = body, .n = bn};
		lex_expanding(k, &inner, false);
	}
	emit(k, '\n', SYN); /* the delimiter's line */
	free(body);
	free(line);
}

enum { C_NONE, C_WORD, C_PATTERN, C_BODY };

/* lex_keyword reads a word of lower-case letters at a word's start in code;
 * returns whether a command may start after it. */
static bool lex_keyword(chk *k, src *b, int *cs, bool cmd)
{
	size_t len = 0;
	while (at(b, len) >= 'a' && at(b, len) <= 'z')
		len++;
	int nx = at(b, len);
	char w[16] = "";
	if (len < sizeof(w) && (nx < 0 || strchr(" \t\n;&|()<>", nx)))
		memcpy(w, b->s + b->i, len);
	for (size_t j = 0; j < len; j++)
		emit(k, b->s[b->i++], SYN);
	if (*cs == C_WORD && strcmp(w, "in") == 0) {
		*cs = C_PATTERN;
		return false;
	}
	if ((*cs == C_PATTERN || (*cs == C_BODY && cmd)) && strcmp(w, "esac") == 0) {
		*cs = C_NONE;
		return false;
	}
	if (cmd && strcmp(w, "case") == 0) {
		if (*cs != C_NONE)
			k->unsure = true;
		*cs = C_WORD;
		return false;
	}
	static const char *const starts[] = {"if",    "then", "else", "elif",  "while",
	                                     "until", "do",   "time", "coproc"};
	for (size_t j = 0; cmd && j < sizeof(starts) / sizeof(starts[0]); j++)
		if (strcmp(w, starts[j]) == 0)
			return true;
	return false;
}

/* lex_op reads an operator character c of code; returns false when it ends
 * the substitution being read. */
static bool lex_op(chk *k, src *b, int c, int *cs, int *parens, bool *cmd, bool subst)
{
	emit(k, (char)c, SYN);
	b->i++;
	if (c == '(') {
		if (*cs == C_PATTERN)
			return true;
		if (*cmd && at(b, 0) == '(') {
			b->i++;
			lex_inner(k, b, true);
			*cmd = false;
			return true;
		}
		(*parens)++;
	} else if (c == ')') {
		size_t j = b->i - 1; /* at the ')': f() is a function, its body follows */
		while (j > 0 && (b->s[j - 1] == ' ' || b->s[j - 1] == '\t'))
			j--;
		*cmd = *cs == C_PATTERN || (j > 0 && b->s[j - 1] == '(');
		if (*cs == C_PATTERN)
			*cs = C_BODY;
		else if (*parens > 0)
			(*parens)--;
		else if (subst)
			return false;
		return true;
	} else if (c == ';') {
		if (at(b, 0) == ';' || at(b, 0) == '&') {
			if (*cs == C_BODY)
				*cs = C_PATTERN;
			b->i += (at(b, 0) == ';' && at(b, 1) == '&') ? 2 : 1;
		}
	}
	*cmd = true;
	return true;
}

static void lex_code_in(chk *k, src *b, bool subst);

/* lex_code reads code up to the end of b or, for $( ... ) (subst), its ')';
 * nested too deeply, it gives no verdict (so does the renderer). */
static void lex_code(chk *k, src *b, bool subst)
{
	if (++k->depth > 48)
		k->unsure = true;
	else
		lex_code_in(k, b, subst);
	k->depth--;
}

static void lex_code_in(chk *k, src *b, bool subst)
{
	int prev = 0, cs = C_NONE, parens = 0;
	bool cmd = true;
	while (at(b, 0) >= 0 && !k->unsure) {
		int c = at(b, 0);
		bool start = prev == 0 || strchr(" \t\n;&|()<>", prev) != NULL;
		int was = prev;
		prev = 'x';
		if (c == '\\' && at(b, 1) == '\n') {
			k->unsure = k->unsure || (b->i > 0 && joins(b->s[b->i - 1], at(b, 2)));
			b->i += 2;
			prev = was;
		} else if (c == '\\') {
			emit(k, at(b, 1) >= 0 ? b->s[b->i + 1] : '\\', at(b, 1) >= 0 ? LIT : SYN);
			b->i += at(b, 1) >= 0 ? 2 : 1;
			cmd = false;
		} else if (c == '\'') {
			lex_squote(k, b);
			cmd = false;
		} else if (c == '$' && at(b, 1) == '\'') {
			lex_ansi(k, b);
			cmd = false;
		} else if (c == '$' && at(b, 1) == '"') {
			b->i++;
			lex_dquote(k, b);
			cmd = false;
		} else if (c == '$') {
			lex_dollar(k, b);
			cmd = false;
		} else if (c == '"') {
			lex_dquote(k, b);
			cmd = false;
		} else if (c == '`') {
			lex_backtick(k, b, false);
			cmd = false;
		} else if (c == '#' && start) {
			emit(k, '#', SYN);
			b->i++;
			while (at(b, 0) >= 0 && at(b, 0) != '\n')
				emit(k, b->s[b->i++], CMT);
		} else if (c == '\n') {
			emit(k, '\n', SYN);
			b->i++;
			prev = 0;
			cmd = true;
			for (int j = 0; j < b->ndocs && !k->unsure; j++)
				lex_doc_body(k, b, &b->docs[j]);
			b->ndocs = 0;
		} else if (c == '<' && at(b, 1) == '<') {
			prev = at(b, 2) == '<' ? '<' : 'x'; /* <<<: a word starts after it */
			lex_doc_word(k, b);
			cmd = false; /* no keyword after a redirection */
		} else if (c == '&' && (was == '>' || was == '<')) {
			emit(k, '&', SYN); /* >&, <&: a redirection */
			b->i++;
			prev = c;
			cmd = false;
		} else if (strchr("()|&;", c)) {
			prev = c;
			if (!lex_op(k, b, c, &cs, &parens, &cmd, subst))
				return;
		} else if (strchr(" \t<>", c)) {
			emit(k, (char)c, SYN);
			b->i++;
			prev = c;
			cmd = cmd && (c == ' ' || c == '\t'); /* a file name follows < and > */
		} else if (c >= 'a' && c <= 'z' && start) {
			cmd = lex_keyword(k, b, &cs, cmd);
		} else {
			emit(k, (char)c, SYN);
			b->i++;
			cmd = cmd && (c == '{' || c == '!') && start;
		}
	}
}

/* ---------------------------------------------------------------- the target */

static const char *const frags[] = {
    " ",    "\n",      "\t",        "echo ", "x",     "EOF",     "E",        ";",       ";;",
    "&",    "|",       "(",         ")",     "'",     "\"",      "`",        "\\",      "\\\n",
    "#",    " #",      "$",         "$(",    "$((",   "((",      "))",       "${",      "}",
    "{{",   "}}",      "$'",        "$[",    "<<EOF", "<<'EOF'", "<<-EOF",   "<<\"E\"", "<<\\E",
    "<<<",  "\nEOF\n", "\n\tEOF\n", "\nE\n", "case ", " in ",    "esac",     "a)",      "*)",
    "(a)",  "if ",     "then ",     "fi",    "do ",   "done",    "\\$",      "\\`",     "\\\"",
    "\\'",  "\\\\",    ">",         "<",     "!",     "=",       "a",        "cat ",    "{p0}",
    "{p1}", "{p2}",    "{p3}",      "{p0}",  "{p1}",  " {p0} ",  "\"{p1}\"", "'{p2}'",  "# {p3}",
};

static const char alphabet[] = "\n'\"`$\\(){}#;&| \t*~EOF<>-!\rx=[]%,?E";

#define NFRAGS (sizeof(frags) / sizeof(frags[0]))

/* What a failure prints before it aborts. */
static const char *shown_tmpl, *shown_out;

static void fuzz_fail(const char *what, const chk *k, size_t e)
{
	fprintf(stderr, "%s (event %zu of %zu)\n--- template:\n%s\n--- script:\n%s\n---\n", what, e,
	        k->nev, shown_tmpl, shown_out);
	abort();
}
#define MAXLEN 4096

/* fuzz_check finds each value of the placeholders of tmpl, in order, in the
 * events of k: literal data only, byte for byte. */
static void fuzz_check(const chk *k, const char *tmpl, char *const *vals)
{
	size_t e = 0;
	for (const char *p = tmpl; *p;) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			p += 2;
			continue;
		}
		if (*p++ != '{')
			continue;
		const char *v = vals[p[1] - '0'];
		p += strcspn(p, "}") + 1;
		while (e < k->nev && k->evs[e].c != '\x01')
			e++;
		if (e == k->nev) {
			if (k->unsure)
				return;
			fuzz_fail("a value vanished", k, e);
		}
		for (const char *q = v;; q++, e++) {
			if (e == k->nev) {
				if (k->unsure)
					return;
				fuzz_fail("a value was cut short", k, e);
			}
			const ev *x = &k->evs[e];
			bool same =
			    x->c == *q || (x->cls == CMT && x->c == ' ' && strchr("\n\r", *q));
			if (x->cls == SYN || !same || *q == '\0')
				fuzz_fail(x->cls == SYN ? "a value is read as shell syntax"
				                        : "a value is not itself",
				          k, e);
			if (*q == '\x02')
				break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *tmpl = calloc(1, MAXLEN + 64);
	char *vals[4];
	size_t i = 0, tn = 0;
	for (; i < size && data[i] != 0xff && tn < MAXLEN; i++) {
		const char *f = frags[data[i] % NFRAGS];
		memcpy(tmpl + tn, f, strlen(f));
		tn += strlen(f);
	}
	i++;
	for (int v = 0; v < 4; v++) {
		vals[v] = calloc(1, size + 3);
		size_t n = 0;
		vals[v][n++] = '\x01';
		for (; i < size && data[i] != 0xfe; i++)
			vals[v][n++] = alphabet[data[i] % (sizeof(alphabet) - 1)];
		i++;
		vals[v][n++] = '\x02';
	}
	static const char *const keys[] = {"p0", "p1", "p2", "p3"};
	wn_fmt_job job = {.id = 1,
	                  .name = "n",
	                  .project = "p",
	                  .task = "t",
	                  .worker = "w",
	                  .server = "s",
	                  .attempt = 1,
	                  .nparams = 4,
	                  .param_keys = keys,
	                  .param_vals = (const char *const *)vals};
	char *out = NULL, *reason = NULL;
	if (wn_slurm_script_body(tmpl, &job, &out, &reason) == WN_OK) {
		chk k = {0};
		shown_tmpl = tmpl;
		shown_out = out;
		src b = {.s = out, .n = strlen(out)};
		lex_code(&k, &b, false);
		fuzz_check(&k, tmpl, vals);
		free(k.evs);
	}
	free(out);
	free(reason);
	for (int v = 0; v < 4; v++)
		free(vals[v]);
	free(tmpl);
	return 0;
}
