# meddev.hardening — the two commands: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
ANSIBLE_PLAYBOOK := $(BIN)/ansible-playbook
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(CURDIR)/$(BIN):$(PATH)

.PHONY: run test browser csharp lab-reset investigate unit lint pwsh-syntax sanity molecule molecule-windows integration build bench bench-logscan ee-context changelog clean

$(VENV)/.run-deps: requirements.txt constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev-deps: $(VENV)/.run-deps requirements-dev.txt
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt -c constraints.txt
	touch $@

## make run: drift check (shows drift), apply, drift check (must be clean); each run prints its summary,
## ends with its GATE PASSED/FAILED line and the path of its report.html (reports/, MEDDEV_REPORT_DIR).
REPORTS = $${MEDDEV_REPORT_DIR:-reports}
# The first drift check may fail on drift (a fresh lab is not compliant); an unreachable or failed host or a
# failed control stops `make run` before the apply (report.json's gate counts them).
ONLY_DRIFT = import json, sys; gate = json.load(open(sys.argv[1], encoding="utf-8"))["gate"]; \
  other = gate["unreachable_hosts"] + gate["failed_hosts"] + gate["failed_controls"]; \
  print("== drift check failed for more than drift (see GATE FAILED above): stopping ==" if other \
        else "== drift found, as expected before apply: continuing =="); sys.exit(1 if other else 0)
run: $(VENV)/.run-deps
	@test -d inventories/lab/.lab || $(MAKE) --no-print-directory lab-reset
	@echo "== 1/3 drift check before apply (drift is expected on a fresh lab) =="
	@$(ANSIBLE_PLAYBOOK) playbooks/drift.yml || $(BIN)/python -c '$(ONLY_DRIFT)' "$(REPORTS)/latest/report.json"
	@echo "== 2/3 apply =="
	$(ANSIBLE_PLAYBOOK) playbooks/site.yml
	@echo "== 3/3 drift check after apply (must be clean); the apply's report: $(REPORTS)/$$(readlink $(REPORTS)/latest)/report.html =="
	$(ANSIBLE_PLAYBOOK) playbooks/drift.yml

lab-reset: $(VENV)/.run-deps
	$(ANSIBLE_PLAYBOOK) playbooks/lab_reset.yml

## make investigate: look for signs of exploitation on the lab (read only); findings in the report.
investigate: $(VENV)/.run-deps
	$(ANSIBLE_PLAYBOOK) playbooks/investigate.yml

## make bench-logscan: log scan time and peak memory for 10 MB, 100 MB and 1 GB of IIS logs.
bench-logscan: $(VENV)/.run-deps
	$(BIN)/python tests/tools/logscan_bench.py 10 100 1024

## make test: every test: unit, lint, PowerShell syntax, sanity, molecule, integration, build.
test: $(VENV)/.dev-deps browser csharp
	$(MAKE) --no-print-directory lint pwsh-syntax sanity molecule
	$(BIN)/python -m pytest -q -n 2 tests/unit tests/integration tests/reliability

## The log scan's C# helper is compiled (C# 5, warnings as errors) and run by Debian's mono, installed only if missing.
csharp:
	@command -v mcs >/dev/null 2>&1 && command -v mono >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq mono-mcs; }

## The HTML report is checked in real headless Chromium (Debian's package), installed only if missing.
browser:
	@command -v chromium >/dev/null 2>&1 || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

unit: $(VENV)/.dev-deps
	$(BIN)/python -m pytest -q tests/unit

integration: $(VENV)/.dev-deps
	$(BIN)/python -m pytest -q tests/integration

lint: $(VENV)/.dev-deps
	$(BIN)/ruff check .
	$(BIN)/yamllint -s .
	ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/collections $(BIN)/ansible-lint --offline --profile production

pwsh-syntax: $(VENV)/.dev-deps
	$(BIN)/python tests/tools/ps1_check.py plugins/modules/*.ps1 plugins/module_utils/*.psm1

sanity: $(VENV)/.dev-deps
	tests/tools/sanity.sh

## make molecule: every simulated scenario (S=<scenario>: that one alone); molecule/windows only when WINRM_HOST is set, else SKIPPED.
molecule: $(VENV)/.dev-deps
	tests/tools/molecule_scenarios.sh $(or $(S),all)

## make molecule-windows: molecule/windows against the real host in WINRM_HOST (docs/windows-test-host.md).
molecule-windows: $(VENV)/.dev-deps
	tests/tools/molecule_scenarios.sh windows

build: $(VENV)/.run-deps
	mkdir -p build
	$(BIN)/ansible-galaxy collection build --force --output-path build .

## make bench: batched baseline vs one task per setting on BENCH_HOSTS simulated hosts (docs/performance.md).
BENCH_HOSTS ?= 200
BENCH_LATENCY_MS ?= 150
BENCH_FORKS ?= 50
bench: $(VENV)/.dev-deps
	$(BIN)/python tests/tools/bench.py --hosts $(BENCH_HOSTS) --latency-ms $(BENCH_LATENCY_MS) --forks $(BENCH_FORKS)

## make ee-context: the execution-environment build context (no container engine needed).
ee-context: build $(VENV)/.dev-deps
	cp build/meddev-hardening-$$($(BIN)/python -c "import yaml;print(yaml.safe_load(open('galaxy.yml'))['version'])").tar.gz build/meddev-hardening.tar.gz
	rm -rf build/ee-context
	$(BIN)/ansible-builder create --file execution-environment.yml --context build/ee-context --output-filename Containerfile

changelog: $(VENV)/.dev-deps
	$(BIN)/antsibull-changelog lint

clean:
	rm -rf inventories/lab/.lab .lab reports build
