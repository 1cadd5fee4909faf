# The model-based random test (tests/model, docs/testing.md): wnmodel runs
# seeded random sequences of every mutating method against the real wnd,
# judges each reply with a reference model of the documented semantics,
# moves the test clock forward and restarts wnd (SIGTERM and kill -9),
# comparing every Get and List answer before and after each restart, and
# `wnd --check` finds the stopped data directory clean. Fixed seeds here:
# make test runs a short one and one with store read and scan faults at
# each start (--faults: a request answered UNAVAILABLE must have changed
# nothing), make test-long four longer ones and two more with faults;
# `make stress` runs new ones for as long as asked.
# A failure prints the seed, a shortened list of operations that reproduces
# it and the command that replays it.

# model_run SEED OPS [OPTION]: one run; the test fails when server and model
# disagree.
model_run() {
	"$WN_BIN/wnmodel" --wnd "$WN_BIN/wnd" --seed "$1" --ops "$2" --dir "$WN_TMP/model" \
		--shrink-seconds 60 ${3:+"$3"} ||
		fail "wnmodel --seed $1 $3: the server and the model disagree"
}

# make test: a short run, and one with faults
test_model_short() { model_run 5 800; }
test_model_faults() { model_run 3 1000 --faults; }

# make test-long: four longer runs
# test-tier: long
test_model_seed_1() { model_run 1 2500; }
# test-tier: long
test_model_seed_2() { model_run 2 2500; }
# test-tier: long
test_model_seed_3() { model_run 3 2500; }
# test-tier: long
test_model_seed_4() { model_run 4 2500; }
# test-tier: long
test_model_faults_8() { model_run 8 1000 --faults; }
# test-tier: long
test_model_faults_13() { model_run 13 1000 --faults; }
