# Copyright: meddev.hardening contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin of meddev.hardening.lrm_patch; the logic is in module_utils.lrm_patch."""

from __future__ import annotations

from ansible_collections.meddev.hardening.plugins.module_utils import lrm_patch
from ansible_collections.meddev.hardening.plugins.plugin_utils.host_action import HostAction
from ansible_collections.meddev.hardening.plugins.plugin_utils.report import utc_stamp
from ansible_collections.meddev.hardening.plugins.plugin_utils.version import collection_version


class ActionModule(HostAction):
    HOST_MODULE = "meddev.hardening.lrm_patch"
    DIFF_HEADER = "Illumina LRM web configuration"
    _VALID_ARGS = frozenset((
        "state", "site_name", "upload_folders", "upload_patterns", "blocked_extensions", "install_ip_security",
        "force", "busy_processes", "busy_services", "audit_path", "backup_dir", "variable_prefix",
    ))

    def validate(self, args, prefix):
        return lrm_patch.validate(args, prefix, now=utc_stamp(), collection_version=collection_version())

    def host_args(self, desired):
        return {"audit_path": desired.audit_path, "backup_dir": desired.backup_dir,
                "busy_processes": list(desired.busy_processes), "busy_services": list(desired.busy_services)}

    def plan(self, desired, gathered):
        return lrm_patch.plan(desired, gathered)

    def finish(self, result, desired, plan, changed):
        if desired.state == "absent" and plan.facts.get("lrm_installed"):
            result.setdefault("warnings", []).append(
                "Illumina LRM security patch REMOVED (SRC-LRM-4): the original IIS configuration is back and "
                "Local Run Manager is reachable from the network again (CVE-2022-1517 to -1524, CVSS 10). "
                "Block TCP 80/443 with the firewall role or re-apply with lrm_patch_state=present.")
