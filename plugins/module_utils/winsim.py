# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The simulated Windows host (winsim) that the ``.py`` side of every host module runs against.

One simulated host is one directory (see docs/winsim.md):

    <state_dir>/
      profile          name of the seed profile the host was created from
      <domain>.json    one JSON document per Windows subsystem (firewall, registry, ...)
      fs/C/...         the host's C: drive
      calls.log        one JSON line per module execution (the WinRM round trips)
      .lock            held for the whole of one module execution

The connection plugin ``meddev.hardening.winsim`` passes the state directory and the
latency/fault settings to the module process in environment variables.
"""

from __future__ import annotations

import contextlib
import datetime
import fcntl
import json
import os
import pathlib
import shutil
import tempfile
import time

ENV_STATE_DIR = "WINSIM_STATE_DIR"
ENV_LATENCY_MS = "WINSIM_LATENCY_MS"
ENV_FAIL_CALL = "WINSIM_FAIL_CALL"
ENV_FAIL_AFTER = "WINSIM_FAIL_AFTER_CHANGES"
ENV_DROP_CALL = "WINSIM_DROP_CALL"
ENV_LOCK_TIMEOUT = "WINSIM_LOCK_TIMEOUT_S"
# Exit status of a module process whose connection was dropped on purpose; the connection plugin
# turns it into AnsibleConnectionFailure (the host becomes unreachable, as on a real WinRM drop).
DROP_EXIT = 75
# Exit status of a module process sent to a host that is restarting (boot.json): unreachable for a while.
DOWN_EXIT = 76
# Seconds a module execution waits for another run's host lock (the .ps1 side waits as long).
LOCK_TIMEOUT_S = 300

# The access of a process holding a file open for writing (handles.json), e.g. http.sys and its log.
SHARE_WRITE_HOLDER = ("Write",)
CALLS_LOG = "calls.log"
HOST_CPU_LOG = "host_cpu.log"  # CPU seconds per module execution on the simulated host (the connection writes it)
ENV_HOST_CPU_LOG = "MEDDEV_WINSIM_HOST_CPU_LOG"  # set (to 1) to have host_cpu.log written
UNINSTALL = "HKLM\\SOFTWARE\\Microsoft\\Windows\\CurrentVersion\\Uninstall\\"
FILES_DIR = "fs"


class SimError(Exception):
    """The simulated host refused an operation, as Windows would."""


class SimFault(SimError):
    """A fault injected on purpose (``winsim_fail_call``)."""


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def atomic_write_bytes(path: pathlib.Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that a reader sees the old or the new bytes, never half."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=str(path.parent))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


class SimHost:
    """State store of one simulated Windows host."""

    def __init__(self, state_dir, latency_ms=0, fail_call=0, *, fail_after=None, drop_call=0,
                 lock_timeout=LOCK_TIMEOUT_S):
        self.state_dir = pathlib.Path(state_dir)
        self.latency_ms = int(latency_ms or 0)
        self.fail_call = int(fail_call or 0)
        # Faults inside one execution (docs/winsim.md): fail after k changes; drop the connection.
        self.fail_after = None if fail_after in (None, "", -1, "-1") else int(fail_after)
        self.drop_call = int(drop_call or 0)
        self.lock_timeout = float(lock_timeout)
        self.dropping = False

    @classmethod
    def from_env(cls, environ=None) -> SimHost:
        environ = os.environ if environ is None else environ
        state_dir = environ.get(ENV_STATE_DIR)
        if not state_dir:
            raise SimError(
                "this is the simulated (winsim) implementation of a Windows module; it runs only "
                "through the meddev.hardening.winsim connection. Real hosts run the .ps1 module."
            )
        host = cls(state_dir, environ.get(ENV_LATENCY_MS, 0), environ.get(ENV_FAIL_CALL, 0),
                   fail_after=environ.get(ENV_FAIL_AFTER), drop_call=environ.get(ENV_DROP_CALL, 0),
                   lock_timeout=environ.get(ENV_LOCK_TIMEOUT) or LOCK_TIMEOUT_S)
        if not host.state_dir.is_dir():
            raise SimError(
                f"simulated host state directory {state_dir} does not exist: seed it first "
                "(make lab-reset, or the meddev.hardening.winsim_seed action)"
            )
        return host

    # -- one module execution -------------------------------------------------------------

    @contextlib.contextmanager
    def call(self, module: str, phase: str = ""):
        """Account for one module execution: host lock, log, latency, injected fault."""
        restart_gate(self)  # a restarting host answers nothing (the reboot model, below)
        with open(self.state_dir / ".lock", "a+") as lock:
            waited = self._lock(lock)
            number = self.call_count() + 1
            fault = self.fail_call == number
            self.dropping = self.drop_call == number
            entry = {"module": module, "time": utc_now(), "n": number}
            if phase:
                entry["phase"] = phase
            if waited >= 0.05:
                entry["waited_s"] = round(waited, 2)
            if fault:
                entry["fault"] = "fail_call"
            self._log(entry)
            if self.latency_ms:
                time.sleep(self.latency_ms / 1000.0)
            if fault:
                raise SimFault(f"winsim: injected fault on call {number} ({module})")
            yield self

    def _lock(self, lock) -> float:
        """Take the host lock; another run holding it makes this one wait, then fail clearly."""
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                return time.monotonic() - started
            except BlockingIOError:
                if time.monotonic() - started >= self.lock_timeout:
                    raise SimError(f"another run holds the host lock (waited {self.lock_timeout:g} s); "
                                   "nothing was changed, run again when it has finished") from None
                time.sleep(0.05)

    def checkpoint(self, applied: int, final: bool = False) -> None:
        """Injected faults inside one execution: before each change and before the reply.

        ``winsim_fail_after_changes`` k: the apply fails (as a cmdlet error would) before change k+1.
        ``winsim_drop_call`` N: execution N loses its connection after k changes when k is set,
        otherwise after all its work (a timeout where the host finished): no reply at all.
        """
        at_fault_point = (self.fail_after is None and final) or self.fail_after == applied
        if self.dropping and at_fault_point:
            self._log({"fault": "drop", "after_changes": applied, "time": utc_now()})
            os._exit(DROP_EXIT)
        if not self.dropping and not final and self.fail_after == applied:
            raise SimFault(f"winsim: injected fault after {applied} change(s)")

    def _log(self, entry: dict) -> None:
        with open(self.state_dir / CALLS_LOG, "a", encoding="utf-8") as log:
            log.write(json.dumps(entry, sort_keys=True) + "\n")

    def _log_entries(self) -> list:
        try:
            lines = (self.state_dir / CALLS_LOG).read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        return [json.loads(line) for line in lines if line.strip()]

    def call_count(self) -> int:
        return len(self.calls())

    def calls(self) -> list:
        """The module executions recorded in calls.log."""
        return [entry for entry in self._log_entries() if "module" in entry]

    def faults(self) -> list:
        """Injected drops recorded in calls.log (they are not module executions)."""
        return [entry for entry in self._log_entries() if "module" not in entry]

    # -- subsystem documents --------------------------------------------------------------

    def read(self, domain: str, default=None):
        path = self.state_dir / f"{domain}.json"
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {} if default is None else default

    def write(self, domain: str, data) -> None:
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
        atomic_write_bytes(self.state_dir / f"{domain}.json", text.encode("utf-8"))

    def uninstall_entry(self, matches):
        """The first Programs and Features entry whose DisplayName satisfies ``matches``, or None."""
        for key, values in sorted(self.read("registry").items()):
            if key.upper().startswith(UNINSTALL.upper()) and matches(str(values.get("DisplayName", ""))):
                return values
        return None

    # -- the C: drive ------------------------------------------------------------------------

    def windows_path(self, path: str) -> pathlib.Path:
        """Map ``C:\\a\\b`` to ``<state>/fs/C/a/b``, matching existing names case-insensitively."""
        drive, sep, rest = path.replace("/", "\\").partition(":\\")
        if not sep or len(drive) != 1 or not drive.isalpha():
            raise SimError(f"not an absolute Windows path: {path!r}")
        current = self.state_dir / FILES_DIR / drive.upper()
        for part in [p for p in rest.split("\\") if p]:
            if part in (".", ".."):
                raise SimError(f"relative segment in Windows path: {path!r}")
            match = None
            if current.is_dir():
                lowered = part.lower()
                match = next((c for c in current.iterdir() if c.name.lower() == lowered), None)
            current = match if match is not None else current / part
        return current

    def open_read(self, path: str, share: frozenset):
        """Open a file of the C: drive for reading, as CreateFile with the given share mode would.

        ``handles.json`` lists files another process holds open (``{path: {process, access, share}}``,
        e.g. today's IIS log, which http.sys keeps open for writing). CreateFile's sharing rule: a
        second open succeeds only if its share mode admits every access the holder has and the
        holder's share mode admits reading; otherwise ERROR_SHARING_VIOLATION. A holder recorded
        without ``access``/``share`` is taken as writing and sharing read only (the strictest case).
        """
        target = self.windows_path(path)
        for held, holder in sorted(self.read("handles").items()):
            if self.windows_path(held) != target:
                continue
            access = set(holder.get("access") or SHARE_WRITE_HOLDER)
            allowed = set(holder.get("share") or ("Read",))
            if not access <= set(share) or "Read" not in allowed:
                raise SimError(f"The process cannot access the file '{path}' because it is being used by "
                               f"another process ({holder.get('process', 'unknown')}).")
        return open(target, "rb")


def write_record(host: SimHost, path: str, content: str) -> None:
    """Write a JSON record (audit, evidence, ownership) to the C: drive; never a broken one."""
    json.loads(content)
    atomic_write_bytes(host.windows_path(path), content.encode("utf-8"))


def run_host_module(module, name: str, gather, apply_change=None) -> None:
    """The winsim side of every host module: one execution is one logged round trip.

    ``gather(host, params)`` returns the state; ``apply_change(host, change)`` carries out one
    change. Apply runs the changes in order, reports how many were applied, and returns the state
    after them - after a failure too - exactly as MeddevHost.psm1 does for the .ps1 modules.
    Never exits without calling exit_json/fail_json.
    """
    try:
        host = SimHost.from_env()
        with host.call(name, module.params["phase"]):
            if module.params["phase"] == "gather":
                state = gather(host, module.params)
                host.checkpoint(0, final=True)
                module.exit_json(changed=False, state=state)
            if module.check_mode or apply_change is None:
                module.fail_json(msg="apply is never run in check mode or on a read-only module", applied=0)
            _apply(module, host, gather, apply_change)
    except (SimError, OSError, ValueError) as error:  # before any change: no lock, no host, bad gather
        module.fail_json(msg=str(error), applied=0)


def _apply(module, host: SimHost, gather, apply_change) -> None:
    """The changes in order under the host lock; the state after them, or after the failure."""
    applied = 0
    try:
        for change in module.params["changes"]:
            host.checkpoint(applied)
            apply_change(host, change)
            applied += 1
    except (SimError, OSError, ValueError) as error:
        failure = {"msg": str(error), "applied": applied, "changed": applied > 0}
        try:
            failure["state"] = gather(host, module.params)
        except (SimError, OSError, ValueError) as gather_error:
            module.warn(f"could not read the state after the failure: {gather_error}")
        module.fail_json(**failure)
    try:
        state = gather(host, module.params)
    except (SimError, OSError, ValueError) as error:
        # Every change is in place: say so, with the count, rather than lose it with the state.
        module.fail_json(msg=f"all {applied} change(s) were applied, but the state after them could not be "
                             f"read: {error}", applied=applied, changed=applied > 0)
    host.checkpoint(applied, final=True)
    module.exit_json(changed=applied > 0, applied=applied, state=state)


def seed(state_dir, profile_name: str, profile: dict) -> SimHost:
    """Create (or re-create) a simulated host from a profile document."""
    root = pathlib.Path(state_dir)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    host = SimHost(root)
    (root / "profile").write_text(profile_name + "\n", encoding="utf-8")
    for domain, document in sorted((profile.get("state") or {}).items()):
        host.write(domain, document)
    for win_path, content in sorted((profile.get("files") or {}).items()):
        target = host.windows_path(win_path)
        data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
        atomic_write_bytes(target, data)
    (root / FILES_DIR / "C").mkdir(parents=True, exist_ok=True)
    (root / CALLS_LOG).write_text("", encoding="utf-8")
    return host


# -- Microsoft Defender as a local administrator sees it (defender_exclusion, iqwebx_licgen twins) --------------

DEFENDER_POLICY = "HKLM\\SOFTWARE\\Policies\\Microsoft\\Windows Defender"
# What Get-MpPreference shows in each exclusion list when HideExclusionsFromLocalAdmins=1 (sic, as Windows prints it).
HIDDEN_EXCLUSIONS_TEXT = "N/A: Must be and administrator to view exclusions"


def defender_exclusion_lists(host: SimHost) -> dict:
    """ExclusionPath/Process/Extension as Get-MpPreference returns them to a local administrator: with the
    HideExclusionsFromLocalAdmins policy (defender.json ``exclusions`` still holds what Defender applies)
    every list is replaced by the placeholder text, empty or not."""
    defender = host.read("defender", {"available": False})
    policy = next((values for key, values in host.read("registry").items()
                   if key.lower() == DEFENDER_POLICY.lower()), {})
    lists = defender.get("exclusions") or {}
    if policy.get("HideExclusionsFromLocalAdmins") == 1:
        return {kind: [HIDDEN_EXCLUSIONS_TEXT] for kind in ("path", "process", "extension")}
    return {kind: list(lists.get(kind) or []) for kind in ("path", "process", "extension")}


# -- the reboot model (host_restart through lrm_patch; docs/winsim.md "Restarts") -------------------------------
#
# boot.json: {"boot_id": n, "boot_time": "<LastBootUpTime, UTC>", "restart": {...} while one is under way}.
# shutdown.exe /r /t <s> leaves the host answering until the delay ends, then it is down (WinRM refuses)
# until Windows is up again with a new LastBootUpTime. Modelled in module executions rather than seconds so
# that tests are exact: RESTART_ANSWERING executions still see the old boot, then RESTART_DOWN attempts find
# the host unreachable (logged as {"restart": "unreachable"}, not module calls), then it boots. After the
# boot processes.json "running" is its "at_boot" list when seeded (what starts with Windows), else the
# processes that ran before it, less the runs that were ending.
#
# A run in progress: processes.json "ends_after_checks" {name: n} makes a running process exit after n busy
# checks have seen it (the instrument run completes); a restart is refused while a checked name runs.

SEEDED_BOOT = {"boot_id": 1, "boot_time": "2026-01-05T06:12:00.0000000Z"}
RESTART_ANSWERING = 1
RESTART_DOWN = 2
# shutdown.exe's exit code when a shutdown is already scheduled ("A system shutdown has already been scheduled.")
SHUTDOWN_ALREADY_SCHEDULED = 1190


def boot_state(host: SimHost) -> dict:
    return {**SEEDED_BOOT, **host.read("boot")}


def restart_gate(host: SimHost) -> None:
    """At the start of every execution: old boot while the shutdown delay runs, unreachable, then booted."""
    boot = boot_state(host)
    restart = boot.get("restart")
    if not restart:
        return
    if restart.get("answering", 0) > 0:
        restart["answering"] -= 1
        host.write("boot", boot)
        return
    if restart.get("down", 0) > 0:
        restart["down"] -= 1
        host.write("boot", boot)
        host._log({"restart": "unreachable", "time": utc_now()})
        os._exit(DOWN_EXIT)
    processes = host.read("processes", {"running": []})
    ending = {k.lower() for k in processes.pop("ends_after_checks", None) or {}}
    at_boot = processes.get("at_boot")
    processes["running"] = list(at_boot) if at_boot is not None else [
        p for p in processes.get("running") or [] if p.lower() not in ending]
    host.write("processes", processes)
    booted = {"boot_id": int(boot["boot_id"]) + 1, "boot_time": _boot_stamp(),
              "restarts": int(boot.get("restarts", 0)) + 1}
    if boot.get("restart_model"):
        booted["restart_model"] = boot["restart_model"]
    host.write("boot", booted)
    host._log({"restart": "booted", "boot_id": int(boot["boot_id"]) + 1, "time": utc_now()})


def _boot_stamp() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def busy_check(host: SimHost, process_names, service_names) -> list:
    """Which of the named processes/services run (one Get-Process/Get-Service each); a run that ends
    after n checks (processes.json ends_after_checks) is counted down here."""
    processes = host.read("processes", {"running": []})
    ending = {k.lower(): v for k, v in (processes.get("ends_after_checks") or {}).items()}
    running = {p.lower() for p in processes.get("running") or []}
    busy, finished = [], set()
    for name in process_names:
        key = name.lower()
        if key not in running:
            continue
        if key in ending:
            if ending[key] <= 0:
                finished.add(key)
                continue
            ending[key] -= 1
        busy.append(name)
    if ending or finished:
        processes["running"] = [p for p in processes.get("running") or [] if p.lower() not in finished]
        processes["ends_after_checks"] = {k: v for k, v in ending.items() if k not in finished}
        host.write("processes", processes)
    services = host.read("services")
    busy += [s for s in service_names if (services.get(s) or {}).get("Status") == "Running"]
    return busy


def schedule_restart(host: SimHost, busy: list, delay_s: int, comment: str) -> None:
    """shutdown.exe /r /t delay_s /c comment, refused while a run is in progress (stricter than Windows,
    which would restart and abort the run: the module checks first, and so does the model)."""
    if busy:
        raise SimError(f"an instrument run is in progress ({', '.join(busy)}): the restart was not started")
    if not 0 <= int(delay_s) <= 315360000:  # shutdown /t: 0-315360000 seconds (10 years)
        raise SimError(f"shutdown.exe /t {delay_s}: out of range (0-315360000)")
    if len(comment) > 512:  # shutdown /c: at most 512 characters
        raise SimError("shutdown.exe /c: the comment is longer than 512 characters")
    boot = boot_state(host)
    if boot.get("restart"):
        raise SimError(f"shutdown.exe exited {SHUTDOWN_ALREADY_SCHEDULED}: "
                       "A system shutdown has already been scheduled.")
    boot["restart"] = {"answering": RESTART_ANSWERING, "down": RESTART_DOWN, "comment": comment,
                       "delay_s": int(delay_s), **(boot.get("restart_model") or {})}
    host.write("boot", boot)
