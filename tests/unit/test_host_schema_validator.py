"""The result-schema validator (plugins/plugin_utils/host_schema.py): the JSON Schema subset it claims."""

import pytest

from ansible_collections.meddev.hardening.plugins.plugin_utils import host_schema

LISTS = {
    "type": "object",
    "required": ["path", "process"],
    "additionalProperties": False,
    "properties": {"path": {"type": "array", "items": {"type": "string"}},
                   "process": {"type": "array", "items": {"type": "string"}}},
}


@pytest.mark.parametrize(("value", "wanted", "ok"), [
    ("x", "string", True), (1, "integer", True), (1.0, "integer", True), (1.5, "integer", False),
    (1, "number", True), (1.5, "number", True), (True, "boolean", True), (None, "null", True),
    ([], "array", True), ((), "array", True), ({}, "object", True),
    # A boolean is never an integer or a number (Python's True == 1 must not leak through).
    (True, "integer", False), (False, "number", False), (0, "boolean", False),
    ("1", "integer", False), ("", "null", False), (None, "string", False), ("ab", "array", False),
    ({}, "array", False), ([], "object", False), (float("nan"), "integer", False),
])
def test_types(value, wanted, ok):
    assert (host_schema.validate(value, {"type": wanted}) == []) is ok


def test_a_list_of_types_accepts_any_of_them():
    schema = {"type": ["string", "null"]}
    assert host_schema.validate(None, schema) == host_schema.validate("a", schema) == []
    assert host_schema.validate(3, schema) == ["state: expected string or null, got integer"]


def test_a_bare_string_where_a_list_belongs_is_named_with_its_path_not_iterated():
    errors = host_schema.validate({"path": "C:\\Illumina", "process": []}, LISTS, "state.exclusions")
    assert errors == ["state.exclusions.path: expected array, got string"]


def test_every_violation_is_listed_with_its_path():
    value = {"path": ["a", 7, None], "extra": 1}
    assert host_schema.validate(value, LISTS) == [
        "state.process: required key missing",
        "state.path[1]: expected string, got integer",
        "state.path[2]: expected string, got null",
        "state.extra: key not in the contract",
    ]


def test_additional_properties_schema_types_every_other_key():
    schema = {"type": "object", "properties": {"Web-IP-Security": {"type": "boolean"}},
              "additionalProperties": {"type": "boolean"}}
    assert host_schema.validate({"Web-IP-Security": True, "Web-Server": False}, schema) == []
    assert host_schema.validate({"Web-Server": "Installed"}, schema) == [
        "state.Web-Server: expected boolean, got string"]


def test_keys_that_are_not_plain_names_are_quoted():
    schema = {"type": "object", "additionalProperties": {"type": "object"}}
    assert host_schema.validate({"HKLM\\SOFTWARE\\X": 1}, schema) == [
        'state["HKLM\\\\SOFTWARE\\\\X"]: expected object, got integer']


def test_additional_properties_default_to_allowed():
    assert host_schema.validate({"anything": [1]}, {"type": "object"}) == []


def test_enum():
    schema = {"type": "string", "enum": ["Inbound", "Outbound"]}
    assert host_schema.validate("Inbound", schema) == []
    assert host_schema.validate("inbound", schema) == ['state: "inbound" is not one of "Inbound", "Outbound"']


def test_a_wrong_type_stops_there_instead_of_reporting_each_keyword():
    assert host_schema.validate("x", {"type": "object", "required": ["a"]}) == [
        "state: expected object, got string"]


def test_ref_to_defs():
    defs = {"state": LISTS, "apply_result": {"type": "object", "properties": {"state": {"$ref": "#/$defs/state"}}}}
    errors = host_schema.validate({"state": {"path": "x", "process": []}}, defs["apply_result"], "result", defs)
    assert errors == ["result.state.path: expected array, got string"]
    with pytest.raises(host_schema.SchemaError):
        host_schema.validate({}, {"$ref": "#/$defs/missing"}, "state", defs)


@pytest.mark.parametrize(("schema", "fragment"), [
    ({"type": "object", "patternProperties": {}}, "patternProperties: keyword not in the subset"),
    ({"type": "int"}, "unknown type 'int'"),
    ({"type": "object", "additionalProperties": True}, "false or a schema"),
    ({"type": "array", "items": {"type": "str"}}, "/items/type: unknown type 'str'"),
    ({"type": "object", "required": ["a"], "additionalProperties": False, "properties": {}}, "can never be present"),
    ({"$ref": "other.json#/x"}, "only #/$defs/<name>"),
    ("string", "a schema is an object"),
])
def test_schema_files_are_checked_for_the_subset(schema, fragment):
    assert fragment in " | ".join(host_schema.check_schema(schema, "", {}))


def test_apply_result_sets_ansible_keys_aside(monkeypatch):
    result = {"applied": 1, "changed": True, "invocation": {"module_args": {}}, "warnings": [],
              "_ansible_parsed": True, "reboot_required": "yes"}
    assert host_schema.check_apply_result("lrm_patch", {**result, "reboot_required": False}) == []
    assert host_schema.check_apply_result("lrm_patch", result) == [
        "result.reboot_required: expected boolean, got string"]
    assert host_schema.check_apply_result("firewall_policy", {"applied": 0, "reboot_required": False}) == [
        "result.reboot_required: key not in the contract"]


def test_unknown_module_has_no_schema():
    with pytest.raises(host_schema.SchemaError, match="no result schema"):
        host_schema.load("nope")
    with pytest.raises(host_schema.SchemaError):
        host_schema.load("../etc")


def test_contract_error_names_module_host_path_type_and_the_doc():
    problems = [f"state.rules[{i}]: expected object, got string" for i in range(7)]
    message = host_schema.contract_error("firewall_policy", "lrm-miseq-01", "a state", problems)
    assert message.startswith("firewall_policy on lrm-miseq-01: the host returned a state that does not match "
                              "the contract: state.rules[0]: expected object, got string; ")
    assert "state.rules[4]" in message and "state.rules[5]" not in message
    assert message.endswith("; and 2 more (docs/host-contract.md)")
