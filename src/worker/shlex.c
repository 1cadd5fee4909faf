/* shlex: where a value lands in a shell script template (see shlex.h).
 *
 * A stack of frames follows the nesting of quotes and substitutions; the
 * bodies of here-documents are read line by line, as the shell reads them,
 * the expanded ones through the frames too. Whatever the lexer does not
 * follow exactly marks the rest of the script uncertain ("unsure"): no value
 * may go after it. */
#include "shlex_int.h"

#include "strbuf.h"
#include "util.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

wn_shlex *wn_shlex_new(void)
{
	wn_shlex *lx = wn_xcalloc(1, sizeof(*lx));
	lx->depth = 1;
	lx->st[0] = (frame){.kind = F_CODE};
	lx->kwlen = -1;
	lx->cmdpos = true;
	return lx;
}

void wn_shlex_free(wn_shlex *lx)
{
	if (lx == NULL)
		return;
	for (int i = 0; i < lx->ndocs; i++)
		free(lx->docs[i].delim);
	wn_strbuf_free(&lx->line);
	wn_strbuf_free(&lx->word_buf);
	free(lx);
}

static void lex_unsure(wn_shlex *lx, const char *why)
{
	if (lx->unsure == NULL)
		lx->unsure = why;
}

static frame *lex_top(wn_shlex *lx)
{
	return &lx->st[lx->depth - 1];
}

static void lex_push(wn_shlex *lx, fkind kind, bool subst)
{
	if (lx->depth >= DEPTH_MAX) {
		lex_unsure(lx, "the script nests quotes and substitutions too deeply");
		return;
	}
	lx->st[lx->depth++] = (frame){.kind = kind, .subst = subst, .fresh = subst};
	if (kind == F_CODE || kind == F_BACKTICK) {
		lx->cmdpos = true; /* a command starts inside */
		lx->prev = kind == F_BACKTICK ? 0 : '(';
	}
}

/* lex_pop ends the top frame: what follows continues the same word. */
static void lex_pop(wn_shlex *lx)
{
	if (lx->depth > 1)
		lx->depth--;
	lx->prev = 'x';
	lx->cmdpos = false;
}

/* lex_in_backquotes tells whether a backquote frame is open. */
static bool lex_in_backquotes(const wn_shlex *lx)
{
	for (int i = 1; i < lx->depth; i++)
		if (lx->st[i].kind == F_BACKTICK)
			return true;
	return false;
}

/* ---------------------------------------------------------------- here-documents */

static void doc_word_end(wn_shlex *lx)
{
	if (lx->ndocs >= DOCS_MAX) {
		lex_unsure(lx, "too many here-documents on one line");
		wn_strbuf_free(&lx->word_buf);
	} else {
		if (lx->ndocs == 0)
			lx->doc_depth = lx->depth;
		/* the shell takes a level of backslashes off before it reads the
		 * delimiter, and may end the line where this lexer does not */
		if (lex_in_backquotes(lx))
			lex_unsure(lx,
			           "a here-document inside backquotes (write $( ... ) instead)");
		char *d = wn_strbuf_take(&lx->word_buf);
		lx->docs[lx->ndocs++] = (doc){d, lx->word_quoted, lx->word_tabs};
	}
	lx->word = false;
	lx->lt = 0;
}

/* doc_delim_char reads c as part of a here-document's delimiter word; false
 * when c ends the word and is to be read as code. */
static bool doc_delim_char(wn_shlex *lx, char c)
{
	if (lx->word_q != 0) {
		if (c == lx->word_q)
			lx->word_q = 0;
		else
			wn_strbuf_add(&lx->word_buf, &c, 1);
		if ((c == '\\' && lx->word_q == '"') || c == '\n')
			lex_unsure(lx,
			           "a here-document's delimiter with a backslash in double quotes "
			           "or a line break");
		return true;
	}
	if (lx->escape) {
		lx->escape = false;
		wn_strbuf_add(&lx->word_buf, &c, 1);
		if (c == '\n')
			lex_unsure(lx, "a line continuation in a here-document's delimiter");
		return true;
	}
	if (!lx->word_started && c == '<' && lx->lt == 2) {
		lx->word = false; /* <<<: a here-string, no document */
		lx->lt = 0;       /* the next '<' starts an operator of its own */
		return true;
	}
	if (!lx->word_started && (c == ' ' || c == '\t')) {
		lx->prev = c; /* << -E: the delimiter is -E, no <<- */
		return true;
	}
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
	if (c == '$' || c == '`')
		lex_unsure(lx, "a here-document's delimiter with '$' or '`' in it");
	if (strchr(" \t\n;&|<>()", c) == NULL) {
		lx->word_started = true;
		wn_strbuf_add(&lx->word_buf, &c, 1);
		lx->prev = c;
		return true;
	}
	if (!lx->word_started) {
		lex_unsure(lx, "a here-document without a delimiter");
		lx->word = false;
		return false;
	}
	doc_word_end(lx);
	return false;
}

