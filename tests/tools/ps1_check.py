# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parse-check PowerShell files with the tree-sitter grammar and reject code built at run time.

Usage: ps1_check.py FILE.ps1|FILE.psm1 [...]. Prints "path:line:col: message" for every problem
(and "path: ok" for a clean file); exits 1 if any file has a problem, cannot be read or is not a
.ps1/.psm1 file, 2 if no file was given. No PowerShell is needed: this is what CI can verify on Linux.
Every rule looks at the syntax tree, never at the raw text, so comments and strings that merely
mention a name are not reported. (The one exception: the grammar leaves a bareword such as dir$x
as a single token, so a bareword holding "$" counts as not constant.)

Rejected (message fragment in brackets):
- a syntax error or missing token [syntax error];
- Invoke-Expression / iex under any case or module qualification, run directly or by & / . with a
  literal name, or named as a command argument (Set-Alias ... iex, Get-Command iex) [Invoke-Expression];
- [scriptblock]::Create / [System.Management.Automation.ScriptBlock]::Create [[scriptblock]::Create];
- the members ExpandString, InvokeScript, NewScriptBlock (of $ExecutionContext.InvokeCommand) and
  AddScript (of [powershell]), called or taken, on any receiver [.ExpandString etc.];
- a method whose name is computed, $x.$name(...), which could reach any of the above [method name];
- & or . on anything but a literal command: a bareword, a constant string or a literal { } block.
  `& $exe`, `& "$dir\\x.exe"`, `& ('a' + $x)`, `& (Get-Command x)` are all rejected: a computed name
  can be Invoke-Expression, a script file or a script block [invocation operator];
- Invoke-Command / icm / Start-Job / sajb / Start-ThreadJob with -ScriptBlock, -Command or
  -InitializationScript given anything but a literal { } block [not a literal], or with no literal
  block at all and no -FilePath (e.g. the block comes from a variable or a splat) [not written literally];
- cmd / powershell / pwsh (any path, with or without .exe), run directly, through &, or as the
  program of Start-Process, [Diagnostics.Process]::Start or an Argv-ToString list, with /c, /k, /r
  (cmd) or -Command, -c, -EncodedCommand, -e, -ec (PowerShell) followed by anything not constant:
  the shell parses it as code, whatever quoting came before [followed by data];
- a command line assembled from data and handed to something that splits it again: the argument
  list of Start-Process / saps / start (-ArgumentList, or its second positional), the arguments of
  [Diagnostics.Process]::Start(file, arguments), ProcessStartInfo.Arguments (assigned, or given to
  ::new / New-Object / a [ProcessStartInfo]@{...} cast), Run-Command -command (CommandUtil) and
  [Ansible.Process.ProcessUtil]::CreateProcess. Start-Process joins even an array such as
  @('/a', $value) with spaces without quoting, so an array holding data is rejected too [built from data];
- Add-Type -TypeDefinition / -MemberDefinition with source that is not constant (C# compiled from
  data is code built at run time) [Add-Type].

Allowed, and why:
- a constant command line: every part a literal (no variable, $(...), command, member or index),
  e.g. Start-Process -FilePath 'w32tm.exe' -ArgumentList '/resync', '/nowait';
- a command line produced by Argv-ToString (Ansible.ModuleUtils.ArgvParser), which quotes each
  argument as data: directly, `Run-Command -command (Argv-ToString -arguments @($exe, '/x', $v))`,
  or through a variable that, in the same function, is only ever assigned (=) from Argv-ToString or
  a constant and is not a parameter or loop variable (`$c = Argv-ToString ...; Run-Command $c`).
  The file must declare `#Requires -Module Ansible.ModuleUtils.ArgvParser` (or `#AnsibleRequires
  -PowerShell Ansible.ModuleUtils.ArgvParser`) and must not define its own Argv-ToString. This is
  how baseline.ps1 and iqwebx_licgen.ps1 run secedit, auditpol and MpCmdRun;
- & or . with a literal command name and separate arguments, e.g. & 'C:\\Tools\\x.exe' /a $value:
  PowerShell binds each argument separately (Windows PowerShell 5.1 does not escape a double quote
  inside an argument, so pass untrusted text to native programs through Argv-ToString instead);
