# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ps1_check rule set: the Ansible.Basic argument spec, validated as Ansible.Basic validates it.

Source of every rule: ansible-core 2.19 module_utils/csharp/Ansible.Basic.cs (specDefaults,
optionTypes, ValidateArgumentSpec, GetAliases, CheckArguments, CheckRequired*, CheckSubOption),
plus the ansible-test validate-modules checks on the same spec (no-log-needed,
parameter-invalid-elements, incompatible-choices, incompatible-default-type). The messages quote
Ansible.Basic's own wording where it has one, prefixed with the option path (spec option 'a' -> 'b').

Which hashtables: `$spec = @{...}` and the spec (and fragments) given to
[Ansible.Basic.AnsibleModule]::Create, literally or through variables assigned a literal.

Rejected, at every level of nested options:
- a key Ansible.Basic does not know (keys are case-sensitive: Type is not type);
- a value whose .NET type is not the one specDefaults names: choices, mutually_exclusive,
  required_if, required_one_of, required_together must be lists (a lone string is a String, not a
  List<object>: "did not match expected type"), aliases a list of strings or one string (a lone
  String is the List<String>'s entry type and is wrapped), deprecated_aliases hashtables, options
  and required_by a Hashtable (not [ordered]), no_log/required/apply_defaults/supports_check_mode
  booleans, removed_in_version/removed_from_collection strings, removed_at_date a [DateTime];
- type/elements that are not one of bool, dict, float, int, json, list, path, raw, sid, str (a
  script block is not a delegate); an option's entry that is not a hashtable;
- required = $true with a default ("required and default are mutually exclusive");
- elements without type list, sub options without type dict or list/elements dict (ignored);
- a choice or default the option's type converter cannot produce ('two' for int, 'maybe' for bool,
  @() for dict, @{} for list), a default not among the choices;
- required_* entries that are not lists (@(@('a', 'b')) is ONE flat list), required_if entries
  without 3 or 4 items or whose requirements are not a list, names that are not options (or
  aliases) of that level; deprecated_aliases entries without name, or without exactly one of
  version/date; an alias listed twice at one level;
- an option whose name looks secret without no_log (validate-modules no-log-needed).

