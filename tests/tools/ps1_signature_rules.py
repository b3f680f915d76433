# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ps1_check rule set: cmdlet calls and native-command lines against Microsoft's documentation.

The reference is data: ps1_signatures/<Module>.json, one entry per cmdlet with the doc page (repo,
path, commit) it was built from by ps1_signatures_build.py (Windows PowerShell 5.1 core cmdlets
and the Server 2016 / Windows 10 LTSB 2016 OS modules), and ps1_signatures/native.json for the
grammar of secedit, auditpol, MpCmdRun and w32tm, each with its Microsoft Learn page.

For every command whose literal name is Verb-Noun and that is not a function of the file or of a
module util it requires (#AnsibleRequires -PowerShell / #Requires -Module, and what those utils
require in turn), reported (fragment):
- not in the reference [unknown cmdlet]; a function of an Ansible.ModuleUtils util the file does
  not require [which this file does not require];
- a parameter name that is no parameter or alias, exact or as a unique prefix [no parameter],
  or a prefix of several [ambiguous];
- named parameters that share no parameter set [parameter set];
- more positional arguments than the parameter sets have positions [positional];
- a constant value outside the parameter's accepted values (ValidateSet / enum) [not one of];
- a mandatory parameter missing, only when nothing (splat, pipeline) could supply it [missing].
Keys of a splatted hashtable written literally in the same function count as named parameters;
a splat that cannot be read statically is skipped (explicit parameters are still checked). A path
on the drive of a provider the reference does not describe (IIS:\\, RDS:\\) may bring dynamic
parameters: unknown names are then not reported.
Native programs (run directly, through &, or as the first item of a literal @(...) list such as
Argv-ToString's or one handed to a wrapper like baseline.ps1's Invoke-Tool): the first option must
be a documented command, every constant option in that command's grammar, with its value in the
documented form and among the documented keywords, and required options present; MpCmdRun -Restore
-FilePath (the quarantined file) must not be given a folder (Split-Path -Parent output).
"""

from __future__ import annotations

import functools
import json
import pathlib
import re

import ps1_check
from ps1_check import Problem, _constant_string, _text, _unwrap, _walk

DATA = pathlib.Path(__file__).resolve().parent / "ps1_signatures"
COLLECTION_UTILS = pathlib.Path(__file__).resolve().parents[2] / "plugins" / "module_utils"
COLLECTION_PREFIX = "ansible_collections.meddev.hardening.plugins.module_utils."
VERB_NOUN = re.compile(r"^[a-z]+-[a-z0-9]+$")
# Functions of ansible-core's PowerShell module utils (ansible/module_utils/powershell/*.psm1,
# ansible-core 2.19), available when the file requires that util.
ANSIBLE_UTILS = {
    "ansible.moduleutils.argvparser": {"argv-tostring", "escape-argument"},
    "ansible.moduleutils.commandutil": {"get-executablepath", "run-command", "load-commandutils"},
    "ansible.moduleutils.addtype": {"add-csharptype"},
    "ansible.moduleutils.backup": {"backup-file"},
    "ansible.moduleutils.camelconversion": {"convert-stringtosnakecase", "convert-listtosnakecase",
                                            "convert-dicttosnakecase"},
    "ansible.moduleutils.fileutil": {"test-ansiblepath", "get-ansibleitem"},
    "ansible.moduleutils.legacy": {"set-attr", "exit-json", "fail-json", "add-warning", "add-deprecationwarning",
                                   "expand-environment", "get-ansibleparam", "convertto-bool", "parse-args",
                                   "get-filechecksum", "get-pendingrebootstatus"},
    "ansible.moduleutils.linkutil": {"load-linkutils", "get-link", "remove-link", "new-link"},
    "ansible.moduleutils.privilegeutil": {"get-ansibleprivilege", "set-ansibleprivilege"},
    "ansible.moduleutils.sid": {"convert-fromsid", "convert-tosid"},
    "ansible.moduleutils.webrequest": {"get-ansiblewebrequest", "invoke-withwebrequest",
                                       "get-ansiblewebrequestspec"},
}
# What those utils require themselves (their #Requires / #AnsibleRequires lines, ansible-core 2.19).
ANSIBLE_UTIL_REQUIRES = {
    "ansible.moduleutils.commandutil": (("csharp", "Ansible.Process"),),
    "ansible.moduleutils.linkutil": (("powershell", "Ansible.ModuleUtils.PrivilegeUtil"),),
    "ansible.moduleutils.privilegeutil": (("csharp", "Ansible.Privilege"),),
}
UTIL_NAMES = {name.lower(): name for name in (
    "Ansible.ModuleUtils.ArgvParser", "Ansible.ModuleUtils.CommandUtil", "Ansible.ModuleUtils.AddType",
    "Ansible.ModuleUtils.Backup", "Ansible.ModuleUtils.CamelConversion", "Ansible.ModuleUtils.FileUtil",
    "Ansible.ModuleUtils.Legacy", "Ansible.ModuleUtils.LinkUtil", "Ansible.ModuleUtils.PrivilegeUtil",
    "Ansible.ModuleUtils.SID", "Ansible.ModuleUtils.WebRequest")}
# Parameters declared ValueFromRemainingArguments (the docs do not show it): they take any number
# of further positional arguments. Write-Host -Object, Write-Output -InputObject, Get-Command
# -ArgumentList, ForEach-Object -RemainingScripts ({begin} {process} {end}).
REMAINING_ARGUMENTS = {"write-host": "Object", "write-output": "InputObject", "get-command": "ArgumentList",
                       "foreach-object": "RemainingScripts"}
ALL = "*"
# Drives of the providers Windows PowerShell 5.1 ships (about_Providers), whose dynamic parameters
# the 5.1 pages document; a single letter is a FileSystem drive.
DRIVE = re.compile(r"([A-Za-z][\w]+):[\\/]")
KNOWN_DRIVES = {"alias", "cert", "env", "function", "hkcu", "hklm", "variable", "wsman"}


# --- the reference ------------------------------------------------------------------------------

@functools.cache
def reference() -> tuple:
    """({cmdlet lower: entry}, {common param: spec}, {should-process param: spec})."""
    cmdlets = {}
    for path in sorted(DATA.glob("*.json")):
        if path.stem in {"common", "native"}:
            continue
        for name, entry in json.loads(path.read_text(encoding="utf-8")).items():
            entry["name"] = name
            cmdlets[name.lower()] = entry
    common = json.loads((DATA / "common.json").read_text(encoding="utf-8"))
    return cmdlets, common["params"], common["should_process"]


@functools.cache
def native_grammar() -> dict:
    return json.loads((DATA / "native.json").read_text(encoding="utf-8"))["programs"]


def _parameters(entry) -> dict:
    """{name: spec} of a cmdlet, common parameters included (in every set)."""
    cached = entry.get("_all")
    if cached is None:
        _cmdlets, common, _should = reference()
        cached = dict(entry["params"])
        if entry.get("common_parameters", True):
            for name, spec in common.items():
                cached.setdefault(name, {**spec, "sets": {ALL: {"position": None, "mandatory": False}},
                                         "common": True})
        entry["_all"] = cached
    return cached


def resolve(entry, given: str):
    """(parameter name, None) or (None, problem text) as PowerShell matches a name or prefix."""
    params, wanted = _parameters(entry), given.lower()
    exact = [n for n, s in params.items() if wanted == n.lower() or wanted in (a.lower() for a in s["aliases"])]
    if exact:
        return exact[0], None
    matches = sorted({n for n, s in params.items()
                      if n.lower().startswith(wanted) or any(a.lower().startswith(wanted) for a in s["aliases"])})
    if len(matches) == 1:
        return matches[0], None
    if matches:
        return None, (f"{entry['name']}: -{given} is ambiguous: it matches "
                      f"{', '.join('-' + m for m in matches)}")
    return None, f"{entry['name']}: no parameter -{given} (nor an alias of one)"


def _in_set(spec, set_name) -> dict | None:
    sets = spec["sets"]
    return sets.get(ALL) or sets.get(set_name)


# --- which functions a file can call that are not cmdlets ---------------------------------------

@functools.cache
def _util_file(path: pathlib.Path) -> tuple:
    """(functions defined in a collection .psm1, the utils it requires)."""
    try:
        tree = ps1_check.PARSER.parse(path.read_bytes()).root_node
    except OSError:
        return frozenset(), ()
    functions = frozenset(_text(n).lower() for n in _walk(tree) if n.type == "function_name")
    exported = _exported(tree)
    return (functions if exported is None else functions & exported), tuple(_required(tree))


def _exported(tree) -> frozenset | None:
    """The names Export-ModuleMember -Function lists (only those leave the module), None if it
    is not called or the list is not constant."""
    names = set()
    for node in _walk(tree):
        if node.type == "command" and ps1_check._command_name(node) == "export-modulemember":
            bound = ps1_check._bind(node, (ps1_check.Param("function", position=0),))
            if "function" not in bound:
                return None
            values = _values(bound["function"])
            if None in values:
                return None
            names |= {v.lower() for v in values}
    return frozenset(names) if names else None


def _required(root) -> list:
    """[(kind, name)] of the #Requires -Module / #AnsibleRequires -PowerShell|-CSharpUtil lines."""
    found = []
    for node in _walk(root):
        if node.type != "comment" or _text(node).startswith("<#"):
            continue
        words = _text(node).split()
        if len(words) == 3 and [w.lower() for w in words[:2]] in ps1_check.REQUIRES:
            found.append(("powershell", words[2]))
        elif len(words) == 3 and [w.lower() for w in words[:2]] == ["#ansiblerequires", "-csharputil"]:
            found.append(("csharp", words[2]))
    return found


