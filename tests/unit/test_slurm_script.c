/* Unit tests of a SLURM batch script's body (slurm_script.c, shlex.c): the
 * values of a job put into shell code by the worker's own renderer, then run
 * by bash as SLURM would run them. Values that try to run a command (touch a
 * marker file) must arrive as the literal data they are, in every place a
 * template can put them, or the template must be refused with a reason. */
#include "err.h"
#include "fmt.h"
#include "slurm_script.h"
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Payloads that would run `touch pwned` if they escaped their place. */
static const char *const payloads[] = {
    "a b\ntouch pwned #",
    "$(touch pwned)",
    "`touch pwned`",
    "'; touch pwned; '",
    "\"; touch pwned; \"",
    "x\nEOF\ntouch pwned\n#",
    "\\",
    "a\\",
    ") ; touch pwned ; (",
    "} ; touch pwned ; {",
    "esac; touch pwned;; esac",
    "${IFS}touch${IFS}pwned",
    "\\$(touch pwned)\\",
    "\ttouch pwned",
    "*",
    "root",
    "",
};

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return NULL;
	char *buf = calloc(1, 65536);
	size_t n = fread(buf, 1, 65535, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* render renders tmpl with v = val and w = "safe"; NULL with *why when the
 * renderer refuses it. */
static char *render(const char *tmpl, const char *val, char **why)
{
	static const char *const keys[] = {"v", "w"};
	const char *vals[] = {val, "safe"};
	wn_fmt_job job = {.id = 1,
	                  .name = "n",
	                  .project = "p",
	                  .task = "t",
	                  .worker = "w",
	                  .server = "s",
	                  .attempt = 1,
	                  .nparams = 2,
	                  .param_keys = keys,
	                  .param_vals = vals};
	char *out = NULL;
	*why = NULL;
	if (wn_slurm_script_body(tmpl, &job, &out, why) != WN_OK)
		return NULL;
	return out;
}

/* run runs script with bash (a file, as SLURM runs it) and returns what it
 * printed. */
static char *run(const char *script)
{
	FILE *f = fopen("job.sh", "w");
	CHECK(f != NULL);
	fputs(script, f);
	fclose(f);
	int st = system("bash job.sh > out.txt 2>/dev/null");
	CHECK(st != -1);
	return slurp("out.txt");
}

/* expand returns want with each V replaced by val and each C by val with its
 * line breaks made blanks (a value in a comment). */
static char *expand(const char *want, const char *val)
{
	char *out = calloc(1, 4096);
	for (const char *p = want; *p; p++) {
		if (*p == 'V')
			strcat(out, val);
		else
			strncat(out, p, 1);
	}
	return out;
}

typedef struct place {
	const char *tmpl;
	const char *out; /* what bash prints, V standing for the value */
	bool no_breaks;  /* a value with a line break is refused here */
} place;

static void check_place(const place *pl)
{
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		const char *val = payloads[i];
		char *why = NULL;
		char *s = render(pl->tmpl, val, &why);
		bool breaks = strpbrk(val, "\n\r") != NULL;
		if (s == NULL) {
			if (!(pl->no_breaks && breaks))
				wn_test_fail(__FILE__, __LINE__,
				             "template:\n%s\nvalue [%s] refused: %s", pl->tmpl, val,
				             wn_test_str(why));
			CHECK(why != NULL);
			free(why);
			continue;
		}
		if (pl->no_breaks && breaks)
			wn_test_fail(__FILE__, __LINE__,
			             "template:\n%s\nvalue [%s] not refused:\n%s", pl->tmpl, val,
			             s);
		char *out = run(s);
		char *want = expand(pl->out, val);
		if (access("pwned", F_OK) == 0 || out == NULL || strcmp(out, want) != 0)
			wn_test_fail(
			    __FILE__, __LINE__,
			    "template:\n%s\nvalue [%s]\nscript:\n%s\ngot [%s]\nwant [%s]%s",
			    pl->tmpl, val, s, wn_test_str(out), want,
			    access("pwned", F_OK) == 0 ? "\nand it ran a command" : "");
		free(want);
		free(out);
		free(s);
	}
}

/* check_inert renders tmpl with every payload and runs what it accepts:
 * whatever the script prints, no payload may start a command. */
static void check_inert(const char *tmpl)
{
	for (size_t i = 0; i < sizeof(payloads) / sizeof(payloads[0]); i++) {
		char *why = NULL;
		char *s = render(tmpl, payloads[i], &why);
		free(why);
		if (s == NULL)
			continue;
		free(run(s));
		if (access("pwned", F_OK) == 0)
			wn_test_fail(__FILE__, __LINE__,
			             "template:\n%s\nvalue [%s]\nscript:\n%s\nran a command", tmpl,
			             payloads[i], s);
		free(s);
	}
}

/* $$ is the shell's pid: a quote, '(' or '{' after it opens no $'...',
 * $( ... ) or ${ ... } */
TEST(a_value_after_the_pid_parameter_starts_no_command)
{
	check_inert("echo $$'\\'{v}' #'\n");
	check_inert("echo \"$$({v})\"\n");
	check_inert("cat <<EOF\n$$({v})\nEOF\n");
	check_inert("echo $${{ x #}}'\n{v}' #'\n");
	char *why = NULL;
	CHECK(render("echo \"$$(\"{v}\")\"\n", "x", &why) == NULL);
	CHECK(strstr(why, "'$$' right before '('") != NULL);
	free(why);
	place pl = {"x=\"$$$(printf '<%s>' {v})\"; printf '[%s]\\n' \"${{x#*<}}\"", "[V>]\n",
	            false};
	check_place(&pl);
}

TEST(a_comment_after_a_here_document_keeps_its_value)
{
	/* the value of a comment after a here-document holding a value */
	place pl = {"cat <<EOF\ndoc {w}\nEOF\n# note {v}\nprintf 'after\\n'\n", "doc safe\nafter\n",
	            false};
	check_place(&pl);
	place quoted = {"cat <<'EOF'\ndoc {w}\nEOF\n# note {v}\nprintf 'after\\n'\n",
	                "doc safe\nafter\n", false};
	check_place(&quoted);
	place tabs = {"cat <<-EOF\n\tdoc {w}\n\tEOF\n#{v}\nprintf 'after\\n'\n",
	              "doc safe\nafter\n", false};
	check_place(&tabs);
}

TEST(values_arrive_intact_wherever_they_stand)
{
	static const place places[] = {
	    {"printf '[%s]\\n' {v}", "[V]\n", false},
	    {"printf '[%s]\\n' pre{v}post \"in {v} dq\" 'in {v} sq'",
	     "[preVpost]\n[in V dq]\n[in V sq]\n", false},
	    {"printf '[%s]\\n' $'ansi {v}'", "[ansi V]\n", false},
	    {"printf '[%s]\\n' a\\\n#{v}", "[a#V]\n", false},
	    {"x=$(echo y)#{v}; printf '[%s]\\n' \"$x\"", "[y#V]\n", false},
	    {"x=`echo y`#{v}; printf '[%s]\\n' \"$x\"", "[y#V]\n", false},
	    {"printf '[%s]\\n' \"$(case a in (a) echo in;; esac) {v}\"", "[in V]\n", false},
	    {"printf '[%s]\\n' \"$(echo case) {v}\"", "[case V]\n", false},
	    {"printf '[%s]\\n' \"$(echo esac) {v}\"", "[esac V]\n", false},
	    {"x=\"$(case a in a) printf '<%s>' {v};; esac)\"; printf '[%s]\\n' \"$x\"", "[<V>]\n",
	     false},
	    {"printf '[%s]\\n' \"a\\\nb{v}\"", "[abV]\n", false},
	    {"printf '[%s]\\n' ~{v}", "[~V]\n", false},
	    {"f() {{ printf '[%s]\\n' \"$1\"; }}; f {v}", "[V]\n", false},
	    {"printf '[%s]\\n' $(( 1 << 2 )) {v}", "[4]\n[V]\n", false},
	    {"(( x = 1 << 2 )); printf '[%s]\\n' \"$x\" {v}", "[4]\n[V]\n", false},
	    /* after an arithmetic command, as after a subshell, '#' starts a comment */
	    {"(( x = 1 ))# {v}\nprintf 'after\\n'", "after\n", false},
	    {"(true)#{v}\nprintf 'after\\n'", "after\n", false},
	    {"x=`printf '<%s>' {v}`; printf '[%s]\\n' \"$x\"", "[<V>]\n", false},
	    {"x=\"`printf '<%s>' \"{v}\"`\"; printf '[%s]\\n' \"$x\"", "[<V>]\n", false},
	    {"printf '%s\\n' {v} # and {v} in a comment\nprintf 'after\\n'", "V\nafter\n", false},
	    {"cat <<EOF\nunquoted {v} here\nEOF", "unquoted V here\n", true},
	    {"cat <<EOF\nline {v} \\\nEOF\nEOF", "line V EOF\n", true},
	    {"cat <<EOF\n$(printf '<%s>' {v})\nEOF", "<V>\n", true},
	    {"cat <<EOF\n\"{v}\" '{v}'\nEOF", "\"V\" 'V'\n", true},
	    {"cat <<EOF; cat <<'END'\na {v}\nEOF\nb {v}\nEND\nprintf '[%s]\\n' {v}",
	     "a V\nb V\n[V]\n", true},
	    {"x=$(cat <<EOF\nin {v}\nEOF\n); printf '[%s]\\n' \"$x\" {v}", "[in V]\n[V]\n", true},
	    {"cat <<< {v}", "V\n", false},
	    {"(printf '[%s]\\n' {v}); (cd . && printf '[%s]\\n' {v})", "[V]\n[V]\n", false},
	    /* no case starts after a '!' or '>&' inside a command, but in a
	     * function's body it does */
	    {"x=\"$(echo ! case a in a) {v}\"; printf '[%s]\\n' \"$x\"", "[! case a in a V]\n",
	     false},
	    {"x=\"$(echo >&case a in a) {v}\"; printf '[%s]\\n' \"$x\"", "[ V]\n", false},
	    {"x=\"$(f() case a in a) printf '<%s>' {v};; esac; f)\"; printf '[%s]\\n' \"$x\"",
	     "[<V>]\n", false},
	    {"x=\"$(f ( ) case a in a) printf '<%s>' {v};; esac; f)\"; printf '[%s]\\n' \"$x\"",
	     "[<V>]\n", false},
	    /* after a pipe, time is a command and case its argument; inside
	     * [[ ... ]] case and in are words */
	    {"x=\"$(: | time case in 2>/dev/null) {v} \"; printf '[%s]\\n' \"$x\"", "[ V ]\n",
	     false},
	    {"x=\"$([[ a && case && in ]]) {v} \"; printf '[%s]\\n' \"$x\"", "[ V ]\n", false},
	    {"[ {v}x = y ] || printf '[%s]\\n' {v}", "[V]\n", false},
	    {"RANDOMX={v}; printf '[%s]\\n' \"$RANDOMX\"", "[V]\n", false},
	    /* << -E: the delimiter is -E, and tabs stay */
	    {"cat << -E\nE\nprintf '[%s]\\n' {v}\n-E\n", "E\nprintf '[%s]\\n' V\n", true},
	};
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++)
		check_place(&places[i]);
}