PowerShell values as .NET sees them: 'a' is a System.String (not a list); 'a', 'b' and @('a') are
System.Object[]; @{} a Hashtable, [ordered]@{} an OrderedDictionary; $true a Boolean; 1 an Int32;
1.5 a Double. @(@('a', 'b')) is ONE flat array of two strings (@() enumerates what it holds): a
list of lists is written @(,@('a', 'b')) or @(@('a', 'b'), @('c', 'd')). A value known only at run
time (a variable, a command) is not reported unless its shape is provably wrong.
"""

from __future__ import annotations

import dataclasses
import re

from ps1_check import Problem, _argument_expressions, _text, _type_name, _walk

# specDefaults: key -> the .NET type ValidateArgumentSpec requires (None: anything).
SPEC_KEYS = {
    "apply_defaults": "System.Boolean",
    "aliases": "System.Collections.Generic.List`1[System.String]",
    "choices": "System.Collections.Generic.List`1[System.Object]",
    "default": None,
    "deprecated_aliases": "System.Collections.Generic.List`1[System.Collections.Hashtable]",
    "elements": None,
    "mutually_exclusive": "System.Collections.Generic.List`1[System.Object]",
    "no_log": "System.Boolean",
    "options": "System.Collections.Hashtable",
    "removed_in_version": "System.String",
    "removed_at_date": "System.DateTime",
    "removed_from_collection": "System.String",
    "required": "System.Boolean",
    "required_by": "System.Collections.Hashtable",
    "required_if": "System.Collections.Generic.List`1[System.Object]",
    "required_one_of": "System.Collections.Generic.List`1[System.Object]",
    "required_together": "System.Collections.Generic.List`1[System.Object]",
    "supports_check_mode": "System.Boolean",
    "type": None,
}
OPTION_TYPES = ("bool", "dict", "float", "int", "json", "list", "path", "raw", "sid", "str")
BOOLEANS = {"y", "yes", "on", "1", "true", "t", "1.0", "n", "no", "off", "0", "false", "f", "0.0"}
LIST_OF_LISTS = ("mutually_exclusive", "required_one_of", "required_together")
# ansible-test validate-modules is_potential_secret_option.
SECRET = re.compile(r"(?:pass(?!ive)|secret|token|key)", re.I)
NOT_SECRET_SUFFIXES = ("_count", "_type", "_alg", "_algorithm", "_timeout", "_name", "_comment", "_bits", "_id",
                       "_identifier", "_period", "_file", "_filename")
NOT_SECRET_PARTS = ("publickey", "public_key", "keyusage", "key_usage", "keyserver", "key_server", "keysize",
                    "key_size", "keyservice", "key_service", "pub_key", "pubkey", "keyboard", "secretary")

DOTNET = {"string": "System.String", "int": "System.Int32", "float": "System.Double", "bool": "System.Boolean",
          "array": "System.Object[]", "hashtable": "System.Collections.Hashtable", "datetime": "System.DateTime",
          "ordered": "System.Collections.Specialized.OrderedDictionary",
          "scriptblock": "System.Management.Automation.ScriptBlock", "null": "null"}
SPOKEN = {"string": "a string", "int": "an integer", "float": "a number", "bool": "a boolean", "array": "an array",
          "hashtable": "a hashtable", "ordered": "an [ordered] dictionary", "datetime": "a DateTime",
          "scriptblock": "a script block", "null": "$null"}
# Nodes that only carry the one expression inside them.
PASS_THROUGH = {"pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
                "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
                "array_literal_expression", "unary_expression", "parenthesized_expression", "argument_expression",
                "key_expression", "left_assignment_expression", "logical_argument_expression",
                "bitwise_argument_expression", "comparison_argument_expression", "additive_argument_expression",
                "multiplicative_argument_expression", "format_argument_expression", "range_argument_expression"}


@dataclasses.dataclass
class Value:
    """A PowerShell value as far as the source fixes it.

    kind: string, int, float, bool, null, array, hashtable, ordered, datetime, scriptblock, or
    unknown. data: the Python value of a scalar (None when only the kind is known), a list of
    Values for an array (None when its items are not known), a {key: Value} dict for a hashtable.
    element: the .NET element type of an array (object unless cast, e.g. [string[]]).
    """

    kind: str
    node: object
    data: object = None
    element: str = "System.Object"

    @property
    def dotnet(self) -> str:
        if self.kind == "array" and self.element != "System.Object":
            return self.element + "[]"
        return DOTNET.get(self.kind, "unknown")

    @property
    def spoken(self) -> str:
        return SPOKEN.get(self.kind, "a value known only at run time")

    def items(self):
        """The items of an array whose items are all known, else None."""
        return self.data if self.kind == "array" else None


# --- reading values -----------------------------------------------------------------------------

def _named(node) -> list:
    """The named children that carry code (comments can sit anywhere in a multi-line literal)."""
    return [c for c in node.named_children if c.type != "comment"]


def evaluate(node) -> Value:
    """The value an expression node has, as far as the source fixes it."""
    while node.type in PASS_THROUGH and len(_named(node)) == 1:
        node = _named(node)[0]
    reader = READERS.get(node.type)
    return reader(node) if reader else Value("unknown", node)


def _variable(node) -> Value:
    name = _text(node).lower()
    if name in ("$true", "$false"):
        return Value("bool", node, name == "$true")
    return Value("null", node) if name == "$null" else Value("unknown", node)


def _string(node) -> Value:
    inner = node.named_children[0] if node.named_child_count else node
    text = _text(node)
    if inner.type.startswith("verbatim"):
        body = text[2:-2] if text.startswith("@'") else text[1:-1]
        return Value("string", node, body.replace("''", "'") if not text.startswith("@'") else body.strip("\r\n"))
    if inner.named_child_count or "`" in text:  # "...$x..." or escapes: only the kind is known
        return Value("string", node)
    body = text[2:-2].strip("\r\n") if text.startswith('@"') else text[1:-1]
    return Value("string", node, body)


def _integer(text: str):
    text = text.lower()
    try:
        return int(text, 16) if text.startswith("0x") else int(text)
    except ValueError:
        return None  # a suffix such as kb or l: still an integer


def _real(text: str):
    try:
        return float(text)
    except ValueError:
        return None


def _unary(node) -> Value:
    operator = _text(node.children[0]) if node.children else ""
    operand = _named(node)[-1] if _named(node) else None
    if operand is None:
        return Value("unknown", node)
    if operator == "," and node.children[0].type == ",":
        return Value("array", node, [evaluate(operand)])
    if len(_named(node)) == 1 and operand.type == "cast_expression":
        return _cast(operand)
    inner = evaluate(operand)
    if operator in ("-", "+") and inner.kind in ("int", "float"):
        return Value(inner.kind, node, None if inner.data is None else (-inner.data if operator == "-" else inner.data))
    if operator.lower() in ("!", "-not"):
        return Value("bool", node)
    return Value("unknown", node)


# [type] casts whose result is known: type name -> (kind, kinds of operand whose value is kept).
SCALAR_CASTS = {"datetime": ("datetime", ()), "string": ("string", ("string",)), "int": ("int", ("int",)),
                "int32": ("int", ("int",)), "bool": ("bool", ("bool",)), "boolean": ("bool", ("bool",)),
                "ordered": ("ordered", ("hashtable",)), "hashtable": ("hashtable", ("hashtable",)),
                "collections.hashtable": ("hashtable", ("hashtable",))}
ARRAY_CASTS = {"array": "System.Object", "object[]": "System.Object", "string[]": "System.String",
               "int[]": "System.Int32", "hashtable[]": "System.Collections.Hashtable"}


def _cast(node) -> Value:
    type_literal = next((c for c in node.children if c.type == "type_literal"), None)
    name = _text(type_literal)[1:-1].strip().lower().replace(" ", "") if type_literal is not None else ""
    name = name.removeprefix("system.")
    inner = evaluate(_named(node)[-1])
    if name in SCALAR_CASTS:
        kind, kept = SCALAR_CASTS[name]
        return Value(kind, node, inner.data if inner.kind in kept else None)
    if name in ARRAY_CASTS or name.endswith("[]"):
        items = inner.items() if inner.kind == "array" else ([inner] if inner.kind != "unknown" else None)
        return Value("array", node, items, ARRAY_CASTS.get(name, name.removesuffix("[]")))
    return Value("unknown", node)


def _array_expression(node) -> Value:
    """@(...): each statement's output, enumerated (an array is spread, anything else is one item)."""
    body = node.child_by_field_name("statements")
    items = []
    for statement in [] if body is None else _named(body):
        if statement.type in ("empty_statement", "comment"):
            continue
        if statement.type != "pipeline" or any(c.type == "command" for c in _named(statement)):
            return Value("array", node)
        value = evaluate(statement)
        if value.kind == "unknown" or (value.kind == "array" and value.data is None):
            return Value("array", node)
        items.extend(value.data if value.kind == "array" else [value])
    return Value("array", node, items)


