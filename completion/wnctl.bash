# bash completion for wnctl, the WhatsNext command line.
#
# `make install` puts this file where bash-completion finds it by the
# command's name ($(PREFIX)/share/bash-completion/completions/wnctl); or
# load it by hand: source completion/wnctl.bash (e.g. from ~/.bashrc).
#
# The candidates come from wnctl itself (`wnctl __complete WORD...`), out of
# the command tables it parses with, so they follow the installed version:
# nouns, verbs, each command's options, the values of --status (a list of
# them too), --state, --role and sweep results' --format.
# Anything else (a file, a name) falls back to bash's file names.

_wnctl() {
	local cur=${COMP_WORDS[COMP_CWORD]}
	local words=("${COMP_WORDS[@]:1:COMP_CWORD}")
	# bash splits --status=fa at '=', a word of its own: right after it
	# (--status=), the value to complete is empty and goes after the '='
	if [ "$cur" = "=" ]; then
		cur=
		words+=("")
	fi
	local IFS=$'\n'
	# shellcheck disable=SC2207
	COMPREPLY=($(compgen -W "$("${COMP_WORDS[0]}" __complete "${words[@]}" 2>/dev/null)" -- "$cur"))
}
complete -o default -F _wnctl wnctl
