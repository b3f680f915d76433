"""ps1_check's result-schema rules (tests/tools/ps1_schema_rules.py): what a .ps1 returns vs its schema.

Firing fixtures under tests/fixtures/ps1_check/schema/ (bad_*) mark every line the rules must
report with `# expect: <fragment>`; clean fixtures (good_*) must pass. The fixtures name the
fixture schema demo.json there (<case>.demo.ps1), so they do not change when a module's shape does.
"""

import pathlib
import shutil

import ps1_check
import ps1_fixtures
import ps1_schema_rules
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "ps1_check" / "schema"
BAD = sorted(FIXTURES.glob("bad_*.ps1"))
GOOD = sorted(FIXTURES.glob("good_*.ps1"))
SHIPPED = sorted((ROOT / "plugins" / "modules").glob("*.ps1"))
MINIMAL = ("$module.Result.state = @{ enabled = $true; count = 0; paths = @(); rules = @(); owner = $null; "
           "folders = @{} }\n")


@pytest.fixture
def demo_schemas(monkeypatch):
    monkeypatch.setattr(ps1_schema_rules, "SCHEMA_DIR", FIXTURES)


def _check(source: str, path) -> list:
    root = ps1_check.PARSER.parse(source.encode()).root_node
    assert not root.has_error
    return ps1_schema_rules.check(root, path)


def test_there_are_fixtures():
    assert len(BAD) >= 5 and len(GOOD) >= 3


@pytest.mark.usefixtures("demo_schemas")
@pytest.mark.parametrize("path", BAD, ids=lambda p: p.name)
def test_firing_fixture_reports_each_marked_line_and_nothing_else(path):
    ps1_fixtures.assert_reports_exactly_the_marked_lines(_check(path.read_text(encoding="utf-8"), path), path)


@pytest.mark.usefixtures("demo_schemas")
@pytest.mark.parametrize("path", GOOD, ids=lambda p: p.name)
def test_clean_fixture_passes(path):
    assert [str(p) for p in _check(path.read_text(encoding="utf-8"), path)] == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_shipped_modules_return_what_their_schema_says(path):
    assert [str(p) for p in _check(path.read_text(encoding="utf-8"), path)] == []


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_rules_see_each_shipped_modules_state(path):
    """Guard against a silent checker: every shipped module's state has keys the analysis knows."""
    root = ps1_check.PARSER.parse(path.read_bytes()).root_node
    analysis = ps1_schema_rules.Analysis(root)
    shapes = []
    for node in ps1_check._walk(root):
        if node.type == "command" and ps1_check._command_name(node) == "invoke-meddevhostmodule":
            block = ps1_check._unwrap(ps1_check._bind(node, ps1_schema_rules.GATHER_PARAMS)["gather"])
            shapes += analysis.block_outputs(next(c for c in block.children if c.type == "script_block"))
    shapes += [s for key, value, _node in ps1_schema_rules._result_assignments(root) if key == "state"
               for s in analysis.shapes(value)]
    if path.stem == "iis_log_scan":  # the state is built by its C# scanner: nothing to read statically
        return
    assert any(isinstance(s, ps1_schema_rules.Obj) and s.keys for s in shapes), path.name


def test_the_schema_is_named_by_the_last_part_of_the_file_name():
    assert ps1_schema_rules.schema_name(pathlib.Path("plugins/modules/lrm_patch.ps1")) == "lrm_patch"
    assert ps1_schema_rules.schema_name(pathlib.Path("x/bad_extra_key.demo.ps1")) == "demo"


def test_no_path_or_no_schema_means_no_findings(tmp_path):
    source = "$module.Result.state = @{ anything = 'x' }\n"
    assert _check(source, None) == []
    assert _check(source, tmp_path / "not_a_module.ps1") == []
    assert _check(source, ROOT / "plugins" / "module_utils" / "MeddevHost.psm1") == []


def test_a_shipped_module_without_schema_is_reported(monkeypatch, tmp_path):
    monkeypatch.setattr(ps1_schema_rules, "SCHEMA_DIR", tmp_path)
    problems = _check(MINIMAL, ROOT / "plugins" / "modules" / "firewall_policy.ps1")
    assert [str(p) for p in problems] == [
        "1:1: host module firewall_policy has no result schema (plugins/plugin_utils/host_schemas/"
        "firewall_policy.json, docs/host-contract.md)"]


def test_a_shipped_module_whose_state_cannot_be_found_is_reported(monkeypatch, tmp_path):
    modules = tmp_path / "plugins" / "modules"
    modules.mkdir(parents=True)
    shutil.copy(FIXTURES / "demo.json", tmp_path / "demo.json")
    monkeypatch.setattr(ps1_schema_rules, "ROOT", tmp_path)
    monkeypatch.setattr(ps1_schema_rules, "SCHEMA_DIR", tmp_path)
    problems = _check("$module.ExitJson()\n", modules / "demo.ps1")
    assert [p.message for p in problems] == [
        "no gather state found: expected Invoke-MeddevHostModule -Gather { ... } or $module.Result.state = ..."]
    assert _check(MINIMAL, modules / "demo.ps1") == []


@pytest.mark.usefixtures("demo_schemas")
def test_ps1_check_runs_the_rules_when_it_knows_the_file(tmp_path):
    """ps1_check.py FILE passes the path on, so `make pwsh-syntax` applies the schema."""
    path = FIXTURES / "bad_extra_key.demo.ps1"
    messages = [p.message for p in ps1_check.problems(path.read_bytes(), path)]
    assert any(m.startswith("state.error: the .ps1 returns this key") for m in messages)
    assert not any("result schema" in p.message for p in ps1_check.problems(path.read_bytes()))


@pytest.mark.usefixtures("demo_schemas")
def test_a_list_built_from_a_pipeline_of_one_string_is_unknown_not_reported():
    """Values the source cannot type are not guessed at (the runtime check covers them)."""
    source = MINIMAL.replace("paths = @()", "paths = (Get-Item -LiteralPath 'C:\\x').FullName")
    assert _check(source, FIXTURES / "x.demo.ps1") == []
