"""Every secret scf-local handed out is masked in what it prints, whatever printed it."""

from __future__ import annotations

import io
import json

from gateway.logs import Console
from gateway.masking import KEPT, SHOWN, Mask
from runners.credentials import AwsCredentials

CREDENTIALS = AwsCredentials(
    "ASIAHANDEDOUT0000001", "handed/out+secret0000000000000000000000", "IQoJb3JpZ2luX2VjHANDED"
)


def test_what_was_handed_out_is_masked_by_value() -> None:
    mask = Mask()
    mask.hide(*CREDENTIALS.secrets())
    line = f"my credentials: {CREDENTIALS.secret_access_key} {CREDENTIALS.session_token}"
    assert mask(line) == f"my credentials: {SHOWN} {SHOWN}"
    assert mask(f"key {CREDENTIALS.access_key_id}") == f"key {CREDENTIALS.access_key_id}"  # says which


def test_botocores_debug_output_shows_no_token_whatever_it_is() -> None:
    mask = Mask()  # nothing handed out in this process (scf-local logs)
    line = (
        "DEBUG - Sending http request: <AWSPreparedRequest headers={'X-Amz-Security-Token': "
        "b'FwoGZXIvYXdzEOTHERTOKEN1234567890', 'Authorization': b'AWS4-HMAC-SHA256 Credential=ASIA/x'}>"
    )
    shown = mask(line)
    assert "FwoGZXIvYXdzEOTHERTOKEN1234567890" not in shown and f"'X-Amz-Security-Token': b'{SHOWN}'" in shown
    assert mask("aws_secret_access_key = wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY") == (
        f"aws_secret_access_key = {SHOWN}"
    )
    assert mask('{"SecretAccessKey": "abcdefghijklmnopqrstuvwxyz"}') == f'{{"SecretAccessKey": "{SHOWN}"}}'


def test_rotated_secrets_are_all_remembered_up_to_a_bound() -> None:
    mask = Mask()
    for n in range(KEPT + 1):
        mask.hide(f"rotated-secret-{n:05d}")
    assert "rotated-secret-00000" not in mask  # the oldest forgotten
    assert mask("rotated-secret-00001 rotated-secret-00256") == f"{SHOWN} {SHOWN}"


def test_the_console_masks_the_terminal_json_lines_and_what_listeners_get() -> None:
    mask = Mask()
    mask.hide("dashboard-token-0001", CREDENTIALS.secret_access_key)
    for json_lines in (False, True):
        out, heard = io.StringIO(), list[str]()
        console = Console(out, color=False, json_lines=json_lines, mask=mask)
        console.listeners.append(lambda _who, line, heard=heard: heard.append(line))
        console.say("web", f"secret {CREDENTIALS.secret_access_key}", {"why": CREDENTIALS.secret_access_key})
        console.say_many("web", [f"again {CREDENTIALS.secret_access_key}"])
        console.say("scf-local", "dashboard at #token=dashboard-token-0001", shows=("dashboard-token-0001",))
        written = out.getvalue()
        assert CREDENTIALS.secret_access_key not in written + "".join(heard)
        assert "#token=dashboard-token-0001" in written  # the line meant to show it, in the terminal
        assert heard[-1] == f"dashboard at #token={SHOWN}"  # not in the dashboard's log pane
        if json_lines:
            assert json.loads(written.splitlines()[0])["fields"] == {"why": SHOWN}
