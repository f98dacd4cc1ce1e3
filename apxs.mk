# apxs.mk - build rules for mod_ratelimit_waf (included by Makefile).
#
# The module is built and installed with apxs; the httpd-free core is also
# compiled on its own for the C unit tests (t/unit) and tools.

APXS      ?= $(shell command -v apxs 2>/dev/null || echo /usr/bin/apxs)
SRCDIR    := mod_ratelimit_waf
# Layers (docs/architecture.md): core/ (httpd-free logic), store/ (counter
# stores), engine/ (verdict sources), httpd/ (Apache glue), cli/ (rlwafctl).
# The verdict sources that need httpd (engine/mod_rlw_*.c) are glue, picked
# up by name: a new source is its file and its rlw_verdict_sources[] entry.
LAYERS    := core store engine httpd cli
INCS      := $(addprefix -I$(SRCDIR)/,$(LAYERS))
CORE_SRC  := $(addprefix $(SRCDIR)/core/,rlw_duration.c rlw_addr.c \
               rlw_window.c rlw_decision.c rlw_log.c rlw_crypto.c \
               rlw_record.c rlw_metrics.c rlw_event.c rlw_csrf.c \
               rlw_evqueue.c rlw_status.c rlw_time.c rlw_setup.c \
               rlw_subject.c rlw_json.c rlw_pairs.c rlw_keyorder.c) \
             $(addprefix $(SRCDIR)/store/,rlw_store_registry.c \
               rlw_shm_table.c rlw_shm_entry.c rlw_store_shm.c rlw_store_mc.c \
               rlw_mc_conn.c rlw_mc_count.c rlw_mc_ban.c rlw_mc_journal.c \
               rlw_mc_keyorder.c \
               rlw_mcrules.c rlw_mcparse.c rlw_jpos.c rlw_mcctr.c) \
             $(addprefix $(SRCDIR)/engine/,rlw_modsec.c rlw_msc3_api.c \
               rlw_msc3_msg.c rlw_msc3_rules.c)
GLUE_SRC  := $(addprefix $(SRCDIR)/httpd/,mod_ratelimit_waf.c \
               mod_rlw_config.c mod_rlw_resolve.c mod_rlw_hooks.c mod_rlw_events.c \
               mod_rlw_status.c mod_rlw_admin.c mod_rlw_setup.c \
               mod_rlw_keys.c) \
             $(sort $(wildcard $(SRCDIR)/engine/mod_rlw_*.c))
ALL_HDR   := $(wildcard $(addsuffix /*.h,$(addprefix $(SRCDIR)/,$(LAYERS))))
MODULE_LA := $(SRCDIR)/mod_ratelimit_waf.la
MODULE_SO := $(SRCDIR)/.libs/mod_ratelimit_waf.so
WARN      := -Wall -Wextra -Wno-missing-field-initializers

APR_CFLAGS := $(shell apr-1-config --cflags --cppflags --includes 2>/dev/null)
APR_LIBS   := $(shell apr-1-config --link-ld --libs 2>/dev/null)
# libmemcached (cluster store) and libcrypto (pseudonyms, sealed records).
EXT_LIBS   := -lmemcachedutil -lmemcached -lcrypto -lpthread

$(MODULE_SO): $(CORE_SRC) $(GLUE_SRC) $(ALL_HDR)
	@echo "  APXS  $(MODULE_LA)"
	@cd $(SRCDIR) && $(APXS) -c -o mod_ratelimit_waf.la \
	  $(foreach w,$(WARN) -Werror,-Wc,$(w)) $(addprefix -I,$(LAYERS)) \
	  $(patsubst $(SRCDIR)/%,%,$(CORE_SRC) $(GLUE_SRC)) $(EXT_LIBS) > .build.log 2>&1 \
	  || { cat .build.log; exit 1; }

# C unit tests of the core (libcheck).
# The suites, and what they share (json_leaves.c: a strict JSON parser).
UNIT_SRC := $(wildcard t/unit/test_*.c) t/unit/json_leaves.c
t/unit/run_unit: $(UNIT_SRC) t/unit/unit_main.c $(CORE_SRC) $(ALL_HDR)
	$(CC) -g -O1 $(WARN) -Werror $(APR_CFLAGS) $(INCS) -o $@ \
	  t/unit/unit_main.c $(UNIT_SRC) $(CORE_SRC) \
	  $(shell pkg-config --cflags --libs check) $(APR_LIBS) $(EXT_LIBS)

# rlwafctl, the operator's command-line tool: the same core plus
# $(SRCDIR)/cli/rlw_cmd_*.c, no httpd (docs/rlwafctl.md). CPPFLAGS, CFLAGS
# and LDFLAGS from the environment come last: the Debian package build
# passes its hardening flags there (docs/packaging.md).
CLI_BIN := tools/rlwafctl
CLI_SRC := $(wildcard $(SRCDIR)/cli/rlw_cmd_*.c)
$(CLI_BIN): $(CLI_SRC) $(CORE_SRC) $(ALL_HDR)
	$(CC) -g -O2 $(WARN) -Werror $(APR_CFLAGS) $(INCS) $(CPPFLAGS) $(CFLAGS) \
	  -o $@ $(CLI_SRC) $(CORE_SRC) $(APR_LIBS) $(EXT_LIBS) $(LDFLAGS)

# bench/nodesim: N simulated cluster nodes (the core's memcached store, no
# httpd) for the scale measurements of docs/scale.md; bench/scale.sh.
NODESIM := bench/nodesim
$(NODESIM): bench/nodesim.c bench/nodesim_report.c bench/nodesim.h \
	    $(CORE_SRC) $(ALL_HDR)
	$(CC) -g -O2 $(WARN) -Werror $(APR_CFLAGS) $(INCS) -o $@ \
	  bench/nodesim.c bench/nodesim_report.c $(CORE_SRC) $(APR_LIBS) $(EXT_LIBS)