/* doc_start starts reading the body of docs[0]. */
static void doc_start(wn_shlex *lx)
{
	lx->in_doc = true;
	wn_strbuf_reset(&lx->line);
	lx->line_value = false;
	if (!lx->docs[0].quoted)
		lex_push(lx, F_DOC, false);
	lx->prev = 0;
}

/* doc_end ends the body of docs[0]; the next one starts, or code does. */
static void doc_end(wn_shlex *lx)
{
	if (!lx->docs[0].quoted) {
		if (lex_top(lx)->kind != F_DOC || lx->escape)
			lex_unsure(lx, "a here-document ends inside a quote or substitution");
		while (lx->depth > 1 && lex_top(lx)->kind != F_DOC)
			lx->depth--;
		if (lx->depth > 1)
			lx->depth--;
	}
	free(lx->docs[0].delim);
	memmove(lx->docs, lx->docs + 1, (size_t)(lx->ndocs - 1) * sizeof(*lx->docs));
	lx->ndocs--;
	lx->escape = false;
	if (lx->ndocs > 0) {
		doc_start(lx);
		return;
	}
	/* back to code, at the start of a line */
	lx->in_doc = false;
	lx->prev = 0;
	lx->cmdpos = true;
	lx->kwlen = -1;
	lx->lt = lx->semis = 0;
}

static void lex_frames(wn_shlex *lx, char c);

/* doc_newline ends a line of a here-document's body. */
static void doc_newline(wn_shlex *lx)
{
	const doc *d = &lx->docs[0];
	if (!d->quoted) {
		/* a backslash before the line's end joins the next line to it */
		size_t n = 0, len = lx->line.len;
		while (n < len && lx->line.s[len - 1 - n] == '\\')
			n++;
		if (n % 2 == 1) {
			lx->line.s[--lx->line.len] = '\0';
			if (lx->escape) {
				lx->escape = false;
				lx->prev = lx->before_escape;
			} else {
				lex_unsure(lx,
				           "a line continuation inside quotes in a here-document");
			}
			return;
		}
	}
	const char *l = wn_strbuf_str(&lx->line);
	if (d->strip_tabs)
		while (*l == '\t')
			l++;
	if (strcmp(l, d->delim) == 0) {
		if (lx->line_value && lx->error == NULL)
			lx->error = "a value would end a here-document";
		doc_end(lx);
		return;
	}
	if (lx->doc_depth > 1 && strncmp(l, d->delim, strlen(d->delim)) == 0) {
		/* inside $( ... ), bash may end the document at such a line */
		if (lx->line_value && lx->error == NULL)
			lx->error = "a value on a line of a here-document inside $( ... ) that "
			            "starts with its delimiter";
		lex_unsure(lx, "a line of a here-document inside $( ... ) that starts with its "
		               "delimiter");
	}
	wn_strbuf_reset(&lx->line);
	lx->line_value = false;
	if (!d->quoted)
		lex_frames(lx, '\n');
}

static void doc_char(wn_shlex *lx, char c)
{
	if (c == '\n') {
		doc_newline(lx);
		return;
	}
	wn_strbuf_add(&lx->line, &c, 1);
	if (!lx->docs[0].quoted)
		lex_frames(lx, c);
}

/* ---------------------------------------------------------------- code */

/* code_word_end ends a word read in code (frame f): case, esac, in and the
 * words after which a command starts. */
