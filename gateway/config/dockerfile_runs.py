"""What a Dockerfile's ``RUN`` reads of the build context: plain installs read none of the source.

installs_only(command)        # True for `npm ci`, `pip install -r requirements.txt && apt-get clean`
bind_mounts(command)          # [("scripts", "RUN at Dockerfile line 4 reads scripts through a bind mount")]
"""

from __future__ import annotations

import posixpath
import re
import shlex
from collections.abc import Callable

from gateway.config.dockerfile_stages import Command


def bind_mounts(c: Command) -> list[tuple[str, str]]:
    """The context paths a ``RUN --mount=type=bind`` reads without copying them."""
    out = []
    for flag in c.flags:
        if not flag.startswith("--mount="):
            continue
        fields = dict(f.partition("=")[::2] for f in flag[len("--mount=") :].split(","))
        if fields.get("type") == "bind" and "from" not in fields:
            source = posixpath.normpath("/" + fields.get("source", fields.get("src", "."))).lstrip("/")
            shown = "the whole context" if source in ("", ".") else source
            why = f"RUN at Dockerfile line {c.line} reads {shown} through a bind mount"
            out.append(("" if source == "." else source, why))
    return out


_SYSTEM_COMMANDS = frozenset(
    {
        *("apt-get", "apt", "apk", "yum", "dnf", "microdnf", "update-ca-certificates", "locale-gen"),
        *("mkdir", "chown", "chmod", "ln", "rm", "touch", "echo", "printf", "true", "set", "export", "cd"),
        *("useradd", "adduser", "addgroup", "groupadd", "usermod", "curl", "wget"),
    }
)


_INSTALLS: tuple[Callable[[list[str]], bool], ...] = (
    lambda w: w[0] in _SYSTEM_COMMANDS,
    lambda w: (
        w[0] == "npm"
        and len(w) > 1
        and w[1] in ("ci", "install", "i", "cache", "prune", "config")
        and not any(a.startswith((".", "/")) for a in w[2:])
    ),
    lambda w: (
        w[0] == "yarn" and (len(w) == 1 or w[1] in ("install", "cache", "config") or w[1].startswith("-"))
    ),
    lambda w: w[0] in ("pnpm", "bun") and len(w) > 1 and w[1] in ("install", "i", "fetch", "add"),
    lambda w: w[0] == "corepack",
    lambda w: _pip_install(w),
    lambda w: w[0] == "poetry" and "install" in w and "--no-root" in w,
    lambda w: w[0] == "uv" and "sync" in w and "--no-install-project" in w,
)


def _pip_install(words: list[str]) -> bool:
    if words[0] in ("python", "python3") and words[1:3] == ["-m", "pip"]:
        words = words[2:]
    if words[0] not in ("pip", "pip3") or "install" not in words:
        return False
    rest = words[words.index("install") + 1 :]
    return not any(w in ("-e", "--editable") or w.startswith((".", "/")) for w in rest)


def installs_only(c: Command) -> bool:
    """Whether a RUN plainly installs dependencies or system packages only (no build from source)."""
    if c.heredoc:
        return False
    script = " ".join(shlex.quote(w) for w in c.value) if c.json else " ".join(c.value)
    for part in re.split(r"&&|\|\||;|\||\n", script):
        try:
            words = [w for w in shlex.split(part) if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", w)]
        except ValueError:
            return False
        if words and words[0] == "sudo":
            words = words[1:]
        if words and not any(rule(words) for rule in _INSTALLS):
            return False
    return True