def _available_functions(root) -> set:
    """Functions of the file and of every util it requires, directly or through another util:
    Ansible imports each util with Import-Module -Scope Global, and any C# util brings
    Ansible.ModuleUtils.AddType (ansible/executor/powershell/module_manifest.py, exec_wrapper.ps1)."""
    names = {_text(n).lower() for n in _walk(root) if n.type == "function_name"}
    pending, seen = list(_required(root)), set()
    while pending:
        kind, module = pending.pop()
        if (kind, module.lower()) in seen:
            continue
        seen.add((kind, module.lower()))
        if kind == "csharp":
            pending.append(("powershell", "Ansible.ModuleUtils.AddType"))
            continue
        names |= ANSIBLE_UTILS.get(module.lower(), set())
        pending.extend(ANSIBLE_UTIL_REQUIRES.get(module.lower(), ()))
        if module.startswith(COLLECTION_PREFIX):
            functions, required = _util_file(COLLECTION_UTILS / (module[len(COLLECTION_PREFIX):] + ".psm1"))
            names |= functions
            pending.extend(required)
    return names


# --- a command's arguments, bound with the cmdlet's own switches --------------------------------

def _values(node) -> list:
    """The constant strings of a value (each item of a literal array), None where not constant."""
    items = ps1_check._list_elements(node)
    return [_constant_string(item) for item in items]


