# popflow - plain GNU make.  make | make demo | make test | make asan | make bench | make format | make clean
PREFIX   ?= /usr/local
DATADIR  ?= $(PREFIX)/share/popflow
MANDIR   ?= $(PREFIX)/share/man
DOCDIR   ?= $(PREFIX)/share/doc/popflow
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
CC       ?= cc
CFLAGS   ?= -O2 -g
PKGS     := libpcap glib-2.0 jansson gmime-3.0 libgvc libcgraph libcrypto
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2
# CFLAGS and LDFLAGS stay the user's; everything popflow needs goes into ALL_*.
ALL_CFLAGS  = $(CFLAGS) -std=c11 -D_DEFAULT_SOURCE -D_GNU_SOURCE -Iinclude $(WARN)
ALL_CFLAGS += -DPOPFLOW_TEMPLATE_DIR='"$(DATADIR)/templates"'
ALL_LDFLAGS = $(LDFLAGS)
ifdef WERROR
ALL_CFLAGS += -Werror
endif
ifdef SANITIZER                 # make SANITIZER=address,undefined ...
ALL_CFLAGS += -fsanitize=$(SANITIZER) -fno-sanitize-recover=all -fno-omit-frame-pointer
ALL_LDFLAGS += -fsanitize=$(SANITIZER)
endif
BUILD    ?= build

# Debian packages the build, the tests and the demo need (installed by deps.sh when missing).
DEPS_BUILD := gcc make pkg-config libpcap-dev libnids-dev libglib2.0-dev libjansson-dev libgmime-3.0-dev \
              libgraphviz-dev graphviz fonts-liberation2 libssl-dev libwiretap-dev libwsutil-dev
# Only make fuzz-run needs these (clang's libFuzzer); make test replays the corpora with $(CC).
DEPS_FUZZ  := clang libclang-rt-14-dev
DEPS_TEST  := python3 tshark wireshark-common gzip zstd lz4 tcpdump iproute2 time poppler-utils qpdf valgrind dovecot-core dovecot-pop3d fetchmail openssl util-linux \
              mandoc man-db plantuml curl
# tests/cli runs the README's jq examples.
DEPS_TEST  += jq
# make bench and make bench-live (the peers and the replay tool).
DEPS_BENCH := python3 tshark tcpdump time iproute2 tcpreplay

LIB_SRCS := src/cursor.c src/decode.c src/capture.c src/frameid.c src/privdrop.c src/tcp.c src/tcp_order.c src/tcp_nids.c src/session.c src/pop3.c \
            src/pipeline.c src/defrag.c src/describe.c src/util.c src/emit.c src/emit_text.c src/emit_json.c src/emit_summary.c \
            src/creds.c src/capa.c src/mime.c src/extract.c \
            src/diagram.c src/remarks.c src/emit_dot.c src/emit_flow.c src/emit_mermaid.c \
            src/emit_plantuml.c src/emit_fdl.c src/options.c src/tls.c src/keylog.c \
            src/progress.c
LIB_OBJS := $(LIB_SRCS:src/%.c=$(BUILD)/%.o)
MAIN_OBJ := $(BUILD)/main.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)

# Fuzz targets (tests/fuzz/README.md): replay-T (any compiler, make test) and fuzz-T (libFuzzer).
FUZZ_TARGETS := pop3 decode creds remarks pipeline mime
FUZZ_SECONDS ?= 60
FUZZ_REPLAY = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/replay-%)
FUZZ_BINS = $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz-%)
FUZZ_FLAGS = -Itests/fuzz -DFUZZ_SRCDIR='"$(CURDIR)"'

# wiretap (Wireshark's capture-file reader, docs/inputs.md) ships no pkg-config file in Debian 12.
WIRETAP_CFLAGS ?= -I/usr/include/wireshark
WIRETAP_LIBS   ?= -lwiretap -lwsutil
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null) $(WIRETAP_CFLAGS)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lnids $(WIRETAP_LIBS)

.PHONY: bench-deps bench-live all deps demo test unit golden public cli inputs package fuzz fuzz-replay fuzz-run \
        fuzz-bins diagram extract tls asan build-asan-unit build-asan-fuzz bench format clean live install \
        uninstall tcp torture limits
all: popflow

