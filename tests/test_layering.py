"""Layering, checked on the parsed source (ast), not by grep.

- plyvel is imported by dmd/metadata/engine/leveldb.py and nothing else: everything else reaches
  the store through the Engine Protocol.
- Nothing under dmd/ or shared/ imports s3front: the daemons and the shared code never depend on
  the S3 front-end.
"""
from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

from tests.cluster import REPO_ROOT

PACKAGES = ("dmd", "shared", "s3front", "services", "tests", "bench")
LEVELDB_ENGINE = Path("dmd/metadata/engine/leveldb.py")


def module_name(path: Path) -> str:
    """`dmd/metadata/engine/leveldb.py` -> `dmd.metadata.engine.leveldb` (a package's __init__ is the package)."""
    parts = list(path.with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(source: str, module: str, is_package: bool = False) -> Iterator[str]:
    """Every module a source file imports: import statements (relative ones resolved), and
    importlib.import_module / __import__ calls with a literal name."""
    package = module if is_package else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                base = ".".join(anchor + ([base] if base else []))
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)   # `from pkg import module`
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant) \
                and isinstance(node.args[0].value, str):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__"):
                yield node.args[0].value


def imports(path: Path) -> set[str]:
    rel = path.relative_to(REPO_ROOT)
    return set(imported_modules(path.read_text(), module_name(rel), rel.name == "__init__.py"))


def sources() -> Iterator[Path]:
    for package in PACKAGES:
        yield from sorted((REPO_ROOT / package).rglob("*.py"))


def names(mods: set[str], top: str) -> set[str]:
    return {m for m in mods if m == top or m.startswith(top + ".")}


def test_the_checker_sees_every_form_of_import() -> None:
    """The rules below are only as good as this: each form of importing is found."""
    source = ("import plyvel\nimport plyvel.x as p\nfrom plyvel import DB\nimport importlib\n"
              "importlib.import_module('s3front.app')\n__import__('s3front')\nfrom .. import sibling\n"
              "from .engine import leveldb\n")
    found = set(imported_modules(source, "dmd.metadata.context"))
    assert {"plyvel", "plyvel.x", "plyvel.DB", "s3front.app", "s3front", "dmd.sibling",
            "dmd.metadata.engine.leveldb"} <= found


def test_only_the_leveldb_engine_imports_plyvel() -> None:
    offenders = {str(path.relative_to(REPO_ROOT)): sorted(names(imports(path), "plyvel")) for path in sources()
                 if path.relative_to(REPO_ROOT) != LEVELDB_ENGINE and names(imports(path), "plyvel")}
    assert offenders == {}
    assert names(imports(REPO_ROOT / LEVELDB_ENGINE), "plyvel"), "the LevelDB engine moved: update this test"


def test_daemons_and_shared_code_never_import_the_front_end() -> None:
    offenders = {}
    for package in ("dmd", "shared"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            found = names(imports(path), "s3front")
            if found:
                offenders[str(path.relative_to(REPO_ROOT))] = sorted(found)
    assert offenders == {}


# The sub-level names of the key layout (dmd/metadata/keys.py), and the LevelDB binding.
LAYOUT_WORDS = ("__metastore", "users..bucket", "__gc", "__sys", "__configs", "mpuShadowBucket", "plyvel")


def test_no_module_outside_the_metadata_daemon_names_the_key_layout() -> None:
    """The front-end, shared code, services and tools reach metadata through the contract only:
    none of them spells a sub-level name or names plyvel (tests of the layout itself excepted)."""
    offenders = {}
    for package in ("dmd", "shared", "s3front", "services", "bench"):
        for path in sorted((REPO_ROOT / package).rglob("*.py")):
            rel = path.relative_to(REPO_ROOT)
            if rel.parts[:2] == ("dmd", "metadata"):
                continue
            found = [word for word in LAYOUT_WORDS if word in path.read_text()]
            if found:
                offenders[str(rel)] = found
    assert offenders == {}
    assert "mpuShadowBucket" in (REPO_ROOT / "dmd/metadata/keys.py").read_text(), "the layout moved: update this test"
