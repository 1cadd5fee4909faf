#!/usr/bin/env bash
# Long randomized runs, as long as asked: the model-based random test and the
# kill -9 crash loop share the time. Usage (from make stress):
#   WN_BIN=DIR SEED=N MINUTES=M bash tests/stress.sh
# SEED empty: a new seed per run, printed so that a failure can be replayed.
set -euo pipefail
: "${WN_BIN:?set WN_BIN to the directory holding wnd and wnctl}"
MINUTES=${MINUTES:-10}
SEED=${SEED:-}
echo "stress: $MINUTES minute(s)${SEED:+, seed $SEED}"
# each runner below appends its own line
# The kill -9 crash loop, half of the time (tests/tools/wncrash.c); on a
# violation the run stops and wncrash says where it kept its files.
crash=$(mktemp -d "${TMPDIR:-/tmp}/wn-stress.XXXXXX")
"$WN_BIN/wncrash" --data "$crash/crash" --wnd "$WN_BIN/wnd" ${SEED:+--seed "$SEED"} \
	--minutes "$(awk -v m="$MINUTES" 'BEGIN { print m / 2 }')"
rm -rf "$crash"
# The model-based random test, the other half (tests/model, docs/testing.md):
# one seed after another (the first is SEED, or a new one), each printed,
# every other one with store read and scan faults (--faults); on a
# disagreement the run stops with the seed, a shortened sequence and the
# command that replays it.
model=$(mktemp -d "${TMPDIR:-/tmp}/wn-stress.XXXXXX")
end=$(($(date +%s) + $(awk -v m="$MINUTES" 'BEGIN { printf "%d", m * 30 }')))
seed=${SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
faults=
while [ "$(date +%s)" -lt "$end" ]; do
	# at most two minutes a seed, and no longer than what is left
	left=$((end - $(date +%s)))
	"$WN_BIN/wnmodel" --wnd "$WN_BIN/wnd" --seed "$seed" --dir "$model/$seed" \
		--minutes "$(awk -v s="$left" 'BEGIN { print (s > 120 ? 2 : s / 60) }')" $faults
	seed=$((seed + 1))
	if [ -z "$faults" ]; then faults=--faults; else faults=; fi
done
rm -rf "$model"
echo "stress: done"
