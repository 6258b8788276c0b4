"""What `up` says when Lambda runtimes cannot reach this machine, and the labels it adds."""

from __future__ import annotations

from gateway.up.labels import extra_labels
from gateway.up.runtime_path import diagnosis
from runners.docker.host_address import HostAddress


def test_the_diagnosis_names_the_cause_the_way_out_and_that_nothing_is_required() -> None:
    found = HostAddress("172.18.0.1", "172.18.0.1", "the gateway of network x")
    text = diagnosis(found, "scfl-0123456789", "172.18.0.1:41731: no answer within 3 s")
    lines = text.splitlines()
    assert lines[0].startswith("Lambda runtimes cannot open connections to this machine (172.18.0.1:41731")
    assert "firewall" in lines[0] and "nothing to do" in lines[1]
    assert "sudo ufw allow in on scfl-0123456789" in text
    assert "firewall-cmd --zone=trusted --add-interface=scfl-0123456789" in text
    assert "scf-local up --runtime-api relay" in text


def test_without_what_the_relay_said_the_diagnosis_names_the_address() -> None:
    found = HostAddress("172.18.0.1", "172.18.0.1", "x")
    assert "(172.18.0.1: no answer within 3 s)" in diagnosis(found, None, "")
    assert "ufw" not in diagnosis(found, None, "").split("\n", 1)[1]  # no interface: no rule to name


def test_scf_local_labels_adds_labels() -> None:
    assert extra_labels({"SCF_LOCAL_LABELS": "ci.job=42, team=web,,bad"}) == {
        "ci.job": "42",
        "team": "web",
        "bad": "",
    }
    assert extra_labels({}) == {}
