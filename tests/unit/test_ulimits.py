"""Every container gets explicit limits (Podman's service cannot always raise its own defaults:
"error setting rlimit type 7: operation not permitted"): Lambda's 1,024 open files, Fargate's
65,535, never above what an engine on this machine may give."""

from __future__ import annotations

from gateway.aws.limits import FARGATE_NOFILE, LAMBDA_FILE_DESCRIPTORS
from runners.docker.cgroup import memory_cgroup_files
from runners.docker.spec import HIGHEST_NPROC, engine_ulimits

UNLIMITED = -1


def test_a_remote_engine_gets_awss_values_as_they_are() -> None:
    assert engine_ulimits(FARGATE_NOFILE, None) == {"nofile": 65535, "nproc": HIGHEST_NPROC}
    assert engine_ulimits(LAMBDA_FILE_DESCRIPTORS, None)["nofile"] == 1024


def test_a_local_engine_never_gets_more_than_this_machine_allows() -> None:
    # this machine's kind: 20,000 open files and 96,362 processes as hard limits
    local = ((20000, 20000), (96362, 96362))
    assert engine_ulimits(FARGATE_NOFILE, local) == {"nofile": 20000, "nproc": 96362}
    assert engine_ulimits(LAMBDA_FILE_DESCRIPTORS, local) == {"nofile": 1024, "nproc": 96362}


def test_unlimited_hard_limits_leave_awss_values() -> None:
    local = ((1024, UNLIMITED), (UNLIMITED, UNLIMITED))
    assert engine_ulimits(FARGATE_NOFILE, local) == {"nofile": 65535, "nproc": HIGHEST_NPROC}


PODMAN_V1 = """9:name=systemd:/libpod_parent/libpod-a93b01f7
4:memory:/libpod_parent/libpod-a93b01f7
2:cpuacct:/libpod_parent/libpod-a93b01f7
0::/libpod_parent/libpod-a93b01f7
"""
SYSTEMD_V2 = "0::/system.slice/docker-5e1c.scope\n"


def test_a_containers_peak_memory_is_found_from_its_process_whatever_engine_placed_it() -> None:
    """Podman's cgroupfs layout (recorded from a Podman 4.3 container's /proc/PID/cgroup on this
    machine) is not Docker's: the Telemetry API's report said 0 MB there."""
    assert memory_cgroup_files(PODMAN_V1) == [
        "/sys/fs/cgroup/memory/libpod_parent/libpod-a93b01f7/memory.max_usage_in_bytes",
        "/sys/fs/cgroup/libpod_parent/libpod-a93b01f7/memory.peak",
    ]
    assert memory_cgroup_files(SYSTEMD_V2) == ["/sys/fs/cgroup/system.slice/docker-5e1c.scope/memory.peak"]
    assert memory_cgroup_files("") == []
