# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build tests/tools/ps1_signatures/<Module>.json from Microsoft's cmdlet documentation.

Run by hand (not in make test) against bare git copies of the two public documentation
repositories, read with `git show` (no work tree needed):

    ps1_signatures_build.py --powershell-docs DIR/PowerShell-Docs.git \\
        --windows-docs DIR/windows-powershell-docs.git

Windows PowerShell 5.1 core cmdlets come from PowerShell-Docs reference/5.1/<Module>/<Cmdlet>.md;
the OS modules from windows-powershell-docs docset/winserver2016-ps/<Module>/<Cmdlet>.md (Server
2016 = Windows 10 LTSB 2016, build 14393: the oldest host we support, so a parameter added later is
rightly unknown). Each cmdlet records the repository, path and commit it came from.

From each page: the SYNTAX blocks (one per parameter set; which parameters are mandatory,
positional, switches) and the PARAMETERS sections (Type, Parameter Sets, Aliases, Position,
Required, Accepted values, pipeline input). Parameters the page says were introduced in
PowerShell 6 or later are left out; provider parameters ("only available in the X provider") are
dynamic, so they join every parameter set. The common parameters (about_CommonParameters) are
written once to common.json. native.json (secedit, auditpol, MpCmdRun, w32tm) is written by hand
from the Microsoft Learn pages it names; this script leaves it alone.

Microsoft.Windows.ServerManager.Migration is the docs' folder for the ServerManager module's
Get-WindowsFeature / Install-WindowsFeature on Server 2016.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import re
import subprocess

OUT = pathlib.Path(__file__).resolve().parent / "ps1_signatures"
POWERSHELL_DOCS = "MicrosoftDocs/PowerShell-Docs"
WINDOWS_DOCS = "MicrosoftDocs/windows-powershell-docs"
CORE_MODULES = ("CimCmdlets", "Microsoft.PowerShell.Archive", "Microsoft.PowerShell.Core",
                "Microsoft.PowerShell.Diagnostics", "Microsoft.PowerShell.Host",
                "Microsoft.PowerShell.LocalAccounts", "Microsoft.PowerShell.Management",
                "Microsoft.PowerShell.Security", "Microsoft.PowerShell.Utility", "Microsoft.WSMan.Management",
                "PSScheduledJob")
OS_DOCSET = "docset/winserver2016-ps"
OS_MODULES = ("AppLocker", "BitLocker", "DISM", "Defender", "International",
              "Microsoft.Windows.ServerManager.Migration", "NetSecurity", "NetTCPIP", "ScheduledTasks", "SecureBoot",
              "TLS", "TrustedPlatformModule", "WebAdministration")
ALL_SETS = "(All)"
SINGLE_SET = "__AllParameterSets"
NEWER_THAN_51 = re.compile(r"(introduced|added)\s+in\s+PowerShell\s+(6|7|Core)", re.IGNORECASE)
PROVIDER_NOTE = re.compile(r"only available in the\s+\[?(\w+)\]?", re.IGNORECASE)

# The ActionPreference value Break is listed in the 5.1 about_CommonParameters page but described
# only in the 7.x about_Preference_Variables page: Windows PowerShell 5.1's enum has no Break.
NOT_IN_51 = {"Break"}
COMMON_DOC = "reference/5.1/Microsoft.PowerShell.Core/About/about_CommonParameters.md"


def git(repo: pathlib.Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True,
                          text=True, encoding="utf-8").stdout


def section(text: str, heading: str) -> str:
    match = re.search(rf"^## {heading}\s*$(.*?)(?=^## |\Z)", text, re.MULTILINE | re.DOTALL)
    return match.group(1) if match else ""


def syntax_sets(text: str, cmdlet: str) -> dict:
    """{set name: {param: (positional, mandatory, switch)}} in the order written, from SYNTAX."""
    body, sets, name, provider_only = section(text, "SYNTAX"), {}, None, False
    for part in re.split(r"^(### .*|```.*)$", body, flags=re.MULTILINE):
        if part.startswith("### "):
            # "Path (Default) - FileSystem provider": one set, shown once per provider; what only a
            # provider's block shows is that provider's dynamic parameter (never mandatory elsewhere)
            heading = part[4:].replace("(Default)", "")
            name = re.sub(r"\s+-\s+.*providers?$", "", heading).strip()
            provider_only = heading != name and not heading.rstrip().endswith("All providers")
        elif part.strip().lower().startswith(cmdlet.lower()):
            found = syntax_params(part.strip()[len(cmdlet):])
            merged = sets.setdefault(name or SINGLE_SET, {})
            for param, (positional, mandatory, switch) in found.items():
                if param not in merged or not provider_only:
                    merged[param] = (positional, mandatory and not provider_only, switch)
            name, provider_only = None, False
    return sets


