# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Split a `py-spy record --subprocesses --format raw` profile of ansible-playbook into where the
controller spends its CPU: the main process, the forked workers, and the module processes."""

from __future__ import annotations

import re

MODULE_OWN = "module process: the module's own work"
MODULE_BOOT = "module process: AnsiballZ unzip, import and compile of module_utils"
WORKER_PACK = "worker: AnsiballZ packaging (module + module_utils into a zip)"
WORKER_TEMPLATE = "worker: templating and task finalising"
WORKER_EXEC = "worker: starting the module process and reading its result"
WORKER_OTHER = "worker: other (loading plugins, result queue)"
MAIN_FORK = "main: forking workers"
MAIN_RESULTS = "main: strategy loop and result processing"
MAIN_CALLBACK = "main: callbacks (compliance report)"
MAIN_OTHER = "main: start-up, playbook and inventory parsing"
WAITING = "any process: waiting in select/poll (sampled, but not CPU)"
MODULE_NATIVE = "module process: no Python frame (interpreter start-up and exit)"
WORKER_NATIVE = "worker: no Python frame (fork, native code)"
MAIN_NATIVE = "main: no Python frame (native code)"
CATEGORIES = [MODULE_NATIVE, MODULE_BOOT, MODULE_OWN, WORKER_NATIVE, WORKER_PACK, WORKER_TEMPLATE, WORKER_EXEC,
              WORKER_OTHER, MAIN_NATIVE, MAIN_FORK, MAIN_RESULTS, MAIN_CALLBACK, MAIN_OTHER, WAITING]

_FRAME_NAME = re.compile(r" \(.*\)$")


# Per process (main, forked worker, module process): the first rule whose frame names appear wins.
_RULES = {
    "main": [({"StrategyBase._queue_task"}, MAIN_FORK), ({"TaskQueueManager.send_callback"}, MAIN_CALLBACK),
             ({"StrategyBase._wait_on_pending_results", "StrategyBase._process_pending_results",
               "results_thread_main"}, MAIN_RESULTS)],
    "worker": [({"ActionBase._configure_module"}, WORKER_PACK),
               ({"ActionBase._low_level_execute_command"}, WORKER_EXEC),
               ({"TemplateEngine.template", "Templar.template", "Task.post_validate"}, WORKER_TEMPLATE)],
    "module": [({"_run_module"}, MODULE_OWN)],
}
_NATIVE = {"main": MAIN_NATIVE, "worker": WORKER_NATIVE, "module": MODULE_NATIVE}
_FALLBACK = {"main": MAIN_OTHER, "worker": WORKER_OTHER, "module": MODULE_BOOT}


def classify(stack: str) -> str:
    parts = stack.split(";")
    frames = [_FRAME_NAME.sub("", part) for part in parts if not part.startswith("process ")]
    # Process chain: ansible-playbook > forked worker > sh > sh > python running the AnsiballZ payload.
    depth = sum(1 for part in parts if part.startswith("process "))
    kind = "main" if depth == 1 else "worker" if depth == 2 else "module"
    if not frames:
        return _NATIVE[kind]
    if frames[-1].endswith(".select"):
        return WAITING
    names = set(frames)
    return next((category for wanted, category in _RULES[kind] if names & wanted), _FALLBACK[kind])


def split(raw: str) -> dict[str, int]:
    """Samples per category from py-spy's raw (collapsed stack) output: one `stack count` per line."""
    samples = dict.fromkeys(CATEGORIES, 0)
    for line in raw.splitlines():
        stack, _sep, count = line.rstrip().rpartition(" ")
        if stack and count.isdigit():
            samples[classify(stack)] += int(count)
    return samples


def profile_table(raws: dict[str, str], hosts: int, rate: int) -> str:
    """Markdown table: share of the sampled CPU per category, one column per profiled playbook,
    and the sampled CPU seconds per host. Shares, because on a busy machine py-spy cannot keep up
    with every process: it samples fewer than all CPU seconds, but without preferring any kind."""
    splits = {name: split(raw) for name, raw in raws.items()}
    names = list(raws)
    busy = {name: sum(splits[name].values()) - splits[name][WAITING] for name in names}
    header = "| | " + " | ".join(name.replace("_", " ") for name in names) + " |\n|---|" + "---|" * len(names)
    rows = []
    for category in CATEGORIES:
        if category == WAITING:
            continue
        cells = [f"{100 * splits[name][category] / max(busy[name], 1):.0f} %" for name in names]
        rows.append(f"| {category} | " + " | ".join(cells) + " |")
    rows.append("| sampled CPU seconds per host | " + " | ".join(
        f"{busy[name] / rate / hosts:.2f}" for name in names) + " |")
    return header + "\n" + "\n".join(rows)
