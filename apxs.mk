# apxs.mk - build rules for mod_ratelimit_waf (included by Makefile).
#
# The module is built and installed with apxs; the httpd-free core is also
# compiled on its own for the C unit tests (t/unit) and tools.

APXS      ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
SRCDIR    := mod_ratelimit_waf
CORE_SRC  := $(SRCDIR)/rlw_duration.c $(SRCDIR)/rlw_addr.c \
             $(SRCDIR)/rlw_window.c $(SRCDIR)/rlw_decision.c \
             $(SRCDIR)/rlw_log.c $(SRCDIR)/rlw_store_shm.c \
             $(SRCDIR)/rlw_crypto.c $(SRCDIR)/rlw_record.c \
             $(SRCDIR)/rlw_store_mc.c $(SRCDIR)/rlw_metrics.c \
             $(SRCDIR)/rlw_modsec.c $(SRCDIR)/rlw_event.c \
             $(SRCDIR)/rlw_csrf.c \
             $(SRCDIR)/rlw_evqueue.c \
             $(SRCDIR)/rlw_mcparse.c $(SRCDIR)/rlw_jpos.c \
             $(SRCDIR)/rlw_mcctr.c
GLUE_SRC  := $(SRCDIR)/mod_ratelimit_waf.c $(SRCDIR)/mod_rlw_config.c \
             $(SRCDIR)/mod_rlw_hooks.c $(SRCDIR)/mod_rlw_events.c \
             $(SRCDIR)/mod_rlw_status.c
MODULE_LA := $(SRCDIR)/mod_ratelimit_waf.la
MODULE_SO := $(SRCDIR)/.libs/mod_ratelimit_waf.so
WARN      := -Wall -Wextra -Wno-missing-field-initializers

APR_CFLAGS := $(shell apr-1-config --cflags --cppflags --includes 2>/dev/null)
APR_LIBS   := $(shell apr-1-config --link-ld --libs 2>/dev/null)
# libmemcached (cluster store) and libcrypto (pseudonyms, sealed records).
EXT_LIBS   := -lmemcachedutil -lmemcached -lcrypto -lpthread

$(MODULE_SO): $(CORE_SRC) $(GLUE_SRC) $(wildcard $(SRCDIR)/*.h)
	@echo "  APXS  $(MODULE_LA)"
	@cd $(SRCDIR) && $(APXS) -c -o mod_ratelimit_waf.la \
	  $(foreach w,$(WARN) -Werror,-Wc,$(w)) \
	  $(notdir $(CORE_SRC) $(GLUE_SRC)) $(EXT_LIBS) > .build.log 2>&1 \
	  || { cat .build.log; exit 1; }

# C unit tests of the core (libcheck).
UNIT_SRC := $(wildcard t/unit/test_*.c)
t/unit/run_unit: $(UNIT_SRC) t/unit/unit_main.c $(CORE_SRC) $(wildcard $(SRCDIR)/*.h)
	$(CC) -g -O1 $(WARN) -Werror $(APR_CFLAGS) -I$(SRCDIR) -o $@ \
	  t/unit/unit_main.c $(UNIT_SRC) $(CORE_SRC) \
	  $(shell pkg-config --cflags --libs check) $(APR_LIBS) $(EXT_LIBS)

# rlwafctl, the operator's command-line tool: the same core plus
# $(SRCDIR)/rlw_cmd_*.c, no httpd (docs/rlwafctl.md).
CLI_BIN := tools/rlwafctl
CLI_SRC := $(wildcard $(SRCDIR)/rlw_cmd_*.c)
$(CLI_BIN): $(CLI_SRC) $(CORE_SRC) $(wildcard $(SRCDIR)/*.h)
	$(CC) -g -O2 $(WARN) -Werror $(APR_CFLAGS) -I$(SRCDIR) -o $@ \
	  $(CLI_SRC) $(CORE_SRC) $(APR_LIBS) $(EXT_LIBS)

# bench/nodesim: N simulated cluster nodes (the core's memcached store, no
# httpd) for the scale measurements of docs/scale.md; bench/scale.sh.
NODESIM := bench/nodesim
$(NODESIM): bench/nodesim.c $(CORE_SRC) $(wildcard $(SRCDIR)/*.h)
	$(CC) -g -O2 $(WARN) -Werror $(APR_CFLAGS) -I$(SRCDIR) -o $@ \
	  bench/nodesim.c $(CORE_SRC) $(APR_LIBS) $(EXT_LIBS)