static void code_word_end(wn_shlex *lx, frame *f)
{
	lx->kw[lx->kwlen] = '\0';
	const char *w = lx->kw;
	bool cmd = lx->kw_cmd;
	lx->kwlen = -1;
	if (lx->dbracket)
		return; /* [[ case == in ]]: words */
	if (f->cases == CASE_WORD && strcmp(w, "in") == 0) {
		f->cases = CASE_PATTERN;
		return;
	}
	if (f->cases == CASE_PATTERN && strcmp(w, "esac") == 0) {
		if (lx->kw_pipe) /* a|esac) is a pattern */
			lex_unsure(lx, "esac as a pattern");
		f->cases = CASE_NONE;
		return;
	}
	if (!cmd)
		return;
	if (strcmp(w, "case") == 0) {
		if (f->cases != CASE_NONE && lx->depth > 1)
			lex_unsure(lx, "a case inside a case inside $( ... )");
		f->cases = CASE_WORD;
	} else if (strcmp(w, "esac") == 0 && f->cases == CASE_BODY) {
		f->cases = CASE_NONE;
	} else {
		static const char *const starts[] = {"if",    "then",  "else", "elif",
		                                     "while", "until", "do",   "time"};
		static const char arith[] =
		    "let, declare, typeset or local (bash may evaluate a value given to them as "
		    "arithmetic)";
		static const char *const unsure[][2] = {
		    {"function", "function NAME (write NAME() { ... } instead)"},
		    {"coproc", "coproc"},
		    {"let", arith},
		    {"declare", arith},
		    {"typeset", arith},
		    {"local", arith}};
		for (size_t i = 0; i < WN_ARRAY_LEN(unsure); i++)
			if (strcmp(w, unsure[i][0]) == 0)
				lex_unsure(lx, unsure[i][1]);
		lx->for_var = strcmp(w, "for") == 0;
		for (size_t i = 0; i < WN_ARRAY_LEN(starts); i++)
			if (strcmp(w, starts[i]) == 0 && !(lx->kw_pipe && strcmp(w, "time") == 0))
				lx->cmdpos = true; /* | time: a command, not the keyword */
	}
}

/* code_keyword follows the word being read in code; true when c is a
 * letter of it. */
static bool code_keyword(wn_shlex *lx, frame *f, char c, bool boundary)
{
	if (c >= 'a' && c <= 'z') {
		if (boundary) {
			lx->kwlen = 0;
			lx->kw_cmd = lx->cmdpos;
		}
		if (lx->kwlen >= 0 && lx->kwlen < (int)sizeof(lx->kw) - 1)
			lx->kw[lx->kwlen++] = c;
		else
			lx->kwlen = -1;
		lx->cmdpos = false;
		return true;
	}
	if (lx->kwlen > 0 && strchr(" \t\n;&|()<>", c) != NULL)
		code_word_end(lx, f);
	lx->kwlen = -1;
	return false;
}

/* code_close_docs: a substitution closes with here-documents announced on
 * its line: bash reads the bodies of those inside it first, whatever the
 * order of their '<<'. */
static void code_close_docs(wn_shlex *lx)
{
	if (lx->ndocs > 0 && !lx->in_doc)
		lex_unsure(lx,
		           "a here-document inside $( ... ) or backquotes that close on its line");
}

/* code_paren reads '(' or ')' in code (frame f). */
static void code_paren(wn_shlex *lx, frame *f, char c, char prev)
{
	if (c == '(') {
		if (prev == '$') {
			lex_push(lx, F_CODE, true);
		} else if (prev != 0 && strchr("<>=@!+*?", prev) != NULL) {
			/* <( ... ), a=( ... ), @( ... ): one word with what follows */
			lex_unsure(lx, prev == '<' || prev == '>'
			                   ? "a process substitution <( ... ) or >( ... )"
			               : prev == '=' ? "an array assignment =( ... )"
			                             : "an extended glob pattern such as @( ... )");
		} else if (f->cases == CASE_PATTERN) {
			/* the optional '(' before a pattern */
		} else if (lx->paren_cmd && prev == '(') {
			f->parens--; /* (( ... )): arithmetic, not two subshells */
			lex_push(lx, F_ARITH, false);
			lex_top(lx)->command = true;
		} else if (prev == '(') {
			lex_unsure(lx,
			           "'((' where no command starts (for (( ... )), time (( ... )))");
		} else {
			lx->paren_cmd = lx->cmdpos;
			lx->fn_parens = !lx->cmdpos; /* f(): a function's body follows */
			f->parens++;
			lx->cmdpos = true;
			return;
		}
		lx->paren_cmd = false;
		return;
	}
	lx->paren_cmd = false;
	if (f->cases == CASE_PATTERN) {
		f->cases = CASE_BODY;
		lx->cmdpos = true;
	} else if (f->parens > 0) {
		f->parens--;
		lx->cmdpos = lx->fn_parens; /* after a subshell, no command */
	} else if (f->subst) {
		code_close_docs(lx);
		lex_pop(lx);
	} else {
		lex_unsure(lx, "an unmatched ')'");
	}
}

