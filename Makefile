# WhatsNext: one non-recursive Makefile.
#   make            build wnd, wnctl, wnworker (build/bin)
#   make test       build and run the quick tests (unit, integration), minutes
#   make test-long  the long integration tests (load, scale, browser, SLURM follow-ups)
#   make stress     long randomized runs: SEED=N MINUTES=M (default 10)
#   make bench      the load generator: wnd against beanstalkd, worker, fleet, deps rows
#   make bench-scale  the million-job scale run (up to 15 minutes)
#   make fuzz       build the libFuzzer targets (clang)
#   make fuzz-run   run each for FUZZ_SECONDS (default 20) on its corpus
#   make SANITIZER=address,undefined test   the same under sanitizers
#   make format / format-check
#   make install    wnd, wnctl, wnworker and wnctl's bash completion under PREFIX
#                   (default /usr/local; DESTDIR for staging); make uninstall

# Build in parallel by default, one job a core (-jN on the command line wins).
ifeq ($(filter -j%,$(MAKEFLAGS)),)
MAKEFLAGS += -j$(shell nproc)
endif

CC       ?= cc
SANITIZER ?=
WERROR   ?= 1

ifeq ($(SANITIZER),)
BUILD    := build/rel
SANFLAGS :=
else
BUILD    := build/san
SANFLAGS := -fsanitize=$(SANITIZER) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif
GEN      := build/gen
BIN      := $(BUILD)/bin

PKGS     := libprotobuf-c rocksdb yaml-0.1 jansson
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN     := -Wall -Wextra -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN     += -Werror
endif
CFLAGS   ?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(CFLAGS) $(SANFLAGS) -pthread -D_GNU_SOURCE \
              -Isrc/common -I$(GEN) $(PKG_CFLAGS) -MMD -MP
LDLIBS   := $(PKG_LIBS) -lnng -lmbedtls -lmbedx509 -lmbedcrypto -lpthread -lm
LDFLAGS  += $(SANFLAGS) -pthread

