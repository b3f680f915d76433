"""MeddevLogScan.cs, the .ps1 log scan's hot loop: C# 5 only, and the same results as the twin.

Windows PowerShell 5.1 compiles it with the .NET Framework 4.x csc.exe (C# 5, warnings are errors).
Here mono's mcs compiles it with -langversion:5 -warnaserror, and mono runs it on the same bytes as
plugins/module_utils/iis_logs.py. Both need Debian's mono-mcs (which brings mono-runtime; `make test`
installs it); without it these tests fail rather than skip.
"""

import functools
import json
import pathlib
import random
import re
import shutil
import subprocess
import sys

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import iis_logs
from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema

ROOT = pathlib.Path(__file__).resolve().parents[2]
SOURCE = ROOT / "plugins/module_utils/MeddevLogScan.cs"
HARNESS = pathlib.Path(__file__).with_name("logscan_harness.cs")
PS1 = ROOT / "plugins/modules/iis_log_scan.ps1"
FIXTURE = ROOT / "tests/fixtures/iis/logs/u_ex261120.log"
NAMESPACE = "ansible_collections.meddev.hardening.plugins.module_utils.MeddevLogScan"
HEADER = b"#Fields: date time c-ip cs-method cs-uri-stem cs-uri-query sc-status\r\n"
MISSING_MONO = "Debian's mono-mcs is needed to compile and run the C# helper; `make test` installs it"


def needs_mcs(test):
    """Fails, never skips, without mono: a skipped compile would hide a C# error (as the chromium tests)."""
    def run(*args, **kwargs):
        if not shutil.which("mcs") or not shutil.which("mono"):
            pytest.fail(MISSING_MONO)
        return test(*args, **kwargs)
    return functools.wraps(test)(run)


def code_only(text: str) -> str:
    """The C# without comments, strings and character literals (so only syntax is looked at)."""
    return re.sub(r'//[^\n]*|/\*.*?\*/|"(\\.|[^"\\])*"|\'(\\.|[^\'\\])+\'', " ", text, flags=re.S)


def test_the_ps1_requires_the_util_by_its_namespace_and_uses_its_class():
    source = SOURCE.read_text(encoding="utf-8")
    ps1 = PS1.read_text(encoding="utf-8")
    assert f"#AnsibleRequires -CSharpUtil {NAMESPACE}\n" in ps1
    assert re.search(rf"^namespace {re.escape(NAMESPACE)}$", source, re.M)
    assert re.search(r"^    public class LogScan$", source, re.M)
    assert f"[{NAMESPACE}.LogScan]::new(" in ps1
    assert "StreamReader" not in ps1 and "ReadLine" not in source


RESOLVE = """
import sys
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder
_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible.executor.powershell.module_manifest import PSModuleDepFinder
finder = PSModuleDepFinder()
deps = finder.scan_module(open(sys.argv[2], "rb").read(),
                          fqn="ansible_collections.meddev.hardening.plugins.modules.iis_log_scan")
name = sys.argv[3] + ".cs"
print(name in deps, "Ansible.ModuleUtils.AddType.psm1" in deps, finder.scripts[name].path)
"""


def test_ansible_core_resolves_the_requires_line_to_this_file():
    """ansible-core's own dependency scan: what the controller sends to the host with the module."""
    done = subprocess.run([sys.executable, "-c", RESOLVE, str(ROOT / "collections"), str(PS1), NAMESPACE],
                          capture_output=True, text=True, check=False, timeout=120)
    assert done.returncode == 0, done.stderr
    found, add_type, path = done.stdout.split()
    assert found == add_type == "True"
    assert pathlib.Path(path).resolve() == SOURCE.resolve()


