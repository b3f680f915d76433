# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Check every role's input for one host on the controller, before any role touches any host.

For each role that applies to the host, the variables are composed as Ansible composes them for
the role's own tasks (role defaults < inventory, play and host vars < role vars < extra vars),
then checked by the same code that checks them at the start of the role: Ansible's
validate_argument_spec action on meta/argument_specs.yml, and the role's action plugin's
validate() on the arguments its tasks/main.yml passes, rendered with those variables. Nothing is
executed on, or transferred to, the host: no module runs, so winsim's calls.log gets no line.
"""

from __future__ import annotations

import importlib
import inspect
import os

from ansible.errors import AnsibleError
from ansible.module_utils.parsing.convert_bool import boolean
from ansible.plugins.action import ActionBase
from ansible.utils.vars import combine_vars, load_extra_vars

from ansible_collections.meddev.hardening.plugins.module_utils.controls import ArgumentError

COLLECTION = "meddev.hardening."
# The collection's roles, next to its plugins/ (a clone or an installed collection alike).
ROLES_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "roles"))


def _preload_action_plugins() -> None:
    """Ansible imports this file once in the controller process (the strategy looks at the action
    class) before it forks a worker per host: importing the collection's action plugins here spares
    every worker importing them again (the plugin loader reuses modules already in sys.modules)."""
    package = __name__.rsplit(".", 1)[0]
    for name in sorted(os.listdir(os.path.dirname(__file__))):
        if name.endswith(".py") and name not in ("__init__.py", os.path.basename(__file__)):
            try:
                importlib.import_module(f"{package}.{name[:-3]}")
            except ImportError:  # loaded (and reported) when a task uses it
                pass


_preload_action_plugins()

ARGUMENT_SPEC = {
    "roles": {"type": "dict", "default": {}},
    "tasks": {"type": "list", "elements": "dict", "default": [],
              "options": {"action": {"type": "str", "required": True}, "args": {"type": "dict", "default": {}}}},
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _supports_check_mode = True
    _supports_async = False
    _requires_connection = False  # ansible-core 2.19+: no persistent connection is started for it

    def run(self, tmp=None, task_vars=None):
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        options = self.validate_argument_spec(ARGUMENT_SPEC)[1]
        found, checked, not_here = [], [], []
        for name, gate in options["roles"].items():
            try:
                applies = boolean(gate, strict=True)
            except TypeError:
                found.append((f"preflight roles.{name}", f"{gate!r} is not true or false"))
                continue
            if not applies:  # the playbook's `when:` gate: the role does not run on this host
                not_here.append(name)
                continue
            found.extend((f"role {name}", p) for p in self._check_role(str(name), task_vars))
            checked.append(name)
        for task in options["tasks"]:
            found.extend((f"task {task['action']}", p)
                         for p in self._check_action(task["action"], task["args"], self._templar, rendered=True))
            checked.append(task["action"])
        if not any("meddev_enforce" in problem for who, problem in found):
            found.extend(("meddev_enforce", p) for p in self._check_enforce(task_vars))
        problems = _grouped(found)
        result.update(changed=False, checked=checked, not_applicable=not_here, problems=problems)
        if problems:
            result["failed"] = True
            # One line: it is also the host's error line in the report.
            result["msg"] = f"bad input, refused before any host was touched: {'; '.join(problems)}"
        else:
            result["msg"] = f"input accepted for {', '.join(checked) or 'nothing'}"
        return result

    # -- one role ------------------------------------------------------------------------------------

    def _check_role(self, name: str, task_vars: dict) -> list:
        role_dir = os.path.join(ROLES_DIR, name)
        if not os.path.isdir(os.path.join(role_dir, "tasks")):
            known = sorted(d for d in os.listdir(ROLES_DIR) if os.path.isdir(os.path.join(ROLES_DIR, d, "tasks")))
            return [f"no such role in {COLLECTION.rstrip('.')}; roles: {', '.join(known)}"]
        try:
            variables = self._role_variables(role_dir, task_vars)
        except AnsibleError as error:
            return [f"cannot read the role: {_text(error)}"]
        templar = self._templar.copy_with_new_env(available_variables=variables)
        spec_problems = self._check_argument_spec(name, role_dir, variables, templar)
        problems = list(spec_problems)
        tasks = self._load(os.path.join(role_dir, "tasks", "main.yml")) or []
        for task in tasks:
            for key, args in task.items():
                if str(key).startswith(COLLECTION) and isinstance(args, dict):
                    problems.extend(self._check_action(str(key), args, templar, rendered=False,
                                                       spec_problems=spec_problems))
        return problems

    def _role_variables(self, role_dir: str, task_vars: dict) -> dict:
        """The variables the role's tasks see: defaults < inventory/play/host vars < role vars < extra vars."""
        variables = combine_vars(self._load_dir(role_dir, "defaults"), task_vars)
        variables = combine_vars(variables, self._load_dir(role_dir, "vars"))
        return combine_vars(variables, self._extra_vars())

    def _check_argument_spec(self, name: str, role_dir: str, variables: dict, templar) -> list:
        """The check Ansible prepends to the role (Role._create_validation_task), run here."""
        specs = self._load(os.path.join(role_dir, "meta", "argument_specs.yml")) or {}
        entry = (specs.get("argument_specs") or {}).get("main") or {}
        if not entry.get("options"):
            return []
        task = self._task.copy(exclude_parent=False, exclude_tasks=True)
        task.args = {"argument_spec": entry["options"], "provided_arguments": {},
                     "validate_args_context": {"type": "role", "name": name, "argument_spec_name": "main",
                                               "path": role_dir}}
        validator = self._shared_loader_obj.action_loader.get(
            "ansible.builtin.validate_argument_spec", task=task, connection=self._connection,
            play_context=self._play_context, loader=self._loader, templar=templar,
            shared_loader_obj=self._shared_loader_obj)
        try:
            answer = validator.run(task_vars=variables)
        except AnsibleError as error:
            return [_text(error)]
        return [str(e) for e in answer.get("argument_errors") or []] if answer.get("failed") else []

    # -- one action plugin's validate() --------------------------------------------------------------

    def _check_action(self, action: str, args: dict, templar, rendered: bool, spec_problems=()) -> list:
        """Run the action plugin's own validate() on the arguments its task passes (rendered here
        unless Ansible already did); the plugin is loaded, never run.

        After argument spec problems (the role would stop at those), only range and value problems of
        other variables are added: errors that follow from a wrong type already named are left out."""
        plugin = self._shared_loader_obj.action_loader.get(
            action, task=self._task, connection=self._connection, play_context=self._play_context,
            loader=self._loader, templar=templar, shared_loader_obj=self._shared_loader_obj)
        if plugin is None or not callable(getattr(plugin, "validate", None)):
            return [f"{action} has no validate() to check its input with"]
        try:
            args = dict(args if rendered else templar.template(args))
        except AnsibleError as error:
            return [] if spec_problems else [_text(error)]
        unknown = sorted(set(args) - set(getattr(plugin, "_VALID_ARGS", None) or args))
        if unknown:
            return [f"unknown option(s) {', '.join(unknown)} for {action}"]
        prefix = str(args.pop("variable_prefix", "") or "")
        try:
            if callable(getattr(plugin, "prepare", None)):
                args = plugin.prepare(args, templar.available_variables, prefix)
            plugin.validate(args, prefix)
        except ArgumentError as error:
            root = error.variable.split("[", 1)[0]
            return [] if any(root in p for p in spec_problems) else [str(error)]
        except Exception as error:  # the role would fail on it as well, after other roles ran  # pylint: disable=broad-except
            return [] if spec_problems else [f"{type(error).__name__}: {error}"]
        return []

    def _check_enforce(self, task_vars: dict) -> list:
        """meddev_enforce, read as every role's action reads it (HostAction._enforce)."""
        value = self._templar.template(task_vars.get("meddev_enforce", True))
        try:
            boolean(value, strict=True)
        except TypeError:
            return [f"meddev_enforce: {value!r} is not allowed; allowed: true, false"]
        return []

    # -- files and variables -------------------------------------------------------------------------

    def _load(self, path: str):
        if not os.path.exists(path):
            return None
        # ansible-core 2.19+ renders templates only from trusted sources; a role's files are trusted
        # (Role._load_role_yaml loads them the same way).
        # unsafe: the loader's cached copy, not a deep copy (a large catalog costs); never modified here.
        if "trusted_as_template" in inspect.signature(self._loader.load_from_file).parameters:
            return self._loader.load_from_file(path, unsafe=True, trusted_as_template=True)
        return self._loader.load_from_file(path, unsafe=True)

    def _load_dir(self, role_dir: str, subdir: str) -> dict:
        """defaults/ or vars/ of a role: main.yml, main.yaml, main.json or a main/ folder of files."""
        folder = os.path.join(role_dir, subdir)
        if not os.path.isdir(folder):
            return {}
        data = {}
        for path in self._loader.find_vars_files(folder, "main", [".yml", ".yaml", ".json", ""]):
            data = combine_vars(data, self._load(path) or {})
        return data

    def _extra_vars(self) -> dict:
        manager = self._task.get_variable_manager()
        if manager is not None:
            return manager.extra_vars
        return load_extra_vars(self._loader)


def _grouped(found: list) -> list:
    """'<who>: <problem>' in the order found; a problem several roles share (a shared variable such
    as meddev_products) is listed once, naming them all."""
    who = {}
    for name, problem in found:
        who.setdefault(problem, []).append(name)
    out = []
    for problem, names in who.items():
        unique = list(dict.fromkeys(names))
        if len(unique) > 1 and all(n.startswith("role ") for n in unique):
            unique = ["roles " + ", ".join(n[len("role "):] for n in unique)]
        out.append(f"{', '.join(unique)}: {problem}")
    return out


def _text(error: AnsibleError) -> str:
    """The error's message without the file excerpt Ansible may append."""
    return str(getattr(error, "message", "") or error)
