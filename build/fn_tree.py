"""The function's installed tree: what the image's /python and /function hold, and nothing else.

    python build/fn_tree.py DEST        # DEST/python and DEST/function

The Dockerfile runs it with DEST=/ in the Fn Python build image; `make fn-tree` runs it into .cache/fn-tree,
against which the suite runs the Fn end-to-end tests, so what the function needs and this tree lacks fails
there, not on a cold start in OCI.

- python/: requirements.txt installed with --no-deps and wheels only. The file pins every package certmgr
  imports when it runs, dependencies included, so what a package declares for its tests or its build (fdk's
  Cython, pytest, setuptools, wheel) stays out. Then the `oci` SDK is cut to what certmgr can import: the
  SDK's top-level modules, the service packages certmgr/ names (`oci.dns`, "oci.vault", ...), and every
  sub-package those import, followed through their imports.
- function/: the certmgr package, compiled.

Each part is rebuilt only when what it is made from changes (requirements.txt, this script, the services
certmgr names; certmgr's sources), under a lock, and swapped in whole.
"""
from __future__ import annotations

import ast
import collections
import compileall
import fcntl
import hashlib
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REQUIREMENTS = ROOT / "requirements.txt"
PACKAGE = ROOT / "certmgr"
OCI_NAME = re.compile(r"\boci\.([a-z_][a-z0-9_]*)")


def sources(package: Path) -> list[Path]:
    """The package's files as the image holds them: its modules and its data (cloud/permissions.json)."""
    return sorted(p for p in package.rglob("*") if p.is_file() and "__pycache__" not in p.parts
                  and p.suffix != ".pyc")


def certmgr_services() -> list[str]:
    """Every `oci.<name>` certmgr's sources mention, in code or in strings; those that are not sub-packages
    of the SDK (oci.exceptions, a host name) are dropped when the SDK is cut."""
    return sorted({name for path in sources(PACKAGE) for name in OCI_NAME.findall(path.read_text())})


def digest(*parts: bytes | str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode() if isinstance(part, str) else part)
        h.update(b"\0")
    return h.hexdigest()


def imports(member: str, source: bytes) -> set[str]:
    """The oci sub-packages one file of the wheel imports, anywhere in it (a lazy import counts too)."""
    package = member.split("/")[:-1]  # a package's own __init__ is inside it
    tree = ast.parse(source)
    # The SDK's __init__ imports every service only under OCI_PYTHON_SDK_LAZY_IMPORTS_DISABLED=true: of it,
    # only what it always imports counts.
    nodes = tree.body if member == "oci/__init__.py" else ast.walk(tree)
    found = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names = [alias.name.split(".") for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            target = base + (node.module.split(".") if node.module else [])
            names = [target] + [target + [alias.name] for alias in node.names]
        else:
            continue
        found |= {name[1] for name in names if len(name) > 1 and name[0] == "oci"}
    return found


def unpack_oci(wheel: Path, dest: Path, wanted: list[str]) -> None:
    """The SDK's wheel unpacked (a pure-Python wheel without scripts: unpacking is installing) with only the
    sub-packages certmgr or the kept SDK code imports; its top-level modules are always kept."""
    with zipfile.ZipFile(wheel) as whl:
        members = collections.defaultdict(list)  # sub-package ("" for the top-level modules) -> members
        for member in whl.namelist():
            parts = member.split("/")
            members[parts[1] if parts[0] == "oci" and len(parts) > 2 else ""].append(member)
        keep, todo = set(), ["", *wanted]
        while todo:
            sub = todo.pop()
            if sub not in keep and sub in members:
                keep.add(sub)
                todo += [found for member in members[sub] if member.endswith(".py")
                         for found in imports(member, whl.read(member))]
        kept = [member for sub in keep for member in members[sub]]
        whl.extractall(dest, kept)
    # The installed-files record lists only what is there.
    record = next(dest.glob("oci-*.dist-info/RECORD"))
    kept = set(kept)
    record.write_text("".join(line for line in record.read_text().splitlines(keepends=True)
                              if line.split(",", 1)[0] in kept))


def pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", *args, "--quiet", "--disable-pip-version-check"], check=True)


def build_python(dest: Path) -> None:
    with tempfile.TemporaryDirectory() as download:
        pip("download", "--no-deps", "--only-binary", ":all:", "--dest", download, "-r", str(REQUIREMENTS))
        wheels = sorted(Path(download).glob("*.whl"))
        sdk = next(wheel for wheel in wheels if wheel.name.startswith("oci-"))
        pip("install", "--no-index", "--no-deps", "--no-compile", "--no-warn-script-location", "--target",
            str(dest), *(str(wheel) for wheel in wheels if wheel != sdk))
        unpack_oci(sdk, dest, certmgr_services())
    compileall.compile_dir(dest, quiet=1, workers=0)


def build_function(dest: Path) -> None:
    shutil.copytree(PACKAGE, dest / PACKAGE.name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    compileall.compile_dir(dest, quiet=1)


def fresh(dest: Path, name: str, key: str, build) -> None:
    """dest/name built by `build` unless the key it was built from is unchanged; swapped in whole."""
    target, stamp, new = dest / name, dest / f".{name}.key", dest / f".{name}.new"
    if target.is_dir() and stamp.exists() and stamp.read_text() == key:
        return
    shutil.rmtree(new, ignore_errors=True)
    new.mkdir()
    build(new)
    shutil.rmtree(target, ignore_errors=True)
    new.rename(target)
    stamp.write_text(key)


def size(tree: Path) -> int:
    """Bytes of files under tree (what an image layer holding it stores)."""
    return sum(p.stat().st_size for p in tree.rglob("*") if p.is_file() and not p.is_symlink())


def ensure(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    with open(dest / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        script = Path(__file__).read_bytes()
        fresh(dest, "python", digest(REQUIREMENTS.read_bytes(), script, *certmgr_services()), build_python)
        fresh(dest, "function", digest(script, *(f"{p.relative_to(PACKAGE)}\n".encode() + p.read_bytes()
                                                      for p in sources(PACKAGE))), build_function)
    return dest


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    dest = ensure(Path(argv[0]))
    total = size(dest / "python") + size(dest / "function")
    print(f"{dest}: python/ and function/, {total / 1e6:.1f} MB of files")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
