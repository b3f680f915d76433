"""baseline_skip: a skipped control is reported not_applicable with its reason, never read or changed;
bad skips fail on the controller, naming the entry."""

import pytest
from test_baseline_catalog import catalog

from ansible_collections.meddev.hardening.plugins.action.baseline import ActionModule
from ansible_collections.meddev.hardening.plugins.module_utils import baseline
from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

DRIFTED = {"secpol_inf": "[System Access]\nPasswordHistorySize = 0\nLockoutBadCount = 0\n",
           "registry": {}, "services": {"RemoteRegistry": {"StartType": "Automatic", "Status": "Running"}}}


def desired(skip, **overrides):
    return baseline.validate({"catalog": catalog(**overrides), "skip": skip}, "baseline_")


def test_a_skipped_control_is_not_applicable_with_its_reason_and_never_changed():
    plan = baseline.plan(desired([{"id": "BL-PW-HISTORY", "reason": "vendor site prep (SRC-LRM-3)"}]), DRIFTED)
    control = next(c for c in plan.controls if c.id == "BL-PW-HISTORY")
    assert (control.status, control.message) == ("not_applicable", "skipped: vendor site prep (SRC-LRM-3)")
    secpol = next(c for c in plan.changes if c.kind == "apply_secpol")
    assert "PasswordHistorySize" not in secpol.params["inf"] and "LockoutBadCount" in secpol.params["inf"]


def test_a_skipped_control_is_neither_gathered_nor_range_checked():
    skip = [{"id": "BL-SVC", "reason": "RemoteRegistry is the vendor's remote support"},
            {"id": "BL-AUTORUN-DRIVES", "reason": "installer CD"}]
    wanted = desired(skip, baseline_disabled_services=["WinRM"])  # refused unless skipped
    args = ActionModule.host_args(None, wanted)
    assert args["services"] == []
    assert "NoDriveTypeAutoRun" not in {r["name"] for r in args["registry_values"]}
    plan = baseline.plan(wanted, DRIFTED)
    assert [c.id for c in plan.controls if c.id.startswith("BL-SVC")] == ["BL-SVC"]
    assert not [c for c in plan.changes if c.kind == "disable_services"]


def test_no_skip_is_the_default():
    assert all(not e.skip for e in baseline.validate({"catalog": catalog()}).entries)


@pytest.mark.parametrize(("skip", "variable", "says"), [
    ({"id": "BL-PW-HISTORY", "reason": "x"}, "baseline_skip", "list"),
    (["BL-PW-HISTORY"], "baseline_skip[0]", "exactly the keys id and reason"),
    ([{"id": "BL-PW-HISTORY"}], "baseline_skip[0]", "exactly the keys id and reason"),
    ([{"id": "BL-PW-HISTORY", "reason": "x", "until": "2027"}], "baseline_skip[0]", "exactly the keys"),
    ([{"id": "BL-NOPE", "reason": "x"}], "baseline_skip[0].id", "'BL-NOPE' is not a control id of the catalog; "
                                                                "the ids are listed in docs/controls.md"),
    ([{"id": "BL-GUEST", "reason": "a"}, {"id": "BL-GUEST", "reason": "b"}], "baseline_skip[1].id",
     "more than once"),
    ([{"id": "BL-GUEST", "reason": " "}], "baseline_skip[0].reason", "non-empty"),
    ([{"id": "BL-GUEST", "reason": "x" * 201}], "baseline_skip[0].reason", "at most 200 printable"),
    ([{"id": "BL-GUEST", "reason": "line\nbreak"}], "baseline_skip[0].reason", "printable"),
    ([{"id": "BL-GUEST", "reason": 5}], "baseline_skip[0].reason", "text"),
])
def test_bad_skips_name_the_entry(skip, variable, says):
    with pytest.raises(ArgumentError) as error:
        desired(skip)
    assert error.value.variable == variable and says in str(error.value)


def test_a_200_character_reason_is_accepted():
    assert desired([{"id": "BL-GUEST", "reason": "x" * 200}]).entries
