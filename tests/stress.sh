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
echo "stress: done"
