"""The programs run inside containers: any image's ``python3``, nothing but the standard library."""

import ast
import sys
import typing

import pytest

from runners.programs import Program, source

PROGRAMS = typing.get_args(Program)


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_program_is_python_3_8(program: str) -> None:
    ast.parse(source(program), feature_version=(3, 8))


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_program_imports_the_standard_library_only(program: str) -> None:
    tree = ast.parse(source(program))
    imported = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    imported |= {node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
    outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
    assert outside == set()


@pytest.mark.parametrize("program", PROGRAMS)
def test_a_program_runs_as_a_script_only(program: str) -> None:
    assert 'if __name__ == "__main__":\n    asyncio.run(main())\n' in source(program)