def _split_arguments(command, entry) -> list:
    """[(given name or None, [value nodes], colon form)] in source order.

    PowerShell reads touching pieces as one argument, where the grammar splits them: $s.Substring
    and (25), or a bareword list Domain and ,Private; such pieces are kept together here."""
    elements = command.child_by_field_name("command_elements")
    children = [] if elements is None else [c for c in elements.children if c.type != "redirection"]
    found, index = [], 0
    while index < len(children):
        item = children[index]
        index += 1
        if item.type == "command_argument_sep":
            continue
        if item.type != "command_parameter":
            values, index = _touching(children, index, [item])
            found.append((None, values, False))
            continue
        given = _text(item).lstrip("-").rstrip(":")
        colon = _text(item).endswith(":") or (index < len(children) and _text(children[index]) == ":")
        while index < len(children) and children[index].type == "command_argument_sep":
            index += 1
        name, _problem = resolve(entry, given)
        spec = _parameters(entry).get(name) if name else None
        takes_value = not (spec and spec["switch"]) or colon
        if index < len(children) and children[index].type != "command_parameter" and takes_value:
            values, index = _touching(children, index + 1, [children[index]])
            found.append((given, values, colon))
        else:
            found.append((given, [], colon))
    return found


def _touching(children, index, values) -> tuple:
    """Extend values with the pieces that follow with no space between; (values, next index)."""
    while index < len(children):
        if children[index].type not in {"command_argument_sep", "command_parameter"}:
            values.append(children[index])  # $s.Substring followed by (25)
            index += 1
        elif (index + 1 < len(children) and children[index].type == "command_argument_sep"
              and _text(children[index]) == "" and children[index + 1].type != "command_parameter"):
            values.append(children[index + 1])
            index += 2
        else:
            break
    return values, index


