/* shlex_place: where a value may go at the lexer's position, and what it
 * does to the lexer (shlex.h). */
#include "shlex_int.h"

#include <string.h>

int wn_shlex_where(const wn_shlex *lx, int *backquotes, const char **why)
{
	*backquotes = 0;
	*why = lx->error ? lx->error : lx->unsure;
	if (*why == NULL && lx->word)
		*why = "a here-document's delimiter cannot be a value";
	if (*why == NULL && lx->escape)
		*why = "a value right after a backslash";
	if (*why == NULL && lx->dbracket)
		*why = "a value inside [[ ... ]] (bash evaluates operands of -eq, -lt, ... as "
		       "arithmetic; compare with [ ... ] instead)";
	if (*why == NULL && lx->int_assign)
		*why =
		    "a value assigned to a variable bash evaluates (RANDOM, OPTIND and its other "
		    "integers: as arithmetic; PS4, PROMPT_COMMAND: as code)";
	if (*why == NULL && lx->subscript)
		*why =
		    "a value inside an array subscript [ ... ] (bash evaluates it as arithmetic)";
	for (int i = 1; i < lx->depth && *why == NULL; i++) {
		if (lx->st[i].kind == F_ARITH)
			*why = "a value inside arithmetic ((( ... )) or $(( ... )))";
		else if (lx->st[i].kind == F_BRACE)
			*why = "a value inside ${ ... } (set a variable to it first)";
		else if (lx->st[i].kind == F_COMMENT && i > 1)
			*why = "a value in a comment inside a substitution";
		*backquotes += lx->st[i].kind == F_BACKTICK;
	}
	if (*why != NULL)
		return -1;
	const frame *f = &lx->st[lx->depth - 1];
	if (lx->in_doc && lx->docs[0].quoted)
		return WN_SHLEX_DOC_QUOTED;
	bool expands =
	    f->kind == F_CODE || f->kind == F_BACKTICK || f->kind == F_DQUOTE || f->kind == F_DOC;
	if (expands && lx->prev == '$') {
		*why = "a value right after '$' (write ${{NAME}} for a shell variable)";
		return -1;
	}
	switch (f->kind) {
	case F_DQUOTE:
		return WN_SHLEX_DQUOTE;
	case F_SQUOTE:
		return WN_SHLEX_SQUOTE;
	case F_ANSI:
		return WN_SHLEX_ANSI;
	case F_COMMENT:
		return WN_SHLEX_COMMENT;
	case F_DOC:
		return WN_SHLEX_DOC;
	default:
		return WN_SHLEX_CODE;
	}
}

const char *wn_shlex_value(wn_shlex *lx, wn_shlex_place place, const char *text)
{
	if (lx->in_doc) {
		if (strpbrk(text, "\n\r") != NULL)
			return "a value with a line break cannot go into a here-document";
		if (text[0] == '\t' && lx->docs[0].strip_tabs &&
		    strspn(wn_strbuf_str(&lx->line), "\t") == lx->line.len)
			return "a value starting with a tab at the start of a line of a <<- "
			       "here-document would lose its tabs";
		wn_strbuf_adds(&lx->line, text);
		lx->line_value = true;
	}
	if (place != WN_SHLEX_COMMENT && place != WN_SHLEX_DOC_QUOTED) {
		lx->prev = 'x'; /* a word character: no '#' comment starts right after it */
		lx->kwlen = -1;
		lx->cmdpos = false;
		lx->paren_cmd = false;
		lx->lt = lx->semis = 0;
		lx->pipe = false;
		lx->awlen = -1;
	}
	return NULL;
}

const char *wn_shlex_finish(wn_shlex *lx)
{
	if (lx->error != NULL)
		return lx->error;
	if (lx->word && !lx->word_started)
		return "a here-document without a delimiter";
	for (int i = 1; i < lx->depth; i++)
		if (lx->st[i].kind != F_COMMENT && lx->st[i].kind != F_DOC)
			return "the script ends inside a quote, a substitution or arithmetic";
	return NULL;
}