def _hash(node) -> Value:
    return Value("hashtable", node, _hash_entries(node))


def _hash_entries(node) -> dict:
    entries = {}
    body = next((c for c in node.children if c.type == "hash_literal_body"), None)
    for entry in [] if body is None else _named(body):
        if entry.type != "hash_entry":
            continue
        key = evaluate(_named(entry)[0])
        name = key.data if key.kind in ("string", "int") and key.data is not None else None
        if name is not None:
            entries[str(name)] = (evaluate(_named(entry)[-1]), _named(entry)[0])
    return entries


READERS = {
    "string_literal": _string,
    "simple_name": lambda node: Value("string", node, _text(node)),  # a bare hashtable key
    "integer_literal": lambda node: Value("int", node, _integer(_text(node))),
    "real_literal": lambda node: Value("float", node, _real(_text(node))),
    "variable": _variable,
    "array_literal_expression": lambda node: Value("array", node, [evaluate(c) for c in _named(node)]),
    "expression_with_unary_operator": _unary,
    "cast_expression": _cast,
    "array_expression": _array_expression,
    "hash_literal_expression": _hash,
    "script_block_expression": lambda node: Value("scriptblock", node),
}


def entries(value: Value) -> dict:
    """{key: Value} of a hashtable value."""
    return {k: v for k, (v, _key) in (value.data or {}).items()}