def _bareword_items(values) -> list:
    """Constant strings of a value list ('a', ',b' tokens or one array node); None where computed."""
    items = []
    for value in values:
        text = _text(value)
        if value.type == "generic_token" and text.startswith(","):
            items.extend(t or None for t in text[1:].split(","))
        else:
            items.extend(_values(value))
    return items


def _splat_keys(variable) -> tuple | None:
    """(keys of the literal hashtable, {key: value node}, keys added later), or None if unknown."""
    name = ps1_check._variable_name(variable).lstrip("@")
    literal, values, added = None, {}, set()
    for node in _walk(ps1_check._scope(variable)):
        if node.type in {"script_parameter", "foreach_statement"}:
            bound = next((c for c in node.children if c.type == "variable"), None)
            if bound is not None and ps1_check._variable_name(bound) == name:
                return None
        if node.type != "assignment_expression":
            continue
        target = _unwrap(node.children[0])
        value = _unwrap(node.child_by_field_name("value"))
        if target.type == "variable" and ps1_check._variable_name(target) == name:
            if literal is not None or value.type != "hash_literal_expression":
                return None  # assigned twice or from something computed
            literal = []
            for entry in (e for e in _walk(value) if e.type == "hash_entry" and e.parent.parent == value):
                key = ps1_check._member_name(entry.named_children[0])
                if key is None:
                    return None
                literal.append(key)
                values[key] = entry.named_children[-1]
        elif target.type in {"member_access", "element_access"}:
            base = _unwrap(target.named_children[0])
            if base.type == "variable" and ps1_check._variable_name(base) == name:
                key = _member_key(target)
                if key is None:
                    return None
                added.add(key)
    if literal is None:
        return None
    return literal, values, added


def _member_key(target) -> str | None:
    if target.type == "member_access":
        member = next((c for c in target.children if c.type == "member_name"), None)
        return ps1_check._member_name(member) if member is not None else None
    index = list(target.named_children[1:])
    return _constant_string(index[0]) if len(index) == 1 else None


# --- the cmdlet rule ----------------------------------------------------------------------------

def _named_arguments(command, entry) -> tuple:
    """({parameter: (given, [value nodes])}, [positional value lists], splat unknown, [problems])."""
    named, positional, messages, splat_unknown = {}, [], [], False
    for given, values, _colon in _split_arguments(command, entry):
        if given is not None:
            name, problem = resolve(entry, given)
            if problem:
                messages.append(problem)
            else:
                named[name] = (given, values)
        elif not ps1_check._is_splat(values[0]):
            positional.append(values)
        else:
            keys = _splat_keys(_unwrap(values[0]))
            if keys is None:
                splat_unknown = True
                continue
            literal, key_values, added = keys
            # keys added later ($p.Key = ...) may be added only on some path (if ($IsCoreCLR) ...):
            # neither checked nor counted as bound
            splat_unknown |= bool(added - set(literal))
            for key in literal:
                name, problem = resolve(entry, key)
                if problem:
                    messages.append(f"{problem} (splatted key {key!r})")
                else:
                    named.setdefault(name, (key, [key_values[key]]))
    return named, positional, splat_unknown, messages


def _other_provider(command) -> bool:
    """A path argument on a drive of a provider the reference does not describe (RDS:\\, IIS:\\,
    SQLSERVER:\\): its dynamic parameters (Set-Item -SessionTimeoutAction) cannot be known."""
    for node in _walk(command):
        if node.type in {"string_literal", "generic_token"}:
            match = DRIVE.match(_text(node).lstrip("'\""))
            if match and match.group(1).lower() not in KNOWN_DRIVES:
                return True
    return False


