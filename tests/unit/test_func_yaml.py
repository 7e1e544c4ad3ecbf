"""func.yaml is what `fn build` / `fn deploy` read: the runtime, where the handler is, memory and timeout.
Mistakes here only show when the image runs on OCI, so they are checked here."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

ROOT = Path(__file__).resolve().parents[2]
FUNC_YAML = ROOT / "func.yaml"
MODULE_VARIABLES = ROOT / "terraform" / "modules" / "certmgr" / "variables.tf"
IMAGE_ROOT = "/function/"  # where the Fn Python build copies the repository

OCI_MAX_SYNC_TIMEOUT = 300
OCI_MEMORY_CHOICES = (128, 256, 512, 1024)


@pytest.fixture(scope="module")
def func():
    return yaml.safe_load(FUNC_YAML.read_text())


@pytest.fixture(scope="module")
def module_defaults():
    with MODULE_VARIABLES.open() as f:
        config = hcl2.load(f, serialization_options=SerializationOptions(
            with_comments=False, explicit_blocks=False, strip_string_quotes=True))
    return {name: body.get("default") for item in config["variable"] for name, body in item.items()}


def handler_path(func) -> str:
    """The handler file inside the image, from `/python/bin/fdk <file> <function>`."""
    fdk, path, function = shlex.split(func["entrypoint"])
    assert (fdk, function) == ("/python/bin/fdk", "handler")
    return path


def test_identity_and_runtime(func):
    assert func["schema_version"] == 20180708
    assert func["name"] == "certmgr"
    assert re.fullmatch(r"\d+\.\d+\.\d+", func["version"])
    # The plain "python" runtime means 3.12; certmgr is built and tested on 3.11.
    assert func["runtime"] == "python3.11"
    assert func["build_image"] == "fnproject/python:3.11-dev"
    assert func["run_image"] == "fnproject/python:3.11"


def test_version_matches_the_project(func):
    project = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{func["version"]}"' in project


def test_entrypoint_names_certmgr_handler(func):
    assert handler_path(func) == "/function/certmgr/func.py"


def test_handler_file_exists_and_imports_absolutely(func):
    """The FDK loads the handler by path as a module named "func": a relative import there fails."""
    source = ROOT / handler_path(func).removeprefix(IMAGE_ROOT)
    if not source.exists():
        pytest.skip(f"{source.relative_to(ROOT)} is not written yet")
    text = source.read_text()
    assert re.search(r"^def handler\(", text, re.M)
    assert not re.search(r"^\s*from \.", text, re.M), "use `from certmgr... import`, not relative imports"


def test_memory_and_timeout_are_allowed_and_match_terraform(func, module_defaults):
    assert func["memory"] in OCI_MEMORY_CHOICES
    assert 30 <= func["timeout"] <= OCI_MAX_SYNC_TIMEOUT
    # `fn deploy` and terraform must not disagree about the same function.
    assert func["memory"] == module_defaults["function_memory_mb"]
    assert func["timeout"] == module_defaults["function_timeout_seconds"]