def to_python(value: Value):
    """The value as plain Python (str, int, float, bool, None, list, dict), kinds kept apart: a
    string stays a string. Unknown parts become the string '<runtime: ...>'."""
    if value.kind in ("string", "int", "float", "bool") and value.data is not None:
        return value.data
    if value.kind == "null":
        return None
    if value.kind == "array" and value.data is not None:
        return [to_python(v) for v in value.data]
    if value.kind in ("hashtable", "ordered") and value.data is not None:
        return {k: to_python(v) for k, v in entries(value).items()}
    return f"<runtime: {_text(value.node)[:40]}>"


# --- finding the specs --------------------------------------------------------------------------

def read_specs(root) -> list:
    """Every argument spec (Value of kind hashtable) the file builds: $spec = @{...}, and the spec
    and fragments given to [Ansible.Basic.AnsibleModule]::Create (literal or through variables)."""
    assigned, found = {}, []
    for node in _walk(root):
        if node.type == "assignment_expression" and _is_plain_assignment(node):
            name = _text(_inner(node.children[0])).lower().lstrip("$")
            assigned.setdefault(name, []).append(evaluate(node.child_by_field_name("value")))
    candidates = [v for v in assigned.get("spec", []) if v.kind == "hashtable"]
    for node in _walk(root):
        if node.type != "invokation_expression" or not _is_create(node):
            continue
        listing = next((c for c in node.children if c.type == "argument_list"), None)
        arguments = [] if listing is None else _argument_expressions(listing)
        for position, argument in enumerate(arguments[1:3], start=1):
            for value in _resolve(evaluate(argument), assigned):
                fragments = (value.items() or []) if position == 2 and value.kind == "array" else [value]
                candidates.extend(_resolve(f, assigned)[0] for f in fragments if _resolve(f, assigned))
    for value in candidates:
        if value.kind == "hashtable" and _span(value) not in {_span(f) for f in found}:
            found.append(value)
    return found


def _resolve(value: Value, assigned: dict, depth: int = 0) -> list:
    """The values a variable may hold ($spec = $other = @{...}), or [value] when it is not one."""
    node = _inner(value.node)
    if value.kind != "unknown" or node.type != "variable" or depth > 5:
        return [value]
    name = _text(node).lower().lstrip("$")
    return [r for v in assigned.get(name, []) for r in _resolve(v, assigned, depth + 1)]


def _span(value: Value) -> tuple:
    return value.node.start_byte, value.node.end_byte


def _inner(node):
    while node.type in PASS_THROUGH and len(_named(node)) == 1:
        node = _named(node)[0]
    return node


def _is_plain_assignment(node) -> bool:
    operator = next((c for c in node.children if c.type == "assignement_operator"), None)
    target = _inner(node.children[0]) if node.children else None
    return operator is not None and _text(operator) == "=" and target is not None and target.type == "variable"


def _is_create(node) -> bool:
    types = [_type_name(c) for c in node.children if c.type == "type_literal"]
    members = [_text(c).strip("'\"").lower() for c in node.children if c.type == "member_name"]
    return bool(types) and types[0] == "ansible.basic.ansiblemodule" and members[:1] == ["create"]


# --- validation ---------------------------------------------------------------------------------

def check(root, path) -> list:
    found = []
    for spec in read_specs(root):
        found.extend(_validate(spec, []))
    return sorted(found, key=lambda p: (p.line, p.col))


def _where(context) -> str:
    return "spec option " + " -> ".join(f"'{c}'" for c in context) if context else "spec"


def _problem(node, context, message) -> Problem:
    return Problem(node.start_point[0] + 1, node.start_point[1] + 1, f"{_where(context)}: {message}")


