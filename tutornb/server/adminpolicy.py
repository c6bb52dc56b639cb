"""The admin's tutoring policy, which a learner's own Jupyter configuration cannot override.

traitlets loads ``~/.jupyter`` after the system's config folders (``/etc/jupyter``,
``/usr/local/etc/jupyter``, ``{sys.prefix}/etc/jupyter``), so on a machine where learners run their
own servers a learner's ``c.TutorNBApp.policy`` would replace the admin's. The policy is a rule
the admin sets for the learner, not a preference: every field the system config folders set wins
over the same field from anywhere else but the command line (which the admin or the spawner
writes, and which already outranks every file).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

CONFIG_NAMES = ("jupyter_server_config", "jupyter_config")


def _system_folders() -> list[Path]:
    """Lowest priority first, as traitlets applies them."""
    from jupyter_core import paths

    return [Path(folder) for folder in reversed([*paths.ENV_CONFIG_PATH, *paths.SYSTEM_CONFIG_PATH])]


def _policy_in(path: Path) -> dict[str, Any]:
    from traitlets.config.loader import ConfigFileNotFound, JSONFileConfigLoader, PyFileConfigLoader

    loader_class = JSONFileConfigLoader if path.suffix == ".json" else PyFileConfigLoader
    try:
        config = loader_class(path.name, path=str(path.parent)).load_config()
    except ConfigFileNotFound:
        return {}
    except Exception as exc:  # a broken admin file: jupyter-server itself says so at startup
        logging.getLogger("tutornb").warning("tutornb: could not read %s (%s)", path, type(exc).__name__)
        return {}
    policy = config.get("TutorNBApp", {}).get("policy")
    return dict(policy) if isinstance(policy, dict) else {}


def system_policy() -> dict[str, Any]:
    """``TutorNBApp.policy`` as the system config folders set it, field by field."""
    merged: dict[str, Any] = {}
    for folder in _system_folders():
        for name in CONFIG_NAMES:
            drop_ins = (
                sorted((folder / f"{name}.d").glob("*.json")) if (folder / f"{name}.d").is_dir() else []
            )
            for path in (*drop_ins, folder / f"{name}.json", folder / f"{name}.py"):
                if path.is_file():
                    merged.update(_policy_in(path))
    return merged


def admin_first(configured: dict[str, Any], command_line: dict[str, Any]) -> dict[str, Any]:
    """The policy in force at the server: the configured one, the system folders' fields over it,
    the command line's over both."""
    return {**configured, **system_policy(), **command_line}


__all__ = ["admin_first", "system_policy"]