deps:
	@./tests/deps.sh $(DEPS_BUILD) $(DEPS_TEST)

popflow: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BUILD)/%.o: src/%.c $(wildcard include/*.h) src/tcp_int.h include/pop3_cmds.def include/anomalies.def
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -c -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c tests/unit/testlib.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) -Itests/unit -o $@ $< $(LIB_OBJS) $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/fuzz/replay-%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c tests/fuzz/fuzz.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) $(FUZZ_FLAGS) -o $@ $< tests/fuzz/replay.c $(LIB_OBJS) \
	    $(ALL_LDFLAGS) $(PKG_LIBS)

$(BUILD)/fuzz/fuzz-%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(LIB_OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(PKG_CFLAGS) $(FUZZ_FLAGS) -fsanitize=fuzzer -o $@ $< $(LIB_OBJS) \
	    $(ALL_LDFLAGS) -fsanitize=fuzzer $(PKG_LIBS)

demo: deps
	$(MAKE) popflow
	./tests/demo.sh

unit: $(UNIT_BINS)
	@./tests/run-unit.sh $(UNIT_BINS)

golden: popflow
	@./tests/run-golden.sh

public: popflow
	@./tests/public/run.sh

cli: popflow
	@./tests/cli/run.sh
	@./tests/cli/display.sh

inputs: popflow
	@./tests/inputs/run.sh

# The man page (mandoc -T lint), -h against the man page and README, make install/uninstall,
# man -l on the installed page, and the bash completion.
package: popflow
	@./tests/package/run.sh

# Every corpus file and past crash through each fuzz target, then mutated captures through popflow.
fuzz: popflow fuzz-replay
	@./tests/fuzz/run.sh

fuzz-replay: $(FUZZ_REPLAY)
	@./tests/fuzz/replay.sh $(BUILD)/fuzz

# make fuzz-run [FUZZ_SECONDS=N] [FUZZ_TARGETS="pop3 ..."]: libFuzzer, ASan and UBSan, N seconds per target.
fuzz-run:
	@./tests/deps.sh $(DEPS_FUZZ)
	$(MAKE) BUILD=build-fuzz CC=clang CFLAGS="-O1 -g -fsanitize=fuzzer-no-link" \
	    SANITIZER=address,undefined fuzz-bins
	./tests/fuzz/fuzz-run.sh build-fuzz/fuzz $(FUZZ_SECONDS) $(FUZZ_TARGETS)

fuzz-bins: $(FUZZ_BINS)

diagram: popflow
	@VALGRIND=1 ./tests/diagram/run.sh

# Live capture against a real dovecot in network namespaces: needs root (CI runs as root).
live: popflow
	@if [ "$$(id -u)" -eq 0 ]; then ./tests/live/run.sh; \
	else echo "live: skipped: the live-capture tests need root (network namespaces)"; fi

extract: popflow
	@./tests/extract/run.sh

tls: popflow
	@./tests/tls/run.sh

# TCP following: reorder and mid-stream invariance (tests/tcp/invariance.sh, 3 seeds) and the
# regression cases of issue 8 (tests/tcp/run.sh). Checks still failing are listed in
# tests/tcp/KNOWN_FAILING and reported as such.
tcp: popflow
	@./tests/tcp/run.sh

# README's limits hold in time and memory: a small and a 4x input per case (tests/limits/run.py).
limits: popflow
	@./tests/limits/run.sh

# Reorder invariance with 1000 seeds per capture, in nproc processes (JOBS): over an hour on 2 cores.
torture: popflow
	@SEEDS=$${SEEDS:-1000} JOBS=$${JOBS:-$$(nproc)} KNOWN_LINES=$${KNOWN_LINES:-0} ./tests/tcp/invariance.sh reorder

test: deps
	$(MAKE) popflow
	$(MAKE) unit
	$(MAKE) golden
	$(MAKE) cli
	$(MAKE) package
	$(MAKE) inputs
	$(MAKE) diagram
	$(MAKE) extract
	$(MAKE) tls
	$(MAKE) tcp
	$(MAKE) limits
	$(MAKE) live
	$(MAKE) fuzz
	$(MAKE) public

# The whole suite again, built with AddressSanitizer and UndefinedBehaviorSanitizer.
# LeakSanitizer ignores only what Graphviz's plugins keep for the process (see the file's comments).
ASAN_ENV := LSAN_OPTIONS=suppressions=$(CURDIR)/tests/diagram/lsan.supp POPFLOW=./popflow-asan
asan: deps
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/diagram/lsan.supp \
	    $(MAKE) BUILD=build-asan SANITIZER=address,undefined CFLAGS="-O1 -g" \
	    BIN=popflow-asan popflow-asan build-asan-unit build-asan-fuzz
	$(ASAN_ENV) ./tests/run-golden.sh
	$(ASAN_ENV) ./tests/cli/run.sh
	$(ASAN_ENV) ./tests/cli/display.sh
	$(ASAN_ENV) ./tests/package/run.sh
	$(ASAN_ENV) LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
	    ./tests/fuzz/replay.sh build-asan/fuzz
	$(ASAN_ENV) ./tests/inputs/run.sh
	$(ASAN_ENV) ./tests/fuzz/run.sh
	$(ASAN_ENV) ./tests/diagram/run.sh
	$(ASAN_ENV) ./tests/extract/run.sh
	$(ASAN_ENV) ./tests/tls/run.sh
	$(ASAN_ENV) ./tests/tcp/run.sh
	$(ASAN_ENV) ./tests/limits/run.sh
	@if [ "$$(id -u)" -eq 0 ]; then $(ASAN_ENV) ./tests/live/run.sh; fi
	$(ASAN_ENV) ./tests/public/run.sh

build-asan-unit: $(UNIT_BINS)
	@./tests/run-unit.sh $(UNIT_BINS)

build-asan-fuzz: $(FUZZ_REPLAY)

popflow-asan: $(LIB_OBJS) $(MAIN_OBJ)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# make bench [BENCH_SIZES=10M BENCH_VARIANTS=...]: popflow against the floors and the peers (bench/README.md).
$(BUILD)/bench/floor: bench/floor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(ALL_LDFLAGS) -lnids -lpcap

bench-deps:
	@./tests/deps.sh $(DEPS_BUILD) $(DEPS_BENCH)

bench: bench-deps
	$(MAKE) popflow $(BUILD)/bench/floor
	FLOOR=$(BUILD)/bench/floor ./bench/run.sh

# The highest tcpreplay rate popflow -i follows with no drop and every session exact (root).
bench-live: bench-deps
	$(MAKE) popflow
	./bench/live.sh

# make install [PREFIX=/usr/local] [DESTDIR=...]: the program, its default remark templates, the man
# page (installed paths put in place of /usr/local), the bash completion and the JSON contract.
# make uninstall removes exactly those files, and the directories of popflow's own left empty.
TEMPLATES := $(notdir $(wildcard templates/*.tmpl))
install: popflow
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(MANDIR)/man1 \
	    $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(DOCDIR)
	install -m 755 popflow $(DESTDIR)$(PREFIX)/bin/popflow
	install -m 644 $(addprefix templates/,$(TEMPLATES)) $(DESTDIR)$(DATADIR)/templates/
	sed -e 's|/usr/local/share/popflow|$(DATADIR)|g' -e 's|/usr/local/share/doc/popflow|$(DOCDIR)|g' \
	    docs/popflow.1 >$(DESTDIR)$(MANDIR)/man1/popflow.1
	chmod 644 $(DESTDIR)$(MANDIR)/man1/popflow.1
	install -m 644 completions/popflow.bash $(DESTDIR)$(BASHCOMPDIR)/popflow
	install -m 644 docs/json.md $(DESTDIR)$(DOCDIR)/json.md

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/popflow $(addprefix $(DESTDIR)$(DATADIR)/templates/,$(TEMPLATES)) \
	    $(DESTDIR)$(MANDIR)/man1/popflow.1 $(DESTDIR)$(BASHCOMPDIR)/popflow $(DESTDIR)$(DOCDIR)/json.md
	for d in $(DESTDIR)$(DATADIR)/templates $(DESTDIR)$(DATADIR) $(DESTDIR)$(DOCDIR); do \
	    if [ -d "$$d" ]; then rmdir --ignore-fail-on-non-empty "$$d"; fi; done

format:
	clang-format -i src/*.c include/*.h tests/unit/*.c tests/unit/*.h

clean:
	rm -rf build build-asan build-fuzz popflow popflow-asan
