/* opts: command-line options taken by their whole names only. */
#ifndef WN_OPTS_H
#define WN_OPTS_H

#include <getopt.h>

/* wn_opts_spelled refuses a long option of argv written shorter than its
 * name, which getopt_long would take for the one option of longopts it
 * begins (--lease for --lease-ms): such a command line would change meaning,
 * or stop working, once a new option begins the same way. The values of
 * options that take one (a short one of shortopts, getopt's syntax, or a long
 * one not given with '=') are skipped. Returns 0, or 2 after saying on stderr,
 * after "PROG: ", which options were meant. */
int wn_opts_spelled(const char *prog, int argc, char **argv, const char *shortopts,
                    const struct option *longopts);

#endif
