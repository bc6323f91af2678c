"""What the installed package carries: its version from VERSION, the stubs and py.typed, stubs
that match the extension, and libflume linked in (not loaded from elsewhere)."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import flume
from flume import _flume

from conftest import REPO, run_python

PACKAGE = Path(flume.__file__).parent


def test_version_comes_from_the_version_file() -> None:
    version = (REPO / "VERSION").read_text().strip()
    assert flume.__version__ == version
    assert _flume.HEADER_VERSION == version
    major, minor, patch = (int(x) for x in version.split("."))
    assert _flume.VERSION_NUMBER == major * 1000000 + minor * 1000 + patch
    from importlib.metadata import version as dist_version

    assert dist_version("flume") == version


def test_stubs_and_py_typed_are_installed() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (PACKAGE / "_flume.pyi").is_file()


def _stub_names() -> dict:
    tree = ast.parse((PACKAGE / "_flume.pyi").read_text())
    names: dict = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef):
            names[node.name] = {
                n.name for n in node.body if isinstance(n, (ast.FunctionDef, ast.AnnAssign))
                and not isinstance(n, ast.AnnAssign)
            }
        elif isinstance(node, ast.FunctionDef):
            names[node.name] = None
        elif isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            names[node.target.id] = None
    return names


def test_stubs_match_the_extension() -> None:
    stubs = _stub_names()
    runtime = {n for n in dir(_flume) if not n.startswith("_") or n == "__version__"}
    runtime -= {"__version__"}
    stubbed = {n for n in stubs if not n.startswith("_")}
    assert runtime - stubbed == set(), "in the extension but not in _flume.pyi"
    assert stubbed - runtime - {"__version__"} == set(), "in _flume.pyi but not in the extension"
    for name, members in stubs.items():
        if members is None or name.startswith("_"):
            continue
        cls = getattr(_flume, name)
        public = {m for m in dir(cls) if not m.startswith("_")}
        stub_public = {m for m in members if not m.startswith("_")}
        assert public == stub_public, f"{name}: runtime {public ^ stub_public} differ"


def test_public_package_exports_exist() -> None:
    for name in flume.__all__:
        assert hasattr(flume, name), name
    assert inspect.isclass(flume.Client) and flume.Client.__module__ == "flume"


def test_libflume_is_linked_in_not_loaded() -> None:
    result = run_python("import flume; print(open('/proc/self/maps').read())")
    assert result.returncode == 0, result.stderr
    assert "libflume.so" not in result.stdout
    assert "_flume" in result.stdout