@pytest.mark.parametrize("newer, pattern", [
    ("string interpolation", r'\$"'),
    ("null-conditional", r"\?\.|\?\["),
    ("expression body or lambda", r"=>"),
    ("nameof", r"\bnameof\s*\("),
    ("out var / pattern matching", r"\bout\s+var\b|\bis\s+var\b|\bis\s+\w+\s+\w+\s*\)"),
    ("using static", r"\busing\s+static\b"),
    ("exception filter", r"\bcatch\s*\([^)]*\)\s*when\b"),
    ("auto-property initializer", r"\}\s*=\s*[^=]"),
    ("tuple type or deconstruction", r"\(\s*(string|int|long|bool|object)\s*,\s*(string|int|long|bool|object)\s*\)"
                                     r"|\bvar\s*\("),
    ("default literal / local function / throw expression", r"=\s*default\s*;|\?\?\s*throw\b"),
])
def test_no_syntax_newer_than_csharp_5(newer, pattern):
    assert not re.search(pattern, code_only(SOURCE.read_text(encoding="utf-8"))), newer


def test_the_log_is_opened_sharing_write_and_delete_and_read_in_chunks():
    code = SOURCE.read_text(encoding="utf-8")
    assert re.search(r"new FileStream\(path, FileMode\.Open, FileAccess\.Read,\s+FileShare\.ReadWrite \| "
                     r"FileShare\.Delete, ChunkBytes\)", code)
    assert "stream.Read(chunk, 0, chunk.Length)" in code


