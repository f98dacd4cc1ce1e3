# mod_ratelimit_waf - see README.md. Build rules live in apxs.mk.
include apxs.mk
include sanitize.mk

FORMAT_SRC = $(shell find $(SRCDIR) t bench -name '*.[ch]' -not -path 't/logs/*' -not -path 't/build/*' | sort)

.PHONY: format format-check all build install deps unit itest test status-test bridge-test cluster-test demo demo-stop bench compare soak crs-corpus nodesim clean cli cli-test \
        test-asan asan-build fuzz fuzz-build fuzz-smoke sanitize-clean deb deb-test

all: build

build: $(MODULE_SO) cli

# The command-line tool (tools/rlwafctl).
cli: $(CLI_BIN)

# Installs the module with apxs, its a2enmod files (ratelimit_waf.load and,
# unless an edited one is there already, ratelimit_waf.conf) and the two
# ModSecurity snippets in $(SHAREDIR), a directory nothing includes on its
# own: the "before" snippet must be included before the CRS and the other
# after it (README.md). Then: a2enmod ratelimit_waf. Also the operator's
# tools, rlwafctl and rlw-nft-bridge (with their man pages), in $(SBINDIR),
# the bridge's nftables ruleset in $(SHAREDIR), and the Prometheus rules and
# Grafana dashboard in $(SHAREDIR)/monitoring (docs/monitoring.md). The
# Debian package installs the same files (debian/*.install, docs/packaging.md).
SHAREDIR ?= /usr/share/mod_ratelimit_waf
DOCDIR   ?= /usr/share/doc/mod_ratelimit_waf
MODSDIR  ?= /etc/apache2/mods-available
SBINDIR  ?= /usr/local/sbin
MAN8DIR  ?= /usr/local/share/man/man8

