"""Defender exclusions planned without a host: compare like Defender, own only ours, say why not."""

import json

import pytest

from ansible_collections.meddev.hardening.plugins.module_utils import defender
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

RECORD = r"C:\ProgramData\meddev.hardening\defender_exclusions.json"
ENV = {"ProgramFiles": r"C:\Program Files", "ProgramData": r"C:\ProgramData"}


def desired(exclusions, **args):
    return defender.validate({"exclusions": exclusions, "owner_record": RECORD, **args}, "av_exclusions_")


def host(paths=(), owned=(), policy=(), **defender_state):
    return {"defender": {"available": True, "running_mode": "Normal", **defender_state},
            "exclusions": {"path": list(paths), "process": [], "extension": []},
            "policy": {"path": list(policy), "process": [], "extension": []}, "third_party": [],
            "owned_text": json.dumps({"exclusions": [{"kind": "path", "value": v} for v in owned]}),
            "environment": ENV}


def path(value, source="SRC-LRM-6"):
    return {"kind": "path", "value": value, "source": [source]}


@pytest.mark.parametrize("value", [r"C:\a;b", r"C:\$(calc)", r"C:\`whoami`", r"C:\it's", r"C:\50% off"])
def test_shell_metacharacters_are_literal_data(value):
    plan = defender.plan(desired([path(value)]), host())
    adds = [c for c in plan.changes if c.kind == "add"]
    assert [c.params["value"] for c in adds] == [value]


@pytest.mark.parametrize("value", ['C:\\a"b', "C:\\a\nb", "C:\\a|b", "relative\\x", ""])
def test_impossible_paths_are_refused_naming_the_variable(value):
    with pytest.raises(ArgumentError) as error:
        desired([path(value)])
    assert error.value.variable == "av_exclusions_exclusions[0].value"


def test_every_exclusion_needs_a_source():
    with pytest.raises(ArgumentError, match="vendor requirement"):
        desired([{"kind": "path", "value": r"C:\Illumina"}])


def test_compare_is_case_insensitive_after_env_expansion_and_trailing_backslash():
    plan = defender.plan(desired([path(r"%ProgramFiles%\iQ-WEBX\\")]), host(paths=[r"c:\program files\IQ-WEBX"]))
    assert plan.changes == ()
    assert {c.status for c in plan.controls} == {"compliant"}


def test_add_lists_the_source_and_records_ownership_first():
    plan = defender.plan(desired([path(r"C:\Illumina")]), host())
    assert [c.kind for c in plan.changes] == ["record_owned", "add"]
    record = json.loads(plan.changes[0].params["content"])
    assert record["exclusions"] == [{"kind": "path", "value": r"C:\Illumina"}]
    assert plan.facts["exclusions_changed"] == [{"kind": "path", "value": r"C:\Illumina", "action": "add",
                                                 "source": ["SRC-LRM-6"]}]


def test_exclusive_removes_only_what_we_added():
    plan = defender.plan(desired([], exclusive=True), host(paths=[r"C:\Ours", r"C:\Theirs"], owned=[r"C:\Ours"]))
    removed = [c.params["value"] for c in plan.changes if c.kind == "remove"]
    assert removed == [r"C:\Ours"]
    assert json.loads(plan.changes[-1].params["content"])["exclusions"] == []


def test_absent_never_removes_someone_elses_exclusion():
    plan = defender.plan(desired([path(r"C:\Illumina")], state="absent"), host(paths=[r"C:\Illumina"]))
    assert plan.changes == ()
    assert "not added by this collection" in plan.controls[-1].actual


def test_local_admin_merge_disabled_is_manual_not_a_useless_add():
    plan = defender.plan(desired([path(r"C:\Illumina")]), host(disable_local_admin_merge=True))
    assert plan.changes == ()
    control = next(c for c in plan.controls if c.id.startswith("AV-EXCL"))
    assert control.status == "manual" and "Group Policy" in control.message


def test_policy_exclusion_counts_as_present():
    plan = defender.plan(desired([path(r"C:\Illumina")]), host(policy=[r"C:\Illumina"]))
    assert plan.changes == () and "set by policy" in plan.controls[-1].actual


def test_passive_defender_and_third_party_av_are_manual_with_the_exact_list():
    gathered = host(running_mode="Passive")
    gathered["third_party"] = [{"name": "Kaspersky", "source": "service AVP"}]
    plan = defender.plan(desired([path(r"C:\Illumina")]), gathered)
    by_id = {c.id: c for c in plan.controls}
    assert plan.changes == ()
    assert by_id["AV-DEFENDER"].status == "manual" and "passive" in by_id["AV-DEFENDER"].message
    assert by_id["AV-THIRD-PARTY"].status == "manual" and r"path C:\Illumina" in by_id["AV-THIRD-PARTY"].message


def test_directview_is_refused_whatever_is_declared():
    plan = defender.plan(desired([path(r"C:\Illumina")], products=["carestream_directview"]), host())
    assert plan.changes == () and plan.controls[0].id == "AV-SUPPORTED" and "SRC-CS-6" in plan.controls[0].message


@pytest.mark.parametrize("value", [r"C:\Illumina", None, 5])
def test_a_state_list_that_is_not_a_list_is_refused_not_iterated(value):
    # A PowerShell function that returns one value through the pipeline hands over a bare string
    # (none: $null); iterating it would compare single characters with the declared exclusions.
    gathered = host()
    gathered["exclusions"]["path"] = value
    with pytest.raises(ArgumentError, match="must be a list of strings") as error:
        defender.plan(desired([path(r"C:\Illumina")]), gathered)
    assert error.value.variable == "host state exclusions.path"
    gathered = host()
    gathered["policy"]["process"] = value
    with pytest.raises(ArgumentError, match=r"host state policy\.process"):
        defender.plan(desired([path(r"C:\Illumina")]), gathered)


PLACEHOLDER = "N/A: Must be and administrator to view exclusions"


@pytest.mark.parametrize("gathered", [
    {**host(), "exclusions_hidden": True},
    host(paths=[PLACEHOLDER]),  # a placeholder that reached the planner is never an exclusion either
])
def test_exclusions_hidden_from_local_admins_are_manual_never_added(gathered):
    plan = defender.plan(desired([path(r"C:\Illumina")]), gathered)
    by_id = {c.id: c for c in plan.controls}
    assert plan.changes == ()
    exclusion = by_id[r"AV-EXCL-PATH:C:\Illumina"]
    assert exclusion.status == "manual" and "HideExclusionsFromLocalAdmins" in exclusion.message
    assert exclusion.actual == "unknown (hidden by policy)"
    assert by_id["AV-DEFENDER"].status == "manual"


def test_hidden_lists_still_count_policy_exclusions_and_remove_nothing():
    gathered = {**host(policy=[r"C:\Illumina"]), "exclusions_hidden": True,
                "owned_text": json.dumps({"exclusions": [{"kind": "path", "value": r"C:\Old"}]})}
    present = defender.plan(desired([path(r"C:\Illumina")], exclusive=True), gathered)
    assert present.changes == ()
    assert next(c for c in present.controls if c.id.startswith("AV-EXCL")).status == "compliant"
    absent = defender.plan(desired([path(r"C:\Old")], state="absent"), gathered)
    assert absent.changes == () and absent.controls[-1].status == "manual"


def test_running_mode_not_reported_is_manual_and_says_so():
    plan = defender.plan(desired([path(r"C:\Illumina")]), host(running_mode=None))
    control = next(c for c in plan.controls if c.id == "AV-DEFENDER")
    assert plan.changes == () and control.status == "manual" and "AMRunningMode" in control.message