def _validate(spec: Value, context: list) -> list:
    """ValidateArgumentSpec on one level, then the option-level rules, then each sub option."""
    found = []
    table = spec.data or {}
    for key, (value, key_node) in table.items():
        if key not in SPEC_KEYS:
            hint = next((k for k in SPEC_KEYS if k.lower() == key.lower()), None)
            message = f"argument spec entry contains an invalid key '{key}', valid keys: {', '.join(SPEC_KEYS)}"
            if hint:
                message += f" (keys are case-sensitive: write '{hint}')"
            found.append(_problem(key_node, context, message))
            continue
        message = _shape_problem(key, value)
        if message:
            found.append(_problem(value.node, context, message))
    found.extend(_option_rules(table, context))
    options = table.get("options", (None, None))[0]
    if options is not None and options.kind in ("hashtable", "ordered"):
        for name, (meta, _key_node) in (options.data or {}).items():
            if meta.kind in ("hashtable", "ordered"):
                found.extend(_validate(meta, [*context, name]))
            elif meta.kind != "unknown":
                found.append(_problem(meta.node, [*context, name],
                                      f"must be a hashtable @{{ type = ... }}, got {meta.spoken} (Ansible.Basic casts "
                                      "each option's entry to IDictionary and fails)"))
    found.extend(_reference_rules(table, context))
    return found


def _shape_problem(key: str, value: Value) -> str | None:
    """The .NET type check of ValidateArgumentSpec, and the type/elements name check."""
    if key in ("type", "elements"):
        return _type_name_problem(key, value)
    expected = SPEC_KEYS[key]
    if expected is None or value.kind in ("unknown", "null"):
        return None
    if expected.startswith("System.Collections.Generic.List"):
        return _list_problem(key, value, expected)
    wanted = {"System.Boolean": "bool", "System.Collections.Hashtable": "hashtable", "System.String": "string",
              "System.DateTime": "datetime"}[expected]
    if value.kind == wanted:
        return None
    fix = {"bool": "$true or $false", "hashtable": "@{ ... } (not [ordered])", "string": "a quoted string",
           "datetime": "[DateTime]'YYYY-MM-DD'"}[wanted]
    return f"'{key}' must be {SPOKEN[wanted]}, got {value.spoken}: {_fails(key, expected, value)}; write {fix}"


def _fails(key, expected, value) -> str:
    return (f"Ansible.Basic fails every call with \"argument spec for '{key}' did not match expected type "
            f"{expected}: actual type {value.dotnet}\"")


def _list_problem(key, value, expected) -> str | None:
    entry = expected.split("[", 1)[1].rstrip("]")
    if key == "aliases" and value.kind == "string":
        return None  # a lone String is the List<String>'s entry type: Ansible.Basic wraps it in a list
    if key == "deprecated_aliases" and value.kind == "hashtable":
        return None  # likewise a lone Hashtable
    if value.kind != "array" or value.element not in ("System.Object", entry):
        if key in ("choices", "aliases"):
            items = _text(value.node) if value.kind in ("string", "int", "float", "bool") else "'a', 'b'"
            fix = f"{key} = @({items})"
            if value.kind == "array" and _text(_named(value.node)[-1]).startswith("@("):  # [string[]]@(...)
                fix = f"{key} = {_text(_named(value.node)[-1])}"
        elif key == "deprecated_aliases":
            fix = "deprecated_aliases = @(@{ name = 'a'; version = '2.0.0' })"
        else:
            fix = f"{key} = @(,@('a', 'b')) (a list of lists)"
        what = f"a {value.dotnet}" if value.kind == "array" else value.spoken
        return f"'{key}' must be a list, got {what}: {_fails(key, expected, value)}; write {fix}"
    items = value.items() or []
    wanted = {"System.String": "string", "System.Collections.Hashtable": "hashtable"}.get(entry)
    bad = [item for item in items if wanted and item.kind not in (wanted, "unknown")]
    if bad:
        return (f"'{key}' entry {_text(bad[0].node)[:30]} is {bad[0].spoken}, not {SPOKEN[wanted]}: Ansible.Basic "
                f"cannot cast it to {entry} and fails every call")
    return None


