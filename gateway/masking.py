"""Secrets scf-local handed out, masked in everything it prints or serves.

    SECRETS.hide(credentials.secret_access_key, credentials.session_token)
    SECRETS("token=IQoJb3...")            # 'token=****'
    SECRETS("dashboard ...#token=abc", keep=("abc",))   # the one line meant to show it

What scf-local gives away (the user's AWS secret keys and session tokens, the tasks' endpoint
tokens, the dashboard's token) is hidden by value in every line the
:class:`~gateway.logs.Console` says (the terminal, ``--json-logs``, the ``up -d`` log, the
dashboard's log pane) and in every answer of the dashboard's API. Secrets rotate: the last
:data:`KEPT` values are all remembered, since an environment started an hour ago still holds
the ones of its time. Values in shapes AWS's SDKs print (botocore's debug output:
``X-Amz-Security-Token``, ``aws_secret_access_key = ...``) are masked whatever they are, so
``scf-local logs``, which did not hand them out, hides them too. Access key ids stay
visible: AWS's own tools show them, and they say which credentials a container holds.

One mask per process: whatever part of scf-local hands a secret out registers it here.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable

SHOWN = "****"
KEPT = 256
"""Secrets remembered (current and previous values); the oldest are forgotten first."""
SHORTEST = 8
"""Shorter values are not secrets worth masking (and would mask common words)."""
_SHAPES = re.compile(
    r"(?P<name>x-amz-security-token|aws_secret_access_key|aws_session_token|aws_security_token"
    r"|secretaccesskey|sessiontoken|aws_container_authorization_token)"
    r"(?P<between>['\"]?\s*[:=]\s*b?['\"]?)(?P<value>[A-Za-z0-9/+=_\-]{16,})",
    re.IGNORECASE,
)


class Mask:
    def __init__(self) -> None:
        self._secrets: dict[str, None] = {}  # insertion-ordered: the oldest first
        self._lock = threading.Lock()
        self._ordered: tuple[str, ...] = ()

    def hide(self, *values: str | None) -> None:
        """Never show ``values`` again (None and short ones are ignored)."""
        added = [v for v in values if v and len(v) >= SHORTEST and v not in self._secrets]
        if not added:
            return
        with self._lock:
            for value in added:
                self._secrets[value] = None
            while len(self._secrets) > KEPT:
                del self._secrets[next(iter(self._secrets))]
            # the longest first: a value that contains another is masked whole
            self._ordered = tuple(sorted(self._secrets, key=len, reverse=True))

    def __call__(self, text: str, keep: Iterable[str] = ()) -> str:
        """``text`` with every secret masked (but those in ``keep``)."""
        kept = set(keep)
        for secret in self._ordered:
            if secret in text and secret not in kept:
                text = text.replace(secret, SHOWN)
        if _SHAPES.search(text) is None:
            return text
        return _SHAPES.sub(lambda m: m.group(0) if m["value"] in kept else _masked(m), text)

    def __contains__(self, value: str) -> bool:
        return value in self._secrets


def _masked(match: re.Match[str]) -> str:
    return f"{match['name']}{match['between']}{SHOWN}"


SECRETS = Mask()
"""This process's: every part of scf-local that hands a secret out registers it here."""