def _check_cmdlet(command, entry) -> list:
    named, positional, splat_unknown, messages = _named_arguments(command, entry)
    if messages and _other_provider(command):
        messages = [m for m in messages if "no parameter -" not in m]
    sets = _compatible_sets(entry, named)
    if sets is None:
        return [*messages, _set_conflict(entry, named)]
    fitting = [s for s in sets if _positions_fit(entry, s, named, len(positional))]
    if positional and not fitting:
        slots = max(len(_free_positions(entry, s, named)) for s in sets)
        shown = ", ".join(repr(_text(v[0])[:30]) for v in positional)
        return [*messages, f"{entry['name']}: {len(positional)} positional argument(s) ({shown}) but only "
                           f"{slots} position(s) free in any parameter set"]
    bound = {name: values for name, (_given, values) in named.items()}
    for index, values in enumerate(positional):
        targets = {_free_positions(entry, s, named)[index] for s in fitting
                   if index < len(_free_positions(entry, s, named))}
        if len(targets) == 1:
            bound.setdefault(targets.pop(), values)
    params = _parameters(entry)
    for name, values in bound.items():
        messages.extend(_value_problems(entry, name, params[name], values))
    if not splat_unknown and not _piped(command):
        messages.extend(_missing_mandatory(entry, fitting or sets, named, len(positional)))
    return messages


def _compatible_sets(entry, named) -> list | None:
    params = _parameters(entry)
    sets = list(entry["sets"])
    for name in named:
        sets = [s for s in sets if _in_set(params[name], s) is not None]
    return sets or None


def _set_conflict(entry, named) -> str:
    params = _parameters(entry)
    listed = []
    for name in named:
        spec_sets = params[name]["sets"]
        if ALL not in spec_sets:
            listed.append(f"-{name} ({', '.join(sorted(spec_sets))})")
    return (f"{entry['name']}: parameters from different parameter sets: {'; '.join(listed)}"
            " share no parameter set")


def _free_positions(entry, set_name, named) -> list:
    params = _parameters(entry)
    slots = []
    for name, spec in params.items():
        member = _in_set(spec, set_name)
        if member is not None and member["position"] is not None and name not in named:
            slots.append((member["position"], name))
    return [name for _position, name in sorted(slots)]


def _positions_fit(entry, set_name, named, count) -> bool:
    free = _free_positions(entry, set_name, named)
    if count <= len(free):
        return True
    remaining = REMAINING_ARGUMENTS.get(entry["name"].lower())
    spec = _parameters(entry).get(remaining)
    return spec is not None and remaining not in named and _in_set(spec, set_name) is not None


def _value_problems(entry, name, spec, values) -> list:
    allowed = spec.get("values")
    if not allowed or spec.get("switch"):
        return []
    lowered = {v.lower(): v for v in allowed}
    flags = "FlagsExpression" in spec.get("type", "")
    problems = []
    for item in _bareword_items(values):
        if item is None:
            continue
        parts = re.split(r"[+!,\s]+", item) if flags else (
            [p.strip() for p in item.split(",")] if "String" not in spec.get("type", "") else [item])
        for part in parts:
            if part and part.lower() not in lowered and not part.lstrip("-").isdigit():
                problems.append(f"{entry['name']}: -{name} {item!r} is not one of {', '.join(allowed)}")
                break
    return problems


def _piped(command) -> bool:
    parent = command.parent
    if parent is None:
        return False
    commands = [c for c in parent.named_children if c.type == "command" or c.type.endswith("expression")]
    return bool(commands) and commands[0] != command


def _missing_mandatory(entry, sets, named, positional_count) -> list:
    params = _parameters(entry)
    missing_by_set = {}
    for set_name in sets:
        free = _free_positions(entry, set_name, named)[:positional_count]
        missing = [n for n, spec in params.items()
                   if n not in named and n not in free
                   and (_in_set(spec, set_name) or {}).get("mandatory")]
        if not missing:
            return []
        missing_by_set[set_name] = missing
    preferred = entry.get("default_set") if entry.get("default_set") in missing_by_set else next(iter(missing_by_set))
    return [f"{entry['name']}: missing mandatory parameter(s) "
            f"{', '.join('-' + m for m in missing_by_set[preferred])} (parameter set {preferred})"]