def _type_name_problem(key: str, value: Value) -> str | None:
    if value.kind == "null":
        return f"{key} is $null: Ansible.Basic fails reading it; write one of {', '.join(OPTION_TYPES)}"
    if value.kind == "string":
        if value.data is not None and value.data not in OPTION_TYPES:
            return f"{key} '{value.data}' is unsupported. Valid types are: {', '.join(OPTION_TYPES)}"
        return None
    if value.kind != "unknown":
        return f"{key} must either be a string or delegate, was: {value.dotnet}"
    return None


def _known(table, key):
    value = table.get(key, (None, None))[0]
    return None if value is None or value.kind in ("unknown", "null") else value


def _option_rules(table: dict, context: list) -> list:
    """Rules on one option's entry: required/default, elements, options, choices, default, no_log."""
    if not context:
        return []
    found = []
    option = context[-1]
    type_value = _known(table, "type")
    option_type = type_value.data if type_value is not None and type_value.kind == "string" else (
        "str" if "type" not in table else None)
    elements_value = _known(table, "elements")
    elements = elements_value.data if elements_value is not None and elements_value.kind == "string" else None
    default = _known(table, "default")
    required = _known(table, "required")
    if required is not None and required.data is True and default is not None:
        found.append(_problem(default.node, context, f"required and default are mutually exclusive for {option} "
                              "(Ansible.Basic fails reading the spec): drop the default or required = $true"))
    if elements_value is not None and option_type is not None and option_type != "list":
        found.append(_problem(elements_value.node, context,
                              f"defines elements as {_text(elements_value.node)} but it is valid only when value of "
                              f"parameter type is list (Ansible.Basic ignores it for type {option_type})"))
    options = _known(table, "options")
    if options is not None and options.data and option_type is not None and not (
            option_type == "dict" or (option_type == "list" and elements == "dict")):
        found.append(_problem(options.node, context,
                              "sub options are only applied when type is 'dict', or 'list' with elements 'dict' "
                              f"(Ansible.Basic ignores them for type {option_type})"))
    value_type = elements if option_type == "list" else option_type
    choices = _known(table, "choices")
    choice_items = choices.items() if choices is not None else None
    for choice in choice_items or []:
        problem = _conversion_problem(choice, value_type)
        if problem:
            found.append(_problem(choice.node, context, f"choice {_text(choice.node)} {problem}: no value can ever "
                                  "match it (Ansible.Basic converts the value to the type, then compares)"))
    if default is not None:
        found.extend(_default_rules(default, option_type, value_type, choice_items, context))
    if _needs_no_log(option, table, option_type):
        found.append(_problem(table[next(iter(table))][1], context,
                              f"Argument '{option}' in argument_spec could be a secret, though doesn't have `no_log` "
                              "set (ansible-test no-log-needed): add no_log = $true, or no_log = $false if it is "
                              "not a secret"))
    return found


def _default_rules(default, option_type, value_type, choice_items, context) -> list:
    found = []
    option = context[-1]
    values = [default]
    if option_type == "list":
        if default.kind in ("hashtable", "ordered", "bool", "float"):
            found.append(_problem(default.node, context, f"default {_text(default.node)[:30]} cannot be converted "
                                  f"to a list ({default.dotnet} cannot be converted to a list); write @(...)"))
            return found
        values = default.items() if default.kind == "array" else (
            [Value("string", default.node, s.strip()) for s in default.data.split(",")]
            if default.kind == "string" and default.data is not None else None)
    problem = _conversion_problem(default, option_type) if option_type != "list" else None
    if problem:
        found.append(_problem(default.node, context, f"default {_text(default.node)[:30]} {problem} (argument "
                              f"for {option} ... unable to convert to {option_type}, on every call without it)"))
        return found
    if not choice_items or values is None:
        return found
    allowed = {_as_text(c) for c in choice_items}
    if None in allowed:
        return found
    missing = [v for v in values if _as_text(v) is not None and _as_text(v).lower() not in {a.lower() for a in allowed}]
    if missing:
        choice_text = ", ".join(_as_text(c) for c in choice_items)
        found.append(_problem(default.node, context,
                              f"value of {option} must be {'one or more of' if option_type == 'list' else 'one of'}: "
                              f"{choice_text}. Got no match for: {', '.join(_as_text(m) for m in missing)} (the "
                              "default is not among the choices: every call without the option fails)"))
    return found


