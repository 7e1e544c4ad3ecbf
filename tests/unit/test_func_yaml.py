"""func.yaml and the Dockerfile are what `fn build` / `fn deploy` read: the image, where the handler is,
memory and timeout. Mistakes here only show when the image runs on OCI, so they are checked here; the Fn
end-to-end tests run the Dockerfile's entrypoint from the tree its build script makes (sandbox/fn_platform)."""
from __future__ import annotations

import json
import re
from pathlib import Path

import hcl2
import pytest
import yaml
from hcl2.utils import SerializationOptions

from sandbox import fn_platform

ROOT = Path(__file__).resolve().parents[2]
FUNC_YAML = ROOT / "func.yaml"
DOCKERFILE = ROOT / "Dockerfile"
MODULE_VARIABLES = ROOT / "terraform" / "modules" / "certmgr" / "variables.tf"

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


@pytest.fixture(scope="module")
def stages():
    """The Dockerfile's stages: each a dict of instruction -> arguments, in order (FROM first)."""
    stages = []
    for line in DOCKERFILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            instruction, arguments = line.split(None, 1)
            if instruction == "FROM":
                stages.append({})
            stages[-1].setdefault(instruction, []).append(arguments)
    return stages


def test_identity_and_runtime(func):
    assert func["schema_version"] == 20180708
    assert func["name"] == "certmgr"
    assert re.fullmatch(r"\d+\.\d+\.\d+", func["version"])
    # The image is the Dockerfile's: a language runtime's build_image, run_image or entrypoint would be ignored.
    assert func["runtime"] == "docker"
    assert not {"build_image", "run_image", "entrypoint", "cmd"} & func.keys()


def test_version_matches_the_project(func):
    project = (ROOT / "pyproject.toml").read_text()
    assert f'version = "{func["version"]}"' in project


def test_image_builds_on_the_fn_python_images_with_one_script(stages):
    build, run = stages
    # Python 3.11, as certmgr is built and tested; the plain "python" images mean 3.12.
    assert build["FROM"] == ["fnproject/python:3.11-dev AS build-stage"]
    assert run["FROM"] == ["fnproject/python:3.11"]
    assert build["RUN"] == ["python3 build/fn_tree.py / && chmod -R o+rX /python /function"]
    assert run["COPY"] == ["--from=build-stage /python /python", "--from=build-stage /function /function"]


def test_the_sandbox_platform_runs_what_the_image_runs(stages):
    """The Fn end-to-end tests start fn_platform's command: the image's, with / at the tree."""
    run = stages[-1]
    image = (lambda text: str(text).replace(str(fn_platform.TREE), ""))
    assert json.loads(run["ENTRYPOINT"][0]) == [image(arg) for arg in fn_platform.ENTRYPOINT]
    assert run["ENV"] == [f"PYTHONPATH={image(fn_platform.PYTHONPATH)}"]
    assert run["WORKDIR"] == [image(fn_platform.WORKDIR)]


def test_handler_file_exists_and_imports_absolutely(stages):
    """The FDK loads the handler by path as a module named "func": a relative import there fails."""
    fdk, path, function = json.loads(stages[-1]["ENTRYPOINT"][0])
    assert (fdk, function) == ("/python/bin/fdk", "handler")
    text = (ROOT / path.removeprefix("/function/")).read_text()
    assert re.search(r"^def handler\(", text, re.M)
    assert not re.search(r"^\s*from \.", text, re.M), "use `from certmgr... import`, not relative imports"


def test_build_context_holds_what_the_dockerfile_copies(stages):
    ignore = (ROOT / ".dockerignore").read_text().splitlines()
    copied = {source for arguments in stages[0]["COPY"] for source in arguments.split()[:-1]}
    assert copied == {line[1:] for line in ignore if line.startswith("!")}
    assert all((ROOT / source).exists() for source in copied)


def test_memory_and_timeout_are_allowed_and_match_terraform(func, module_defaults):
    assert func["memory"] in OCI_MEMORY_CHOICES
    assert 30 <= func["timeout"] <= OCI_MAX_SYNC_TIMEOUT
    # `fn deploy` and terraform must not disagree about the same function.
    assert func["memory"] == module_defaults["function_memory_mb"]
    assert func["timeout"] == module_defaults["function_timeout_seconds"]
