"""SCF's no-Dockerfile Node.js app starts as ``npm run dev``, else ``npm start``, else ``node`` on
package.json's ``main``, installing its dependencies first when it has no ``node_modules``: decided
here from its package.json, and in the container only where that file does not read as one."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runners.webapp import NODE_START, node_start

INSTALL = "if [ ! -d node_modules ]; then echo 'installing dependencies (npm install)'; npm install --no-audit --no-fund; fi; "


@pytest.mark.parametrize(
    ("package", "command"),
    [
        ({"scripts": {"dev": "vite", "start": "node server.js"}}, "set -e; exec npm run dev"),
        ({"scripts": {"start": "node server.js"}}, "set -e; exec npm start"),
        ({"scripts": {"dev": "", "start": "node server.js"}}, "set -e; exec npm start"),
        ({"main": "src/app.js"}, "set -e; exec node src/app.js"),
        ({"main": "my app.js"}, "set -e; exec node 'my app.js'"),
        ({}, "set -e; exec node index.js"),
        ({"scripts": {"start": "node ."}, "dependencies": {"hono": "4"}}, f"set -e; {INSTALL}exec npm start"),
        (
            {"devDependencies": {"vite": "5"}, "scripts": {"dev": "vite"}},
            f"set -e; {INSTALL}exec npm run dev",
        ),
    ],
)
def test_the_start_command_is_read_from_package_json(tmp_path: Path, package: object, command: str) -> None:
    (tmp_path / "package.json").write_text(json.dumps(package))
    assert node_start(tmp_path / "package.json") == command


@pytest.mark.parametrize(
    "text", ["{not json", "[]", '{"scripts": "vite"}', '{"main": 3}', '{"dependencies": "x"}']
)
def test_a_package_json_that_does_not_read_as_one_is_left_to_node_in_the_container(
    tmp_path: Path, text: str
) -> None:
    (tmp_path / "package.json").write_text(text)
    assert node_start(tmp_path / "package.json") == NODE_START
    assert node_start(tmp_path / "missing.json") == NODE_START
