# mod_ratelimit_waf - see README.md. Build rules live in apxs.mk.
include apxs.mk

.PHONY: all build install deps unit itest test demo demo-stop bench clean

all: build

build: $(MODULE_SO)

install: build
	$(APXS) -i -n ratelimit_waf $(MODULE_LA)
	install -m 0644 conf/ratelimit_waf.load conf/ratelimit_waf.conf /etc/apache2/mods-available/
	install -d /etc/modsecurity
	install -m 0644 conf/modsecurity-ratelimit-waf-before.conf conf/modsecurity-ratelimit-waf.conf /usr/share/doc/ 2>/dev/null || true

# Installs the Debian packages the build, tests and demo use (idempotent).
deps:
	bash tools/install-deps.sh

unit: t/unit/run_unit
	t/unit/run_unit

itest: build
	bash t/run-apache-tests.sh

test: deps
	$(MAKE) build
	$(MAKE) unit
	$(MAKE) itest

demo: deps
	$(MAKE) build
	bash tools/demo.sh start

demo-stop:
	bash tools/demo.sh stop

bench: deps build
	bash bench/bench.sh

clean:
	rm -rf $(SRCDIR)/*.lo $(SRCDIR)/*.slo $(SRCDIR)/*.la $(SRCDIR)/.libs t/unit/run_unit