@pytest.fixture(scope="module")
def harness(tmp_path_factory):
    if not shutil.which("mcs") or not shutil.which("mono"):
        pytest.fail(MISSING_MONO)
    out = tmp_path_factory.mktemp("cs")
    exe = out / "harness.exe"
    build = subprocess.run(["mcs", "-langversion:5", "-warnaserror+", "-target:exe", f"-out:{exe}", str(SOURCE),
                            str(HARNESS)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr
    indicators = out / "indicators.tsv"
    indicators.write_text("".join(f"{i['id']}\t{i['pattern']}\n" for i in iis_logs.catalog()), encoding="utf-8")

    def run(files, since="", max_findings=500, max_line_bytes=65536):
        done = subprocess.run(["mono", str(exe), str(indicators), since, str(max_findings), str(max_line_bytes),
                               *map(str, files)], capture_output=True, text=True, check=False, timeout=120)
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)
    return run


def twin(files, since="", max_findings=500, max_line_bytes=65536):
    scan = iis_logs.Scan(iis_logs.catalog(), since, max_findings, max_line_bytes)
    for path in files:
        with open(path, "rb") as handle:
            scan.scan_file(str(path), handle)
    return scan.result()


@needs_mcs
def test_mcs_compiles_it_as_csharp_5_with_warnings_as_errors(tmp_path):
    build = subprocess.run(["mcs", "-langversion:5", "-warnaserror+", "-target:library",
                            f"-out:{tmp_path / 'scan.dll'}", str(SOURCE)], capture_output=True, text=True, check=False)
    assert build.returncode == 0, build.stdout + build.stderr


def line(*, ip="203.0.113.9", method="GET", stem="/x", query="-", when="2026-11-20 10:00:00", status="200") -> bytes:
    return f"{when} {ip} {method} {stem} {query} {status}\r\n".encode()


CASES = {
    "fixture": FIXTURE.read_bytes(),
    "non-ascii text and escapes": (HEADER
                                   + "2026-11-20 10:00:00 203.0.113.9 POST /bücher/shell.aspx ä=ö 200\r\n".encode()
                                   + line(stem="/%E2%82%ACwscript") + line(stem="/caf%C3%A9.asp", method="POST")),
    "invalid utf-8 in escapes": HEADER + line(method="POST", stem="/x%ff.asp") + line(stem="/a%e2%82", query="%zz%4"),
    "encoded whitespace": HEADER + line(stem="/cmd%1c/c") + line(stem="/cmd%c2%a0/c") + line(stem="/cmd%09/c"),
    "upper case and twice encoded": HEADER + line(stem="/%2557SCRIPT") + line(method="post", stem="/A.ASP"),
    "BOM, CR only, no final LF": (b"\xef\xbb\xbf" + HEADER + line(stem="/shell")[:-2] + b"\r\r\n"
                                  + line(stem="/shell")[:-2]),
    "header changes, tabs, duplicates": (HEADER + line(stem="/shell")
                                         + b"#Fields:  c-ip  c-ip\tdate cs-uri-stem\n"
                                         + b"1.2.3.4 9.9.9.9\tx /shell\n5.6.7.8 8.8.8.8 /shell\n"),
    "loopback and malformed": (HEADER + line(ip="127.0.0.1", stem="/shell") + line(ip="::1", stem="/shell")
                               + b"too few fields /shell\n" + b"\n \n"),
    "astral characters": HEADER + line(stem="/\U0001f600shell\uffff") + line(stem="/%F0%9F%98%80wscript"),
}


@needs_mcs
@pytest.mark.parametrize("name", sorted(CASES))
def test_same_result_as_the_twin(harness, tmp_path, name):
    log = tmp_path / "u_ex.log"
    log.write_bytes(CASES[name])
    scanned = harness([log])
    assert scanned == twin([log])
    # The .ps1 returns Result() as its state; ps1_schema_rules cannot read C#, so the schema is checked here.
    assert host_schema.check_state("iis_log_scan", scanned) == []


@needs_mcs
def test_same_counters_at_every_line_length_limit_and_across_chunks(harness, tmp_path):
    # Lines of 9..12 bytes against limits 10 and 11; a 200 KB line crosses three 64 KiB chunks.
    log = tmp_path / "u_ex.log"
    log.write_bytes(HEADER + b"".join(b"a" * n + b"\n" for n in range(8, 13)) + b"b" * 200_000 + b"\r\n"
                    + line(stem="/shell") + b"c" * 70_000)
    for limit in (10, 11, 100, 65536, 300_000):
        cs, py = harness([log], max_line_bytes=limit), twin([log], max_line_bytes=limit)
        assert cs == py, limit
        assert cs["stats"]["bytes"] == log.stat().st_size


@needs_mcs
def test_same_since_cap_and_truncation_over_several_files(harness, tmp_path):
    first, second = tmp_path / "u_ex1.log", tmp_path / "u_ex2.log"
    first.write_bytes(FIXTURE.read_bytes())
    second.write_bytes(HEADER + line(stem="/shell", when="2026-11-21 00:00:00") * 3)
    for kwargs in ({"since": "2026-11-20T22:41:20Z"}, {"max_findings": 2}, {"max_findings": 0}):
        assert harness([first, second], **kwargs) == twin([first, second], **kwargs), kwargs


@needs_mcs
def test_same_result_on_random_request_lines(harness, tmp_path):
    """Random requests built from the pieces attacks and escapes are made of (seeded, repeatable)."""
    pieces = ["/", "shell", "WScript", ".network", "%", "%2", "%25", "%77", "%2e", "%2E%2e", "+", "..", "\\",
              "cmd", " /c", "%20/c", ".asp", ".aspx?", "upload", ".csv", "?", "é", "%C3%A9", "%ff", "%e2%82",
              "powershell -", "certutil -urlcache", "%1c", "%0a", "A", "z", "-", "\U0001f600"]
    rng = random.Random(12)  # noqa: S311 - repeatable test data, not security
    lines = []
    for _line in range(3000):
        stem = "".join(rng.choice(pieces) for _piece in range(rng.randint(1, 6))).replace(" ", "+")
        query = "".join(rng.choice(pieces) for _piece in range(rng.randint(0, 3))).replace(" ", "+") or "-"
        lines.append(line(method=rng.choice(["GET", "POST", "put", "PUT"]), stem=stem, query=query))
    log = tmp_path / "u_ex.log"
    log.write_bytes(HEADER + b"".join(lines))
    cs, py = harness([log], max_findings=10000), twin([log], max_findings=10000)
    assert cs["stats"] == py["stats"] and cs["counts"] == py["counts"]
    assert cs["findings"] == py["findings"]
