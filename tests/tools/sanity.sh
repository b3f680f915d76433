#!/usr/bin/env bash
# ansible-test sanity on this collection, without Docker or PowerShell (see docs/testing.md).
# ansible-test needs the collection at ansible_collections/meddev/hardening and a git tree, so
# the tracked files are copied to a scratch folder. Its pip bootstrap script is replaced by
# tests/tools/get_pip_offline.py because the host it is downloaded from is not reachable here.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
bin="$top/.venv/bin"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
dest="$work/ansible_collections/meddev/hardening"
mkdir -p "$dest"
(cd "$top" && git ls-files -co --exclude-standard | grep -v '^collections/' | tar -cf - -T -) | tar -xf - -C "$dest"

pip_version=$("$bin/python" -c "import ansible_test, pathlib, re; p = pathlib.Path(ansible_test.__file__).parent / '_data/requirements/ansible-test.txt'; print(re.search(r'^pip==(\S+)', p.read_text(), re.M).group(1) if 'pip==' in p.read_text() else '24.2')" 2>/dev/null || echo 24.2)
cache="$HOME/.ansible/test/cache"
mkdir -p "$cache"
cp "$top/tests/tools/get_pip_offline.py" "$cache/get_pip_${pip_version//./_}.py"

cd "$dest"
git init -q && git add -A && git -c user.email=ci@invalid -c user.name=ci commit -qm sanity
# Skipped, and why (docs/testing.md): pslint and validate-modules need PowerShell (pwsh) to read
# the .ps1 files, and there is none here; shellcheck is not installable from PyPI. The .ps1
# argument specs are compared with the .py ones by tests/unit/test_host_contract.py instead.
"$bin/ansible-test" sanity --local --python 3.11 --color no \
  --skip-test pslint --skip-test shellcheck --skip-test validate-modules "$@"