- & on a [scriptblock]-typed parameter of the enclosing function that the function never
  reassigns (MeddevHost.psm1's -Gather/-Apply): PowerShell does not convert a string to a
  [scriptblock] argument, so the caller can only pass a block of code it wrote;
- cmdlets called with bound parameters or splatting (Add-MpPreference @params), and a computed
  program for Start-Process / Run-Command: choosing which executable runs is not code in a string
  (only cmd / powershell / pwsh with a command flag are treated as code).

Then the rule modules in RULE_MODULES run on the parsed tree; ps1_signature_rules.py checks cmdlet
calls and secedit / auditpol / MpCmdRun / w32tm arguments against Microsoft's documentation (data in
ps1_signatures/, built by ps1_signatures_build.py); ps1_spec_rules.py validates the Ansible.Basic
argument spec as Ansible.Basic does; ps1_language_rules.py holds the Windows PowerShell 5.1 language
rules ([ps7-syntax], [ps7-parameter], [collection-return], [null-comparison], [unassigned-variable],
[alias], [encoding], [file-share]; data in ps1_language_data/ from MicrosoftDocs/PowerShell-Docs).
"""

from __future__ import annotations

import dataclasses
import importlib
import pathlib
import sys

import tree_sitter
import tree_sitter_powershell

PARSER = tree_sitter.Parser(tree_sitter.Language(tree_sitter_powershell.language()))
EXTENSIONS = {".ps1", ".psm1"}

DYNAMIC_COMMANDS = {"invoke-expression", "iex"}
SCRIPTBLOCK_TYPES = {"scriptblock", "management.automation.scriptblock"}
CODE_MEMBERS = {"expandstring", "invokescript", "newscriptblock", "addscript"}
JOB_COMMANDS = {"invoke-command", "icm", "start-job", "sajb", "start-threadjob"}
START_PROCESS = {"start-process", "saps", "start"}
SHELLS = {"cmd", "powershell", "pwsh"}
ARGV_PARSER = "ansible.moduleutils.argvparser"
REQUIRES = (["#requires", "-module"], ["#ansiblerequires", "-powershell"])
# Constants that are spelled as variables.
CONSTANT_VARIABLES = {"$true", "$false", "$null"}
# Nodes whose value is only known at run time.
RUNTIME_NODES = {"sub_expression", "command", "invokation_expression", "member_access", "element_access"}
# Nodes that only wrap one expression; looked through to find what an argument really is.
WRAPPERS = {"array_literal_expression", "unary_expression", "parenthesized_expression", "pipeline",
            "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
            "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
            "argument_expression", "logical_argument_expression", "bitwise_argument_expression",
            "comparison_argument_expression", "additive_argument_expression",
            "multiplicative_argument_expression", "format_argument_expression", "range_argument_expression",
            "sub_expression", "statement_list", "command_name_expr", "left_assignment_expression"}
# Static methods that take a command line as their second argument: {(type, method): argument counts}.
PROCESS_METHODS = {("diagnostics.process", "start"): (2, 5), ("diagnostics.processstartinfo", "new"): (2,),
                   ("ansible.process.processutil", "createprocess"): tuple(range(2, 10))}
# Switch parameters of the commands whose arguments are bound here: they take no value, so the
# word after them is positional.
SWITCHES = {"wait", "nonewwindow", "passthru", "usenewenvironment", "loaduserprofile", "asjob", "force",
            "hidecomputername", "indisconnectedsession", "enablenetworkaccess", "runas32", "usessl",
            "nonewscope", "verbose", "debug", "whatif", "confirm", "ignorewarnings"}


@dataclasses.dataclass(frozen=True)
class Problem:
    line: int
    col: int
    message: str

    def __str__(self):
        return f"{self.line}:{self.col}: {self.message}"


@dataclasses.dataclass(frozen=True)
class Param:
    """A parameter as PowerShell binds it: full name, shortest accepted prefix, aliases, position."""

    name: str
    min_prefix: int = 1
    aliases: tuple = ()
    position: int | None = None

    def matches(self, given: str) -> bool:
        return given in self.aliases or (len(given) >= self.min_prefix and self.name.startswith(given))


START_PROCESS_PARAMS = (Param("filepath", aliases=("path", "pspath"), position=0),
                        Param("argumentlist", aliases=("args",), position=1))
RUN_COMMAND_PARAMS = (Param("command", position=0),)
ARGV_PARAMS = (Param("arguments", position=0),)
NEW_OBJECT_PARAMS = (Param("typename", position=0), Param("argumentlist", aliases=("args",), position=1),
                     Param("property", min_prefix=2))
ADD_TYPE_PARAMS = (Param("typedefinition", position=0), Param("memberdefinition"))
SCRIPT_BLOCK_PARAMS = (Param("scriptblock", min_prefix=2), Param("command", min_prefix=4),
                       Param("initializationscript", min_prefix=3))
SCRIPT_SOURCE_PARAMS = (Param("filepath"), Param("literalpath", min_prefix=2), Param("definitionname", min_prefix=2))


# --- small helpers on nodes -------------------------------------------------------------------

def _text(node) -> str:
    return node.text.decode("utf-8", "replace")


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)


def _unwrap(node):
    """Look through parentheses and one-operand expression layers to the node that matters."""
    while node.type in WRAPPERS and node.named_child_count == 1:
        node = node.named_children[0]
    return node


def _is_constant(node) -> bool:
    """True when the value is fixed in the source: no variable, $(...), command, member or index.

    A literal { } block is constant too: its variables are not expanded when it is passed on.
    """
    if node.type == "script_block_expression":
        return True
    if node.type == "variable":
        return _text(node).lower() in CONSTANT_VARIABLES
    if node.type in RUNTIME_NODES:
        return False
    # The grammar leaves barewords such as dir$x (and --% text, where %NAME% expands) unsplit.
    if node.type == "generic_token" and "$" in _text(node):
        return False
    if node.type == "verbatim_command_argument" and "%" in _text(node):
        return False
    return all(_is_constant(child) for child in node.children)


def _constant_string(node) -> str | None:
    """The value of a constant string, bareword or parameter token, else None."""
    node = _unwrap(node)
    if not _is_constant(node):
        return None
    text = _text(node)
    if node.type == "string_literal":
        return text.strip("'\"@\r\n")
    if node.type in {"generic_token", "command_name", "path_command_name", "command_parameter", "simple_name"}:
        return text
    return None


def _member_name(node) -> str | None:
    """The literal name in a member_name node (Create, 'Create'), None if computed ($name)."""
    return _constant_string(node.named_children[0]) if node.named_child_count else None


def _program_name(name: str) -> str:
    """'C:\\Windows\\System32\\CMD.EXE' -> 'cmd'; 'Microsoft.PowerShell.Utility\\iex' -> 'iex'."""
    base = name.replace("/", "\\").rsplit("\\", 1)[-1].lower()
    return base[:-4] if base.endswith(".exe") else base


def _type_name(type_literal) -> str:
    """'[System.Diagnostics.Process]' -> 'diagnostics.process' (PowerShell adds System. itself)."""
    name = _text(type_literal).strip("[] ").lower()
    return name[len("system."):] if name.startswith("system.") else name


def _list_elements(node) -> list:
    """The items of a literal list (@(a, b), a, b, or Argv-ToString's list); else [node]."""
    node = _unwrap(node)
    if node.type == "array_expression":
        body = node.child_by_field_name("statements")
        if body is None:
            return []
        items = []
        for statement in body.named_children:
            if statement.type != "empty_statement":
                items.extend(_list_elements(statement))
        return items
    if node.type == "array_literal_expression":
        return list(node.named_children)
    if node.type == "argument_list":  # New-Object Type(a, b) parses as a method-style list
        return _argument_expressions(node)
    if node.type == "command" and _command_name(node) == "argv-tostring":
        quoted = _bind(node, ARGV_PARAMS).get("arguments")
        return _list_elements(quoted) if quoted is not None else [node]
    return [node]


# --- commands and their arguments ---------------------------------------------------------------

def functions(root) -> dict:
    """Lower-case name -> function_statement node of each function the file defines (the last
    definition wins, as when the script runs)."""
    found = {}
    for node in _walk(root):
        if node.type == "function_statement":
            name = next((c for c in node.children if c.type == "function_name"), None)
            if name is not None:
                found[_text(name).lower()] = node
    return found


def _command_name(command) -> str | None:
    """The normalised literal name a command runs, "{}" for a literal block, None if computed."""
    target = command.child_by_field_name("command_name")
    if target is None:
        return None
    target = _unwrap(target)
    if target.type == "script_block_expression":
        return "{}"
    if target.type == "path_command_name" and any(c.type != "path_command_name_token" for c in target.children):
        return None
    name = _constant_string(target)
    if name is None or "$" in name:  # a bareword like tool$x is expanded by PowerShell
        return None
    return _program_name(name)


def _elements(command) -> list:
    """The command's arguments in order, without separators and redirections."""
    elements = command.child_by_field_name("command_elements")
    if elements is None:
        return []
    return [c for c in elements.named_children if c.type not in {"command_argument_sep", "redirection"}]


def _arguments(command) -> list:
    """[(parameter name or None, value node or None)] in source order."""
    elements = command.child_by_field_name("command_elements")
    children = [] if elements is None else [c for c in elements.children if c.type != "redirection"]
    found, index = [], 0
    while index < len(children):
        item = children[index]
        index += 1
        if item.type == "command_argument_sep":
            continue
        if item.type != "command_parameter":
            found.append((None, item))
            continue
        name = _text(item).lstrip("-").rstrip(":").lower()
        value, after = _parameter_value(children, index, name)
        found.append((name, value))
        index = after
    return found


def _parameter_value(children, index, name):
    """(value node or None, next index) for the parameter whose name ends before children[index]."""
    colon = index < len(children) and _text(children[index]) == ":"
    while index < len(children) and children[index].type == "command_argument_sep":
        index += 1
    if index >= len(children) or children[index].type == "command_parameter":
        return None, index
    if name in SWITCHES and not colon:
        return None, index
    return children[index], index + 1


def _bind(command, params) -> dict:
    """{parameter name: value node} as PowerShell would bind the command's arguments."""
    bound, positional = {}, []
    for given, value in _arguments(command):
        if given is None:
            if not _is_splat(value):  # @params binds by name, whatever it holds
                positional.append(value)
            continue
        for param in params:
            if param.matches(given):
                bound[param.name] = value
    free = sorted((p for p in params if p.position is not None and p.name not in bound), key=lambda p: p.position)
    for param, value in zip(free, positional, strict=False):
        bound[param.name] = value
    return bound


def _is_splat(node) -> bool:
    return _text(node).startswith("@") and _unwrap(node).type == "variable"


def _splatted(command) -> bool:
    return any(_is_splat(node) for node in _elements(command))


# --- where a command line is known to be quoted as data ---------------------------------------

def _argv_parser_available(root) -> bool:
    """The file imports Ansible's ArgvParser and does not define an Argv-ToString of its own."""
    imported = False
    for node in _walk(root):
        if node.type == "comment" and not _text(node).startswith("<#"):
            words = _text(node).lower().split()
            imported |= len(words) == 3 and words[:2] in REQUIRES and words[2] == ARGV_PARSER
        if node.type == "function_name" and _text(node).lower() == "argv-tostring":
            return False
    return imported


def _scope(node):
    """The function a node is in, or the whole file."""
    while node.parent is not None and node.type != "function_statement":
        node = node.parent
    return node


def _variable_name(node) -> str:
    return _text(node).lower().lstrip("$").strip("{}")


def _assigned_values(variable):
    """Values assigned to the variable in its function, or None if it is also bound another way."""
    name, values = _variable_name(variable), []
    for node in _walk(_scope(variable)):
        if node.type in {"script_parameter", "foreach_statement"}:
            bound = next((c for c in node.children if c.type == "variable"), None)
            if bound is not None and _variable_name(bound) == name:
                return None  # a parameter or loop variable: its value comes from outside
        if node.type == "assignment_expression":
            targets = [_variable_name(v) for v in _walk(node.children[0]) if v.type == "variable"]
            if name not in targets:
                continue
            operator = next(c for c in node.children if c.type == "assignement_operator")
            if _text(operator) != "=" or len(targets) > 1:
                return None  # += appends data to the quoted line; $a, $b = ... splits a value
            values.append(node.child_by_field_name("value"))
    return values or None


def _is_argv_to_string(node) -> bool:
    node = _unwrap(node)
    return node.type == "command" and _command_name(node) == "argv-tostring"


def _quoted_as_data(node, argv_parser: bool) -> bool:
    """Constant, or produced by ArgvParser's Argv-ToString (directly or via a variable)."""
    if _is_constant(node):
        return True
    if not argv_parser:
        return False
    if _is_argv_to_string(node):
        return True
    node = _unwrap(node)
    if node.type != "variable":
        return False
    values = _assigned_values(node)
    return values is not None and all(_is_constant(v) or _is_argv_to_string(v) for v in values)


def _command_line_problem(what: str, node, argv_parser: bool) -> str | None:
    if node is None or _quoted_as_data(node, argv_parser):
        return None
    if _is_argv_to_string(node):
        return (f"command line built from data: {what} uses Argv-ToString, but the file does not "
                f"#Requires -Module Ansible.ModuleUtils.ArgvParser (or defines its own Argv-ToString)")
    return (f"command line built from data: {what} gets {_text(node)[:40]!r}; pass each argument "
            "separately through Argv-ToString (Ansible.ModuleUtils.ArgvParser)")


def _shell_problem(program, arguments) -> str | None:
    """cmd /c, powershell -Command and friends followed by anything that is not constant."""
    name = _constant_string(program) if program is not None else None
    shell = _program_name(name) if name else None
    if shell not in SHELLS:
        return None
    flag = None
    for argument in arguments:
        if flag is not None and not _is_constant(argument):
            data = _text(argument)[:40]
            return f"dynamic code: {shell} {flag} followed by data {data!r}: the shell parses it as code"
        token = _constant_string(argument)
        if flag is None and token is not None and _is_command_flag(shell, token.lower()):
            flag = token
    return None


def _is_command_flag(shell: str, token: str) -> bool:
    if shell == "cmd":
        return token in {"/c", "/k", "/r"}
    word = token.lstrip("-/")
    return bool(word) and token != word and (
        "command".startswith(word) or "encodedcommand".startswith(word) or word == "ec")


# --- rules: each takes a node (and whether ArgvParser quoting is available) and yields messages --

def _syntax(node, _argv):
    if node.is_error or node.is_missing:
        yield f"syntax error near {_text(node)[:40]!r}"


def _invoke_expression(node, _argv):
    name = _command_name(node)
    if name in DYNAMIC_COMMANDS:
        yield f"dynamic code: {_text(node.child_by_field_name('command_name'))} runs a string as code"
    for argument in _elements(node):
        word = _constant_string(argument)
        if word and _program_name(word) in DYNAMIC_COMMANDS:
            yield f"dynamic code: {word} named as an argument (an alias or lookup of Invoke-Expression)"


def _scriptblock_parameter(command) -> bool:
    """`& $Gather` where $Gather is a [scriptblock]-typed parameter of the enclosing function and
    never reassigned there: PowerShell will not turn a string into a [scriptblock] argument, so the
    caller must pass code it wrote (a literal { } block), not data."""
    name_expr = next((c for c in command.children if c.type == "command_name_expr"), None)
    variables = [n for n in _walk(name_expr) if n.type == "variable"] if name_expr is not None else []
    if len(variables) != 1 or _text(name_expr).strip() != _text(variables[0]).strip():
        return False
    name, scope = _variable_name(variables[0]), _scope(command)
    typed = False
    for node in _walk(scope):
        if node.type == "script_parameter":
            bound = next((c for c in node.children if c.type == "variable"), None)
            if bound is not None and _variable_name(bound) == name:
                types = {_text(t).lower().replace(" ", "") for t in _walk(node) if t.type == "type_literal"}
                typed = bool(types & {"[scriptblock]", "[system.management.automation.scriptblock]"})
        if node.type == "assignment_expression" and name in [
                _variable_name(v) for v in _walk(node.children[0]) if v.type == "variable"]:
            return False
    return typed and scope.type == "function_statement"


def _computed_command(node, _argv):
    if _command_name(node) is not None or _scriptblock_parameter(node):
        return
    if node.children and node.children[0].type == "command_invokation_operator":
        yield "dynamic code: invocation operator on a computed command (use a literal command name)"
    else:
        yield "dynamic code: command name computed at run time"


def _script_block_job(node, _argv):
    if _command_name(node) not in JOB_COMMANDS:
        return
    arguments, literal_block, source_file = _arguments(node), False, False
    for given, value in arguments:
        is_block = value is not None and _unwrap(value).type == "script_block_expression"
        literal_block |= is_block
        if given is None:
            continue
        source_file |= any(p.matches(given) for p in SCRIPT_SOURCE_PARAMS)
        if any(p.matches(given) for p in SCRIPT_BLOCK_PARAMS) and not is_block:
            yield f"dynamic code: -{given} is not a literal {{...}} script block"
            return
    if not literal_block and not source_file:
        yield "dynamic code: runs a script block that is not written literally as {...}"


def _shell_command(node, _argv):
    name = _command_name(node)
    if name in SHELLS:
        problem = _shell_problem(node.child_by_field_name("command_name"), _elements(node))
        if problem:
            yield problem


def _start_process(node, argv):
    if _command_name(node) not in START_PROCESS:
        return
    bound = _bind(node, START_PROCESS_PARAMS)
    if "argumentlist" not in bound:
        if _splatted(node):
            yield "command line built from data: Start-Process arguments are splatted and cannot be checked"
        return
    listed = bound["argumentlist"]
    problem = (_shell_problem(bound.get("filepath"), _list_elements(listed))
               or _command_line_problem("Start-Process -ArgumentList", listed, argv))
    if problem:
        yield problem


def _run_command(node, argv):
    if _command_name(node) != "run-command":
        return
    bound = _bind(node, RUN_COMMAND_PARAMS)
    if "command" not in bound and _splatted(node):
        yield "command line built from data: Run-Command arguments are splatted and cannot be checked"
    problem = _command_line_problem("Run-Command -command", bound.get("command"), argv)
    if problem:
        yield problem


def _argv_to_string_shell(node, _argv):
    """Argv-ToString quotes for C programs; cmd and PowerShell re-parse the line as code."""
    if _command_name(node) != "argv-tostring" or "arguments" not in _bind(node, ARGV_PARAMS):
        return
    items = _list_elements(node)
    problem = _shell_problem(items[0], items[1:]) if items else None
    if problem:
        yield problem


def _new_process_start_info(node, argv):
    if _command_name(node) != "new-object":
        return
    bound = _bind(node, NEW_OBJECT_PARAMS)
    typename = _constant_string(bound["typename"]) if "typename" in bound else None
    if typename is None or typename.lower().removeprefix("system.") != "diagnostics.processstartinfo":
        return
    items = _list_elements(bound["argumentlist"]) if "argumentlist" in bound else []
    problem = _command_line_problem("ProcessStartInfo arguments", items[1] if len(items) > 1 else None, argv)
    problem = problem or _command_line_problem(
        "ProcessStartInfo.Arguments", _hash_value(bound.get("property"), "arguments"), argv)
    if problem:
        yield problem


def _add_type(node, _argv):
    if _command_name(node) != "add-type":
        return
    for source in _bind(node, ADD_TYPE_PARAMS).values():
        if not _is_constant(source):
            yield f"dynamic code: Add-Type compiles source built from data ({_text(source)[:40]!r})"


def _static_call(node, _argv):
    """[scriptblock]::Create(...): a string turned into code."""
    types = [_type_name(c) for c in node.children if c.type == "type_literal"]
    members = [(_member_name(c) or "").lower() for c in node.children if c.type == "member_name"]
    if types and types[0] in SCRIPTBLOCK_TYPES and "create" in members:
        yield "dynamic code: [scriptblock]::Create turns a string into code"


def _process_start(node, argv):
    """[Diagnostics.Process]::Start(file, arguments[, user, password, domain]) and friends."""
    cast_type = next((c for c in node.children if c.type == "type_literal"), None)
    member = next((_member_name(c) or "" for c in node.children if c.type == "member_name"), "")
    listing = next((c for c in node.children if c.type == "argument_list"), None)
    arguments = [] if listing is None else _argument_expressions(listing)
    if cast_type is None or len(arguments) not in PROCESS_METHODS.get((_type_name(cast_type), member.lower()), ()):
        return
    problem = (_shell_problem(arguments[0], _list_elements(arguments[1]))
               or _command_line_problem(f"{_text(cast_type)}::{member} arguments", arguments[1], argv))
    if problem:
        yield problem


def _argument_expressions(argument_list) -> list:
    """The arguments inside a (a, b, ...) list."""
    listing = argument_list.child_by_field_name("argument_expression_list")
    return [] if listing is None else [c for c in listing.named_children if c.type == "argument_expression"]


def _member(node, _argv):
    """Members that run strings as code, and method names computed at run time."""
    name = _member_name(node)
    if name is not None and name.lower() in CODE_MEMBERS:
        yield f"dynamic code: .{name} runs a string as code"
    elif name is None and node.parent is not None and node.parent.type == "invokation_expression":
        yield f"dynamic code: method name computed at run time ({_text(node)[:40]})"


def _arguments_property(node, argv):
    """$startInfo.Arguments = <command line>."""
    target = _unwrap(node.children[0])
    if target.type != "member_access":
        return
    member = next((c for c in target.children if c.type == "member_name"), None)
    if member is not None and (_member_name(member) or "").lower() == "arguments":
        problem = _command_line_problem("ProcessStartInfo.Arguments", node.child_by_field_name("value"), argv)
        if problem:
            yield problem


def _start_info_cast(node, argv):
    """[Diagnostics.ProcessStartInfo]@{ Arguments = <command line> }."""
    cast_type = next((c for c in node.children if c.type == "type_literal"), None)
    if cast_type is None or _type_name(cast_type) != "diagnostics.processstartinfo":
        return
    problem = _command_line_problem("ProcessStartInfo.Arguments", _hash_value(node, "arguments"), argv)
    if problem:
        yield problem


def _hash_value(node, key: str):
    """The value of a literal key in the first @{...} under node, or None."""
    if node is None:
        return None
    table = next((n for n in _walk(node) if n.type == "hash_literal_expression"), None)
    for entry in [] if table is None else _walk(table):
        if entry.type == "hash_entry":
            name = _member_name(entry.named_children[0]) if entry.named_children else None
            if name is not None and name.lower() == key:
                return entry.named_children[-1]
    return None


RULES = {
    "command": (_invoke_expression, _computed_command, _script_block_job, _shell_command, _start_process,
                _run_command, _argv_to_string_shell, _new_process_start_info, _add_type),
    "invokation_expression": (_static_call, _process_start),
    "member_name": (_member,),
    "assignment_expression": (_arguments_property,),
    "cast_expression": (_start_info_cast,),
}


# Further rule sets, each a module beside this one with check(root, path) -> [Problem]:
# the Ansible.Basic argument spec, cmdlet and native-command signatures, Windows PowerShell 5.1
# language rules, and the host-module result schemas.
RULE_MODULES = ("ps1_spec_rules", "ps1_signature_rules", "ps1_language_rules", "ps1_schema_rules")


def problems(source: bytes, path: pathlib.Path | None = None) -> list:
    """Every Problem in the source, in order; empty when the file is clean.

    ``path`` names the file for rules that depend on which module it is (the result schema)."""
    root = PARSER.parse(source).root_node
    argv_parser = _argv_parser_available(root)
    found = []
    for node in _walk(root):
        for rule in (_syntax, *RULES.get(node.type, ())):
            for message in rule(node, argv_parser):
                found.append(Problem(node.start_point[0] + 1, node.start_point[1] + 1, message))
    if root.has_error:
        return found  # the other rule sets read a tree that parsed
    for name in RULE_MODULES:
        found.extend(importlib.import_module(name).check(root, path))
    return sorted(found, key=lambda p: (p.line, p.col))


def check_file(path: pathlib.Path) -> list:
    if path.suffix.lower() not in EXTENSIONS:
        return [Problem(1, 1, f"not a PowerShell script or module ({', '.join(sorted(EXTENSIONS))})")]
    try:
        return problems(path.read_bytes(), path)
    except OSError as error:
        return [Problem(1, 1, f"cannot read: {error.strerror or error}")]


def main(paths) -> int:
    if not paths:
        print("usage: ps1_check.py FILE.ps1|FILE.psm1 [...]", file=sys.stderr)
        return 2
    failed = 0
    for path in paths:
        issues = check_file(pathlib.Path(path))
        for issue in issues:
            print(f"{path}:{issue}")
        failed += bool(issues)
        if not issues:
            print(f"{path}: ok")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