TEST(places_the_renderer_cannot_be_sure_of_are_refused)
{
	static const struct {
		const char *tmpl, *why;
	} cases[] = {
	    {"printf %s \\{v}", "a value right after a backslash"},
	    {"printf %s \"\\{v}\"", "a value right after a backslash"},
	    {"echo ${{x:-{v}}}", "a value inside ${ ... }"},
	    {"echo \"${{x:-{v}}}\"", "a value inside ${ ... }"},
	    {"echo $(( {v} + 1 ))", "a value inside arithmetic"},
	    {"(( x = {v} ))", "a value inside arithmetic"},
	    /* a line continuation between '$(' and '(' still makes '$((' */
	    {"echo $(\\\n( {v} + 1 ))", "a value inside arithmetic"},
	    {"cat <<EOF\n$(\\\n( {v} ))\nEOF\n", "a value inside arithmetic"},
	    {"echo $[ 1 ] {v}", "$[ ... ] arithmetic"},
	    {"x=$(echo # {v}\n)", "a value in a comment inside a substitution"},
	    {"echo `echo \\`echo {v}\\``", "inside backquotes"},
	    {"echo ${v}", "a value right after '$'"},
	    {"cat <<{v}\nx\n", "a here-document's delimiter cannot be a value"},
	    {"x=`cat <<EOF\n{v}\nEOF\n`", "a here-document inside backquotes"},
	    /* in backquotes, \" is a quote: the line ends outside the quotes */
	    {"\"`cat <<E\\\" \"\\\na # {v}\n`\"", "a here-document inside backquotes"},
	    {"cat <<EOF\n$(echo 'a\\\nb')\nEOF\necho {v}", "a line continuation inside quotes"},
	    {"cat <<EOF\n$(echo \nEOF\necho {v}", "a here-document ends inside a quote"},
	    {"x=\"$(case a in a) case b in b) ;; esac;; esac) {v}\"", "a case inside a case"},
	    {"echo a) {v}", "an unmatched ')'"},
	    /* where a '(' or '|' is part of a word, so a '#' after it is no comment */
	    {"echo <(:)#{v}", "a process substitution"},
	    {"a=(x)#{v}\necho done", "an array assignment"},
	    {"x=\"$(a=(case x in y))\"; echo {v}", "an array assignment"},
	    {"[[ x =~ (#) ]]; echo {v}", "a regular expression after =~"},
	    {"[[ x =~ x|# ]]; echo {v}", "a regular expression after =~"},
	    {"[[ a == @(#) ]]; printf '[%s]\\n' {v}", "an extended glob pattern"},
	    {"shopt -s extglob\necho @(#) {v}", "an extended glob pattern"},
	    {"x=\"$(case a in @(a|b)) printf '<%s>' {v};; esac)\"", "an extended glob pattern"},
	    /* arithmetic where no command starts: its '<<' is no here-document */
	    {"for ((;0<<1;)); do :; done\necho {v}\n1\n", "'((' where no command starts"},
	    {"time -p ((x<<1))\nprintf '[%s]\\n' {v}\n1\n", "'((' where no command starts"},
	    {"function f {{ echo {v}; }}", "function NAME"},
	    {"echo {v} \"", "the script ends inside a quote"},
	    /* here-document delimiters the shell reads otherwise than as written */
	    {"cat <<\"E\\\"x\"\nE\"x\necho {v}\n", "a backslash in double quotes"},
	    {"cat <<\"E\\$\"\nE$\necho {v}\n", "a backslash in double quotes"},
	    {"cat <<E\\\n\n{v}\nE\n", "a line continuation in a here-document's delimiter"},
	    {"cat <<E\\\nF\nEF\necho {v}\n", "a line continuation in a here-document's delimiter"},
	    /* esac after '|' is a pattern; coproc NAME takes a compound command */
	    {"x=\"$(case a in x|esac) :;; esac; printf '%s' {v})\"", "esac as a pattern"},
	    {"x=\"$(coproc C {{ case a in x) :;; esac; }}; printf '%s' {v})\"", "coproc"},
	    /* inside $( ... ), bash ends a here-document at a line like EOF) */
	    {"x=\"$(cat <<'EOF'\na\nEOF)\"; echo {v}\nEOF\n)\"\n", "starts with its delimiter"},
	    {"x=$(cat <<EOF\nEOF{v}\nEOF\n)\n", "a value on a line of a here-document inside"},
	    /* where bash evaluates a value as arithmetic */
	    {"a[{v}]=1\n", "a value inside an array subscript"},
	    {"[[ {v} -eq 1 ]]\n", "a value inside [[ ... ]]"},
	    {"[[ \"{v}\" == x ]]\n", "a value inside [[ ... ]]"},
	    {"declare -i n={v}\n", "let, declare, typeset or local"},
	    {"let n={v}\n", "let, declare, typeset or local"},
	    {"RANDOM={v}\necho $RANDOM\n", "a value assigned to a variable bash evaluates"},
	    {"export OPTIND=\"{v}\"\n", "a value assigned to a variable bash evaluates"},
	    {"SRANDOM+={v}\n", "a value assigned to a variable bash evaluates"},
	    {"PS4={v}\nset -x\n", "a value assigned to a variable bash evaluates"},
	    {"for RANDOM in {v}; do :; done\n", "a for loop over RANDOM"},
	    /* bash reads the bodies of the here-documents inside a $( ... ) that
	     * closes on their line first */
	    {"cat <<A $(cat <<B)\nB\nA\n{v}\nB\n", "a here-document inside $( ... )"},
	    {"cat <<A $(cat <<B)\nx\nA\ny\nB\necho {v}\nA\n", "a here-document inside $( ... )"},
	    {"cat <<A `cat <<B`\nB\nA\n{v}\nB\n", "a here-document"},
	    /* ;x; is no ;; (a case body's command, then arithmetic) */
	    {"case b in a);x;(( {v} ));; esac\n", "a value inside arithmetic"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *why = NULL;
		char *s = render(cases[i].tmpl, "x", &why);
		if (s != NULL || why == NULL || strstr(why, cases[i].why) == NULL)
			wn_test_fail(__FILE__, __LINE__,
			             "template:\n%s\ngot [%s] (%s), want refused: %s",
			             cases[i].tmpl, wn_test_str(s), wn_test_str(why), cases[i].why);
		free(s);
		free(why);
	}
}

TEST(a_value_that_would_end_its_here_document_is_refused)
{
	char *why = NULL;
	char *s = render("cat <<EOF\n{v}\nEOF\necho after", "EOF", &why);
	CHECK(s == NULL);
	CHECK_EQ_STR(why, "cannot put a value into the script: a value would end a here-document");
	free(why);
	s = render("cat <<-EOF\n x{v}\n{v}\nEOF\necho after", "\t\tEOF", &why);
	CHECK(s == NULL);
	CHECK_EQ_STR(why, "cannot put a value into the script: a value starting with a tab at "
	                  "the start of a line of a <<- here-document would lose its tabs");
	free(why);
	/* where the shell strips no tab, a value keeps them */
	s = render("cat <<-EOF\nx{v}\nEOF\ncat <<EOF\n{v}\nEOF", "\tv", &why);
	CHECK_EQ_STR(s, "cat <<-EOF\nx\tv\nEOF\ncat <<EOF\n\tv\nEOF");
	free(s);
	s = render("cat <<EOF\n$(echo {v})\nEOF", "a\nEOF", &why);
	CHECK(s == NULL);
	CHECK_EQ_STR(why, "cannot put a value into the script: a value with a line break cannot "
	                  "go into a here-document");
	free(why);
}

TEST_MAIN()
