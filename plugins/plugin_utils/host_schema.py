# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The result schema of each host module, and a small validator for it (docs/host-contract.md).

One JSON file per module, ``host_schemas/<module>.json``: ``{"title", "$defs": {"state",
"apply_result"}}``. ``state`` is what ``phase: gather`` returns in ``state``; ``apply_result`` the
top-level keys of an apply result (``applied``, ``state``, module extras such as
``reboot_required``), after Ansible's own keys (``invocation``, ``warnings``, ``_ansible_*`` ...)
are set aside.

The validator understands a JSON Schema subset and nothing else (pure Python, no jsonschema):
``type`` (a name or a list of: object, array, string, integer, number, boolean, null; a boolean
is never an integer or a number, 2.0 is an integer), ``properties``, ``required``,
``additionalProperties`` (false or a schema), ``items``, ``enum``, ``description``, and ``$ref``
to ``#/$defs/<name>`` of the same file (the apply result's ``state`` is the gather ``state``).
Every violation is reported, each with a path: ``state.exclusions.path: expected array, got string``.
It never iterates a string, so a host that returns a bare string where a list belongs is named,
not read character by character.
"""

from __future__ import annotations

import functools
import json
import pathlib
import re

SCHEMA_DIR = pathlib.Path(__file__).resolve().parent / "host_schemas"
CONTRACT_DOC = "docs/host-contract.md"
TYPES = ("object", "array", "string", "integer", "number", "boolean", "null")
KEYWORDS = {"type", "properties", "required", "additionalProperties", "items", "enum", "description", "$ref"}
# Keys Ansible itself adds to a module result; they are not part of a module's contract.
FRAMEWORK_KEYS = {"invocation", "warnings", "deprecations", "exception", "module_stdout", "module_stderr", "rc"}
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+\Z")
# At run time a message names this many violations, then how many more there are.
SHOWN = 5
# The common case at once; subclasses (Ansible's tagged str/dict/list) through JSON_TYPES.
EXACT_TYPES = {type(None): "null", bool: "boolean", int: "integer", float: "number", str: "string", list: "array",
               tuple: "array", dict: "object"}
# Checked in this order: a bool is also an int in Python.
JSON_TYPES = ((bool, "boolean"), (int, "integer"), (float, "number"), (str, "string"), ((list, tuple), "array"),
              (dict, "object"))


class SchemaError(ValueError):
    """A schema file that uses more than the subset above, or names a $ref that does not exist."""


def type_name(value) -> str:
    """The JSON type of a Python value as json.loads produces it (bool before int: True is an int)."""
    name = EXACT_TYPES.get(type(value))
    if name is not None:
        return name
    return next((name for kind, name in JSON_TYPES if isinstance(value, kind)), type(value).__name__)


def _widened(value, actual: str, wanted) -> bool:
    """An integer is a number; a number with no fraction (2.0) is an integer."""
    if actual == "integer":
        return "number" in wanted
    return actual == "number" and "integer" in wanted and float(value).is_integer()


def child_path(path: str, key) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if PLAIN_KEY.match(str(key)) else f"{path}[{json.dumps(str(key))}]"


def _text(path) -> str:
    """Paths are built as (parent, key) pairs while validating and spelled out only for an error."""
    if isinstance(path, str):
        return path
    return child_path(_text(path[0]), path[1])


def validate(value, schema: dict, path: str = "state", defs: dict | None = None) -> list:
    """Every violation of ``schema`` by ``value``, as "<path>: <what is wrong>" strings."""
    errors = []
    _validate(value, schema, path, defs or {}, errors)
    return errors


def _validate(value, schema, path, defs, errors) -> None:
    ref = schema.get("$ref")
    if ref is not None:
        schema = _resolve(ref, defs)
    wanted = schema.get("type")
    if wanted is not None:
        wanted = (wanted,) if isinstance(wanted, str) else wanted
        actual = type_name(value)
        if actual not in wanted and not _widened(value, actual, wanted):
            errors.append(f"{_text(path)}: expected {' or '.join(wanted)}, got {actual}")
            return  # the value is not what the rest of the schema describes
    if "enum" in schema and value not in schema["enum"]:
        allowed = ", ".join(json.dumps(v) for v in schema["enum"])
        errors.append(f"{_text(path)}: {json.dumps(value, default=str)[:80]} is not one of {allowed}")
    if isinstance(value, dict):
        _validate_object(value, schema, path, defs, errors)
    elif isinstance(value, (list, tuple)) and "items" in schema:
        items = schema["items"]
        for index, item in enumerate(value):
            _validate(item, items, (path, index), defs, errors)


def _validate_object(value, schema, path, defs, errors) -> None:
    properties = schema.get("properties", {})
    for key in schema.get("required", ()):
        if key not in value:
            errors.append(f"{child_path(_text(path), key)}: required key missing")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        sub = properties.get(key)
        if sub is not None:
            _validate(item, sub, (path, key), defs, errors)
        elif extra is False:
            errors.append(f"{child_path(_text(path), key)}: key not in the contract")
        elif extra is not True:
            _validate(item, extra, (path, key), defs, errors)


def _resolve(ref: str, defs: dict) -> dict:
    name = ref.removeprefix("#/$defs/")
    if name == ref or name not in defs:
        raise SchemaError(f"$ref {ref!r}: only #/$defs/<name> of the same file is understood")
    return defs[name]


def check_schema(schema, path: str = "", defs: dict | None = None) -> list:
    """Problems of a schema itself: keywords outside the subset, unknown type names, bad $ref."""
    problems = []
    if not isinstance(schema, dict):
        return [f"{path or '/'}: a schema is an object, got {type_name(schema)}"]
    for keyword in sorted(set(schema) - KEYWORDS):
        problems.append(f"{path}/{keyword}: keyword not in the subset host_schema understands")
    wanted = schema.get("type", [])
    for name in [wanted] if isinstance(wanted, str) else wanted:
        if name not in TYPES:
            problems.append(f"{path}/type: unknown type {name!r}")
    if "$ref" in schema:
        try:
            _resolve(schema["$ref"], defs or {})
        except SchemaError as error:
            problems.append(f"{path}/$ref: {error}")
    for key, sub in schema.get("properties", {}).items():
        problems += check_schema(sub, f"{path}/properties/{key}", defs)
    for keyword in ("items", "additionalProperties"):
        if isinstance(schema.get(keyword), dict):
            problems += check_schema(schema[keyword], f"{path}/{keyword}", defs)
        elif keyword in schema and schema[keyword] is not False:
            problems.append(f"{path}/{keyword}: false or a schema")
    missing = set(schema.get("required", ())) - set(schema.get("properties", {}))
    if missing and schema.get("additionalProperties", True) is False:
        problems.append(f"{path}/required: {sorted(missing)} can never be present")
    return problems


@functools.cache
def load(module: str) -> dict:
    """The schema document of a host module (short name, e.g. firewall_policy)."""
    if not PLAIN_KEY.match(module):
        raise SchemaError(f"not a host module name: {module!r}")
    path = SCHEMA_DIR / f"{module}.json"
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SchemaError(f"no result schema for host module {module} ({path.name})") from None
    return document


def check_state(module: str, state) -> list:
    """Violations of the module's gather ``state`` schema."""
    defs = load(module)["$defs"]
    return validate(state, defs["state"], "state", defs)


def check_apply_result(module: str, result: dict) -> list:
    """Violations of the module's apply result schema; Ansible's own keys are set aside."""
    defs = load(module)["$defs"]
    own = {k: v for k, v in result.items() if k not in FRAMEWORK_KEYS and not str(k).startswith("_ansible")}
    return validate(own, defs["apply_result"], "result", defs)


def contract_error(module: str, host: str, what: str, problems: list) -> str:
    """The message a run fails with when a host's answer does not match the contract."""
    shown = "; ".join(problems[:SHOWN])
    more = f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else ""
    return (f"{module} on {host}: the host returned {what} that does not match the contract: "
            f"{shown}{more} ({CONTRACT_DOC})")
