# luci-app-dualnat: developer entry points. Everything runs from a local venv (.venv).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
EXAMPLE := examples/bypass-router
PYTEST_ARGS ?=

.PHONY: venv demo test lint unit lab bench ipk apk screenshots clean

$(BIN)/dualnat: backend/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e 'backend[test,service]'
	@touch $@

venv: $(BIN)/dualnat

## demo: plan, main-router settings and a dry-run apply for the example bypass router
demo: venv
	@tmp=$$(mktemp -d) && cp $(EXAMPLE)/* $$tmp/ && \
	echo "== dualnat plan (example: $(EXAMPLE))" && $(BIN)/dualnat --config-dir $$tmp plan && \
	echo && echo "== dualnat main-router --json" && $(BIN)/dualnat --config-dir $$tmp main-router --json && \
	echo && echo "== dualnat apply --dry-run" && $(BIN)/dualnat --config-dir $$tmp apply --dry-run; \
	rc=$$?; rm -rf $$tmp; exit $$rc

lint: venv
	$(BIN)/ruff check backend tests scripts
	$(BIN)/ruff format --check backend tests scripts

## test: the whole suite (unit, API, package, UI in headless Chromium, lab; the lab needs root
## and the UI tests Chromium: without them those tests skip, in CI they fail)
test: venv lint
	$(BIN)/python -m pytest -q $(PYTEST_ARGS) tests

unit: venv
	$(BIN)/python -m pytest -q tests/unit

## lab: build the network-namespace lab, run every scenario, print a before/after table (root)
lab: venv
	$(BIN)/python scripts/lab.py

## bench: speed and memory figures against their goals (best of N, with the machine's load):
## the core in-process (bench.py), the CLI as whole processes over 1 to 5,000 forwards
## (bench_cli.py) and the ubus daemon on a router of 1,000 forwards (bench_daemon.py). Time
## goals apply to this machine's Python, where they were set; the memory goals to CPythons
## built like OpenWrt's (scripts/openwrt_python.sh, built once into .cache/ from Debian's
## source tarballs: 3.11 as in 23.05/24.10, 3.13 as in 25.12; installs musl-tools if
## missing), whose CLI times are shown for comparison. A row that could not be measured is
## reported with its reason and fails the target.
bench: venv
	@$(BIN)/python scripts/bench.py; rc=$$?; missing=; \
	echo; $(BIN)/python scripts/bench_cli.py || rc=1; \
	echo; $(BIN)/python scripts/bench_daemon.py --goals time --label "this machine" || rc=1; \
	for v in 3.11:23.05/24.10 3.13:25.12; do \
		ver=$${v%%:*}; label="OpenWrt $${v#*:}"; echo; \
		if py=$$(scripts/openwrt_python.sh $$ver); then \
			$(BIN)/python scripts/bench_daemon.py --python "$$py" --goals memory --label "$$label" || rc=1; \
			echo; $(BIN)/python scripts/bench_cli.py --python "$$py" --label "$$label" --no-goals || rc=1; \
		else \
			why=$$(cat .cache/openwrt-python$$ver.failed 2>/dev/null || echo "scripts/openwrt_python.sh $$ver failed"); \
			echo "$$label (Python $$ver): NOT MEASURED: $$why"; \
			missing="$$missing$${missing:+; }$$label (Python $$ver): $$why"; rc=1; \
		fi; \
	done; \
	[ -z "$$missing" ] || echo "make bench: not measured: $$missing"; exit $$rc

## ipk: the OpenWrt packages (luci-app-dualnat and its translations) in dist/, without the SDK
ipk: venv
	$(BIN)/python scripts/build_ipk.py --out dist

## apk: the same packages for OpenWrt 25.12 (.apk, apk-tools v3) in dist/, without the SDK
apk: venv
	$(BIN)/python scripts/build_apk.py --out dist

## screenshots: run the UI tests and keep their screenshots in docs/screenshots
screenshots: venv
	DUALNAT_SCREENSHOT_DIR=docs/screenshots $(BIN)/python -m pytest -q tests/ui

clean:
	rm -rf $(VENV) dist build .pytest_cache .ruff_cache .hypothesis
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
