"""build.options (docker build flags) -> Docker Engine API build arguments."""

from __future__ import annotations

import pytest

from gateway.errors import ConfigError
from runners.docker.build import build_kwargs


@pytest.mark.parametrize(
    ("options", "kwargs"),
    [
        (("--target=awsLambda",), {"target": "awsLambda"}),
        (
            ("--target", "awsFargateEcs", "--no-cache", "--pull"),
            {"target": "awsFargateEcs", "nocache": True, "pull": True},
        ),
        (("--build-arg", "A=1", "--build-arg=B=2"), {"buildargs": {"A": "1", "B": "2"}}),
        (("--platform", "linux/amd64", "--label", "x=y"), {"platform": "linux/amd64", "labels": {"x": "y"}}),
        (
            ("--add-host", "db:10.0.0.2", "--network=host"),
            {"extra_hosts": {"db": "10.0.0.2"}, "network_mode": "host"},
        ),
        (("--progress", "plain", "-q"), {}),
        ((), {}),
    ],
)
def test_build_kwargs(options: tuple[str, ...], kwargs: dict[str, object]) -> None:
    assert build_kwargs(options) == kwargs


def test_unknown_flag_is_named() -> None:
    with pytest.raises(ConfigError, match="cannot pass the docker build flag '--secret'"):
        build_kwargs(("--secret", "id=x"))


def test_flag_without_value() -> None:
    with pytest.raises(ConfigError, match="'--target' needs a value"):
        build_kwargs(("--target",))