/* code_here_doc reads a second '<' in a row: a here-document's delimiter
 * word follows, unless a third makes it a here-string. */
static void code_here_doc(wn_shlex *lx)
{
	if (lx->in_doc)
		lex_unsure(lx, "a here-document inside a here-document");
	lx->word = true;
	lx->word_started = lx->word_quoted = lx->word_tabs = false;
	lx->word_q = 0;
}

/* code_newline reads the end of a line in code: the bodies of the
 * here-documents announced on it follow. */
static void code_newline(wn_shlex *lx)
{
	lx->cmdpos = true;
	lx->prev = 0;
	if (lx->ndocs == 0 || lx->in_doc)
		return;
	if (lx->depth != lx->doc_depth)
		lex_unsure(lx, "a here-document whose line ends inside a substitution");
	doc_start(lx);
}

/* code_separator reads ';' or '&' in code (frame f); false when it is part
 * of a redirection (>&, <&), after which no command starts. */
static bool code_separator(wn_shlex *lx, frame *f, char c, char prev)
{
	if (c == '&' && (prev == '>' || prev == '<'))
		return false;
	if (c == ';' && ++lx->semis >= 2 && f->cases == CASE_BODY)
		f->cases = CASE_PATTERN; /* ;; */
	else if (c == '&' && lx->semis > 0 && f->cases == CASE_BODY)
		f->cases = CASE_PATTERN; /* ;& and ;;& */
	lx->cmdpos = true;
	return true;
}

/* code_assign follows c of a word in code up to a '=': an assignment to a
 * variable bash holds as an integer evaluates its value as arithmetic. */
static void code_assign(wn_shlex *lx, char c, bool boundary)
{
	static const char *const vars[] = {
	    "RANDOM", "SRANDOM", "OPTIND", "HISTCMD", "BASHPID", "EUID", "PPID",          "UID",
	    "PS0",    "PS1",     "PS2",    "PS3",     "PS4",     "ENV",  "PROMPT_COMMAND"};
	bool end = strchr(" \t\n;&|", c) != NULL, hit = false;
	if ((c == '=' || (end && lx->for_var)) && lx->awlen > 0) {
		lx->aword[lx->awlen] = '\0';
		for (size_t i = 0; i < WN_ARRAY_LEN(vars); i++)
			hit |= strcmp(lx->aword, vars[i]) == 0;
	}
	if (hit && c != '=')
		lex_unsure(lx, "a for loop over RANDOM or another variable bash evaluates");
	lx->int_assign |= hit && c == '=';
	lx->for_var &= !end || lx->awlen <= 0;
	if (boundary)
		lx->awlen = 0;
	if (c == '=') {
		lx->awlen = -1;
	} else if (lx->awlen >= 0 && lx->awlen < (int)sizeof(lx->aword) - 1 &&
	           (c == '_' || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	            (lx->awlen > 0 && c >= '0' && c <= '9'))) {
		lx->aword[lx->awlen++] = c;
	} else if (c != '+') { /* RANDOM+= */
		lx->awlen = -1;
	}
	if (end)
		lx->int_assign = false;
}

/* code_track follows, for c in code after prev, what the characters before
 * make of it: f(), a pipe before a word, [[ ... ]] and name[ ... ]. */
static void code_track(wn_shlex *lx, char c, char prev, bool boundary)
{
	bool blank = c == ' ' || c == '\t' || c == '\n', bracket_cmd = lx->bracket_cmd;
	if (!blank && c != ')')
		lx->fn_parens = false;
	if (boundary && c >= 'a' && c <= 'z')
		lx->kw_pipe = lx->pipe;
	lx->pipe = c == '|' ? prev != '|' : lx->pipe && (blank || (c == '&' && prev == '|'));
	lx->bracket_cmd = c == '[' && boundary && lx->cmdpos;
	if (c == '[' && prev == '[' && bracket_cmd)
		lx->dbracket = true;
	else if (c == '[' && !boundary && prev != '$')
		lx->subscript = true;
	else if (c == ']' && prev == ']')
		lx->dbracket = false;
	if (c == ']' || blank)
		lx->subscript = false;
	code_assign(lx, c, boundary);
}