COMMON_SRC := $(wildcard src/common/*.c)
SERVER_SRC := $(filter-out src/server/main.c,$(wildcard src/server/*.c))
CTL_SRC    := $(wildcard src/ctl/*.c)
WORKER_SRC := $(wildcard src/worker/*.c)
UNIT_SRC   := $(wildcard tests/unit/test_*.c)
BENCH_SRC  := $(wildcard bench/*.c)
TOOL_SRC   := $(wildcard tests/tools/*.c)
MODEL_SRC  := $(wildcard tests/model/*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

GEN_OBJ    := $(BUILD)/obj/gen/whatsnext.pb-c.o
COMMON_LIB := $(BUILD)/libwncommon.a
SERVER_LIB := $(BUILD)/libwnserver.a
WORKER_LIB := $(BUILD)/libwnworker.a
CTL_LIB    := $(BUILD)/libwnctl.a
UNIT_BINS  := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
TOOL_BINS  := $(patsubst tests/tools/%.c,$(BIN)/%,$(TOOL_SRC)) $(BIN)/wnmodel
PROGS      := $(BIN)/wnd $(BIN)/wnctl
ifneq ($(WORKER_SRC),)
PROGS      += $(BIN)/wnworker
endif
ifneq ($(BENCH_SRC),)
PROGS      += $(BIN)/wnbench
endif

.PHONY: all test test-long unit integration stress bench bench-scale fuzz format format-check clean deps \
        install uninstall
all: $(PROGS)

$(GEN)/whatsnext.pb-c.c $(GEN)/whatsnext.pb-c.h: proto/whatsnext.proto
	@mkdir -p $(GEN)
	protoc-c --c_out=$(GEN) -Iproto proto/whatsnext.proto

$(GEN_OBJ): $(GEN)/whatsnext.pb-c.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 $(CFLAGS) $(SANFLAGS) -I$(GEN) $(PKG_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.c $(GEN)/whatsnext.pb-c.h
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(WARN) -c $< -o $@

# Include paths per program: each sees src/common and its own folder only, so
# a client cannot include a server header (bench, tests/tools and tests/model
# are clients). Unit tests and fuzz targets see everything.
$(BUILD)/obj/src/server/%.o: ALL_CFLAGS += -Isrc/server
$(BUILD)/obj/src/ctl/%.o: ALL_CFLAGS += -Isrc/ctl
$(BUILD)/obj/src/worker/%.o: ALL_CFLAGS += -Isrc/worker

$(COMMON_LIB): $(call obj,$(COMMON_SRC)) $(GEN_OBJ)
	@rm -f $@
	ar rcs $@ $^

# The dashboard's files (web/), embedded into wnd (src/server/webassets.h).
WEB_FILES := $(shell find web -type f ! -name '.*' 2>/dev/null)
$(GEN)/webassets.c: $(WEB_FILES) scripts/embed-web.sh
	@mkdir -p $(GEN)
	sh scripts/embed-web.sh $@ web
$(BUILD)/obj/gen/webassets.o: $(GEN)/webassets.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Isrc/server -c $< -o $@

$(SERVER_LIB): $(call obj,$(SERVER_SRC)) $(BUILD)/obj/gen/webassets.o
	@rm -f $@
	ar rcs $@ $^

$(WORKER_LIB): $(call obj,$(filter-out src/worker/main.c,$(WORKER_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(CTL_LIB): $(call obj,$(filter-out src/ctl/main.c,$(CTL_SRC)))
	@rm -f $@
	ar rcs $@ $^

$(BIN)/wnd: $(call obj,src/server/main.c) $(SERVER_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/wnctl: $(call obj,src/ctl/main.c) $(CTL_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/wnworker: $(call obj,src/worker/main.c) $(WORKER_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/wnbench: $(call obj,$(BENCH_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests link the server, worker and wnctl libraries: core logic is
# testable without sockets.
# Each links the engine test fixture (tests/unit/fixture.c) too.
UNIT_LIBS := $(SERVER_LIB) $(if $(WORKER_SRC),$(WORKER_LIB)) $(CTL_LIB) $(COMMON_LIB)
UNIT_FIXTURE := $(BUILD)/obj/tests/unit/fixture.o
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(UNIT_FIXTURE) $(UNIT_LIBS)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# The direct client's tests share a REP peer (tests/unit/rpcpeer.c).
$(BUILD)/tests/test_rpc_direct $(BUILD)/tests/test_rpc_pool: $(BUILD)/obj/tests/unit/rpcpeer.o
$(BUILD)/obj/tests/unit/%.o: ALL_CFLAGS += -Itests/unit -Isrc/server -Isrc/worker -Isrc/ctl -DSRC_DIR=\"$(CURDIR)\"

# The model-based random test (tests/model, docs/testing.md).
$(BIN)/wnmodel: $(call obj,$(MODEL_SRC)) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Test tools (raw protocol clients and the like) live beside the programs.
$(BIN)/%: $(BUILD)/obj/tests/tools/%.o $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# wncrash has its checks in tests/tools/crash/.
$(BIN)/wncrash: $(BUILD)/obj/tests/tools/wncrash.o $(call obj,$(wildcard tests/tools/crash/*.c)) \
                $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
# wnstore reads and writes a data directory's raw keys: it needs the store.
$(BUILD)/obj/tests/tools/wnstore.o: ALL_CFLAGS += -Isrc/server
$(BIN)/wnstore: $(BUILD)/obj/tests/tools/wnstore.o $(SERVER_LIB) $(COMMON_LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Sanitized binaries run several times slower: the per-test limit (a guard
# against a hung test, not a timing check) grows with them.
TEST_TIMEOUT := $(if $(SANITIZER),900,300)
test: all $(UNIT_BINS) $(TOOL_BINS)
	WN_BIN=$(abspath $(BIN)) WN_UNIT=$(abspath $(BUILD)/tests) \
	  WN_TEST_TIMEOUT=$${WN_TEST_TIMEOUT:-$(TEST_TIMEOUT)} bash tests/run.sh

# The long tests (# test-tier: long): under load, at scale, many random
# operations, the dashboard page after page; CI runs them after make test.
test-long: all $(TOOL_BINS)
	WN_BIN=$(abspath $(BIN)) WN_UNIT=$(abspath $(BUILD)/tests) \
	  WN_TEST_TIMEOUT=$${WN_TEST_TIMEOUT:-$(TEST_TIMEOUT)} bash tests/run.sh --long

# Long randomized runs: make stress [SEED=N] [MINUTES=M] (tests/stress.sh).
SEED    ?=
MINUTES ?= 10
stress: all $(TOOL_BINS)
	WN_BIN=$(abspath $(BIN)) SEED=$(SEED) MINUTES=$(MINUTES) bash tests/stress.sh

unit: $(UNIT_BINS)
	WN_BIN=$(abspath $(BIN)) WN_UNIT=$(abspath $(BUILD)/tests) bash tests/run.sh --unit

bench: all $(BIN)/wnstamp
	WN_BIN=$(abspath $(BIN)) bash bench/run.sh

# The command of the worker benchmark's latency row: prints the wall clock in
# ns. Static, so that its start is the exec alone (bench/worker.sh).
$(BIN)/wnstamp: bench/cmd/wnstamp.c
	@mkdir -p $(dir $@)
	$(CC) -std=gnu11 -O2 $(WARN) -static -o $@ $<

bench-scale: all
	WN_BIN=$(abspath $(BIN)) bash bench/scale.sh

# libFuzzer targets: build/fuzz/<name>; run e.g. build/fuzz/fuzz_envelope -max_total_time=60.
# The sources are compiled once, instrumented (fuzzer-no-link), into one
# archive that every target links what it needs from.
FUZZ_SRC := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,build/fuzz/%,$(FUZZ_SRC))
FUZZ_LIB_SRC := $(COMMON_SRC) $(SERVER_SRC) $(filter-out src/worker/main.c,$(WORKER_SRC)) \
                $(filter-out src/ctl/main.c,$(CTL_SRC)) $(GEN)/whatsnext.pb-c.c $(GEN)/webassets.c
FUZZ_LIB := build/fuzz/libwnfuzz.a
FUZZ_CFLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -pthread -Isrc/common -Isrc/server -Isrc/worker \
               -Isrc/ctl -I$(GEN) $(PKG_CFLAGS)
fuzz: $(FUZZ_BINS)
build/fuzz/obj/%.o: %.c $(GEN)/whatsnext.pb-c.h
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -MMD -MP -c $< -o $@
$(FUZZ_LIB): $(patsubst %.c,build/fuzz/obj/%.o,$(FUZZ_LIB_SRC))
	@rm -f $@
	ar rcs $@ $^
build/fuzz/%: tests/fuzz/%.c $(FUZZ_LIB)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $^ $(LDLIBS)

# Each target for FUZZ_SECONDS on a copy of tests/fuzz/corpus/<target>/; fails
# on a crash (tests/fuzz/run.sh).
FUZZ_SECONDS ?= 20
.PHONY: fuzz-run
fuzz-run: $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BINS)

FORMAT_SRC := $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	clang-format -i $(FORMAT_SRC)
format-check:
	clang-format --dry-run --Werror $(FORMAT_SRC)

deps:
	bash scripts/install-deps.sh

PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
INSTALL_PROGS := $(filter-out $(BIN)/wnbench,$(PROGS))
install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(BASHCOMPDIR)
	install -m 755 $(INSTALL_PROGS) $(DESTDIR)$(BINDIR)/
	install -m 644 completion/wnctl.bash $(DESTDIR)$(BASHCOMPDIR)/wnctl
uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_PROGS)))
	rm -f $(DESTDIR)$(BASHCOMPDIR)/wnctl

clean:
	rm -rf build

-include $(shell find $(BUILD)/obj build/fuzz/obj -name '*.d' 2>/dev/null)

# Objects of chained rules (tests, tools) are kept, not rebuilt at every run.
.SECONDARY:
