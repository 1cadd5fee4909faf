/* ctl_complete: `wnctl __complete WORD...`, what the bash completion script
 * (completion/wnctl.bash) asks: the words that may come next, from the same
 * command tables wnctl parses with (ctl.h). */
#include "ctl.h"

#include "json.h"
#include "util.h"

#include <stdio.h>
#include <string.h>

/* complete_put prints name when it starts with the word being completed. */
static void complete_put(const char *prefix, const char *name)
{
	if (name != NULL && strncmp(name, prefix, strlen(prefix)) == 0)
		printf("%s\n", name);
}

/* complete_has tells whether opts has an option of this name. */
static bool complete_has(const struct option *opts, const char *name)
{
	for (const struct option *o = opts; o != NULL && o->name != NULL; o++)
		if (strcmp(o->name, name) == 0)
			return true;
	return false;
}

/* complete_long prints "--NAME" for each option of opts that prefix begins, but those
 * of skip (the command's own, printed already) and, after a command, --version (which
 * only `wnctl --version` takes). */
static void complete_long(const char *prefix, const struct option *opts, const struct option *skip,
                          bool command)
{
	for (const struct option *o = opts; o != NULL && o->name != NULL; o++) {
		if (complete_has(skip, o->name) || (command && strcmp(o->name, "version") == 0))
			continue;
		char buf[128];
		snprintf(buf, sizeof(buf), "--%s", o->name);
		complete_put(prefix, buf);
	}
}

/* complete_verbs_long prints "--NAME" for each option of a verb of noun that prefix
 * begins, each name once, but those of globals (printed already). */
static void complete_verbs_long(const char *prefix, const struct wn_ctl_noun *noun,
                                const struct option *globals)
{
	for (size_t k = 0; k < noun->nverbs; k++)
		for (const struct option *o = noun->verbs[k].opts; o != NULL && o->name; o++) {
			bool seen = complete_has(globals, o->name);
			for (size_t e = 0; e < k && !seen; e++)
				seen = complete_has(noun->verbs[e].opts, o->name);
			if (seen)
				continue;
			char buf[128];
			snprintf(buf, sizeof(buf), "--%s", o->name);
			complete_put(prefix, buf);
		}
}

/* complete_word prints the literal word verb's synopsis begins with, if any (the "get"
 * of `job artifact get ID PATH`), which stands before the command's arguments. */
static void complete_word(const char *prefix, const struct wn_ctl_verb *verb)
{
	const char *s = verb->synopsis;
	size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyz");
	if (n == 0 || (s[n] != ' ' && s[n] != '\0'))
		return;
	char buf[64];
	snprintf(buf, sizeof(buf), "%.*s", (int)n, s);
	complete_put(prefix, buf);
}

/* complete_takes_value tells whether word is a long option of opts that takes a value
 * in the next word ("--server", but not "--server=URL" nor "--json"). */
static const struct option *complete_takes_value(const char *word, const struct option *opts)
{
	if (strncmp(word, "--", 2) != 0 || strchr(word, '=') != NULL)
		return NULL;
	for (const struct option *o = opts; o != NULL && o->name != NULL; o++)
		if (strcmp(word + 2, o->name) == 0)
			return o->has_arg == required_argument ? o : NULL;
	return NULL;
}

/* complete_listed tells whether value is among the comma-separated items of the n bytes at
 * list ("pending,failed,"). */
static bool complete_listed(const char *list, size_t n, const char *value)
{
	size_t len = strlen(value);
	for (const char *p = list; p < list + n;) {
		const char *comma = memchr(p, ',', (size_t)(list + n - p));
		const char *end = comma != NULL ? comma : list + n;
		if ((size_t)(end - p) == len && memcmp(p, value, len) == 0)
			return true;
		p = end + 1;
	}
	return false;
}

/* complete_value prints the values option opt of verb takes when they are a fixed set:
 * the states of --status (a project's for `project`, else a job's, which may be a list:
 * "pending,fa" completes its last item), --state, --role, and sweep results' --format. */