# --- native programs ----------------------------------------------------------------------------

def _native_name(word: str | None) -> str | None:
    if not word:
        return None
    name = ps1_check._program_name(word)
    return name if name in native_grammar() else None


def _program_of(node, root) -> str | None:
    """The native program a list's first item names: a constant, or a variable assigned (anywhere
    in the file, e.g. $mpCmdRun = Join-Path $env:ProgramFiles '...\\MpCmdRun.exe') from values that
    mention one."""
    node = _unwrap(node)
    direct = _native_name(_constant_string(node))
    if direct or node.type != "variable":
        return direct
    name, found = ps1_check._variable_name(node), set()
    for assignment in _walk(root):
        if assignment.type != "assignment_expression":
            continue
        target = _unwrap(assignment.children[0])
        if target.type == "variable" and ps1_check._variable_name(target) == name:
            words = [_constant_string(n) for n in _walk(assignment.child_by_field_name("value"))
                     if n.type in {"string_literal", "generic_token"}]
            found |= {_native_name(w) for w in words} - {None}
    return found.pop() if len(found) == 1 else None


def _native_calls(root):
    """(program, [argument nodes], node) for each direct call and each literal list whose first
    item names the program (Argv-ToString's list, or one handed to a wrapper such as Invoke-Tool)."""
    for node in _walk(root):
        if node.type == "command":
            name = ps1_check._command_name(node)
            if name and _native_name(name):
                yield _native_name(name), ps1_check._elements(node), node
        elif node.type == "array_expression" or (
                node.type == "command" and ps1_check._command_name(node) == "argv-tostring"):
            items = ps1_check._list_elements(node)
            program = _program_of(items[0], root) if items else None
            if program:
                yield program, items[1:], node


def _word(node) -> tuple:
    """(known text, complete) of an argument: a constant, or the constant head of '/file:{0}' -f $x
    or "/file:$x" (the option is known even if its value is not)."""
    text = _constant_string(node)
    if text is not None:
        return text, True
    node = _unwrap(node)
    if node.type in {"format_expression", "format_argument_expression"} and node.named_children:
        head = _constant_string(node.named_children[0])
        if head is not None:
            return head.split("{", 1)[0], False
    if node.type == "string_literal" and _text(node).startswith('"'):
        return _text(node).strip('"').split("$", 1)[0], False
    return None, False


def _check_native(program, arguments, root) -> list:
    grammar = native_grammar()[program]
    words = [(*_word(a), a) for a in arguments]
    first = next((w for w in words if w[0] and w[0][:1] in "-/"), None)
    command = _native_command(program, grammar, first)
    if not isinstance(command, dict):
        return command
    where = (program, first[0], f"{command['usage']}; {_source(grammar, command)}")
    seen, messages = set(), []
    index = words.index(first) + 1
    while index < len(words):
        text, complete, _node = words[index]
        index += 1
        if text is None:
            continue
        if text[:1] not in "-/":
            if complete:
                messages.append(f"{program} {first[0]}: unexpected argument {text!r} ({where[2]})")
            continue
        name, colon, inline = text.partition(":") if grammar["style"] == "slash" else (text, "", "")
        if not colon and not complete:
            continue  # the option name itself is computed
        spec = command["options"].get(name.lower())
        if spec is None:
            messages.append(f"{program} {first[0]}: option {name!r} is not in its documented grammar ({where[2]})")
            continue
        seen.add(name.lower())
        if spec["value"].startswith("next"):
            taken = []
            while index < len(words) and (words[index][0] or "?")[:1] not in "-/":
                taken.append(words[index])
                index += 1
                if spec["value"] != "next_multi":
                    break
            messages.extend(_next_value_problems(where, name, spec, taken, root))
        else:
            messages.extend(_inline_value_problems(where, name, spec, colon, inline if complete else None))
    return messages + _missing_options(where, command, seen, all(w[1] for w in words))


def _missing_options(where, command, seen, all_known) -> list:
    program, name, usage = where
    found = []
    missing = [r for r in command["required"] if r not in seen]
    if missing:
        found.append(f"{program} {name}: missing {', '.join(missing)} ({usage})")
    choices = command.get("one_of", [])
    if choices and not seen & set(choices) and all_known:  # a computed word may be one of them
        found.append(f"{program} {name}: needs one of {', '.join(choices)} ({usage})")
    return found


