# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Regenerate ps51_language.json from a clone of MicrosoftDocs/PowerShell-Docs.

Usage: make_ps51_data.py GIT_DIR [COMMIT] > ps51_language.json

- aliases: the `aliases:` front matter of every reference/5.1 cmdlet page, plus the few built-in
  aliases Get-Alias lists on Windows PowerShell 5.1 that no page's front matter names;
- cmdlets_7_only: cmdlets documented under reference/7.x but not under reference/5.1;
- parameters_7_only: for each cmdlet in both, the parameters (### -Name headings) documented for any
  7.x version but not for 5.1, or documented on the 5.1 page as "introduced in PowerShell 6/7",
  with every 5.1 parameter name and alias (to tell an unambiguous prefix of a 7-only parameter from
  a 5.1 one).
"""

import json
import re
import subprocess
import sys

VERSIONS_7 = ("7.4", "7.5", "7.6", "7.7")
# Built-in aliases of Windows PowerShell 5.1 (Get-Alias on a fresh session) whose target page has
# no `aliases:` front matter for them.
ALIASES_NOT_IN_FRONT_MATTER = {"h": "Get-History", "ise": "powershell_ise.exe", "man": "help",
                               "md": "mkdir", "rmdir": "Remove-Item"}


def git(repo, *args):
    return subprocess.run(["git", "-C", repo, *args], check=True, capture_output=True, text=True).stdout


def pages(repo, commit, version):
    """{cmdlet: path} for every cmdlet page of one reference version."""
    found = {}
    for path in git(repo, "ls-tree", "-r", "--name-only", commit, f"reference/{version}").splitlines():
        parts = path.split("/")
        if len(parts) == 4 and path.endswith(".md") and "-" in parts[3] and parts[3][:-3] != parts[2]:
            found[parts[3][:-3]] = path
    return found


def front_aliases(text):
    match = re.match(r"---\n(.*?)\n---", text, re.S)
    block = re.search(r"^aliases:\n((?:[ \t]*- .*\n?)+)", match.group(1) + "\n", re.M) if match else None
    return [line.strip()[2:].strip() for line in block.group(1).splitlines()] if block else []


# A 5.1 page that documents a later parameter says so (Get-ChildItem -FollowSymlink: "This parameter
# was introduced in PowerShell 6.0."); "reintroduced in PowerShell 7.1" means 5.1 had it.
LATER = re.compile(r"(?<!re)introduced in PowerShell [6-9]", re.I)


def parameters(text, skip_later=False):
    """{parameter: [aliases]} from the ## PARAMETERS section."""
    section = text.split("\n## PARAMETERS", 1)[-1].split("\n## INPUTS", 1)[0]
    found = {}
    for name, body in re.findall(r"^### -(\w+)\n(.*?)(?=^### |\Z)", section, re.S | re.M):
        if skip_later and LATER.search(body):
            continue
        alias_line = re.search(r"^Aliases:[ \t]*(.*)$", body, re.M)
        aliases = [a.strip() for a in alias_line.group(1).split(",") if a.strip()] if alias_line else []
        found[name] = aliases
    return found


def main(repo, commit="HEAD"):
    commit = git(repo, "rev-parse", commit).strip()

    def show(path):
        return git(repo, "show", f"{commit}:{path}")
    old = pages(repo, commit, "5.1")
    new = {}
    for version in VERSIONS_7:
        for cmdlet, path in pages(repo, commit, version).items():
            new.setdefault(cmdlet, []).append(path)
    aliases, only_7, params_7 = {}, {}, {}
    for cmdlet, path in sorted(old.items()):
        text = show(path)
        for alias in front_aliases(text):
            aliases[alias.lower()] = cmdlet
        if cmdlet not in new:
            continue
        params_51 = parameters(text, skip_later=True)
        extra = {name: f"{path}: introduced in PowerShell 6+" for name in parameters(text) if name not in params_51}
        for path_7 in new[cmdlet]:
            for name in parameters(show(path_7)):
                if name.lower() not in {p.lower() for p in params_51}:
                    extra.setdefault(name, path_7)
        if extra:
            names_51 = sorted({n for name, al in params_51.items() for n in [name, *al]}, key=str.lower)
            params_7[cmdlet] = {"doc_5_1": path, "parameters_7_only": extra, "parameters_5_1": names_51}
    aliases.update(ALIASES_NOT_IN_FRONT_MATTER)
    for cmdlet, paths in sorted(new.items()):
        if cmdlet not in old:
            only_7[cmdlet] = paths[0]
    json.dump({
        "source": f"MicrosoftDocs/PowerShell-Docs@{commit}: reference/5.1 vs reference/{', '.join(VERSIONS_7)}",
        "generator": "tests/tools/ps1_language_data/make_ps51_data.py",
        "aliases": dict(sorted(aliases.items())),
        "cmdlets_7_only": only_7,
        "parameters_7_only": params_7,
    }, sys.stdout, indent=1, sort_keys=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:])
