# crmsync -- build, test and tooling.
#
#   make            the module (build/ngx_http_crmsync_module.so) and tools
#   make test       everything CI runs: packages, build, style, unit tests,
#                   the Test::Nginx suites (also against upstream nginx,
#                   dynamic and static, and under the real Test::Nginx when
#                   its lib/ is at hand), and the suites under valgrind,
#                   in parallel lanes (util/test-lanes)
#   make check      the same without valgrind
#   make demo       nginx with the module in front of the HubSpot sandbox
#
# NGINX_SRC=<dir> builds against another nginx source tree (an upstream
# release: its binary is built too and the suites run against it).

NGINX_SRC ?= /usr/share/nginx/src
BUILD     ?= build

CC        ?= cc
CLANG     ?= clang
CFLAGS    ?= -O2 -g
PURE_CFLAGS = $(CFLAGS) -Wall -Wextra -Werror -Isrc
PURE_LIBS = -lpcre2-8 -ljansson -lcrypto -lsqlite3
UNIT_CFLAGS = $(PURE_CFLAGS) -fsanitize=undefined -fno-sanitize-recover=all
FUZZ_CFLAGS = -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all -Isrc
FUZZ_TIME ?= 60

MODULE    = $(BUILD)/ngx_http_crmsync_module.so

# pure sources include no nginx header: unit tests, tools and fuzzers
# link them without nginx
PURE_SRCS := $(shell grep -L 'ngx_config\.h' src/*.c)
PURE_OBJS := $(patsubst src/%.c,$(BUILD)/pure/%.o,$(PURE_SRCS))
UNIT_OBJS := $(patsubst src/%.c,$(BUILD)/unit/pure/%.o,$(PURE_SRCS))
FUZZ_OBJS := $(patsubst src/%.c,$(BUILD)/fuzz/pure/%.o,$(PURE_SRCS))
HEADERS   := $(wildcard src/*.h)

UNIT_SRCS := $(wildcard t/unit/test_*.c)
UNIT_BINS := $(patsubst t/unit/%.c,$(BUILD)/unit/%,$(UNIT_SRCS))
FUZZ_SRCS := $(wildcard t/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst t/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
TOOLS     := $(if $(wildcard util/crmsync-phone.c),$(BUILD)/crmsync-phone)

.PHONY: all module tools deps style unit prove upstream real valgrind \
        check test fuzz bench demo clean

all: module tools

module:
	util/build-module "$(NGINX_SRC)" "$(BUILD)"

tools: $(TOOLS)

deps:
	util/deps

style:
	util/style-check

$(BUILD)/pure/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(PURE_CFLAGS) -c -o $@ $<

# objects only pattern rules name are intermediate: keep them built
.SECONDARY: $(UNIT_OBJS) $(FUZZ_OBJS)

# the unit tests run on objects of their own, built with UBSan: undefined
# behaviour (a memcpy() from NULL, an overflowing shift) fails a test
$(BUILD)/unit/pure/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -c -o $@ $<

$(BUILD)/unit/%: t/unit/%.c $(UNIT_OBJS) $(wildcard t/unit/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_OBJS) $(PURE_LIBS) -lcmocka

$(BUILD)/crmsync-phone: util/crmsync-phone.c $(PURE_OBJS)
	$(CC) $(PURE_CFLAGS) -o $@ $< $(PURE_OBJS) $(PURE_LIBS)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# $$t"; $$t; done

$(BUILD)/fuzz/pure/%.o: src/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CLANG) $(FUZZ_CFLAGS) -c -o $@ $<

$(BUILD)/fuzz/%: t/fuzz/%.c $(FUZZ_OBJS)
	$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_OBJS) $(PURE_LIBS)

# make fuzz FUZZ_TIME=600: each target for FUZZ_TIME seconds, seeds from
# t/fuzz/<name>/, new inputs kept in build/fuzz/corpus/<name>/
fuzz: $(FUZZ_BINS)
	@set -e; for f in $(FUZZ_BINS); do \
	    n=$$(basename $$f | sed 's/^fuzz_//'); \
	    mkdir -p $(BUILD)/fuzz/corpus/$$n; \
	    echo "# $$f for $(FUZZ_TIME)s"; \
	    $$f -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
	        $(BUILD)/fuzz/corpus/$$n t/fuzz/$$n; \
	done

# every suite in t/ (t/make/ included) on t/lib's harness
prove: module tools
	CRMSYNC_HARNESS=fallback util/run-tests

# the nginx suites against nginx 1.22.1's upstream source (Debian's orig
# tarball; nginx-dev has headers only): a dynamic build with its own
# binary, as NGINX_SRC=<tree> makes, and a static one (--add-module)
UPSTREAM_SRC = $(BUILD)/upstream-src/nginx-1.22.1

upstream:
	util/nginx-source $(BUILD)/upstream-src
	util/build-module $(UPSTREAM_SRC) $(BUILD)/upstream
	BUILD=$(BUILD)/upstream CRMSYNC_HARNESS=fallback util/run-tests t/*.t
	util/build-module $(UPSTREAM_SRC) $(BUILD)/upstream-static static
	BUILD=$(BUILD)/upstream-static CRMSYNC_HARNESS=fallback \
	    util/run-tests t/*.t

# the nginx suites under the real Test::Nginx (openresty/test-nginx, not
# packaged for Debian): its lib/ from TEST_NGINX_LIB or, in CI, from
# ../shared/test-nginx/lib beside the checkout; skipped when neither is
TEST_NGINX_LIB ?= $(wildcard ../shared/test-nginx/lib)

real: module
	@if [ -z "$(TEST_NGINX_LIB)" ]; then \
	    echo "real: no ../shared/test-nginx/lib, TEST_NGINX_LIB unset:" \
	         "the real Test::Nginx run is skipped"; \
	else \
	    echo "TEST_NGINX_LIB=$(TEST_NGINX_LIB) util/run-tests t/*.t"; \
	    TEST_NGINX_LIB="$(TEST_NGINX_LIB)" CRMSYNC_HARNESS=real \
	        util/run-tests t/*.t; \
	fi

# the nginx suites under memcheck (a block fails on an error that names
# crmsync), and the unit tests (any error or definite leak fails)
valgrind: module $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "# valgrind $$t"; \
	    valgrind -q --leak-check=full --errors-for-leak-kinds=definite \
	        --error-exitcode=9 $$t > /dev/null; done
	TEST_NGINX_USE_VALGRIND=1 CRMSYNC_HARNESS=fallback util/run-tests t/*.t \
	    t/sync/010-failures.t

check: deps all style unit prove real upstream

# what CI runs: check and valgrind, with the suites in three lanes side by
# side (util/test-lanes): about half the time on two cores
test: deps all style unit
	util/test-lanes

bench: module
	@set -e; for b in t/bench/*-bench; do echo "# $$b"; $$b; done

demo: deps all
	util/demo

clean:
	rm -rf $(BUILD) t/servroot*