def _native_command(program, grammar, first):
    """The grammar of the command the first option names, or the list of problems."""
    if first is None or not first[1]:
        return []
    commands = grammar["commands"]
    command = commands.get(first[0].split(":", 1)[0].lower())
    if command is None:
        return [f"{program}: {first[0]!r} is not a documented {program} command "
                f"(one of {', '.join(sorted(commands))}; {_source(grammar, None)})"]
    return command


def _inline_value_problems(where, name, spec, colon, inline) -> list:
    program, command, usage = where
    if spec["value"] == "flag" and colon:
        return [f"{program} {command}: {name} takes no value ({usage})"]
    if spec["value"] == "inline" and not colon:
        return [f"{program} {command}: {name} takes its value as {name}:<value> ({usage})"]
    return _keyword_problems(where, name, spec, [inline] if colon and inline is not None else [])


def _next_value_problems(where, name, spec, taken, root) -> list:
    program, command, usage = where
    if not taken:
        if spec["value"] == "next_optional":
            return []
        return [f"{program} {command}: {name} must be followed by a value ({usage})"]
    problems = _keyword_problems(where, name, spec, [t[0] for t in taken if t[1]])
    if spec.get("kind") == "file" and _is_parent_folder(taken[0][2], root):
        problems.append(f"{program} {command}: {name} names a file but gets a folder "
                        f"(Split-Path -Parent): {spec.get('note', usage)}")
    return problems


def _keyword_problems(where, name, spec, values) -> list:
    program, command, usage = where
    allowed = spec.get("values")
    if not allowed:
        return []
    lowered = {v.lower() for v in allowed}
    problems = []
    for value in values:
        parts = value.split(",") if spec.get("list") else [value]
        if any(p.strip().lower() not in lowered for p in parts):
            problems.append(f"{program} {command}: {name} {value!r} is not one of {', '.join(allowed)} ({usage})")
    return problems


def _source(grammar, command) -> str:
    source = (command or {}).get("source") or grammar.get("source") or {}
    return source.get("learn", "")


def _is_parent_folder(node, root) -> bool:
    """The value is Split-Path -Parent output, directly or via a variable assigned only from it."""
    node = _unwrap(node)
    candidates = [node]
    if node.type == "variable":
        candidates = ps1_check._assigned_values(node) or []
    for assigned in candidates:
        candidate = _unwrap(assigned)
        if candidate.type == "command" and ps1_check._command_name(candidate) == "split-path":
            given = [_text(c).lstrip("-").lower() for c in _walk(candidate) if c.type == "command_parameter"]
            if any(g and "parent".startswith(g) for g in given):
                return True
    return False


# --- entry point ---------------------------------------------------------------------------------

def check(root, path) -> list:
    cmdlets, _common, _should = reference()
    functions = _available_functions(root)
    found = []
    for node in _walk(root):
        if node.type != "command":
            continue
        name = ps1_check._command_name(node)
        if name is None or not VERB_NOUN.match(name) or name in functions:
            continue
        entry = cmdlets.get(name)
        util = next((u for u, names in ANSIBLE_UTILS.items() if name in names), None)
        shown = _text(node.child_by_field_name("command_name"))
        if util is not None:  # PowerShell would not find it: "is not recognized as the name of a cmdlet"
            messages = [f"{shown} is a function of {UTIL_NAMES[util]}, which this file does not require: "
                        f"add #Requires -Module {UTIL_NAMES[util]}"]
        elif entry is None:
            messages = [f"unknown cmdlet {shown}: not in the Windows PowerShell 5.1 / Server 2016 reference "
                        "(tests/tools/ps1_signatures) nor a function of this file or a module util it requires"]
        else:
            messages = _check_cmdlet(node, entry)
        found.extend(Problem(node.start_point[0] + 1, node.start_point[1] + 1, m) for m in messages)
    for program, arguments, node in _native_calls(root):
        for message in _check_native(program, arguments, root):
            found.append(Problem(node.start_point[0] + 1, node.start_point[1] + 1, message))
    return found