install: build
	$(APXS) -i -n ratelimit_waf $(MODULE_LA)
	install -d $(MODSDIR) $(SHAREDIR) $(DOCDIR)
	install -m 0644 conf/ratelimit_waf.load $(MODSDIR)/
	@if [ -f $(MODSDIR)/ratelimit_waf.conf ] && \
	    ! cmp -s conf/ratelimit_waf.conf $(MODSDIR)/ratelimit_waf.conf; then \
	  install -m 0644 conf/ratelimit_waf.conf $(MODSDIR)/ratelimit_waf.conf.dist; \
	  echo "  kept your $(MODSDIR)/ratelimit_waf.conf; the new one is ratelimit_waf.conf.dist"; \
	else \
	  install -m 0644 conf/ratelimit_waf.conf $(MODSDIR)/; \
	fi
	install -m 0644 conf/modsecurity-ratelimit-waf-before.conf \
	  conf/modsecurity-ratelimit-waf.conf \
	  conf/modsecurity3-ratelimit-waf.conf $(SHAREDIR)/
	install -m 0755 tools/nftables-ratelimit-waf.nft $(SHAREDIR)/
	install -d $(SHAREDIR)/crs4-plugin
	install -m 0644 conf/crs4-plugin/ratelimit-waf-*.conf $(SHAREDIR)/crs4-plugin/
	install -m 0644 README.md docs/*.md $(DOCDIR)/
	install -d $(SBINDIR) $(MAN8DIR)
	install -m 0755 $(CLI_BIN) tools/rlw-nft-bridge $(SBINDIR)/
	install -m 0644 docs/rlwafctl.8 docs/rlw-nft-bridge.8 $(MAN8DIR)/
	install -d $(SHAREDIR)/monitoring/prometheus $(SHAREDIR)/monitoring/grafana
	install -m 0644 monitoring/prometheus/*.yml $(SHAREDIR)/monitoring/prometheus/
	install -m 0644 monitoring/grafana/*.json $(SHAREDIR)/monitoring/grafana/

# The Debian package libapache2-mod-ratelimit-waf_<version>_<arch>.deb,
# built with dpkg-buildpackage -us -uc -b in a copy of the tree, lands in
# build/deb/ with lintian's report (docs/packaging.md). deb-test installs
# it on this machine, bans through the system Apache and purges it (root).
deb:
	bash tools/build-deb.sh

deb-test:
	bash t/deb/test_deb.sh

# The C style is .clang-format's: format rewrites the sources, format-check
# (part of make test) fails on any file clang-format would change.
format:
	clang-format -i $(FORMAT_SRC)

format-check:
	@clang-format --dry-run -Werror $(FORMAT_SRC) && echo "  FORMAT ok ($(words $(FORMAT_SRC)) files)"

# Installs the Debian packages the build, tests and demo use (idempotent).
deps:
	bash tools/install-deps.sh

# rlwafctl against two private memcached servers (and, when the module is
# built, one private httpd node); needs root, memcached and curl.
cli-test: cli
	bash t/cli/test_cli.sh

unit: t/unit/run_unit
	t/unit/run_unit

itest: build
	bash t/run-apache-tests.sh

# The status page against a real httpd + CRS and in headless Chromium
# (as root; see t/status/test_status.sh and docs/status.md).
status-test: build
	bash t/status/test_status.sh

# Every suite (t/run-all.sh): unit, Apache::Test under event and prefork,
# cluster, status page + Chromium, rlwafctl, nftables bridge, a sample of
# the CRS regression corpora (t/crs/run.sh), the sanitizer run (make
# test-asan) and each fuzz target for 10 s (fuzz-smoke).
test: deps
	$(MAKE) format-check build t/unit/run_unit
	bash t/run-all.sh

bridge-test:
	bash t/bridge/test_bridge.sh

# The Prometheus rules and Grafana dashboard (monitoring/) against three real
# nodes and a real Prometheus (as root; docs/monitoring.md#tests).
.PHONY: monitoring-test
monitoring-test: build
	bash t/monitoring/test_monitoring.sh

cluster-test: build
	bash t/cluster/run.sh

demo: deps
	$(MAKE) build
	bash tools/demo.sh start

demo-stop:
	bash tools/demo.sh stop

bench: deps build
	bash bench/bench.sh

# The same attacker against ModSecurity's own ban recipe, mod_evasive,
# mod_qos, fail2ban and this module (bench/compare.sh, as root; QUICK=1 for
# a smoke run): docs/comparison.md.
compare: build
	bash tools/install-deps.sh --compare
	CMDLINE="make compare" bash bench/compare.sh

# The CRS regression corpora (go-ftw YAML in ../shared/crs), whole, against
# mod_security2 and the embedded engine: build/crs/, docs/crs-corpus.md.
crs-corpus: build
	bash t/crs/full.sh

# A long mixed-traffic run with graceful restarts (bench/soak.sh; not in
# CI): make soak SOAK_MINUTES=30 [SOAK_RESTART_SECS=300 SOAK_STORE=...].
SOAK_VARS := SOAK_MINUTES SOAK_RESTART_SECS SOAK_SAMPLE_SECS SOAK_STORE \
             SOAK_TABLE SOAK_PORT SOAK_MC_PORT SOAK_RATES
soak: build
	$(foreach v,$(SOAK_VARS),$(if $($(v)),$(v)='$($(v))')) bash bench/soak.sh

# The embedded engine's resource tests (bench/msc3-resources.sh, about 5
# minutes, not in make test): children's RSS over 100,000 mixed requests,
# ten graceful restarts, valgrind (docs/engine-modsecurity3.md).
.PHONY: msc3-resources
msc3-resources: build
	bash bench/msc3-resources.sh

# Simulated cluster nodes against memcached, no httpd (docs/scale.md).
nodesim: $(NODESIM)

clean:
	rm -rf $(SRCDIR)/*.la $(SRCDIR)/.libs $(SRCDIR)/.build.log
	find $(SRCDIR) \( -name "*.lo" -o -name "*.slo" -o -name "*.o" -o -name .libs \) -prune -exec rm -rf {} +
	rm -f t/unit/run_unit $(CLI_BIN) $(NODESIM)
	rm -rf build/asan build/fuzz
