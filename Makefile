# libshim: see README.md.  `make` builds build/libshim.so; `make test` runs the suite.
CC       ?= cc
PREFIX   ?= /usr/local
BUILD    ?= build
WERROR   ?= -Werror
CFLAGS   ?= -O2 -g
CWARN    := -Wall -Wextra $(WERROR) -Wno-unused-parameter
SHIM_CFLAGS := -std=gnu11 -fPIC -fvisibility=hidden -ftls-model=initial-exec \
	-fno-strict-aliasing -D_GNU_SOURCE -I. $(CWARN)
LIBURING_A ?= $(firstword $(wildcard /usr/lib/$(shell gcc -dumpmachine 2>/dev/null)/liburing.a \
	/usr/lib/liburing.a /usr/local/lib/liburing.a))
# The one export list: intercept/libshim.map (scripts/check-exports reads it).
SHIM_MAP := intercept/libshim.map
# --sort-section=name: the small variables (.bss) before the big arrays
# (.bss.large, SHIM_LARGE in shim/shim.h), and the batch buffers' records
# (.data.~large) last in .data, so that a start-up writes few pages.
SHIM_LDFLAGS := -shared -Wl,--exclude-libs,ALL -Wl,-z,now -Wl,-z,relro \
	-Wl,--sort-section=name -Wl,--version-script=$(SHIM_MAP)

# The layers, top down: entry points, router, ring and batch, the spine.
SHIM_DIRS := intercept route ring batch shim
SHIM_SRCS := $(foreach d,$(SHIM_DIRS),$(wildcard $(d)/*.c))
SHIM_ASM  := $(wildcard intercept/*.S)
SHIM_OBJS := $(SHIM_SRCS:%.c=$(BUILD)/obj/%.o) $(SHIM_ASM:%.S=$(BUILD)/obj/%.o)
SHIM_HDRS := $(foreach d,$(SHIM_DIRS),$(wildcard $(d)/*.h))

TEST_SRCS := $(wildcard tests/c/*.c)
TEST_BINS := $(TEST_SRCS:tests/c/%.c=$(BUILD)/tests/%)
ASAN_BINS := $(TEST_SRCS:tests/c/%.c=$(BUILD)/tests-asan/%)
TEST_CFLAGS := -std=gnu11 -D_GNU_SOURCE -O1 -g -Itests/c -I. $(CWARN) -pthread
HELPERS := $(BUILD)/seccomp-run

.PHONY: all lib tests test-progs test test-quick test-valgrind test-matrix test-qemu bench bench-quick demo deb install clean check-exports lint

all: lib $(HELPERS) tests

lib: $(BUILD)/libshim.so

$(BUILD)/obj/%.o: %.c $(SHIM_HDRS) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SHIM_CFLAGS) -c $< -o $@

$(BUILD)/obj/%.o: %.S Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(SHIM_CFLAGS) -c $< -o $@

$(BUILD)/libshim.so: $(SHIM_OBJS) $(SHIM_MAP)
	@test -n "$(LIBURING_A)" || { echo "liburing.a not found: apt-get install liburing-dev" >&2; exit 1; }
	$(CC) $(CFLAGS) $(SHIM_LDFLAGS) -o $@ $(SHIM_OBJS) $(LIBURING_A) -ldl -pthread

$(BUILD)/seccomp-run: tests/helpers/seccomp-run.c
	@mkdir -p $(dir $@)
	$(CC) $(TEST_CFLAGS) -o $@ $< -lseccomp

tests: $(TEST_BINS) $(ASAN_BINS)

# The C tests alone (CI builds them with clang too).
test-progs: $(TEST_BINS)

# -MMD: a test that includes a part of the shim (judge_measure) is rebuilt
# when that part changes. The dependency files stay out of the test
# directories, whose every file the runner runs.
TEST_DEPS := $(BUILD)/deps
$(BUILD)/tests/%: tests/c/%.c $(wildcard tests/c/*.h)
	@mkdir -p $(dir $@) $(TEST_DEPS)/tests
	$(CC) $(TEST_CFLAGS) -MMD -MP -MF $(TEST_DEPS)/tests/$*.d -o $@ $< -lm

$(BUILD)/tests-asan/%: tests/c/%.c $(wildcard tests/c/*.h)
	@mkdir -p $(dir $@) $(TEST_DEPS)/tests-asan
	$(CC) $(TEST_CFLAGS) -MMD -MP -MF $(TEST_DEPS)/tests-asan/$*.d -fsanitize=address,undefined -fno-omit-frame-pointer -o $@ $< -lm

-include $(wildcard $(TEST_DEPS)/tests/*.d $(TEST_DEPS)/tests-asan/*.d)

check-exports: $(BUILD)/libshim.so
	@scripts/check-exports $(BUILD)/libshim.so $(SHIM_MAP) $(SHIM_OBJS)

# shellcheck, cppcheck, clang-tidy (.clang-tidy) and the man pages.
lint:
	scripts/lint

test: all check-exports
	scripts/run-tests

test-quick: all
	scripts/run-tests --quick

test-valgrind: all
	scripts/run-tests --valgrind

test-matrix: all
	scripts/test-matrix

test-qemu: all
	scripts/test-qemu

bench: lib
	$(MAKE) -C bench

bench-quick: lib
	$(MAKE) -C bench quick

demo: lib
	scripts/demo

install: lib
	install -d $(DESTDIR)$(PREFIX)/lib/libshim $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BUILD)/libshim.so $(DESTDIR)$(PREFIX)/lib/libshim/libshim.so
	install -m 0755 scripts/shim-run $(DESTDIR)$(PREFIX)/bin/shim-run
	install -m 0755 scripts/shim-stat $(DESTDIR)$(PREFIX)/bin/shim-stat
	install -d $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/share/man/man7
	install -m 0644 man/shim-run.1 man/shim-stat.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 man/libshim.7 $(DESTDIR)$(PREFIX)/share/man/man7/

# build/libshim_VERSION_ARCH.deb: the library under /usr/lib/<multiarch>/libshim/.
deb: lib
	scripts/mkdeb $(BUILD)

clean:
	rm -rf $(BUILD)
