# Outreach pipeline — build, test, demo and broker targets.
# `make` builds every program into bin/; `make test` installs what is missing and runs all tests.

CC       ?= cc
PKGS     := rdkafka avro-c libcurl zlib jansson libmicrohttpd lmdb minizip expat xlsxwriter
WARN     := -Wall -Wextra -Wpedantic -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wformat=2 -Werror
CSTD     := -std=c11 -D_POSIX_C_SOURCE=200809L
OPT      ?= -O2 -g
SANITIZE ?=
PYTHON   ?= /usr/bin/python3

# ThreadSanitizer (make SANITIZE=thread) cannot share objects with ASan: its own variant.
ifeq ($(SANITIZE),thread)
VARIANT  := tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
else ifneq ($(SANITIZE),)
VARIANT  := san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
else
VARIANT  := default
SANFLAGS :=
endif

B        := build/$(VARIANT)
# TSan builds link a shim that starts librdkafka's C11 threads through pthread_create, which
# TSan intercepts (tests/tsan/thrd_shim.c says why); tsan-test runs with its suppressions.
TSAN_SHIM := $(if $(filter thread,$(SANITIZE)),$(B)/tests/tsan/thrd_shim.o)
TSAN_SUPP := $(CURDIR)/tests/tsan/suppressions.txt
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS   += $(CSTD) $(WARN) $(OPT) $(SANFLAGS) -Icommon -I$(B) $(PKG_CFLAGS) -MMD -MP
LDFLAGS  += $(SANFLAGS)
LDLIBS   += $(PKG_LIBS) -lm -lpthread

# ---- sources -------------------------------------------------------------------------------
# The library in two: a Kafka-free core (libopcore.a: configuration without passthrough,
# logging, the service shell, regions, health, ...) and the Kafka part on top of it
# (libopkafka.a: clients, librdkafka passthrough, the Avro codec). A program that needs no
# Kafka (the sink) links the core only and so neither librdkafka nor avro-c.
KAFKA_SRCS  := common/kafka.c common/conf_kafka.c common/cli_kafka.c common/codec.c \
               common/avrojson.c common/event.c common/topicread.c common/frame.c \
               common/registry.c common/codec_pcf.c \
               common/codec_check.c common/codec_resolve.c