def _as_text(value: Value):
    """How Ansible.Basic compares a value with the choices: its ToString()."""
    if value.kind == "bool":
        return None if value.data is None else str(value.data)
    if value.kind in ("string", "int") and value.data is not None:
        return str(value.data)
    return None


def _conversion_problem(value: Value, option_type) -> str | None:
    """Why Ansible.Basic's converter for option_type cannot turn this literal into a value, else None."""
    if value.kind == "unknown" or (value.kind == "string" and value.data is None):
        return None
    rule = CONVERSIONS.get(option_type)
    return rule(value) if rule else None


def _to_int(value: Value) -> str | None:
    if value.kind == "int":
        return None
    if value.kind == "string" and re.fullmatch(r"[+-]?\d+", value.data.strip()):
        return None if str(int(value.data)) == value.data else f"becomes {int(value.data)} as an int"
    return f"is {value.spoken}, not an int"


def _to_bool(value: Value) -> str | None:
    if value.kind == "bool" or (value.kind in ("string", "int") and str(value.data).lower() in BOOLEANS):
        return None
    return f"is {value.spoken}, not a boolean Ansible.Basic accepts"


def _to_float(value: Value) -> str | None:
    if value.kind in ("int", "float"):
        return None
    if value.kind == "string":
        try:
            float(value.data)
        except ValueError:
            return "is not a number"
        return None
    return f"is {value.spoken}, not a number"


def _to_dict(value: Value) -> str | None:
    if value.kind in ("array", "int", "bool", "float"):
        return f"is {value.spoken}: {value.dotnet} cannot be converted to a dict"
    return None


CONVERSIONS = {"int": _to_int, "bool": _to_bool, "float": _to_float, "dict": _to_dict}


def _needs_no_log(option: str, table: dict, option_type) -> bool:
    """validate-modules no-log-needed: a secret-looking name, no no_log, not path/bool, no choices."""
    if "no_log" in table or "choices" in table or option_type in ("path", "bool") or not table:
        return False
    if not SECRET.search(option) or option.endswith(NOT_SECRET_SUFFIXES):
        return False
    return not any(part in option for part in NOT_SECRET_PARTS)


def _option_names(table: dict):
    """The options (and their aliases) a required_* entry of this level may name; None if unknown."""
    options = _known(table, "options")
    if options is None or options.data is None:
        return None
    names = set()
    for name, (meta, _key) in options.data.items():
        names.add(name)
        aliases = entries(meta).get("aliases") if meta.kind == "hashtable" else None
        listed = (aliases.items() or []) if aliases is not None and aliases.kind == "array" else [aliases]
        names.update(a.data for a in listed if a is not None and a.kind == "string" and a.data is not None)
    return names


def _duplicate_alias_rules(table: dict, context: list) -> list:
    """GetAliases adds every alias of a level to one Dictionary: an alias listed twice throws."""
    options = _known(table, "options")
    seen, found = {}, []
    for name, (meta, _key) in ((options.data or {}).items() if options is not None else []):
        aliases = entries(meta).get("aliases") if meta.kind == "hashtable" else None
        listed = (aliases.items() or []) if aliases is not None and aliases.kind == "array" else [aliases]
        for alias in listed:
            if alias is None or alias.kind != "string" or alias.data is None:
                continue
            if alias.data in seen:
                found.append(_problem(alias.node, [*context, name],
                                      f"alias '{alias.data}' is already an alias of '{seen[alias.data]}': "
                                      "Ansible.Basic fails every call (\"An item with the same key has already "
                                      "been added\")"))
            seen.setdefault(alias.data, name)
    return found