def syntax_params(line: str) -> dict:
    """Parse '[[-Path] <string[]>] -Name <x> [-Force]': bracket depth outside <type> text."""
    found, depth, index = {}, 0, 0
    while index < len(line):
        char = line[index]
        if char == "<":  # a type such as <FlagsExpression[FileAttributes]> or <CommonParameters>
            index = line.index(">", index) + 1
            continue
        if char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "-" and (index == 0 or line[index - 1] in " [\n"):
            match = re.match(r"-([A-Za-z][\w]*)", line[index:])
            name = match.group(1)
            after = index + match.end()
            positional = line[after:after + 1] == "]" and line[after + 1:].lstrip().startswith("<")
            rest = line[after + (1 if positional else 0):].lstrip()
            switch = not rest.startswith("<")
            found[name] = (positional, depth - (1 if positional else 0) == 0, switch)
            index = after
            continue
        index += 1
    return found


def parameter_blocks(body: str) -> dict:
    """{param: {'text': description, 'yaml': [dict per ```yaml block]}} from a PARAMETERS section."""
    found = {}
    for chunk in re.split(r"^### ", body, flags=re.MULTILINE)[1:]:
        title, _newline, rest = chunk.partition("\n")
        if not title.startswith("-"):
            continue  # CommonParameters
        blocks = []
        for yaml in re.findall(r"```yaml\s*\n(.*?)```", rest, re.DOTALL):
            fields = {}
            for row in yaml.splitlines():
                key, sep, value = row.partition(":")
                if sep:
                    fields[key.strip()] = value.strip()
            blocks.append(fields)
        found[title[1:].strip()] = {"text": rest.split("```yaml")[0], "yaml": blocks}
    return found


def split_list(value: str) -> list:
    return [v.strip() for v in value.split(",") if v.strip() and v.strip().lower() != "none"]


def cmdlet_entry(text: str, cmdlet: str, source: dict) -> dict | None:
    sets_syntax = syntax_sets(text, cmdlet)
    documented = parameter_blocks(section(text, "PARAMETERS"))
    if not sets_syntax and not documented:
        return None
    set_names = list(sets_syntax) or [SINGLE_SET]
    default = re.search(r"^### (.*?) \(Default\)", section(text, "SYNTAX"), re.MULTILINE)
    params = {}
    for name in sorted(set(documented) | {p for s in sets_syntax.values() for p in s}):
        doc = documented.get(name, {"text": "", "yaml": []})
        if NEWER_THAN_51.search(doc["text"]):
            continue
        first = (doc["yaml"] or [{}])[0]
        type_name = first.get("Type", "")
        in_syntax = [s for s in set_names if name in sets_syntax.get(s, {})]
        provider = PROVIDER_NOTE.search(doc["text"])
        params[name] = {
            "type": type_name,
            "aliases": sorted(split_list(first.get("Aliases", ""))),
            "switch": "SwitchParameter" in type_name or (
                not type_name and any(sets_syntax[s][name][2] for s in in_syntax)),
            "pipeline": any(b.get("Accept pipeline input", "False").startswith("True") for b in doc["yaml"]),
            "sets": compact(set_membership(name, doc, sets_syntax, set_names, provider is not None), set_names),
        }
        values = split_list(first.get("Accepted values", ""))
        if values:
            params[name]["values"] = values
        if provider:
            params[name]["provider"] = provider.group(1)
    return {
        "source": source,
        "default_set": default.group(1).strip() if default else set_names[0],
        "sets": sorted(set_names),
        "common_parameters": "<CommonParameters>" in section(text, "SYNTAX"),
        "params": params,
    }


