#!/usr/bin/env bash
# Runs the molecule scenarios (extensions/molecule/<scenario>/, where molecule 26 looks in a
# collection) with the venv's tools (no activation needed).
#
#   molecule_scenarios.sh all       every simulated scenario, then molecule/windows: run when
#                                   WINRM_HOST is set, else its playbooks are syntax-checked, its
#                                   scripts ps1-checked, and it is reported SKIPPED (make molecule)
#   molecule_scenarios.sh windows   molecule/windows only; fails, saying why, when WINRM_HOST or
#                                   another required variable is unset (make molecule-windows)
#   molecule_scenarios.sh windows-if-configured
#                                   only the windows part of `all` (the tests use it)
#   molecule_scenarios.sh <scenario>
#                                   one simulated scenario, e.g. firewall (make molecule S=firewall)
#
# A skipped real-host scenario must never read as passed: molecule would print "Successful" for a
# scenario that ends early, so without WINRM_HOST molecule is not run for it at all.
set -euo pipefail

root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
# molecule runs ansible-playbook / ansible-config from PATH: the venv's, not whatever is installed.
export PATH="$root/.venv/bin:$PATH"
export ANSIBLE_CONFIG="${ANSIBLE_CONFIG:-$root/ansible.cfg}"
# MOLECULE_BIN: another molecule (the tests give a stand-in that records its arguments).
molecule="${MOLECULE_BIN:-$root/.venv/bin/molecule}"
required=(WINRM_HOST WINRM_USER WINRM_PASSWORD WINRM_MANAGEMENT_NETWORK)
doc="docs/windows-test-host.md"
scenarios="extensions/molecule"

missing_variables() {
    local name missing=()
    for name in "${required[@]}"; do
        [ -n "${!name:-}" ] || missing+=("$name")
    done
    echo "${missing[*]}"
}

# The windows playbooks, syntax-checked against a dummy inventory: a broken scenario fails CI
# even though no Windows host exists here. Nothing connects anywhere.
syntax_check_windows() {
    local playbook playbooks=()
    inventory="$(mktemp)"
    trap 'rm -f "$inventory"' EXIT
    printf 'windows-target ansible_connection=winrm ansible_host=unset.invalid\n' >"$inventory"
    for playbook in "$scenarios"/windows/*.yml; do
        [ "$(basename "$playbook")" = molecule.yml ] || playbooks+=("$playbook")
    done
    ansible-playbook --syntax-check -i "$inventory" "${playbooks[@]}" >/dev/null
    echo "molecule/windows: playbooks pass ansible-playbook --syntax-check"
    # Its PowerShell scripts get the rules the host modules get (parse, dynamic code, cmdlet
    # signatures, Windows PowerShell 5.1 language).
    "$root/.venv/bin/python" tests/tools/ps1_check.py "$scenarios"/windows/files/*.ps1 >/dev/null
    echo "molecule/windows: scripts pass tests/tools/ps1_check.py"
}

run_windows() {
    local missing
    missing="$(missing_variables)"
    if [ -n "$missing" ]; then
        echo "molecule/windows: FAILED — not set: $missing (see $doc)" >&2
        return 2
    fi
    "$molecule" test -s windows
}

windows_if_configured() {
    if [ -z "${WINRM_HOST:-}" ]; then
        syntax_check_windows
        echo "molecule/windows: SKIPPED — WINRM_HOST is not set (see $doc)"
        return 0
    fi
    run_windows
}

simulated() {
    local scenario
    for scenario in "$scenarios"/*/; do
        scenario="$(basename "$scenario")"
        [ "$scenario" = windows ] && continue
        "$molecule" test -s "$scenario"
    done
}

# One simulated scenario by name; an unknown name lists the known ones.
one() {
    if [ ! -f "$scenarios/$1/molecule.yml" ]; then
        echo "no molecule scenario '$1'; known: $(cd "$scenarios" && echo */ | tr -d /)" >&2
        return 2
    fi
    "$molecule" test -s "$1"
}

case "${1:-}" in
    # Two commands, not `a && b`: errexit is off inside the left side of &&.
    all)
        simulated
        windows_if_configured
        ;;
    windows) run_windows ;;
    windows-if-configured) windows_if_configured ;;
    "" | -*)
        echo "usage: $0 all|windows|windows-if-configured|<scenario>" >&2
        exit 2
        ;;
    *) one "$1" ;;
esac
