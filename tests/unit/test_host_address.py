"""Where containers reach this machine, from what engines really say (recorded JSON) and the
shapes their documentation gives."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from runners.docker.host_address import HostAddress, NoHostAddress, bridge_interface, find_host_address

ENGINES = Path(__file__).resolve().parent.parent / "fixtures" / "engines"


def _recorded(name: str) -> tuple[dict[str, Any], dict[str, Any]]:
    data = json.loads((ENGINES / name).read_text())
    return data["info"], data["network"]


def _find(info: dict[str, Any], network: dict[str, Any], *, local: bool = True, **look: Any) -> Any:
    interfaces = look.get("interfaces", {})
    return find_host_address(
        info,
        network,
        local=local,
        interface_address=interfaces.get,
        container_gateway=lambda: look.get("container_gateway"),
    )


def test_an_engines_first_start_names_no_gateway_and_the_bridge_interface_has_it() -> None:
    info, bridge = _recorded("docker-20.10-first-start.json")
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16"}]  # moby/moby#26799
    found = _find(info, bridge, interfaces={"docker0": "172.17.0.1"})
    assert found == HostAddress("172.17.0.1", "172.17.0.1", "the address of docker0")


def test_a_user_network_with_a_subnet_and_no_gateway_uses_its_br_interface() -> None:
    info, network = _recorded("docker-20.10-user-network-no-gateway.json")
    assert bridge_interface(network) == "br-19f131e2bdd7"
    found = _find(info, network, interfaces={"br-19f131e2bdd7": "10.213.7.1"})
    assert isinstance(found, HostAddress) and found.bind == "10.213.7.1"


def test_an_interface_address_outside_the_networks_subnet_is_not_taken() -> None:
    info, bridge = _recorded("docker-20.10-first-start.json")
    found = _find(info, bridge, interfaces={"docker0": "10.0.0.1"}, container_gateway="172.17.0.1")
    assert found == HostAddress("172.17.0.1", "172.17.0.1", "the gateway of a running container")


def test_nothing_names_an_address() -> None:
    info, bridge = _recorded("docker-20.10-first-start.json")
    found = _find(info, bridge)
    assert isinstance(found, NoHostAddress) and "no gateway" in found.why


def test_the_ipam_gateway_comes_first() -> None:
    info, bridge = _recorded("docker-20.10-first-start.json")
    bridge = {**bridge, "IPAM": {"Config": [{"Subnet": "172.17.0.0/16", "Gateway": "172.17.0.1"}]}}
    found = _find(info, bridge, interfaces={"docker0": "172.17.0.9"})
    assert found == HostAddress("172.17.0.1", "172.17.0.1", "the gateway of network bridge")


def test_docker_desktop_and_orbstack_take_the_relay_where_environments_have_addresses_of_their_own() -> None:
    """Their host.docker.internal arrives on this machine's loopback, where every container and
    every local process comes from 127.0.0.1: an environment could not prove who it is there."""
    _, bridge = _recorded("docker-20.10-first-start.json")
    for system in ("Docker Desktop", "OrbStack"):
        found = _find({"OperatingSystem": system}, bridge, local=False)
        assert isinstance(found, NoHostAddress) and "stranger" in found.why


def test_rootless_and_remote_engines_have_no_address_of_this_machine() -> None:
    info, bridge = _recorded("docker-20.10-first-start.json")
    rootless = {**info, "SecurityOptions": ["name=seccomp,profile=default", "name=rootless"]}
    found = _find(rootless, bridge, interfaces={"docker0": "172.17.0.1"})
    assert isinstance(found, NoHostAddress) and "rootless" in found.why
    found = _find(info, bridge, local=False, interfaces={"docker0": "172.17.0.1"})
    assert isinstance(found, NoHostAddress) and "another machine" in found.why
