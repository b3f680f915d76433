# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""ps1_check rule set: Windows PowerShell 5.1 language rules, on the syntax tree.

Every message starts with its rule name in brackets and says what to write instead.

[ps7-syntax] pipeline chains `a && b`, `a || b` (PowerShell 7). The tree-sitter grammar does not
  parse the other PowerShell 7 forms (ternary `a ? b : c`, `??`, `??=`, `?.`, `?[]`, `clean {}`):
  they fail ps1_check as a syntax error before this rule set runs. $IsWindows, $IsLinux,
  $IsMacOS and $IsCoreCLR (PowerShell 6+) are $null on 5.1.
[ps7-parameter] a cmdlet that exists only in PowerShell 7, or a parameter documented for a cmdlet
  under reference/7.x but not reference/5.1 (data: ps1_language_data/ps51_language.json, made from
  MicrosoftDocs/PowerShell-Docs by make_ps51_data.py), a prefix of one included; Join-Path with
  more than two positional paths (-AdditionalChildPath); -Encoding values added in PowerShell 6+.
[collection-return] `target = Get-Foo` where Get-Foo, a function of the same file, outputs a
  collection through the pipeline (@(...), a, b, .ToArray(), a List, a foreach loop, a
  Where-Object or ForEach-Object pipeline) without `return ,@(...)`: PowerShell unrolls it,
  so 0 items arrive as $null and 1 item bare. Reported when the target is a member, an element or
  a hashtable entry (it goes into the module's state) or a variable later indexed, asked for
  .Length or stored into one. (.Count and foreach are right for $null and a single
  item since PowerShell 3.0 and Ansible runs modules without strict mode, so they are not.)
[null-comparison] $null on the right of -eq/-ne (and their -i/-c forms): with an array on the
  left the operator filters the array instead of testing it.
[unassigned-variable] a variable read in a function (script-level code is not checked) that is not a parameter,
  not assigned before the read (in the function, or in a function enclosing it; anywhere in it for
  a read in a trap block), not assigned at script level anywhere in the file (functions run after
  it), and not automatic. Bindings: =, +=, ++ (PowerShell starts a missing variable at $null),
  foreach/for variables, param()/function f($a), [ref]$x, -OutVariable/-ErrorVariable...,
  Set-Variable/New-Variable -Name; the script blocks of ForEach-Object/Where-Object run in the
  caller's scope, so what they assign counts too.
[alias] a command named by a built-in alias of Windows PowerShell 5.1 (Get-Alias; data file).
[encoding] Out-File, Set-Content, Add-Content, Export-Csv without -Encoding; Tee-Object -FilePath
  (no -Encoding on 5.1); `>`/`>>`/`2>`... redirected to a file (5.1 writes UTF-16 LE);
  [IO.File]::WriteAllText/WriteAllLines/AppendAllText/AppendAllLines without an encoding argument.
[file-share] a stream opened on a path without an explicit FileShare: [IO.StreamReader] and
  [IO.StreamWriter] on a path (FileShare.Read), [IO.File]::Open with 2-3 arguments (FileShare.None),
  OpenRead/OpenText/OpenWrite (Read/Read/None), [IO.FileStream] with 2-3 arguments (Read). A file
  another process holds open for writing (a live IIS log) then fails with a sharing violation.
  Whole-file reads (ReadAllText/ReadAllBytes/ReadAllLines) also use FileShare.Read but are not
  reported: the rule targets the stream APIs issue 12 names (.NET Framework reference source:
  File.OpenRead, FileStream(string, FileMode), StreamReader(string)).
"""

from __future__ import annotations

import functools
import json
import pathlib

from ps1_check import Problem, _argument_expressions, _arguments, _text, _type_name, _walk, functions

DATA = pathlib.Path(__file__).resolve().parent / "ps1_language_data" / "ps51_language.json"

# Automatic variables of PowerShell 6+; $null on 5.1, which is the right answer for all but $IsWindows.
PS6_VARIABLES = {"iswindows", "islinux", "ismacos", "iscoreclr"}
# Common parameters of Windows PowerShell 5.1 (about_CommonParameters) with their aliases.
COMMON_PARAMETERS = {"debug", "db", "erroraction", "ea", "errorvariable", "ev", "informationaction", "infa",
                     "informationvariable", "iv", "outbuffer", "ob", "outvariable", "ov", "pipelinevariable", "pv",
                     "verbose", "vb", "warningaction", "wa", "warningvariable", "wv"}
# Values of -Encoding (FileSystemCmdletProviderEncoding / Export-Csv) that Windows PowerShell 5.1 lacks.
PS6_ENCODINGS = {"utf8nobom", "utf8bom", "ansi", "latin1"}
EQUALITY = {"-eq", "-ne", "-ieq", "-ine", "-ceq", "-cne"}
ENCODED_WRITERS = {"out-file", "set-content", "add-content", "export-csv"}
FILE_TEXT_WRITES = {"writealltext", "writealllines", "appendalltext", "appendalllines"}
# Commands that filter or map a collection: their output has any number of items.
COLLECTING_COMMANDS = {"where-object", "foreach-object", "?", "%", "where", "foreach"}
# Variables PowerShell defines (about_Automatic_Variables, about_Preference_Variables, 5.1).
AUTOMATIC = {
    "_", "psitem", "args", "input", "this", "true", "false", "null", "error", "erroractionpreference",
    "psscriptroot", "pscommandpath", "matches", "lastexitcode", "host", "executioncontext", "pscmdlet",
    "myinvocation", "psboundparameters", "psversiontable", "pwd", "home", "pid", "pshome", "shellid",
    "stacktrace", "sender", "eventargs", "event", "eventsubscriber", "sourceargs", "sourceeventargs",
    "nestedpromptlevel", "ofs", "psculture", "psuiculture", "psdebugcontext", "pssenderinfo", "psedition",
    "confirmpreference", "debugpreference", "verbosepreference", "warningpreference", "progresspreference",
    "informationpreference", "whatifpreference", "psdefaultparametervalues", "psmoduleautoloadingpreference",
    "psemailserver", "maximumhistorycount", "?", "^", "$", "consolefilename", "formatenumerationlimit",
    "outputencoding", "pssessionoption", "pssessionconfigurationname", "pssessionapplicationname",
    "foreach", "switch", "profile", "allnodes",
}
# Scope and drive prefixes whose variables are not local ones.
FOREIGN_PREFIXES = ("env:", "global:", "using:", "function:", "variable:", "alias:", "private:")
OUT_VARIABLE_PARAMETERS = {"outvariable", "ov", "errorvariable", "ev", "warningvariable", "wv",
                           "informationvariable", "iv", "pipelinevariable", "pv"}
STREAM_TYPES = {"io.streamreader": "StreamReader", "io.streamwriter": "StreamWriter", "io.filestream": "FileStream"}
# [IO.File] openers: method -> (argument count that names the FileShare, what .NET uses without it).
FILE_OPENERS = {"open": (4, "FileShare.None"), "openread": (None, "FileShare.Read"),
                "opentext": (None, "FileShare.Read"), "openwrite": (None, "FileShare.None")}


@functools.cache
def data() -> dict:
    return json.loads(DATA.read_text(encoding="utf-8"))


def check(root, path) -> list:
    found = []
    context = _Context(root)
    for node in _walk(root):
        for rule in RULES.get(node.type, ()):
            for message in rule(node, context):
                found.append(Problem(node.start_point[0] + 1, node.start_point[1] + 1, message))
    found.extend(_unassigned_variables(root))
    return sorted(set(found), key=lambda p: (p.line, p.col, p.message))


class _Context:
    """What several rules need to know about the whole file."""

    def __init__(self, root):
        self.root = root
        self.functions = functions(root)

    @functools.cached_property
    def collection_functions(self) -> dict:
        """{function name: the output node that makes it return a collection through the pipeline}."""
        found = {}
        for name, function in self.functions.items():
            output = next((o for o in _outputs(function) if _is_collection(o, function)), None)
            if output is not None:
                found[name] = output
        return found


# --- small helpers ----------------------------------------------------------------------------------

def _named(node) -> list:
    return [c for c in node.named_children if c.type != "comment"]


PASS_THROUGH = {"pipeline", "pipeline_chain", "logical_expression", "bitwise_expression", "comparison_expression",
                "additive_expression", "multiplicative_expression", "format_expression", "range_expression",
                "array_literal_expression", "unary_expression", "parenthesized_expression", "argument_expression",
                "left_assignment_expression", "logical_argument_expression", "bitwise_argument_expression",
                "comparison_argument_expression", "additive_argument_expression",
                "multiplicative_argument_expression", "format_argument_expression", "range_argument_expression",
                "statement_list", "script_block_body"}


def _inner(node):
    while node is not None and node.type in PASS_THROUGH and len(_named(node)) == 1:
        node = _named(node)[0]
    return node


def _raw_command_name(command) -> str | None:
    """The command's name exactly as written (module-qualified names keep their module), or None."""
    target = command.child_by_field_name("command_name")
    if target is None or target.type not in ("command_name",):
        return None
    text = _text(target)
    return None if "$" in text else text


def _cmdlet(command) -> str | None:
    """'Microsoft.PowerShell.Utility\\ConvertFrom-Json' -> 'convertfrom-json'."""
    name = _raw_command_name(command)
    return name.rsplit("\\", 1)[-1].lower() if name else None


def _given_parameters(command) -> list:
    """[(name, node)] for every -Name the command is given."""
    elements = command.child_by_field_name("command_elements")
    return [(_text(c).lstrip("-").rstrip(":").lower(), c) for c in ([] if elements is None else elements.children)
            if c.type == "command_parameter"]


def _splatted(command) -> bool:
    elements = command.child_by_field_name("command_elements")
    return any(_text(c).startswith("@") and _inner(c).type == "variable"
               for c in ([] if elements is None else elements.named_children))


def _static_call(node):
    """(type name, method name lower, [argument nodes]) of [Type]::Method(...), else None."""
    type_node = next((c for c in node.children if c.type == "type_literal"), None)
    member = next((c for c in node.children if c.type == "member_name"), None)
    listing = next((c for c in node.children if c.type == "argument_list"), None)
    if type_node is None or member is None or listing is None or node.children[0] is not type_node:
        return None
    return _type_name(type_node), _text(member).strip("'\"").lower(), _argument_expressions(listing)


def _variable_name(node) -> str:
    """'$script:Foo' -> 'script:foo', '${x}' -> 'x', '@params' -> 'params'."""
    return _text(node).lstrip("$@").strip("{}").lower()


# --- [ps7-syntax] -----------------------------------------------------------------------------------

def _pipeline_chain(node, _context):
    operator = _text(node).strip()
    alternative = "if ($?) { ... }" if operator == "&&" else "if (-not $?) { ... }"
    yield (f"[ps7-syntax] the pipeline chain operator {operator} is PowerShell 7 only: run the first command, "
           f"then {alternative} on the next line")


def _ps6_variable(node, _context):
    if _variable_name(node) != "iswindows":
        return
    condition = node.parent
    while condition is not None and condition.type in PASS_THROUGH | {"expression_with_unary_operator"}:
        condition = condition.parent if condition.type != "logical_expression" else None if (
            "psversiontable" in _text(condition).lower()) else condition.parent
    if condition is not None:
        yield (f"[ps7-syntax] {_text(node)} exists from PowerShell 6 on ($null on Windows PowerShell 5.1): a Windows "
               "PowerShell 5.1 module runs on Windows only, so drop the test (or also test $PSVersionTable.PSVersion)")


# --- [ps7-parameter] --------------------------------------------------------------------------------

def _ps7_parameters(node, _context):
    cmdlet = _cmdlet(node)
    if cmdlet is None:
        return
    known = data()
    only_7 = {k.lower(): (k, v) for k, v in known["cmdlets_7_only"].items()}
    if cmdlet in only_7:
        name, doc = only_7[cmdlet]
        yield (f"[ps7-parameter] {name} exists only in PowerShell 7 ({doc}), not in Windows PowerShell 5.1: "
               "write it with 5.1 cmdlets or .NET")
        return
    entry = {k.lower(): v for k, v in known["parameters_7_only"].items()}.get(cmdlet)
    if entry is not None:
        names_51 = {n.lower() for n in entry["parameters_5_1"]} | COMMON_PARAMETERS
        for given, _param in _given_parameters(node):
            if given in names_51 or any(n.startswith(given) for n in names_51):
                continue
            match = next((p for p in entry["parameters_7_only"] if p.lower().startswith(given)), None)
            if match:
                source = entry["parameters_7_only"][match]
                if not source.startswith("reference/5.1"):
                    source = f"{source}; not in {entry['doc_5_1']}"
                yield (f"[ps7-parameter] {_text(node.child_by_field_name('command_name'))} -{match} is PowerShell "
                       f"7 only ({source}): "
                       f"{PS7_ALTERNATIVES.get((cmdlet, match.lower()), 'use a Windows PowerShell 5.1 form')}")
    if cmdlet == "join-path":
        yield from _join_path(node)
    yield from _ps6_encoding(node)


PS7_ALTERNATIVES = {
    ("convertfrom-json", "ashashtable"): "read the PSCustomObject's properties (or [Web.Script.Serialization."
                                         "JavaScriptSerializer] from System.Web.Extensions)",
    ("convertfrom-json", "depth"): "drop -Depth (5.1 has no depth limit on reading)",
    ("convertto-json", "asarray"): "wrap the value: ConvertTo-Json -InputObject @($value)",
    ("foreach-object", "parallel"): "use a plain foreach loop, or Start-Job for real concurrency",
    ("join-path", "additionalchildpath"): "nest the calls: Join-Path (Join-Path $a $b) $c",
    ("split-path", "leafbase"): "use [IO.Path]::GetFileNameWithoutExtension($path)",
    ("split-path", "extension"): "use [IO.Path]::GetExtension($path)",
    ("get-content", "asbytestream"): "use -Encoding Byte, or [IO.File]::ReadAllBytes($path)",
    ("set-content", "asbytestream"): "use -Encoding Byte, or [IO.File]::WriteAllBytes($path, $bytes)",
    ("add-content", "asbytestream"): "use -Encoding Byte",
    ("sort-object", "top"): "pipe to Select-Object -First N",
    ("sort-object", "bottom"): "pipe to Select-Object -Last N",
}


def _join_path(node):
    """Windows PowerShell 5.1's Join-Path takes -Path (position 0) and -ChildPath (position 1) only."""
    elements = node.child_by_field_name("command_elements")
    children, joined = [], False
    for child in [] if elements is None else elements.children:
        if child.type in ("command_argument_sep", "redirection"):
            joined = False
        elif not joined:  # $x.ToString() is one argument: its parts are not separated
            children.append(child)
            joined = True
    positional, named, index = 0, set(), 0
    while index < len(children):
        item = children[index]
        index += 1
        if item.type != "command_parameter":
            positional += 1
            continue
        name = _text(item).lstrip("-").rstrip(":").lower()
        if "resolve".startswith(name) and len(name) >= 1 and not _text(item).endswith(":"):
            continue  # a switch
        named.add("path" if "path".startswith(name) else "childpath" if "childpath".startswith(name) else name)
        index += 1 if index < len(children) else 0
    if positional > 2 - len(named & {"path", "childpath"}):
        yield ("[ps7-parameter] Join-Path with more than two paths is PowerShell 6+ (-AdditionalChildPath); "
               "Windows PowerShell 5.1 fails with 'A positional parameter cannot be found': nest the calls, "
               "Join-Path (Join-Path $a $b) $c")


def _ps6_encoding(node):
    for given, value in _arguments(node):
        if given and len(given) >= 2 and "encoding".startswith(given) and value is not None:
            word = _text(value).strip("'\"").lower()
            if word in PS6_ENCODINGS:
                yield (f"[ps7-parameter] -Encoding {_text(value)} is PowerShell 6+: Windows PowerShell 5.1 knows "
                       "Unicode, UTF8 (with BOM), ASCII, Default, OEM, UTF32...; for UTF-8 without BOM write "
                       "[IO.File]::WriteAllText($path, $text, [Text.UTF8Encoding]::new($false))")


# --- [alias] ----------------------------------------------------------------------------------------

def _alias(node, _context):
    name = _raw_command_name(node)
    if name is None or "\\" in name or "/" in name:
        return
    target = data()["aliases"].get(name.lower())
    if target is None:
        return
    extra = " (sc.exe is the service control program)" if name.lower() == "sc" else ""
    yield f"[alias] {name} is an alias of {target}{extra}: write {target}"


# --- [null-comparison] ------------------------------------------------------------------------------

def _null_comparison(node, _context):
    operands = _named(node)
    operator = next((c for c in node.children if c.type == "comparison_operator"), None)
    if operator is None or len(operands) != 3 or _text(operator).lower() not in EQUALITY:
        return
    left, right = operands[0], operands[2]
    if _text(_inner(right)).lower() == "$null" and _text(_inner(left)).lower() != "$null":
        op = _text(operator)
        yield (f"[null-comparison] $null on the right of {op}: with an array on the left {op} filters it; "
               f"write $null {op} {_text(left)}")


# --- [encoding] -------------------------------------------------------------------------------------

def _encoding_cmdlet(node, _context):
    cmdlet = _cmdlet(node)
    given = [name for name, _value in _given_parameters(node)]
    if cmdlet == "tee-object" and any("filepath".startswith(g) or g in ("literalpath", "lp")
                                      for g in given if len(g) >= 2):
        yield ("[encoding] Tee-Object -FilePath writes UTF-16 LE on Windows PowerShell 5.1 and has no -Encoding: "
               "write the file with Out-File -Encoding UTF8 (or [IO.File]::WriteAllText with an encoding)")
    if cmdlet not in ENCODED_WRITERS or _splatted(node):
        return
    if not any(len(g) >= 2 and "encoding".startswith(g) for g in given):
        name = _text(node.child_by_field_name("command_name"))
        yield (f"[encoding] {name} without -Encoding writes the Windows PowerShell 5.1 default (UTF-16 LE or "
               f"the ANSI code page): name it, e.g. {name} -Encoding UTF8")


def _redirection(node, _context):
    operator = next((c for c in node.children if c.type == "file_redirection_operator"), None)
    target = next((c for c in node.children if c.type == "redirected_file_name"), None)
    if operator is None or target is None:
        return
    if _text(target).strip().lower() == "$null":
        return
    yield (f"[encoding] redirection {_text(operator)} {_text(target).strip()} writes UTF-16 LE on Windows "
           "PowerShell 5.1: pipe to Out-File -FilePath ... -Encoding UTF8 (add -Append for >>)")


def _member_name_node(node):
    """The member_name child of a static call that _static_call has recognised (it always has one)."""
    for child in node.children:
        if child.type == "member_name":
            return child
    raise ValueError("static call without a member name")


def _file_write(node, _context):
    call = _static_call(node)
    if call is None or call[0] != "io.file" or call[1] not in FILE_TEXT_WRITES or len(call[2]) != 2:
        return
    method = _text(_member_name_node(node))
    yield (f"[encoding] [IO.File]::{method} without an encoding argument: pass one, e.g. "
           f"[IO.File]::{method}($path, $text, [Text.UTF8Encoding]::new($false))")


# --- [file-share] -----------------------------------------------------------------------------------

def _stream_call(node, _context):
    call = _static_call(node)
    if call is None:
        return
    type_name, method, arguments = call
    if type_name == "io.file" and method in FILE_OPENERS:
        share_at, default = FILE_OPENERS[method]
        if share_at is None or len(arguments) < share_at:
            written = _text(_member_name_node(node))
            yield _share_message(f"[IO.File]::{written}", default)
        return
    if type_name in STREAM_TYPES and method == "new":
        yield from _stream_constructor(node, STREAM_TYPES[type_name], arguments)


def _stream_object(node, _context):
    """New-Object System.IO.StreamReader($path) / -TypeName ... -ArgumentList ..."""
    if _cmdlet(node) != "new-object":
        return
    arguments = _arguments(node)
    values = [v for g, v in arguments if g is None or g in ("typename", "argumentlist", "args")]
    if not values:
        return
    type_name = _text(values[0]).strip("'\"").lower().removeprefix("system.")
    if type_name not in STREAM_TYPES:
        return
    rest = values[1:]
    if len(rest) == 1 and rest[0].type == "argument_list":
        rest = _argument_expressions(rest[0])
    elif len(rest) == 1:
        listed = _inner(rest[0])
        rest = _named(listed) if listed.type == "array_literal_expression" else [rest[0]]
    yield from _stream_constructor(node, STREAM_TYPES[type_name], rest)


def _stream_constructor(node, kind, arguments):
    if not arguments:
        return
    if kind == "FileStream":
        if len(arguments) < 4:
            yield _share_message("[IO.FileStream] with a path and no FileShare", "FileShare.Read")
        return
    if not _is_stream(arguments[0], node):
        yield _share_message(f"[IO.{kind}] on a path", "FileShare.Read")


def _share_message(what, default) -> str:
    return (f"[file-share] {what} opens the file with {default}: a file another process holds open for writing "
            "(a live IIS log) fails with a sharing violation. Name the FileShare: [IO.FileStream]::new($path, "
            "'Open', 'Read', 'ReadWrite, Delete') read through [IO.StreamReader]::new($stream, ...), or "
            "FileShare 'None' where this module must be the only writer")


def _is_stream(argument, node) -> bool:
    """True when a reader/writer's first argument is a Stream rather than a path."""
    argument = _inner(argument)
    if argument.type in ("invokation_expression", "command"):
        return _opens_stream(argument)
    if argument.type != "variable":
        return False
    name = _variable_name(argument)
    function = _function_of(node)
    root = function
    while root.parent is not None:
        root = root.parent
    for scope in (function, root) if function is not root else (root,):
        values = []
        for candidate in _walk(scope):
            if candidate.type == "script_parameter":
                bound = next((c for c in candidate.children if c.type == "variable"), None)
                if bound is not None and _variable_name(bound) == name:
                    return "stream" in _text(candidate).lower()
            if candidate.type == "assignment_expression" and _assigned_name(candidate) == name:
                values.append(_inner(candidate.child_by_field_name("value")))
        if values:
            return all(_opens_stream(v) for v in values)
    return False


def _opens_stream(node) -> bool:
    node = _inner(node)
    if node is None:
        return False
    if node.type == "invokation_expression":
        call = _static_call(node)
        if call is not None:
            return (call[0] == "io.filestream" and call[1] == "new") or (
                call[0] == "io.file" and call[1] in FILE_OPENERS) or call[0].endswith("stream")
        member = next((c for c in node.children if c.type == "member_name"), None)
        method = _text(member).lower() if member is not None else ""
        return method in ("open", "openread", "openwrite", "create") or "stream" in method
    if node.type == "command" and _cmdlet(node) == "new-object":
        return any(_text(v).lower().removeprefix("system.").endswith("stream") for g, v in _arguments(node)
                   if v is not None and g in (None, "typename"))
    return False


# --- [collection-return] ----------------------------------------------------------------------------

def _function_of(node):
    while node.parent is not None and node.type != "function_statement":
        node = node.parent
    return node


def _cast_target(node):
    """The cast_expression of `[type]$x` on the left of =, else None."""
    while node is not None and node.type == "expression_with_unary_operator" and len(_named(node)) == 1:
        node = _named(node)[0]
    return node if node is not None and node.type == "cast_expression" else None


def _assigned_name(assignment) -> str | None:
    target = _inner(assignment.children[0]) if assignment.children else None
    if _cast_target(target) is not None:
        target = _inner(_named(_cast_target(target))[-1])
    return _variable_name(target) if target is not None and target.type == "variable" else None


def _outputs(function):
    """The expressions whose values a function writes to the pipeline (statements of its body and of
    its if/else/switch/try/loop blocks that are neither assigned nor discarded, and return values)."""
    body = next((c for c in function.children if c.type == "script_block"), None)
    yield from _block_outputs(body)


BLOCKS = {"script_block", "script_block_body", "named_block_list", "named_block", "statement_block", "statement_list"}
# Statements and their parts whose blocks run: their conditions and headers are not output.
CONTROL = {"if_statement", "elseif_clauses", "elseif_clause", "else_clause", "try_statement", "catch_clauses",
           "catch_clause", "finally_clause", "switch_statement", "switch_body", "switch_clauses", "switch_clause",
           "while_statement", "do_statement", "for_statement"}
OUTPUT_NODES = {"pipeline", "pipeline_chain", "command", "invokation_expression", "variable", "array_expression",
                "array_literal_expression", "expression_with_unary_operator", "member_access", "element_access",
                "parenthesized_expression", "string_literal", "hash_literal_expression", "sub_expression",
                "cast_expression"}


def _block_outputs(node, returns=True):
    """Output statements of a block; `returns`: count `return x` too (not inside a loop body, where
    it ends the function after one value)."""
    if node is None:
        return
    for child in _named(node):
        if child.type in CONTROL:
            yield from _control_outputs(child, returns)
        elif child.type in BLOCKS:
            yield from _block_outputs(child, returns)
        elif child.type == "foreach_statement":
            body = next((c for c in child.children if c.type == "statement_block"), None)
            if any(_emits_value(o) for o in _block_outputs(body, returns=False)):
                yield child  # a foreach loop that writes values outputs a collection
        elif child.type == "flow_control_statement":
            if returns and _text(child).lower().startswith("return") and _named(child):
                yield _named(child)[-1]
        elif child.type in OUTPUT_NODES and not _discarded(child):
            yield child


def _control_outputs(node, returns=True):
    for child in _named(node):
        if child.type in CONTROL:
            yield from _control_outputs(child, returns)
        elif child.type in BLOCKS:
            yield from _block_outputs(child, returns)


def _emits_value(statement) -> bool:
    """A statement in a loop body that certainly writes a value. Commands may write nothing and method
    calls are mostly void ($list.Add, $queue.Enqueue), so neither counts."""
    node = _inner(statement)
    if node.type == "expression_with_unary_operator" and _named(node):
        node = _named(node)[0]
    return node.type not in ("command", "pipeline", "pipeline_chain", "foreach_statement", "invokation_expression",
                             "post_increment_expression", "post_decrement_expression", "pre_increment_expression",
                             "pre_decrement_expression")


def _discarded(node) -> bool:
    text = _text(node).lower().replace(" ", "")
    inner = _inner(node)
    return text.startswith("[void]") or text.endswith("|out-null") or inner.type == "assignment_expression"


def _is_collection(output, function, depth=0) -> bool:
    """True when the output is a collection written to the pipeline as its items (not `,@(...)`)."""
    node = _inner(output)
    if node is None or depth > 4:
        return False
    test = COLLECTION_TESTS.get(node.type)
    return bool(test and test(node, function, depth))


def _collecting_pipeline(node, _function, _depth) -> bool:
    commands = [c for c in _named(node) if c.type == "command"]
    return bool(commands) and _cmdlet(commands[-1]) in COLLECTING_COMMANDS


def _to_array(node, _function, _depth) -> bool:
    member = next((c for c in node.children if c.type == "member_name"), None)
    return member is not None and _text(member).lower() == "toarray"


def _collection_variable(node, function, depth) -> bool:
    name = _variable_name(node)
    values = [_inner(a.child_by_field_name("value")) for a in _walk(function)
              if a.type == "assignment_expression" and _assigned_name(a) == name]
    return any(_is_list_value(v) or _is_collection(v, function, depth + 1) for v in values)


COLLECTION_TESTS = {
    "foreach_statement": lambda _node, _function, _depth: True,
    "array_expression": lambda _node, _function, _depth: True,
    "array_literal_expression": lambda node, _function, _depth: len(_named(node)) > 1,
    "invokation_expression": _to_array,
    "pipeline": _collecting_pipeline,
    "pipeline_chain": _collecting_pipeline,
    "variable": _collection_variable,
}


def _is_list_value(node) -> bool:
    """A List/ArrayList built here: [List[object]]::new(), [List[object]]@(), New-Object ...ArrayList."""
    text = _text(node).lower().replace(" ", "")
    return ("collections.generic.list[" in text or "collections.arraylist" in text) and not text.startswith(",")


def _collection_assignment(node, context):
    """target = Get-Foo where Get-Foo unrolls a collection."""
    value = node.child_by_field_name("value")
    command = _inner(value)
    if command is None or command.type != "command":
        return
    name = _cmdlet(command)
    if name not in context.collection_functions:
        return
    target = _inner(node.children[0])
    if _cast_target(target) is not None:
        return  # [string[]]$x = Get-Foo keeps an array
    if target.type == "variable":
        use = _collection_use(_variable_name(target), node)
        if use is None:
            return
        where = f"${_variable_name(target)} is later {use}"
    elif target.type in ("member_access", "element_access"):
        where = f"{_text(target)} goes into the module's result"
    else:
        return  # $a, $b = Get-Foo takes the items apart on purpose
    yield _collection_message(name, command, context, where)


def _collection_entry(node, context):
    """@{ key = Get-Foo }: a hashtable entry (module state) from an unrolled collection."""
    values = _named(node)
    command = _inner(values[-1]) if len(values) > 1 else None
    if command is None or command.type != "command" or _cmdlet(command) not in context.collection_functions:
        return
    yield _collection_message(_cmdlet(command), command, context,
                              f"the hashtable entry {_text(values[0])} goes into the module's result")


def _collection_message(name, command, context, where) -> str:
    function = context.functions[name]
    output = context.collection_functions[name]
    written = _text(next(c for c in function.children if c.type == "function_name"))
    return (f"[collection-return] {written} (line {output.start_point[0] + 1}) writes a collection to the pipeline, "
            f"which PowerShell unrolls: 0 items arrive as $null and 1 item bare, and {where}. Write "
            f"@({_text(command).strip()}) here, or return ,@(...) in {written}")


def _collection_use(name, assignment) -> str | None:
    """How a variable assigned from an unrolled collection is used as one later in its scope."""
    scope = _function_of(assignment)
    for node in _walk(scope):
        if node.start_byte < assignment.end_byte or node.type != "variable" or _variable_name(node) != name:
            continue
        parent = node.parent
        while parent is not None and parent.type in PASS_THROUGH and len(_named(parent)) == 1:
            parent = parent.parent
        if parent is None:
            continue
        if parent.type == "element_access" and _named(parent)[0] is not None and _inner(_named(parent)[0]) == node:
            return "indexed"
        if parent.type == "member_access":
            member = next((c for c in parent.children if c.type == "member_name"), None)
            if member is not None and _text(member).lower() == "length":
                return "asked for .Length"
        if parent.type in ("assignment_expression", "hash_entry") and _named(parent)[-1].start_byte == node.start_byte:
            target = _inner(_named(parent)[0])
            if parent.type == "hash_entry" or target.type != "variable":
                return f"stored into {_text(target)}"
    return None


# --- [unassigned-variable] --------------------------------------------------------------------------

def _unassigned_variables(root) -> list:
    writes = _writes_by_scope(root)
    script_names = {name for _start, name in writes.get(_key(root), [])} | writes.get("script:", set())
    found = []
    for node in _walk(root):
        if node.type != "variable" or _is_write(node):
            continue
        name = _variable_name(node).removeprefix("local:")
        bare = name.removeprefix("script:")
        if name.startswith(FOREIGN_PREFIXES) or bare in AUTOMATIC | PS6_VARIABLES:
            continue
        if _function_of(node).type != "function_statement":
            continue  # script-level code runs top to bottom once; the rule is about functions
        if bare in script_names:
            continue
        if _assigned_before(node, bare, writes):
            continue
        written = _text(node).lstrip("$@").strip("{}").split(":", 1)[-1]
        written = bare if "\n" in written else written
        found.append(Problem(node.start_point[0] + 1, node.start_point[1] + 1,
                             f"[unassigned-variable] ${written} is read before anything assigns it: assign it first "
                             "(or pass it as a parameter)"))
    return found


def _key(scope) -> tuple:
    return scope.start_byte, scope.end_byte


def _writes_by_scope(root) -> dict:
    """{scope key: [(start byte, name)]} of every binding, by the function (or file) it happens in;
    "script:" holds the names assigned as $script:x anywhere."""
    writes = {"script:": set()}
    for node in _walk(root):
        names = []
        if node.type == "variable" and _is_write(node):
            name = _variable_name(node).removeprefix("local:")
            if name.startswith("script:"):
                writes["script:"].add(name.removeprefix("script:"))
            names.append(name.removeprefix("script:"))
        elif node.type == "cast_expression" and _text(node).lower().replace(" ", "").startswith("[ref]"):
            names.extend(_variable_name(v) for v in _walk(node) if v.type == "variable")
        elif node.type == "command":
            names.extend(_command_binds(node))
        elif node.type == "function_statement":
            names.extend(_inline_parameters(node))
            writes.setdefault(_key(node), []).extend((node.start_byte, n) for n in _inline_parameters(node))
            continue
        if names:
            writes.setdefault(_key(_function_of(node)), []).extend((node.start_byte, n) for n in names)
    return writes


def _in_trap(node) -> bool:
    while node is not None and node.type not in ("trap_statement", "function_statement"):
        node = node.parent
    return node is not None and node.type == "trap_statement"


def _assigned_before(node, name, writes) -> bool:
    """Bound earlier in the function (or file) that holds the read, or in a function around it. A trap
    block runs on an error anywhere in its scope, so anything its scope assigns counts."""
    scope = _function_of(node)
    before = scope.end_byte if _in_trap(node) else node.start_byte
    while True:
        if any(start < before and bound == name for start, bound in writes.get(_key(scope), [])):
            return True
        if scope.parent is None:
            return False
        scope = _function_of(scope.parent)


def _is_write(variable) -> bool:
    """The variable is being assigned (or declared) here, not read."""
    parent = variable.parent
    while parent is not None and parent.type in PASS_THROUGH | {"cast_expression", "expression_with_unary_operator"}:
        if parent.type == "expression_with_unary_operator" and _text(parent).startswith(("++", "--")):
            return True
        parent = parent.parent
    if parent is None:
        return False
    if parent.type == "assignment_expression" and parent.children and _within(variable, parent.children[0]):
        return True
    if parent.type in ("script_parameter", "foreach_statement", "post_increment_expression",
                       "post_decrement_expression", "pre_increment_expression", "pre_decrement_expression"):
        return parent.type != "foreach_statement" or _named(parent)[0] == variable
    return False


def _within(node, ancestor) -> bool:
    return ancestor.start_byte <= node.start_byte and node.end_byte <= ancestor.end_byte


def _command_binds(command) -> set:
    """Variables a command creates: -OutVariable x, -ErrorVariable +x, Set-Variable/New-Variable -Name x."""
    names = set()
    name = _cmdlet(command)
    for given, value in _arguments(command):
        if value is None:
            continue
        word = _text(value).strip("'\"").lstrip("+").lower()
        if given in OUT_VARIABLE_PARAMETERS or (name in ("set-variable", "new-variable", "sv", "nv") and (
                given in (None, "name", "n"))):
            names.add(word)
    return names


def _inline_parameters(function) -> set:
    """function f($a, $b) { }: parameters written after the name."""
    listing = next((c for c in function.children if c.type == "function_parameter_declaration"), None)
    return {_variable_name(v) for v in _walk(listing) if v.type == "variable"} if listing is not None else set()


RULES = {
    "pipeline_chain_tail": (_pipeline_chain,),
    "variable": (_ps6_variable,),
    "command": (_ps7_parameters, _alias, _encoding_cmdlet, _stream_object),
    "comparison_expression": (_null_comparison,),
    "redirection": (_redirection,),
    "invokation_expression": (_file_write, _stream_call),
    "assignment_expression": (_collection_assignment,),
    "hash_entry": (_collection_entry,),
}
