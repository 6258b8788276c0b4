"""What reaches a container of this machine's files: on a remote engine the sources as archives
at the mount targets, and the saved files of a dev server's app (those deleted, named for
removal); on a local one, bind mounts, relabelled where SELinux confines containers."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path
from typing import IO

import pytest

from runners.docker.limits import proc_limits
from runners.docker.shipping import file_archive, files_archive, mounts_archive
from runners.docker.spec import Mount, selinux_enforced


def _members(archive: IO[bytes]) -> dict[str, tarfile.TarInfo]:
    with archive, tarfile.open(fileobj=archive, mode="r") as tar:
        return {m.name: m for m in tar.getmembers()}


def test_each_mounts_source_lands_at_its_target_folders_files_and_links_as_they_are(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "lib").mkdir(parents=True)
    (src / "app.py").write_text("def handler(e, c): ...\n")
    (src / "run.sh").write_text("#!/bin/sh\n")
    os.chmod(src / "run.sh", 0o755)
    os.symlink("app.py", src / "alias.py")
    layer_file = tmp_path / "layer" / "extension.txt"
    layer_file.parent.mkdir()
    layer_file.write_text("x")
    members = _members(
        mounts_archive([Mount(str(src), "/var/task"), Mount(str(layer_file), "/opt/extension.txt")])
    )
    assert {
        "var/task",
        "var/task/lib",
        "var/task/app.py",
        "var/task/run.sh",
        "var/task/alias.py",
    } <= members.keys()
    assert members["var/task/run.sh"].mode & 0o111  # executables stay executable
    assert members["var/task/alias.py"].issym() and members["var/task/alias.py"].linkname == "app.py"
    assert members["opt/extension.txt"].isfile()


def test_saved_files_are_copied_and_deleted_ones_named_for_removal(tmp_path: Path) -> None:
    (tmp_path / "routes").mkdir()
    (tmp_path / "server.js").write_text("v2")
    (tmp_path / "routes" / "new.js").write_text("new")
    archive, gone = files_archive(tmp_path, ["server.js", "routes/new.js", "old.js", "server.js"], "/app")
    assert set(_members(archive)) == {"app/server.js", "app/routes/new.js"}
    assert gone == ["/app/old.js"]


def test_one_file_at_a_container_path_and_no_path_outside_the_container() -> None:
    members = _members(io.BytesIO(file_archive("/scf-local-env/registered")))
    assert list(members) == ["scf-local-env/registered"] and members["scf-local-env/registered"].size == 0
    with pytest.raises(ValueError):
        file_archive("/../etc/passwd")


def test_a_remote_engines_own_limits_read_from_proc_self_limits() -> None:
    text = (
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max processes             96362                96362                processes \n"
        "Max open files            20000                20000                files     \n"
    )
    assert proc_limits(text) == (20000, 96362)
    assert proc_limits(text.replace("96362                processes", "unlimited            processes")) == (
        20000,
        -1,
    )


def test_bind_mounts_are_relabelled_where_selinux_confines_containers() -> None:
    fedora = {"SecurityOptions": ["name=seccomp,profile=default", "name=selinux"]}
    debian = {"SecurityOptions": ["name=seccomp,profile=default", "name=apparmor"]}
    assert selinux_enforced(fedora) and not selinux_enforced(debian) and not selinux_enforced({})
    assert Mount("/src", "/var/task").mode(selinux=True) == "ro,z"
    assert Mount("/src", "/app", read_only=False).mode(selinux=True) == "rw,z"
    assert Mount("/src", "/var/task").mode(selinux=False) == "ro"
