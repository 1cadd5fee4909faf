#!/usr/bin/env bash
# size-check: lists C files over 800 lines and functions over 80 lines
# (docs/architecture.md, "Size"). Exits 1 if any is found.
#   scripts/size-check.sh [--allow FILE] [DIR|FILE...]   default: src tests bench
# --allow FILE: offenders FILE lists are let through, one a line,
# "PATH REASON" for a file or "PATH:FUNCTION REASON" for a function ('#'
# starts a comment). An entry that is within the limits again is reported
# (remove it) without failing.
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_FILE=${MAX_FILE:-800}
MAX_FUNC=${MAX_FUNC:-80}
allow=
if [ "${1:-}" = --allow ]; then
	[ $# -ge 2 ] || { echo "size-check: --allow needs a file" >&2; exit 2; }
	allow=$2
	shift 2
	[ -r "$allow" ] || { echo "size-check: cannot read $allow" >&2; exit 2; }
fi
[ $# -gt 0 ] || set -- src tests bench
mapfile -t files < <(find "$@" -name node_modules -prune -o \( -name '*.c' -o -name '*.h' \) -print | sort)
[ ${#files[@]} -gt 0 ] || { echo "size-check: no C files under $*" >&2; exit 2; }
# One line per offender: "KEY<TAB>what to print", KEY being PATH or PATH:FUNCTION.
offenders=$(awk -v maxfile="$MAX_FILE" -v maxfunc="$MAX_FUNC" '
FNR == 1 { if (prevfile != "" && prevlines > maxfile) printf "%s\t%s: %d lines (file)\n", prevfile, prevfile, prevlines
           prevfile = FILENAME; name = ""; start = 0 }
{ prevlines = FNR }
# Functions are in Linux brace style: the opening brace alone in column 0.
/^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ { sig = $0 }
/^\{/ { start = FNR; n = sig; sub(/\(.*/, "", n); sub(/.*[ *]/, "", n); name = n }
/^\}/ && start > 0 { len = FNR - start + 1
           if (len > maxfunc) printf "%s:%s\t%s:%d: %s: %d lines (function)\n", FILENAME, name, FILENAME, start, name, len
           start = 0 }
END { if (prevlines > maxfile) printf "%s\t%s: %d lines (file)\n", prevfile, prevfile, prevlines }
' "${files[@]}")
declare -A allowed=()
if [ -n "$allow" ]; then
	while read -r key _; do
		[ -n "$key" ] && [[ $key != \#* ]] && allowed[$key]=1
	done <"$allow"
fi
bad=0
declare -A seen=()
while IFS=$'\t' read -r key what; do
	[ -n "$key" ] || continue
	seen[$key]=1
	[ -n "${allowed[$key]:-}" ] && continue
	echo "$what"
	bad=$((bad + 1))
done <<<"$offenders"
for key in "${!allowed[@]}"; do
	# only entries under the paths checked here
	for p in "$@"; do
		if [[ $key == "$p"* ]] && [ -z "${seen[$key]:-}" ]; then
			echo "size-check: $key is within the limits: remove it from $allow" >&2
			break
		fi
	done
done
if [ "$bad" -gt 0 ]; then
	echo "$bad over the limits (files $MAX_FILE, functions $MAX_FUNC lines)"
	exit 1
fi
