#!/usr/bin/env bash
# size-check: lists C files over 800 lines and functions over 80 lines
# (docs/architecture.md, "Size"). Exits 1 if any is found.
#   scripts/size-check.sh [DIR|FILE...]   default: src tests bench
set -euo pipefail
cd "$(dirname "$0")/.."
MAX_FILE=${MAX_FILE:-800}
MAX_FUNC=${MAX_FUNC:-80}
[ $# -gt 0 ] || set -- src tests bench
mapfile -t files < <(find "$@" -name '*.c' -o -name '*.h' | sort)
[ ${#files[@]} -gt 0 ] || { echo "size-check: no C files under $*" >&2; exit 2; }
awk -v maxfile="$MAX_FILE" -v maxfunc="$MAX_FUNC" '
FNR == 1 { if (prevfile != "" && prevlines > maxfile) { printf "%s: %d lines (file)\n", prevfile, prevlines; bad++ }
           prevfile = FILENAME; name = ""; start = 0 }
{ prevlines = FNR }
# Functions are in Linux brace style: the opening brace alone in column 0.
/^[A-Za-z_].*\(/ && !/;[[:space:]]*$/ { sig = $0 }
/^\{/ { start = FNR; n = sig; sub(/\(.*/, "", n); sub(/.*[ *]/, "", n); name = n }
/^\}/ && start > 0 { len = FNR - start + 1
           if (len > maxfunc) { printf "%s:%d: %s: %d lines (function)\n", FILENAME, start, name, len; bad++ }
           start = 0 }
END { if (prevlines > maxfile) { printf "%s: %d lines (file)\n", prevfile, prevlines; bad++ }
      if (bad) { printf "%d over the limits (files %d, functions %d lines)\n", bad, maxfile, maxfunc; exit 1 } }
' "${files[@]}"