def set_membership(name, doc, sets_syntax, set_names, provider: bool) -> dict:
    """{set: {"position": int | None, "mandatory": bool}} from the yaml blocks and SYNTAX lines."""
    membership = {}
    for block in doc["yaml"]:
        listed = split_list(block.get("Parameter Sets", ""))
        names = set_names if (ALL_SETS in listed or not listed) else [s for s in listed if s in set_names]
        position = block.get("Position", "Named")
        for set_name in names:
            membership[set_name] = {"position": int(position) if position.isdigit() else None,
                                    "mandatory": block.get("Required", "False").startswith("True")}
    in_syntax = [s for s in set_names if name in sets_syntax.get(s, {})]
    for set_name in (set_names if provider else in_syntax):  # a provider's parameter is dynamic
        membership.setdefault(set_name, {"position": None, "mandatory": False})
    if not membership:  # described without a yaml block or a SYNTAX line: it exists, set unknown
        membership = {set_name: {"position": None, "mandatory": False} for set_name in set_names}
    for set_name in in_syntax:  # the SYNTAX block is authoritative for its own set
        positional, mandatory, _switch = sets_syntax[set_name][name]
        entry = membership[set_name]
        entry["mandatory"] = mandatory and not provider
        if positional and entry["position"] is None:
            order = [p for p, v in sets_syntax[set_name].items() if v[0]]
            entry["position"] = order.index(name)
        if not positional:
            entry["position"] = None
    return membership


def compact(membership: dict, set_names: list) -> dict:
    """{"*": {...}} for a parameter that is the same in every set, else {set: {...}}."""
    values = list(membership.values())
    if sorted(membership) == sorted(set_names) and all(v == values[0] for v in values):
        return {"*": values[0]}
    return dict(sorted(membership.items()))


def module_entries(repo: pathlib.Path, repo_name: str, folder: str) -> dict:
    commit = git(repo, "rev-parse", "HEAD").strip()
    entries = {}
    for path in git(repo, "ls-tree", "--name-only", f"HEAD:{folder}").split():
        cmdlet = path.removesuffix(".md")
        if not path.endswith(".md") or not re.fullmatch(r"[A-Z][A-Za-z]+-[A-Za-z0-9]+", cmdlet):
            continue
        text = git(repo, "show", f"HEAD:{folder}/{path}")
        entry = cmdlet_entry(text, cmdlet, {"repo": repo_name, "path": f"{folder}/{path}", "commit": commit})
        if entry is not None:
            entries[cmdlet] = entry
    return entries


def write(name: str, data: dict) -> None:
    OUT.mkdir(exist_ok=True)
    (OUT / f"{name}.json").write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--powershell-docs", type=pathlib.Path, required=True)
    parser.add_argument("--windows-docs", type=pathlib.Path, required=True)
    options = parser.parse_args()
    for module in CORE_MODULES:
        write(module, module_entries(options.powershell_docs, POWERSHELL_DOCS, f"reference/5.1/{module}"))
    for module in OS_MODULES:
        write(module, module_entries(options.windows_docs, WINDOWS_DOCS, f"{OS_DOCSET}/{module}"))
    write("common", common_parameters(options.powershell_docs))


def common_parameters(repo: pathlib.Path) -> dict:
    """The common parameters and ShouldProcess's WhatIf/Confirm, from about_CommonParameters."""
    params = {}
    text = git(repo, "show", f"HEAD:{COMMON_DOC}")
    body = section(text, "Common parameters") + section(text, "Risk management parameters")
    for name, doc in parameter_blocks(body).items():
        if NEWER_THAN_51.search(doc["text"]) or not doc["yaml"]:
            continue  # ProgressAction: PowerShell 7.4
        fields = doc["yaml"][0]
        params[name] = {"aliases": split_list(fields.get("Aliases", "")),
                        "switch": "SwitchParameter" in fields.get("Type", ""),
                        "type": fields.get("Type", "")}
        values = [v for v in split_list(fields.get("Accepted values", "")) if v not in NOT_IN_51]
        if values:
            params[name]["values"] = sorted(values)
    should_process = {name: params.pop(name) for name in ("WhatIf", "Confirm")}
    commit = git(repo, "rev-parse", "HEAD").strip()
    return {"source": {"repo": POWERSHELL_DOCS, "path": COMMON_DOC, "commit": commit},
            "params": params, "should_process": should_process}


if __name__ == "__main__":
    main()
