# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ps1_check rule set: what a host module's .ps1 returns, against the module's result schema.

Which schema: plugins/plugin_utils/host_schemas/<name>.json, <name> being the last dot-separated
part of the file's stem (firewall_policy.ps1 -> firewall_policy; a test fixture
bad_extra_key.demo.ps1 -> demo). No path, or a file without a schema: no findings, except that a
shipped plugins/modules/*.ps1 must have one.

Reported:
- a key the .ps1 returns that the schema does not list (where the schema closes the object with
  "additionalProperties": false);
- a key the schema requires that the .ps1 never assigns (checked per hashtable, and only where
  every key of that hashtable is known);
- a value whose type is known from the source and is not one the schema allows (a literal string
  the schema's enum does not hold, too);
- a value under a computed key ($h[$name] = ...) that fits none of the object's schemas;
- a shipped module with no schema, or with no state found where the rules below look.

Where the state comes from: the script block given to Invoke-MeddevHostModule -Gather (its output),
and `$module.Result.state = ...`; `$module.Result.<key> = ...` is checked against the apply result.

Constructs understood (a value built any other way is unknown and never reported):
- @{ key = value } (keys: bare words, constant strings, numbers; anything else is a computed key),
  later `$h.key = v`, `$h['key'] = v`, `$h.a.b = v`, `$h[$k] = v` and `$list.Add(v)` / `$h.a.Add(v)`
  anywhere the variable is in scope (flow-insensitive: every assignment counts);
  `foreach ($k in 'A', 'B') { $h[$k] = v }` assigns the keys A and B;
- @() and @(... outputs ...) arrays (the outputs of if/else, foreach, try/catch inside), a, b lists,
  `,x`, [System.Collections.Generic.List[T]]@() and [System.Collections.ArrayList]@() with .Add(),
  .ToArray(); [T[]] casts are arrays of T;
- literals: 'text' and "text" strings, integers, reals, $true/$false, $null;
- casts: [bool]/[switch] boolean, [int]/[long]/[int32]/[int64]/[uint32]/[byte]... integer,
  [double]/[float]/[decimal] number, [string] string; [hashtable]/[ordered]/[pscustomobject] x is x;
- operators: -eq -ne -gt -ge -lt -le -like -notlike -match -notmatch -in -notin -contains
  -notcontains -is -isnot (and their c/i forms), -and -or -xor -not ! give a boolean (even though
  -eq on a collection filters it: the modules compare scalars); -f, -join, -replace a string; -split
  an array of strings; + starting with a string literal a string, + of integers an integer;
- $(...) and (...) are what they hold; a variable is every value assigned to it with = in its
  function (or in the script when the function never assigns it); parameters, loop variables and
  automatic variables ($_, $args ...) are unknown;
- a call to a function of the same file is what that function outputs (return x, and every
  statement that is an expression or a command, in if/else, loops and try/catch; .Add(...) and
  ++/-- statements output nothing);
- Test-Path is a boolean; Join-Path, Split-Path, ConvertTo-Json a string;
  [Convert]::ToBase64String, [IO.File]::ReadAllText, [BitConverter]::ToString, [string]::Join and
  ::Format, [Environment]::ExpandEnvironmentVariables a string, [Environment]::GetEnvironmentVariable
  a string or null; the methods ToString, ToLower(Invariant), ToUpper(Invariant), Trim*, Substring,
  Replace, PadLeft/PadRight a string, StartsWith, EndsWith, Contains, ContainsKey, Equals, IsMatch a
  boolean, Split an array of strings, .Count and .Length an integer.
"""

from __future__ import annotations

import json
import pathlib
import re

from ps1_check import (
    Param,
    Problem,
    _bind,
    _command_name,
    _constant_string,
    _text,
    _type_name,
    _unwrap,
    _walk,
    functions,
)

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCHEMA_DIR = ROOT / "plugins" / "plugin_utils" / "host_schemas"
GATHER_PARAMS = (Param("module", position=0), Param("gather", position=1), Param("apply", position=2))
AUTOMATIC = {"_", "psitem", "args", "input", "this", "matches", "error", "true", "false", "null", "env"}
BOOLEAN_OPERATORS = {f"-{p}{op}" for p in ("", "c", "i") for op in (
    "eq", "ne", "gt", "ge", "lt", "le", "like", "notlike", "match", "notmatch", "in", "notin", "contains",
    "notcontains")} | {"-is", "-isnot"}
STRING_OPERATORS = {"-join", "-replace", "-ireplace", "-creplace", "-f"}
SPLIT_OPERATORS = {"-split", "-isplit", "-csplit"}
LOGICAL_OPERATORS = {"-and", "-or", "-xor"}
OPERATOR_KINDS = {**dict.fromkeys(BOOLEAN_OPERATORS | LOGICAL_OPERATORS, "boolean"),
                  **dict.fromkeys(STRING_OPERATORS, "string")}
CASTS = {**dict.fromkeys(("bool", "boolean", "switch"), "boolean"),
         **dict.fromkeys(("int", "int16", "int32", "int64", "long", "uint16", "uint32", "uint64", "byte", "sbyte",
                          "short", "ushort", "uint", "ulong"), "integer"),
         **dict.fromkeys(("double", "float", "single", "decimal"), "number"),
         "string": "string"}
SAME_CASTS = {"hashtable", "ordered", "pscustomobject", "collections.hashtable", "management.automation.pscustomobject",
              "object", "psobject"}
LIST_TYPE = re.compile(r"^(?:collections\.generic\.list\[(.+)\]|collections\.arraylist)\Z")
COMMANDS = {"test-path": "boolean", "join-path": "string", "split-path": "string", "convertto-json": "string"}
STATIC = {("convert", "tobase64string"): ("string",), ("io.file", "readalltext"): ("string",),
          ("bitconverter", "tostring"): ("string",), ("string", "join"): ("string",), ("string", "format"): ("string",),
          ("environment", "expandenvironmentvariables"): ("string",),
          ("environment", "getenvironmentvariable"): ("string", "null")}
STRING_METHODS = {"tostring", "tolower", "toupper", "tolowerinvariant", "toupperinvariant", "trim", "trimstart",
                  "trimend", "substring", "replace", "padleft", "padright"}
BOOLEAN_METHODS = {"startswith", "endswith", "contains", "containskey", "equals", "ismatch"}
# Statements whose value PowerShell does not output.
SILENT_METHODS = {"add", "remove", "clear", "insert", "addrange"}
COMPOUND = {"if_statement", "try_statement", "foreach_statement", "for_statement", "while_statement", "do_statement",
            "switch_statement"}
PLAIN_KEY = re.compile(r"^[A-Za-z0-9_-]+\Z")


class Obj:
    """A hashtable the script builds: known keys, and values under computed keys."""

    kind = "object"

    def __init__(self, node):
        self.node, self.keys, self.key_nodes, self.dynamic = node, {}, {}, []

    def add(self, key, shapes, node):
        if key is not None:
            self.key_nodes.setdefault(key, node)
        _extend(self.dynamic if key is None else self.keys.setdefault(key, []), shapes)


class Arr:
    """An array (or a List filled with .Add): what its items can be."""

    kind = "array"

    def __init__(self, node, items=()):
        self.node, self.items = node, list(items)


class Scalar:
    def __init__(self, kind, node, value=None):
        self.kind, self.node, self.value = kind, node, value


def _extend(target: list, shapes) -> None:
    for shape in shapes:
        if all(shape is not known for known in target):
            target.append(shape)


def _cast_type(type_literal) -> str:
    """'[System.String[]]' -> 'string[]', '[Collections.Generic.List[object]]' -> 'collections.generic.list[object]'."""
    name = _text(type_literal).strip()[1:-1].strip().lower().replace(" ", "")
    return name.removeprefix("system.")


def _key(node):
    return node.start_byte, node.end_byte, node.type


def _name(variable) -> str:
    return _text(variable).lower().lstrip("$").strip("{}")


def _bare(name: str) -> str:
    """'script:x' -> 'x'."""
    return name.split(":", 1)[1] if name.startswith(("script:", "global:", "local:")) else name


def _functions_in(scope):
    """Nodes of the scope, not descending into functions defined inside it."""
    stack = list(reversed(scope.children))
    while stack:
        node = stack.pop()
        yield node
        if node.type != "function_statement":
            stack.extend(reversed(node.children))


def _enclosing_function(node):
    node = node.parent
    while node is not None and node.type != "function_statement":
        node = node.parent
    return node


def _plain_assignment(node):
    """(variable name, value node) for `$name = value`, else None."""
    if node.type != "assignment_expression":
        return None
    operator = next((c for c in node.children if c.type == "assignement_operator"), None)
    target = _unwrap(node.children[0])
    if operator is None or _text(operator) != "=" or target.type != "variable":
        return None
    return _name(target), node.child_by_field_name("value")


def _top_statements(script_block):
    """The statement list of a { } block's body (not of the blocks nested in it)."""
    body = next((c for c in script_block.children if c.type == "script_block_body"), None)
    return next((c for c in body.children if c.type == "statement_list"), None) if body is not None else None


def _statement_blocks(node):
    """The statement lists directly inside a compound statement (if/else, loops, try/catch)."""
    for child in node.children:
        if child.type in {"statement_block", "elseif_clauses", "elseif_clause", "else_clause", "catch_clauses",
                          "catch_clause", "finally_clause", "switch_body", "switch_clauses", "switch_clause"}:
            if child.type == "statement_block":
                yield from (c for c in child.children if c.type == "statement_list")
            else:
                yield from _statement_blocks(child)


class Analysis:
    """Shapes of the values in one file's syntax tree."""

    def __init__(self, root):
        self.root = root
        self.functions = functions(root)
        self.bound, self.assigned = {}, {}
        for scope in [root, *self.functions.values()]:
            bound, assigned = set(), set()
            for node in _functions_in(scope) if scope is root else _functions_in(self._body(scope)):
                if node.type in {"script_parameter", "foreach_statement", "for_statement"}:
                    bound.update(_name(v) for v in node.children if v.type == "variable")
                plain = _plain_assignment(node)
                if plain and _bare(plain[0]) == plain[0]:
                    assigned.add(plain[0])
            if scope is not root:
                for declaration in (c for c in scope.children if c.type == "function_parameter_declaration"):
                    bound.update(_name(v) for v in _walk(declaration) if v.type == "variable")
            self.bound[_key(scope)], self.assigned[_key(scope)] = bound, assigned
        self.made, self.variables, self.outputs = {}, {}, {}
        self.sites = [(node, chain) for node in _walk(root)
                      if node.type in {"assignment_expression", "invokation_expression"}
                      for chain in [self.chain(node)] if chain is not None]

    @staticmethod
    def _body(function):
        return next((c for c in function.children if c.type == "script_block"), function)

    # -- variables -----------------------------------------------------------------------------

    def scope_of(self, name: str, at):
        """The function whose variable `name` is at `at`, or the script (root)."""
        if name.startswith(("script:", "global:")):
            return self.root
        function = _enclosing_function(at)
        while function is not None:
            key = _key(function)
            if name in self.assigned.get(key, ()) or name in self.bound.get(key, ()):
                return function
            function = _enclosing_function(function)
        return self.root

    def variable(self, name: str, scope) -> list:
        bare = _bare(name)
        if bare in AUTOMATIC or name.startswith("env:") or bare in self.bound.get(_key(scope), ()):
            return []
        key = (_key(scope), bare)
        if key in self.variables:
            return self.variables[key]
        shapes = self.variables[key] = []  # seen while being built: the partial answer, never a loop
        nodes = _functions_in(scope) if scope is self.root else _functions_in(self._body(scope))
        for node in nodes:
            plain = _plain_assignment(node)
            if plain and _bare(plain[0]) == bare:
                _extend(shapes, self.shapes(plain[1]))
        for site, (target, steps) in self.sites:
            if _bare(target) == bare and _key(self.scope_of(target, site)) == _key(scope):
                self._mutate(shapes, site, steps)
        return shapes

    def chain(self, site):
        """(variable, steps) of the target of `$v.a['b'] = x` or `$v.a.Add(x)`; None otherwise."""
        if site.type == "assignment_expression":
            if _plain_assignment(site) is not None or _text(next(
                    c for c in site.children if c.type == "assignement_operator")) != "=":
                return None
            return self._steps(_unwrap(site.children[0]))
        members = [c for c in site.children if c.type == "member_name"]
        if len(members) != 1 or (_constant_string(members[0].named_children[0]) or "").lower() != "add":
            return None
        found = self._steps(_unwrap(site.children[0]))
        return (found[0], [*found[1], ("add",)]) if found else None

    def _steps(self, node):
        steps = []
        while node.type in {"member_access", "element_access"}:
            if node.type == "member_access":
                member = next(c for c in node.children if c.type == "member_name")
                name = _constant_string(member.named_children[0]) if member.named_child_count else None
                steps.append(("keys", (name,)) if name is not None else ("dyn",))
            else:
                index = next(c for c in node.named_children[1:] if c.type not in {"[", "]"})
                steps.append(self._index_step(index))
            node = _unwrap(node.named_children[0])
        return (_name(node), steps[::-1]) if node.type == "variable" else None

    def _index_step(self, index):
        literal = _constant_string(index)
        if literal is not None:
            return ("keys", (literal,))
        index = _unwrap(index)
        if index.type == "variable":  # foreach ($k in 'A', 'B') { $h[$k] = ... }
            loop = index.parent
            while loop is not None and not (loop.type == "foreach_statement" and any(
                    v.type == "variable" and _name(v) == _name(index) for v in loop.children)):
                loop = loop.parent
            if loop is not None:
                source = next((c for c in loop.children if c.type == "pipeline"), None)
                items = self._literal_strings(source)
                if items:
                    return ("keys", tuple(items))
        return ("dyn",)

    @staticmethod
    def _literal_strings(node):
        if node is None:
            return None
        node = _unwrap(node)
        items = node.named_children if node.type == "array_literal_expression" else [node]
        values = [_constant_string(item) for item in items]
        return values if values and all(v is not None for v in values) else None

    def _mutate(self, shapes, site, steps):
        targets = list(shapes)
        for step in steps[:-1]:
            targets = [found for target in targets for found in _follow(target, step)]
        last = steps[-1]
        if last == ("add",):
            argument = next((c for c in site.children if c.type == "argument_list"), None)
            listed = argument.child_by_field_name("argument_expression_list") if argument is not None else None
            value = self.shapes(listed.named_children[0]) if listed is not None and listed.named_children else []
            for target in targets:
                if isinstance(target, Arr):
                    _extend(target.items, value)
            return
        value = self.shapes(site.child_by_field_name("value"))
        for target in targets:
            if isinstance(target, Obj):
                for key in last[1] if last[0] == "keys" else (None,):
                    target.add(key, value, site)

    # -- values --------------------------------------------------------------------------------

    def shapes(self, node) -> list:  # noqa: PLR0911, PLR0912 - one case per construct, as documented
        if node is None:
            return []
        node = _unwrap(node)
        kind = node.type
        if kind == "hash_literal_expression":
            return [self._hash(node)]
        if kind == "array_expression":
            return [self._array(node)]
        if kind == "array_literal_expression":
            return [Arr(node, [s for item in node.named_children for s in self.shapes(item)])]
        if kind == "string_literal":
            return [Scalar("string", node, _constant_string(node))]
        if kind == "integer_literal":
            return [Scalar("integer", node)]
        if kind == "real_literal":
            return [Scalar("number", node)]
        if kind == "variable":
            name = _name(node)
            if name in ("true", "false"):
                return [Scalar("boolean", node, name == "true")]
            if name == "null":
                return [Scalar("null", node)]
            found = self.variable(name, self.scope_of(name, node))
            if _guarded(node, name):  # if ($null -ne $x) { ... $x ... }: not null here
                return [s for s in found if s.kind != "null"]
            return found
        if kind == "cast_expression":
            return self._cast(node)
        if kind == "expression_with_unary_operator":
            return self._unary(node)
        if kind in {"comparison_expression", "logical_expression", "format_expression", "additive_expression"}:
            return self._binary(node)
        if kind in {"parenthesized_expression", "sub_expression", "pipeline", "statement_list"}:
            return self._outputs_of(node)
        if kind in COMPOUND:
            return self._outputs_from_nodes(self._statement_outputs(node))
        if kind == "command":
            return self._command(node)
        if kind == "invokation_expression":
            return self._invocation(node)
        if kind in {"member_access", "element_access"}:
            return self._access(node)
        return []

    def _hash(self, node):
        key = _key(node)
        if key not in self.made:
            table = self.made[key] = Obj(node)
            for entry in (n for n in _walk(node) if n.type == "hash_entry"):
                if _key(_hash_of(entry)) != key:
                    continue
                name = _constant_string(entry.named_children[0].named_children[0])
                value = next((c for c in entry.named_children[1:] if c.type != "comment"), None)
                table.add(name, self.shapes(value), entry)
        return self.made[key]

    def _array(self, node):
        key = _key(node)
        if key not in self.made:
            array = self.made[key] = Arr(node)
            body = next((c for c in node.children if c.type == "statement_list"), None)
            for shape in self._outputs_of(body) if body is not None else []:
                _extend(array.items, shape.items if isinstance(shape, Arr) else [shape])  # @() flattens
        return self.made[key]

    def _cast(self, node):
        cast = next(c for c in node.children if c.type == "type_literal")
        inner = node.named_children[-1]
        name = _cast_type(cast)
        if name in CASTS:
            return [Scalar(CASTS[name], node)]
        if name in SAME_CASTS:
            return self.shapes(inner)
        if name.endswith("[]") and name[:-2] in CASTS:
            return [Arr(node, [Scalar(CASTS[name[:-2]], node)])]
        listed = LIST_TYPE.match(name)
        if listed:
            key = _key(node)
            if key not in self.made:
                element = CASTS.get((listed.group(1) or "").removeprefix("system."))
                self.made[key] = Arr(node, [Scalar(element, node)] if element else [])
            return [self.made[key]]
        return []

    def _unary(self, node):
        if node.children[0].is_named:  # a cast or another expression under the unary layer
            return self.shapes(node.children[0])
        operator = _text(node.children[0]).lower()
        inner = self.shapes(node.named_children[-1])
        if operator in ("-not", "!"):
            return [Scalar("boolean", node)]
        if operator == ",":  # `return ,@(x)`: the array itself reaches the caller
            return [s for s in inner if isinstance(s, Arr)] or [Arr(node, inner)]
        return []

    def _binary(self, node):
        operators = [_text(c).lower() for c in node.children if c.type in {
            "comparison_operator", "-and", "-or", "-xor", "format_operator", "+", "-f"}]
        if not operators:
            return []
        operator = operators[0]
        if operator in OPERATOR_KINDS:
            return [Scalar(OPERATOR_KINDS[operator], node)]
        if operator in SPLIT_OPERATORS:
            return [Arr(node, [Scalar("string", node)])]
        if operator == "+":
            first = [s.kind for s in self.shapes(node.named_children[0])]
            kinds = {s.kind for child in node.named_children if child.type != "+" for s in self.shapes(child)}
            kind = "string" if first == ["string"] else "integer" if kinds == {"integer"} else None
            return [Scalar(kind, node)] if kind else []
        return []

    def _outputs_of(self, node):
        if node.type in {"parenthesized_expression", "sub_expression"}:
            inner = next((c for c in node.named_children), None)
            return self._outputs_of(inner) if inner is not None else []
        if node.type == "pipeline":
            parts = [c for c in node.named_children if c.type not in {"comment"}]
            chain = parts[0] if len(parts) == 1 else None
            if chain is not None and chain.type == "pipeline_chain":
                elements = [c for c in chain.named_children if c.type != "comment"]
                return self.shapes(elements[0]) if len(elements) == 1 else []
            return self.shapes(chain) if chain is not None else []
        return self._outputs_from_nodes(self.output_nodes(node))

    def _outputs_from_nodes(self, nodes):
        found = []
        for output in nodes:
            _extend(found, self.shapes(output))
        return found

    def output_nodes(self, statements):
        """The expressions whose values a statement list outputs (see the module docstring)."""
        for statement in statements.named_children if statements is not None else ():
            yield from self._statement_outputs(statement)

    def _statement_outputs(self, statement):
        kind = statement.type
        if kind == "flow_control_statement":
            if _text(statement.children[0]).lower() == "return" and statement.named_child_count:
                yield statement.named_children[-1]
        elif kind == "pipeline":
            if not self._silent(statement):
                yield statement
        elif kind in COMPOUND:
            for block in _statement_blocks(statement):
                yield from self.output_nodes(block)

    @staticmethod
    def _silent(statement):
        node = _unwrap(statement)
        if node.type == "assignment_expression" or node.type.endswith("increment_expression") or \
                node.type.endswith("decrement_expression"):
            return True
        if node.type == "cast_expression":
            return _cast_type(next(c for c in node.children if c.type == "type_literal")) == "void"
        if node.type == "invokation_expression":
            members = [c for c in node.children if c.type == "member_name"]
            return bool(members) and (_constant_string(members[-1].named_children[0]) or "").lower() in SILENT_METHODS
        return False

    def _command(self, node):
        name = _command_name(node)
        if name in COMMANDS:
            return [Scalar(COMMANDS[name], node)]
        function = self.functions.get(name or "")
        if function is None:
            return []
        key = _key(function)
        if key not in self.outputs:
            self.outputs[key] = []  # a recursive call adds nothing
            _extend(self.outputs[key], self.block_outputs(self._body(function)))
        return self.outputs[key]

    def block_outputs(self, script_block):
        return self._outputs_from_nodes(self.output_nodes(_top_statements(script_block)))

    def _invocation(self, node):
        members = [c for c in node.children if c.type == "member_name"]
        method = (_constant_string(members[-1].named_children[0]) or "").lower() if members else ""
        cast = node.children[0]
        if cast.type == "type_literal":
            return [Scalar(kind, node) for kind in STATIC.get((_type_name(cast), method), ())]
        if method in STRING_METHODS:
            return [Scalar("string", node)]
        if method in BOOLEAN_METHODS:
            return [Scalar("boolean", node)]
        if method == "split":
            return [Arr(node, [Scalar("string", node)])]
        if method == "toarray":
            return [s for s in self.shapes(node.named_children[0]) if isinstance(s, Arr)] or [Arr(node)]
        return []

    def _access(self, node):
        target = self.shapes(node.named_children[0])
        if node.type == "member_access":
            member = next(c for c in node.children if c.type == "member_name")
            name = _constant_string(member.named_children[0]) if member.named_child_count else None
            step = ("keys", (name,)) if name is not None else ("dyn",)
        else:
            step = self._index_step(next(c for c in node.named_children[1:]))
            name = None
        found = [s for t in target for s in _follow(t, step)]
        if not found and node.type == "member_access" and (name or "").lower() in ("count", "length"):
            return [Scalar("integer", node)]
        return found


def _guarded(node, name: str) -> bool:
    """The node is inside the block of an if/elseif whose condition makes the variable non-null:
    `if ($x)`, `if ($null -ne $x)` / `($x -ne $null)`, alone or joined by -and."""
    while node.parent is not None:
        parent = node.parent
        if node.type == "statement_block" and parent.type in {"if_statement", "elseif_clause"}:
            condition = next((c for c in parent.children if c.type == "pipeline"), None)
            if condition is not None and _makes_non_null(condition, name):
                return True
        node = parent
    return False


def _makes_non_null(condition, name: str) -> bool:
    if any(n.type in {"-or", "-xor"} for n in _walk(condition)):
        return False
    node = _unwrap(condition)
    if node.type == "variable":
        return _name(node) == name
    for test in (n for n in _walk(condition) if n.type == "comparison_expression" and n.named_child_count == 3):
        left, operator, right = test.named_children
        sides = {_text(_unwrap(left)).lower(), _text(_unwrap(right)).lower()}
        if _text(operator).lower() in ("-ne", "-cne", "-ine") and sides == {"$null", f"${name}"}:
            return True
    return False


def _follow(shape, step):
    if not isinstance(shape, Obj):
        return []
    if step[0] == "keys":
        return [s for key in step[1] for s in shape.keys.get(key, [])]
    return [s for values in [shape.dynamic, *shape.keys.values()] for s in values]


def _hash_of(entry):
    node = entry.parent
    while node is not None and node.type != "hash_literal_expression":
        node = node.parent
    return node


# -- comparison with the schema ------------------------------------------------------------------

class Comparison:
    def __init__(self, schema_file: str, defs: dict):
        self.file, self.defs, self.found, self.seen = schema_file, defs, [], set()

    def report(self, node, message):
        problem = Problem(node.start_point[0] + 1, node.start_point[1] + 1, message)
        if (problem.line, problem.col, message) not in self.seen:
            self.seen.add((problem.line, problem.col, message))
            self.found.append(problem)

    def resolve(self, schema):
        while "$ref" in schema:
            schema = self.defs.get(schema["$ref"].removeprefix("#/$defs/"), {})
        return schema

    def fits(self, shape, schema) -> bool:
        probe = Comparison(self.file, self.defs)
        probe.compare(shape, schema, "", set())
        return not probe.found

    def compare(self, shape, schema, path, visiting):
        schema = self.resolve(schema)
        if id(shape) in visiting:  # a list that holds itself through a variable
            return
        wanted = schema.get("type")
        wanted = [wanted] if isinstance(wanted, str) else wanted
        if wanted and not (shape.kind in wanted or (shape.kind == "integer" and "number" in wanted)):
            self.report(shape.node, f"{path}: the .ps1 returns {_describe(shape)} here, the result schema "
                                    f"{self.file} expects {' or '.join(wanted)}")
            return
        if isinstance(shape, Scalar) and shape.value is not None and "enum" in schema \
                and shape.value not in schema["enum"]:
            self.report(shape.node, f"{path}: the .ps1 returns {json.dumps(shape.value)}, the result schema "
                                    f"{self.file} allows {', '.join(json.dumps(v) for v in schema['enum'])}")
        if isinstance(shape, Obj):
            self._object(shape, schema, path, visiting | {id(shape)})
        elif isinstance(shape, Arr) and "items" in schema:
            for item in shape.items:
                self.compare(item, schema["items"], f"{path}[]", visiting | {id(shape)})

    def _object(self, shape, schema, path, visiting):
        properties, extra = schema.get("properties", {}), schema.get("additionalProperties", True)
        for key, values in shape.keys.items():
            sub = properties.get(key, extra if isinstance(extra, dict) else None)
            if sub is None and extra is False:
                self.report(shape.key_nodes[key], f"{_child(path, key)}: the .ps1 returns this key, the result "
                                                  f"schema {self.file} does not list it")
            for value in values if sub is not None else ():
                self.compare(value, sub, _child(path, key), visiting)
        choices = []
        for choice in [*properties.values(), *([extra] if isinstance(extra, dict) else [])]:
            if all(self.resolve(choice) is not known for known in choices):
                choices.append(self.resolve(choice))
        for value in shape.dynamic:
            if len(choices) == 1:  # every key has one schema: say what is wrong
                self.compare(value, choices[0], f"{path}[<computed key>]", visiting)
            elif choices and not any(self.fits(value, choice) for choice in choices):
                self.report(value.node, f"{path}[<computed key>]: the .ps1 returns {_describe(value)} here, which "
                                        f"fits none of the keys of this object in {self.file}")
        if not shape.dynamic:
            for key in schema.get("required", ()):
                if key not in shape.keys:
                    self.report(shape.node, f"{_child(path, key)}: required by the result schema {self.file}, "
                                            "never assigned by the .ps1")


def _describe(shape) -> str:
    if isinstance(shape, Scalar) and shape.value is not None:
        return f"{shape.kind} {json.dumps(shape.value)}"
    return shape.kind


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if PLAIN_KEY.match(key) else f"{path}[{json.dumps(key)}]"


# -- the rule --------------------------------------------------------------------------------------

def schema_name(path) -> str:
    return pathlib.Path(path).name.rsplit(".", 1)[0].rsplit(".", 1)[-1]


def _shipped(path) -> bool:
    resolved = pathlib.Path(path).resolve()
    return resolved.suffix.lower() == ".ps1" and resolved.parent == (ROOT / "plugins" / "modules").resolve()


def _result_assignments(root):
    """(key, value node, node) of every `$x.Result.<key> = value`."""
    for node in _walk(root):
        if node.type != "assignment_expression" or _plain_assignment(node) is not None:
            continue
        target = _unwrap(node.children[0])
        names = []
        while target.type == "member_access":
            member = next((c for c in target.children if c.type == "member_name"), None)
            if member is None:
                break
            names.append((_constant_string(member.named_children[0]) or "").lower())
            target = _unwrap(target.named_children[0])
        if target.type == "variable" and len(names) == 2 and names[1] == "result" and names[0]:
            yield names[0], node.child_by_field_name("value"), node


def check(root, path) -> list:
    if path is None:
        return []
    name = schema_name(path)
    schema_path = SCHEMA_DIR / f"{name}.json"
    if not schema_path.is_file():
        if _shipped(path):
            return [Problem(1, 1, f"host module {name} has no result schema "
                                  f"(plugins/plugin_utils/host_schemas/{name}.json, docs/host-contract.md)")]
        return []
    document = json.loads(schema_path.read_text(encoding="utf-8"))
    defs = document.get("$defs", {})
    analysis, comparison = Analysis(root), Comparison(schema_path.name, defs)
    states, producers = [], 0
    for node in _walk(root):
        if node.type == "command" and _command_name(node) == "invoke-meddevhostmodule":
            block = _unwrap(_bind(node, GATHER_PARAMS).get("gather") or node)
            if block.type == "script_block_expression":
                producers += 1
                script = next((c for c in block.children if c.type == "script_block"), None)
                states += analysis.block_outputs(script) if script is not None else []
    apply_result = defs.get("apply_result", {})
    for key, value, node in _result_assignments(root):
        if key == "state":
            producers += 1
            states += analysis.shapes(value)
            continue
        properties = apply_result.get("properties", {})
        if key not in {k.lower() for k in properties} and apply_result.get("additionalProperties", True) is False:
            comparison.report(node, f"result.{key}: the .ps1 returns this key, the result schema "
                                    f"{schema_path.name} (apply_result) does not list it")
            continue
        real = next((k for k in properties if k.lower() == key), None)
        for shape in analysis.shapes(value) if real else ():
            comparison.compare(shape, properties[real], f"result.{real}", set())
    if not producers and _shipped(path):
        return [Problem(1, 1, "no gather state found: expected Invoke-MeddevHostModule -Gather { ... } or "
                              "$module.Result.state = ...")]
    for shape in states:
        comparison.compare(shape, defs.get("state", {}), "state", set())
    return comparison.found