static void complete_value(const char *prefix, const struct wn_ctl_noun *noun,
                           const struct wn_ctl_verb *verb, const char *opt)
{
	const ProtobufCEnumDescriptor *ed = NULL;
	bool list = false;
	if (strcmp(opt, "status") == 0) {
		list = noun == NULL || strcmp(noun->name, "project") != 0;
		ed = list ? &whatsnext__v1__job_status__descriptor
		          : &whatsnext__v1__project_status__descriptor;
	} else if (strcmp(opt, "state") == 0) {
		ed = &whatsnext__v1__worker_state__descriptor;
	} else if (strcmp(opt, "role") == 0) {
		ed = &whatsnext__v1__token_role__descriptor;
	} else if (strcmp(opt, "format") == 0 && verb != NULL && verb->name != NULL &&
	           strcmp(verb->name, "results") == 0) {
		static const char *const formats[] = {"table", "csv", "json"};
		for (size_t i = 0; i < WN_ARRAY_LEN(formats); i++)
			complete_put(prefix, formats[i]);
		return;
	}
	/* a list: the items before the last comma stay, the last one is completed */
	const char *last = list ? strrchr(prefix, ',') : NULL;
	size_t head = last != NULL ? (size_t)(last - prefix) + 1 : 0;
	for (unsigned i = 0; ed != NULL && i < ed->n_values; i++) {
		char buf[64];
		if (ed->values[i].value == 0) /* not the UNSPECIFIED one */
			continue;
		const char *name = wn_json_enum_name(ed, ed->values[i].value, buf, sizeof(buf));
		if (head > 0 && !complete_listed(prefix, head, name)) {
			char item[256];
			snprintf(item, sizeof(item), "%.*s%s", (int)head, prefix, name);
			complete_put(prefix, item);
		} else if (head == 0) {
			complete_put(prefix, name);
		}
	}
}

int wn_ctl_complete(int argc, char **argv, const struct wn_ctl_noun *const *nouns, size_t n,
                    const struct option *globals)
{
	/* argv: the words after "wnctl", the last the one being completed (maybe "") */
	if (argc == 0)
		return WN_CTL_EXIT_OK;
	const char *cur = argv[argc - 1];
	const struct wn_ctl_noun *noun = NULL;
	const struct wn_ctl_verb *verb = NULL;
	const struct option *pending = NULL; /* the option whose value cur is */
	int args = 0;                        /* the command's arguments before cur */
	bool help = false;                   /* after `help`, before a noun */
	for (int i = 0; i < argc - 1; i++) {
		const char *w = argv[i];
		const struct option *opts = verb != NULL ? verb->opts : NULL;
		if (pending != NULL) {
			/* "--status=fa": bash splits the words at '=', which stays a word */
			if (strcmp(w, "=") != 0)
				pending = NULL;
			continue;
		}
		if (w[0] == '-') {
			pending = complete_takes_value(w, globals);
			if (pending == NULL && opts != NULL)
				pending = complete_takes_value(w, opts);
			/* between a noun and its verb: an option of one of its verbs */
			for (size_t k = 0;
			     pending == NULL && verb == NULL && noun != NULL && k < noun->nverbs;
			     k++)
				pending = complete_takes_value(w, noun->verbs[k].opts);
			continue;
		}
		if (noun == NULL) {
			for (size_t k = 0; k < n && noun == NULL; k++)
				if (strcmp(nouns[k]->name, w) == 0)
					noun = nouns[k];
			if (noun == NULL && (help || strcmp(w, "help") != 0))
				return WN_CTL_EXIT_OK;
			help = noun == NULL;
			if (noun != NULL && noun->verbs[0].name == NULL)
				verb = &noun->verbs[0];
		} else if (verb == NULL) {
			for (size_t k = 0; k < noun->nverbs && verb == NULL; k++)
				if (strcmp(noun->verbs[k].name, w) == 0)
					verb = &noun->verbs[k];
			if (verb == NULL)
				return WN_CTL_EXIT_OK;
		} else {
			args++;
		}
	}
	if (pending != NULL) {
		complete_value(cur, noun, verb, pending->name);
		return WN_CTL_EXIT_OK;
	}
	if (cur[0] == '-') {
		const struct option *own = verb != NULL ? verb->opts : NULL;
		complete_long(cur, own, NULL, false);
		complete_long(cur, globals, own, noun != NULL);
		if (verb == NULL && noun != NULL) /* before the verb: those of every verb */
			complete_verbs_long(cur, noun, globals);
		return WN_CTL_EXIT_OK;
	}
	if (noun == NULL) {
		for (size_t k = 0; k < n; k++)
			complete_put(cur, nouns[k]->name);
		if (!help) /* `wnctl help NOUN`, not help again */
			complete_put(cur, "help");
	} else if (verb == NULL) {
		for (size_t k = 0; k < noun->nverbs; k++)
			complete_put(cur, noun->verbs[k].name);
	} else if (args == 0) {
		complete_word(cur, verb);
	}
	return WN_CTL_EXIT_OK;
}
