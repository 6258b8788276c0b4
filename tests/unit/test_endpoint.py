"""The engine as the Docker CLI picks it: DOCKER_HOST, else the current context (the docker SDK
reads its store), else the default socket; Podman's socket where there is no Docker."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

from runners.docker.connection import sweep_dead_tunnels
from runners.docker.endpoint import engine_host, fallback_socket, is_local_url
from runners.docker.ssh_tunnel import SshTunnel, ssh_destination


def test_podmans_socket_only_where_nothing_names_an_engine_and_dockers_socket_is_absent() -> None:
    user = {"XDG_RUNTIME_DIR": "/run/user/1000"}
    rootless, rootful = "/run/user/1000/podman/podman.sock", "/run/podman/podman.sock"
    assert fallback_socket(user, "default", {rootless, rootful}.__contains__) == f"unix://{rootless}"
    assert fallback_socket(user, "default", {rootful}.__contains__) == f"unix://{rootful}"
    assert fallback_socket({}, "default", set().__contains__) is None  # the SDK's error says why
    with_docker = {"/var/run/docker.sock", rootful}
    assert fallback_socket(user, "default", with_docker.__contains__) is None
    named = {**user, "DOCKER_HOST": "tcp://10.0.0.5:2376"}
    assert fallback_socket(named, "default", {rootful}.__contains__) is None
    assert fallback_socket(user, "colima", {rootful}.__contains__) is None  # a context names one
    assert fallback_socket({**user, "DOCKER_CONTEXT": "orbstack"}, "default", {rootful}.__contains__) is None


def test_sockets_and_loopback_are_this_machine_ssh_and_other_hosts_are_not() -> None:
    local = [
        "http+docker://localhost",
        "unix:///run/podman/podman.sock",
        "http://127.0.0.1:2375",
        "tcp://localhost:2375",
    ]
    remote = ["http+docker://ssh", "ssh://me@build-box", "https://10.0.0.5:2376", "tcp://build-box:2375"]
    assert all(is_local_url(url) for url in local)
    assert not any(is_local_url(url) for url in remote)


def test_a_tcp_engines_published_ports_are_reached_at_its_host() -> None:
    assert engine_host("tcp://10.0.0.5:2376") == "10.0.0.5"
    assert engine_host("https://build-box.lan:2376") == "build-box.lan"  # the SDK's form
    assert engine_host("http://[fd00::5]:2375") == "fd00::5"
    assert engine_host("tcp://build-box") == "build-box"
    for none in (
        "unix:///var/run/docker.sock",
        "http+docker://ssh",
        "ssh://me@build-box",
        "npipe:////./pipe/x",
    ):
        assert engine_host(none) is None  # sockets, pipes and ssh name no host of published ports


def test_an_ssh_destination_as_the_sdk_keeps_it() -> None:
    assert ssh_destination("root@10.0.0.5") == ("10.0.0.5", "root", None)
    assert ssh_destination("me@build-box:2222") == ("build-box", "me", "2222")
    assert ssh_destination("build-box") == ("build-box", None, None)


def test_an_ssh_destination_with_an_ipv6_address() -> None:
    assert ssh_destination("me@[::1]:22") == ("::1", "me", "22")
    assert ssh_destination("me@[fd00::5]") == ("fd00::5", "me", None)
    assert ssh_destination("[2001:db8::7]:2222") == ("2001:db8::7", None, "2222")
    assert ssh_destination("root@fd00::5") == ("fd00::5", "root", None)  # bare: no port
    tunnel = SshTunnel("me@[::1]:2222", Path("/tmp/x"))
    assert tunnel.command("true")[-7:] == ["-l", "me", "-p", "2222", "--", "::1", "true"]


def test_the_folders_of_ssh_connections_that_a_killed_up_left_are_swept(tmp_path: Path) -> None:
    dead, alive, young = (tmp_path / f"scf-local-ssh-{n}" for n in ("dead", "alive", "young"))
    for folder in (dead, alive, young):
        folder.mkdir()
    with socket.socket(socket.AF_UNIX) as master:  # a running up's master listens here
        master.bind(str(alive / "m"))
        master.listen()
        (dead / "m").touch()
        for folder in (dead, alive):
            os.utime(folder, (time.time() - 120, time.time() - 120))
        sweep_dead_tunnels(tmp_path)
    assert not dead.exists() and alive.exists() and young.exists()