def _reference_rules(table: dict, context: list) -> list:
    """deprecated_aliases entries; required_if, mutually_exclusive, required_one_of, required_together,
    required_by: their shape, and that they name options of this level (or their aliases)."""
    found = _deprecated_alias_rules(table, context) + _duplicate_alias_rules(table, context)
    names = _option_names(table)
    for key in (*LIST_OF_LISTS, "required_if"):
        value = _known(table, key)
        checks = (value.items() or []) if value is not None and value.kind == "array" else []
        flat = [c for c in checks if c.kind not in ("array", "unknown")]
        if flat:
            shape = "@(,@('state', 'present', @('path')))" if key == "required_if" else "@(,@('a', 'b'))"
            found.append(_problem(value.node, context,
                                  f"'{key}' must be a list of lists, but its entry {_text(flat[0].node)[:30]} is "
                                  f"{flat[0].spoken}: Ansible.Basic casts each entry to IList and fails every call. "
                                  f"@(@(...)) flattens a single inner list: write {key} = {shape}"))
            continue
        for check in checks:
            found.extend(_check_entry(key, check, names, context))
    required_by = _known(table, "required_by")
    if required_by is not None and required_by.kind == "hashtable":
        for name, (needed, key_node) in (required_by.data or {}).items():
            found.extend(_unknown_name(key_node, Value("string", key_node, name), names, "required_by", context))
            wanted = needed.items() if needed.kind == "array" else ([needed] if needed.kind == "string" else [])
            for item in wanted or []:
                found.extend(_unknown_name(item.node, item, names, "required_by", context))
            if needed.kind not in ("array", "string", "unknown", "null"):
                found.append(_problem(needed.node, context, f"required_by '{name}' must be an option name or a list "
                                      f"of them, got {needed.spoken}"))
    return found


def _deprecated_alias_rules(table: dict, context: list) -> list:
    """GetAliases: each deprecated_aliases entry has a name and exactly one of version or date."""
    value = _known(table, "deprecated_aliases")
    listed = [value] if value is not None and value.kind == "hashtable" else (
        (value.items() or []) if value is not None and value.kind == "array" else [])
    found = []
    for entry in listed:
        if entry.kind != "hashtable" or entry.data is None:
            continue
        keys = entries(entry)
        message = None
        if "name" not in keys:
            message = "name is required in a deprecated_aliases entry"
        elif "version" not in keys and "date" not in keys:
            message = "One of version or date is required in a deprecated_aliases entry"
        elif "version" in keys and "date" in keys:
            message = "Only one of version or date is allowed in a deprecated_aliases entry"
        elif "date" in keys and keys["date"].kind not in ("datetime", "unknown"):
            message = "A deprecated_aliases date must be a DateTime object: write date = [DateTime]'YYYY-MM-DD'"
        if message:
            found.append(_problem(entry.node, context, f"{message} (Ansible.Basic fails every call)"))
    return found


def _check_entry(key, check: Value, names, context) -> list:
    items = check.items()
    if items is None:
        return []
    found = []
    if key == "required_if":
        if len(items) not in (3, 4):
            return [_problem(check.node, context, f"invalid required_if value count of {len(items)}, expecting 3 or 4 "
                             "entries: @('option', value, @('required', 'options')[, $true for any])")]
        requirements = items[2]
        if requirements.kind not in ("array", "unknown"):
            found.append(_problem(requirements.node, context,
                                  f"required_if: the third entry must be a list of option names, got "
                                  f"{requirements.spoken} (Ansible.Basic casts it to IList); "
                                  f"write @({_text(requirements.node)})"))
        if len(items) == 4 and items[3].kind not in ("bool", "unknown"):
            found.append(_problem(items[3].node, context, "required_if: the fourth entry must be $true or $false"))
        named = [items[0], *((requirements.items() or []) if requirements.kind == "array" else [])]
    else:
        named = items
    for item in named:
        found.extend(_unknown_name(item.node, item, names, key, context))
    return found


def _unknown_name(node, item: Value, names, key, context) -> list:
    if item.kind not in ("string", "unknown"):
        return [_problem(node, context, f"{key}: {_text(node)[:30]} is {item.spoken}, not an option name")]
    if names is not None and item.kind == "string" and item.data is not None and item.data not in names:
        return [_problem(node, context, f"{key} names '{item.data}', which is not an option of this spec "
                         f"({', '.join(sorted(names)) or 'none'})")]
    return []
