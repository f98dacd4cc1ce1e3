# sanitize.mk - sanitizer and fuzzing builds (included by Makefile;
# docs/testing.md). Everything goes to build/, never over the normal build.

# ---- make test-asan: core, CLI and module with ASan + UBSan -------------
#
# clang's runtime: one shared library (ASan with UBSan inside) whose
# ASAN_OPTIONS log_path collects both kinds of report (gcc's libubsan
# ignores its options when libasan is loaded too). The module is built by
# apxs with CC=clang; httpd itself is not instrumented, so t/asan/run.sh
# starts it with the runtime in LD_PRELOAD (ASAN_RUNTIME).
ASAN_CC      ?= clang
ASAN_RUNTIME := $(shell $(ASAN_CC) -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null)
ASAN_DIR     := build/asan
ASAN_FLAGS   := -fsanitize=address -fsanitize=undefined \
                -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ASAN_CFLAGS  := -g -O1 $(ASAN_FLAGS)
ASAN_SO      := $(ASAN_DIR)/$(SRCDIR)/.libs/mod_ratelimit_waf.so
ASAN_UNIT    := $(ASAN_DIR)/run_unit
ASAN_CLI     := $(ASAN_DIR)/rlwafctl

$(ASAN_UNIT): $(UNIT_SRC) t/unit/unit_main.c $(CORE_SRC) $(ALL_HDR)
	@mkdir -p $(ASAN_DIR)
	$(ASAN_CC) $(ASAN_CFLAGS) $(WARN) -Werror $(APR_CFLAGS) $(INCS) -o $@ \
	  t/unit/unit_main.c $(UNIT_SRC) $(CORE_SRC) \
	  $(shell pkg-config --cflags --libs check) $(APR_LIBS) $(EXT_LIBS)

$(ASAN_CLI): $(CLI_SRC) $(CORE_SRC) $(ALL_HDR)
	@mkdir -p $(ASAN_DIR)
	$(ASAN_CC) $(ASAN_CFLAGS) $(WARN) -Werror $(APR_CFLAGS) $(INCS) -o $@ \
	  $(CLI_SRC) $(CORE_SRC) $(APR_LIBS) $(EXT_LIBS)

# apxs builds in the source directory: build in a copy of it, so the
# normal module's objects stay as they are. (clang warns about APR_OFFSETOF,
# RLW_FIELD in the directive table: that one warning is off.)
# No sanitizer flag at link time: libtool links with the gcc it was built
# for, which would add gcc's libasan; the module's __asan_* and __ubsan_*
# references are left to the runtime preloaded into httpd.
$(ASAN_SO): $(CORE_SRC) $(GLUE_SRC) $(ALL_HDR)
	@echo "  APXS  $(ASAN_SO) (ASan+UBSan)"
	@rm -rf $(ASAN_DIR)/$(SRCDIR) && mkdir -p $(ASAN_DIR)/$(SRCDIR)
	@cp $(CORE_SRC) $(GLUE_SRC) $(ALL_HDR) $(ASAN_DIR)/$(SRCDIR)/
	@cd $(ASAN_DIR)/$(SRCDIR) && $(APXS) -S CC=$(ASAN_CC) -c -o mod_ratelimit_waf.la \
	  $(foreach w,$(WARN) -Werror -Wno-null-pointer-subtraction $(ASAN_CFLAGS),-Wc,$(w)) \
	  $(notdir $(CORE_SRC) $(GLUE_SRC)) $(EXT_LIBS) > .build.log 2>&1 \
	  || { cat .build.log; exit 1; }

asan-build: $(ASAN_UNIT) $(ASAN_CLI) $(ASAN_SO)

# Builds all three, then runs the unit, Apache::Test and cluster
# suites against them; any sanitizer report fails it.
test-asan: asan-build
	ASAN_RUNTIME=$(ASAN_RUNTIME) bash t/asan/run.sh

# ---- make fuzz: libFuzzer targets (t/fuzz) --------------------------------
#
# One target per parser of untrusted bytes: t/fuzz/fuzz_<name>.c, linked
# with the whole core. Adding one is that file, a seed directory
# t/fuzz/corpus/<name>/ and its name here.
FUZZ_TARGETS ?= modsec addr duration record sealed event mcvalue csrf msc3 msc3rules json keyorder
FUZZ_SECONDS ?= 60
FUZZ_CC      ?= clang
FUZZ_DIR     := build/fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) \
                $(WARN) -Werror $(APR_CFLAGS) $(INCS)
FUZZ_OBJ     := $(patsubst $(SRCDIR)/%.c,$(FUZZ_DIR)/obj/%.o,$(CORE_SRC))
FUZZ_BINS    := $(addprefix $(FUZZ_DIR)/fuzz_,$(FUZZ_TARGETS))

$(FUZZ_DIR)/obj/%.o: $(SRCDIR)/%.c $(ALL_HDR)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/fuzz_%: t/fuzz/fuzz_%.c t/fuzz/fuzz.h $(FUZZ_OBJ)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJ) \
	  $(APR_LIBS) $(EXT_LIBS)

# (the objects are kept: make would otherwise delete them as intermediate)
.SECONDARY: $(FUZZ_OBJ)

fuzz-build: $(FUZZ_BINS)

# Runs each target for FUZZ_SECONDS (one after the other: one core each)
# from its seeds; prints executions and coverage per target and fails on
# any crash, leaving the input in build/fuzz/crashes/.
fuzz: fuzz-build
	bash t/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# What make test runs ("fuzz" suite of t/run-all.sh).
fuzz-smoke:
	$(MAKE) fuzz FUZZ_SECONDS=10

# (make clean does this too)
sanitize-clean:
	rm -rf build/asan build/fuzz