CORE_SRCS   := $(filter-out $(KAFKA_SRCS),$(wildcard common/*.c))
CORE_LIB    := $(B)/libopcore.a
KAFKA_LIB   := $(B)/libopkafka.a
LIB         := $(KAFKA_LIB) $(CORE_LIB)
EMBED_FILES := $(sort $(wildcard schemas/*.avsc)) schemas/regions.csv

# Each program: bin/NAME built from the .c files of one folder.
PROGRAMS := outreach-codec outreach-mock-broker outreach-dlq outreach-audit
outreach-codec_DIR := tools/codec
outreach-audit_DIR := tools/audit
outreach-mock-broker_DIR := tools/mockbroker
outreach-dlq_DIR := tools/dlq
ifneq ($(wildcard producers/*.c),)
PROGRAMS += outreach-producer
outreach-producer_DIR := producers
endif
ifneq ($(wildcard tools/gen/*.c),)
PROGRAMS += outreach-gen
outreach-gen_DIR := tools/gen
endif
ifneq ($(wildcard consumers/aggregator/*.c),)
PROGRAMS += outreach-aggregator
outreach-aggregator_DIR := consumers/aggregator
endif
ifneq ($(wildcard consumers/reporter/*.c),)
PROGRAMS += outreach-reporter
outreach-reporter_DIR := consumers/reporter
endif
ifneq ($(wildcard consumers/sink/*.c),)
PROGRAMS += outreach-sink
outreach-sink_DIR := consumers/sink
endif
BINS := $(PROGRAMS:%=bin/%)

UNIT_SRCS  := $(wildcard tests/unit/test_*.c)
UNIT_BINS  := $(UNIT_SRCS:tests/unit/%.c=$(B)/tests/%)
ITEST_SRCS := $(wildcard tests/integration/*.c)
ITEST_BINS := $(ITEST_SRCS:tests/integration/%.c=$(B)/itests/%)

.PHONY: all deps test unit-test valgrind-test tsan-test integration-test interop-test chaos fuzz bench demo \
        kafka-fetch kafka-up kafka-down kafka-status registry-up registry-down registry-status format format-check clean install uninstall \
        help

all: $(BINS) $(UNIT_BINS) $(ITEST_BINS)

help:
	@echo "make              build every program into bin/ (SANITIZE=address,undefined for ASan/UBSan)"
	@echo "make deps         install missing Debian build and test packages (needs root)"
	@echo "make test         deps + build + unit tests (plain, ASan/UBSan, valgrind) + interop + Kafka integration"
	@echo "make tsan-test    the unit tests under ThreadSanitizer (build/tsan)"
	@echo "make chaos        the pipeline under random faults on a 3-broker cluster (CHAOS_SECONDS=100, CHAOS_SEED=)"
	@echo "make fuzz         run the decoder fuzz target (FUZZ_SECONDS=60)"
	@echo "make kafka-up     start a KRaft broker on 127.0.0.1:\$$KAFKA_PORT (9092); BROKERS=3 for a cluster"
	@echo "make kafka-down   stop it"
	@echo "make registry-up  start a schema registry (Apicurio, Confluent API) on 127.0.0.1:\$$REGISTRY_PORT (8081)"
	@echo "make registry-down  stop it (registry-status: is it up?)"
	@echo "make demo         run the whole pipeline once (see README)"

# bin/ is shared by the variants: this stamp changes whenever the variant linking into bin/
# changes, so switching SANITIZE on or off relinks every program.
BIN_STAMP := build/.bin-variant
$(BIN_STAMP): FORCE
	@mkdir -p $(@D)
	@echo '$(CC) $(SANFLAGS) $(OPT)' | cmp -s - $@ || echo '$(CC) $(SANFLAGS) $(OPT)' > $@
.PHONY: FORCE
FORCE:

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c -o $@ $<

# Schemas and the region table are compiled into the library so daemons need no data path.
build/embedgen: tools/embedgen.c
	@mkdir -p $(@D)
	$(CC) $(CSTD) $(WARN) -O1 -o $@ $<

$(B)/embedded_data.c: build/embedgen $(EMBED_FILES)
	@mkdir -p $(@D)
	build/embedgen $(EMBED_FILES) > $@.tmp && mv $@.tmp $@

$(B)/embedded_data.o: $(B)/embedded_data.c
	$(CC) $(CSTD) $(OPT) $(SANFLAGS) -Icommon -c -o $@ $<

$(CORE_LIB): $(CORE_SRCS:%.c=$(B)/%.o) $(B)/embedded_data.o
	@rm -f $@
	ar rcs $@ $^

$(KAFKA_LIB): $(KAFKA_SRCS:%.c=$(B)/%.o)
	@rm -f $@
	ar rcs $@ $^

# One rule per program: its folder's objects + the library (NAME_LIBS: the core only).
# --as-needed: a shared library the program does not call is not loaded (ldd shows it).
outreach-sink_LIBS := $(CORE_LIB)
define PROGRAM_rule
$(1)_OBJS := $$(patsubst %.c,$(B)/%.o,$$(wildcard $$($(1)_DIR)/*.c))
$(1)_LIBS ?= $(LIB)
bin/$(1): $$($(1)_OBJS) $$($(1)_LIBS) $(TSAN_SHIM) $(BIN_STAMP)
	@mkdir -p bin
	$$(CC) $$(LDFLAGS) -Wl,--as-needed -o $$@ $$($(1)_OBJS) $(TSAN_SHIM) $$($(1)_LIBS) $$(LDLIBS)
endef
$(foreach p,$(PROGRAMS),$(eval $(call PROGRAM_rule,$(p))))

# Unit tests may include a program's logic file: they link every non-main object of the
# program folders so the logic is testable without main(). Of the tools below they link only
# the configuration table (config.c), which a unit test checks for every program.
NO_LOGIC_PROGRAMS := outreach-codec outreach-mock-broker outreach-dlq
LOGIC_OBJS = $(patsubst %.c,$(B)/%.o,$(filter-out %/main.c,$(foreach p,$(filter-out $(NO_LOGIC_PROGRAMS),$(PROGRAMS)),$(wildcard $($(p)_DIR)/*.c))) \
             $(foreach p,$(NO_LOGIC_PROGRAMS),$(wildcard $($(p)_DIR)/config.c)))

$(B)/tests/%: tests/unit/%.c $(LIB) $(LOGIC_OBJS) $(TSAN_SHIM)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LOGIC_OBJS) $(TSAN_SHIM) $(LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

$(B)/itests/%: tests/integration/%.c $(LIB) $(TSAN_SHIM)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(TSAN_SHIM) $(LIB) $(LDLIBS) $(shell pkg-config --libs cmocka)

-include $(shell find build -name '*.d' 2>/dev/null)

# ---- dependencies, broker ------------------------------------------------------------------
deps:
	@bash deploy/deps.sh

kafka-fetch:
	@bash deploy/kafka/kafka.sh fetch
kafka-up:
	@bash deploy/kafka/kafka.sh up $(if $(BROKERS),--brokers $(BROKERS))
kafka-down:
	@bash deploy/kafka/kafka.sh down
kafka-status:
	@bash deploy/kafka/kafka.sh status

# A schema registry (Apicurio, Confluent-compatible API) on 127.0.0.1:$(REGISTRY_PORT).
REGISTRY_PORT ?= 8081
registry-up:
	@REGISTRY_PORT=$(REGISTRY_PORT) bash deploy/registry/registry.sh up
registry-down:
	@REGISTRY_PORT=$(REGISTRY_PORT) bash deploy/registry/registry.sh down
registry-status:
	@REGISTRY_PORT=$(REGISTRY_PORT) bash deploy/registry/registry.sh status

# ---- tests ---------------------------------------------------------------------------------
unit-test: all
	@bash tests/run-unit.sh $(B)/tests

valgrind-test: all
	@bash tests/run-unit.sh --valgrind $(B)/tests

# ThreadSanitizer over the unit tests, in build/tsan (bin/ is left alone). The Debian
# librdkafka, avro-c and libcurl are not instrumented: races inside them are not seen, and
# librdkafka's own locking is invisible to TSan, so what it allocates and frees is ignored
# (tests/tsan/suppressions.txt); every access of ours is checked. The daemons' integration
# tests under TSan: make SANITIZE=thread all, then run the suites with the same
# TSAN_OPTIONS (bin/ then holds TSan builds until the next plain make).
tsan-test:
	$(MAKE) SANITIZE=thread $(patsubst tests/unit/%.c,build/tsan/tests/%,$(UNIT_SRCS))
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 suppressions=$(TSAN_SUPP) $(TSAN_OPTIONS)" \
	    bash tests/run-unit.sh build/tsan/tests

interop-test: all
	@bash tests/interop/run.sh

integration-test: all
	@bash tests/integration/run.sh

# Faults at random moments on a 3-broker cluster of its own (127.0.0.1:$(CHAOS_PORT)..+2):
# kill -9 of every daemon, broker restarts, partition leader kills, SIGSTOP, endpoint flaps.
# Short form (make test) by default; the long form: make chaos CHAOS_SECONDS=1800.
CHAOS_SECONDS ?= 100
CHAOS_PORT    ?= 29092
chaos: all
	@CHAOS_SECONDS=$(CHAOS_SECONDS) CHAOS_PORT=$(CHAOS_PORT) bash tests/chaos/run.sh

# The whole suite: plain build, then the same unit tests under ASan/UBSan, valgrind, the
# independent-implementation checks and the integration tests on a real broker.
test: deps
	$(MAKE) format-check
	$(MAKE) all
	$(MAKE) unit-test
	$(MAKE) SANITIZE=address,undefined unit-test
	$(MAKE) valgrind-test
	$(MAKE) interop-test
	$(MAKE) integration-test
	$(MAKE) chaos
	$(MAKE) fuzz FUZZ_SECONDS=20
	@echo "make test: all suites passed"

FUZZ_SECONDS ?= 60
fuzz:
	@bash tests/fuzz/run.sh $(FUZZ_SECONDS)

demo: deps
	$(MAKE) all
	@bash deploy/demo.sh $(if $(KAFKA),--kafka $(KAFKA))

bench: all $(B)/bench/codec_bench
	@bash tests/bench/run.sh

# The codec micro-benchmark: the library plus the producer's timestamp parser (record.o, which
# needs the fast JSON path, the UTF-8 check and the header aliases).
CODEC_BENCH_OBJS := $(B)/producers/record.o $(B)/producers/record_id.o \
                    $(B)/producers/record_csv.o $(B)/producers/jsonscan.o \
                    $(B)/producers/jsonscan_scan.o $(B)/producers/jsonscan_write.o \
                    $(B)/producers/input.o $(B)/producers/aliases.o
$(B)/bench/codec_bench: tests/bench/codec_bench.c $(LIB) $(CODEC_BENCH_OBJS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(CODEC_BENCH_OBJS) $(LIB) $(LDLIBS)


# ---- installation --------------------------------------------------------------------------
PREFIX      ?= /usr/local
BINDIR      ?= $(PREFIX)/bin
UNITDIR     ?= $(PREFIX)/lib/systemd/system
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
DOCDIR      ?= $(PREFIX)/share/doc/outreach
CONFDIR     := /etc/outreach
INSTALL_BINS := $(filter-out bin/outreach-mock-broker,$(BINS))

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SYSUSERSDIR) \
	    $(DESTDIR)$(TMPFILESDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(CONFDIR)
	install -m 0755 $(INSTALL_BINS) $(DESTDIR)$(BINDIR)/
	for f in deploy/systemd/*.service.in; do \
	    u=$(DESTDIR)$(UNITDIR)/$$(basename $$f .in); \
	    sed 's|@BINDIR@|$(BINDIR)|g' $$f >$$u.tmp && chmod 0644 $$u.tmp && mv $$u.tmp $$u || exit 1; \
	done
	install -m 0644 deploy/systemd/outreach.target $(DESTDIR)$(UNITDIR)/
	install -m 0644 deploy/systemd/outreach.sysusers $(DESTDIR)$(SYSUSERSDIR)/outreach.conf
	install -m 0644 deploy/systemd/outreach.tmpfiles $(DESTDIR)$(TMPFILESDIR)/outreach.conf
	for f in deploy/etc/*.conf; do \
	    t=$(DESTDIR)$(CONFDIR)/$$(basename $$f); \
	    if [ -e $$t ]; then install -m 0644 $$f $$t.example; else install -m 0644 $$f $$t; fi || exit 1; \
	done
	install -m 0644 docs/*.md $(DESTDIR)$(DOCDIR)/
	install -d $(DESTDIR)$(DOCDIR)/systemd-examples
	cp -R deploy/systemd/examples/. $(DESTDIR)$(DOCDIR)/systemd-examples/
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	    systemd-sysusers $(SYSUSERSDIR)/outreach.conf && \
	    systemd-tmpfiles --create $(TMPFILESDIR)/outreach.conf && systemctl daemon-reload; \
	else echo "install: now run systemd-sysusers, systemd-tmpfiles --create and systemctl daemon-reload on the target"; fi

uninstall:
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(notdir $(INSTALL_BINS)))
	rm -f $(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(basename $(wildcard deploy/systemd/*.service.in)))) \
	    $(DESTDIR)$(UNITDIR)/outreach.target $(DESTDIR)$(SYSUSERSDIR)/outreach.conf \
	    $(DESTDIR)$(TMPFILESDIR)/outreach.conf
	rm -rf $(DESTDIR)$(DOCDIR)
	@echo "uninstall: kept $(CONFDIR), /var/spool/outreach, /var/lib/outreach-* and the outreach user"

# Tracked files and new ones not yet added (git ls-files --others honours .gitignore).
C_FILES = $$(git ls-files --cached --others --exclude-standard '*.c' '*.h')
format:
	clang-format -i $(C_FILES)
format-check:
	clang-format --dry-run --Werror $(C_FILES)

clean:
	rm -rf build bin