/* code_char reads c in code: at the top, in $( ... ) or in backquotes. */
static void code_char(wn_shlex *lx, frame *f, char c, char prev)
{
	if (c == '\\') {
		/* before anything: a line continuation joins what is around it */
		lx->escape = true;
		lx->before_escape = prev;
		return;
	}
	bool boundary = prev == 0 || strchr(" \t\n;&|()<>", prev) != NULL;
	code_track(lx, c, prev, boundary);
	if (c != '(')
		lx->paren_cmd = false;
	if (c != ';' && c != '&')
		lx->semis = 0; /* ;x; is no ;; */
	if (code_keyword(lx, f, c, boundary))
		return;
	switch (c) {
	case ' ':
	case '\t':
		return;
	case '\'':
		lex_push(lx, prev == '$' ? F_ANSI : F_SQUOTE, false);
		break;
	case '"':
		lex_push(lx, F_DQUOTE, false);
		break;
	case '`':
		if (f->kind == F_BACKTICK) {
			code_close_docs(lx);
			lex_pop(lx);
		} else {
			lex_push(lx, F_BACKTICK, false);
		}
		return;
	case '{':
		if (prev == '$')
			lex_push(lx, F_BRACE, false);
		else if (!(boundary && lx->cmdpos))
			break;
		return; /* a group: a command starts after it */
	case '[':
		if (prev == '$')
			lex_unsure(lx, "$[ ... ] arithmetic");
		break;
	case '(':
	case ')':
		code_paren(lx, f, c, prev);
		return;
	case '~':
		if (prev == '=')
			lex_unsure(lx, "a regular expression after =~");
		break;
	case ';':
	case '&':
		if (code_separator(lx, f, c, prev))
			return;
		break;
	case '|':
		lx->cmdpos = true;
		return;
	case '!':
		return; /* ! cmd: a command still starts; elsewhere a word */
	case '\n':
		code_newline(lx);
		return;
	case '#':
		if (boundary) {
			lex_push(lx, F_COMMENT, false);
			return;
		}
		break;
	case '<':
		if (++lx->lt == 2)
			code_here_doc(lx);
		lx->cmdpos = false; /* no keyword after a redirection */
		return;
	default:
		break;
	}
	lx->cmdpos = false;
}

/* ---------------------------------------------------------------- quotes and the rest */

/* expand_char reads c inside double quotes or an expanded here-document's
 * body (frame f): expansions open there, and nothing else. */
static void expand_char(wn_shlex *lx, const frame *f, char c, char prev)
{
	if (c == '\\') {
		lx->escape = true;
		lx->before_escape = prev;
	} else if (c == '"' && f->kind == F_DQUOTE) {
		lex_pop(lx);
	} else if (c == '`') {
		lex_push(lx, F_BACKTICK, false);
	} else if (c == '(' && prev == '$') {
		lex_push(lx, F_CODE, true);
	} else if (c == '{' && prev == '$') {
		lex_push(lx, F_BRACE, false);
	} else if (c == '[' && prev == '$') {
		lex_unsure(lx, "$[ ... ] arithmetic");
	}
}

/* inner_char reads c inside ${ ... } or arithmetic (frame f), where values
 * never go: only its end and what opens inside matter. */
static void inner_char(wn_shlex *lx, frame *f, char c, char prev)
{
	bool in_dq = false;
	for (int i = 1; i < lx->depth; i++)
		in_dq = in_dq || lx->st[i].kind == F_DQUOTE || lx->st[i].kind == F_DOC;
	if (f->closing) {
		f->closing = false;
		bool command = f->command;
		if (c != ')') {
			lex_unsure(lx, "an arithmetic expression that does not end with '))'");
			return;
		}
		lex_pop(lx);
		if (command)
			lx->prev = ')'; /* a command ended: a '#' after it starts a comment */
		return;
	}
	switch (c) {
	case '\\':
		lx->escape = true;
		lx->before_escape = prev;
		return;
	case '\'':
		if (in_dq)
			lex_unsure(lx, "single quotes inside ${ ... } inside double quotes");
		lex_push(lx, prev == '$' ? F_ANSI : F_SQUOTE, false);
		return;
	case '"':
		lex_push(lx, F_DQUOTE, false);
		return;
	case '`':
		lex_push(lx, F_BACKTICK, false);
		return;
	case '{':
		if (prev == '$')
			lex_push(lx, F_BRACE, false);
		else if (f->kind == F_BRACE)
			lex_unsure(lx, "a '{' inside ${ ... }");
		return;
	case '}':
		if (f->kind == F_BRACE)
			lex_pop(lx);
		return;
	case '(':
		if (prev == '$')
			lex_push(lx, F_CODE, true);
		else if (f->kind == F_ARITH)
			f->parens++;
		return;
	case ')':
		if (f->kind == F_ARITH && f->parens > 0)
			f->parens--;
		else if (f->kind == F_ARITH)
			f->closing = true;
		return;
	default:
		return;
	}
}

/* lex_escaped reads the character c after a backslash that quotes it. */
static void lex_escaped(wn_shlex *lx, frame *f, char c)
{
	lx->escape = false;
	if (c == '\n' && f->kind != F_ANSI) {
		/* a line continuation: as if neither were there ('$(' and '(' on
		 * the next line still make '$((') */
		lx->prev = lx->before_escape;
		return;
	}
	f->fresh = false;
	lx->kwlen = -1;
	lx->paren_cmd = false;
	lx->lt = lx->semis = 0;
	if (strchr("$`\\\"", c) != NULL && lex_in_backquotes(lx))
		lex_unsure(lx, "a backslash before $, `, \\ or \" inside backquotes "
		               "(write $( ... ) instead)");
	lx->prev = 'x'; /* an escaped character is part of a word */
	lx->cmdpos = false;
	lx->pipe = false;
}

/* lex_frames moves the lexer over c of code or quotes (not a here-document's
 * line as such: doc_char does that and calls it for expanded bodies). */
static void lex_frames(wn_shlex *lx, char c)
{
	if (lx->word && doc_delim_char(lx, c))
		return;
	frame *f = lex_top(lx);
	char prev = lx->prev;
	if (lx->escape) {
		lex_escaped(lx, f, c);
		return;
	}
	lx->prev = c == '$' && prev == '$' ? 'x' : c; /* $$: a word; no $' $( ${ */
	bool quoted = f->kind == F_SQUOTE || f->kind == F_ANSI || f->kind == F_COMMENT;
	if (lx->pid && !quoted && strchr("({'\"", c) != NULL)
		lex_unsure(lx, "'$$' right before '(', '{' or a quote (bash parses $( there)");
	lx->pid = c == '$' && prev == '$' && !quoted;
	if (c != '<' && c != '\\')
		lx->lt = 0;
	if (c == '`' && f->kind != F_BACKTICK && lex_in_backquotes(lx))
		lex_unsure(lx, "a backquote inside quotes or $( ... ) inside backquotes "
		               "(write $( ... ) instead)");
	if (f->fresh && c != '\\') { /* a backslash may start a line continuation */
		f->fresh = false;
		if (c == '(') { /* $(( */
			f->kind = F_ARITH;
			f->subst = false;
			return;
		}
	}
	switch (f->kind) {
	case F_SQUOTE:
		if (c == '\'')
			lex_pop(lx);
		return;
	case F_ANSI:
		if (c == '\\')
			lx->escape = true;
		else if (c == '\'')
			lex_pop(lx);
		return;
	case F_COMMENT:
		if (c != '\n')
			return;
		lx->depth--;
		code_char(lx, lex_top(lx), c, prev); /* the line's end, as code */
		return;
	case F_DQUOTE:
	case F_DOC:
		expand_char(lx, f, c, prev);
		return;
	case F_BRACE:
	case F_ARITH:
		inner_char(lx, f, c, prev);
		return;
	default:
		code_char(lx, f, c, prev);
		return;
	}
}

void wn_shlex_char(wn_shlex *lx, char c)
{
	if (lx->in_doc)
		doc_char(lx, c);
	else
		lex_frames(lx, c);
}
