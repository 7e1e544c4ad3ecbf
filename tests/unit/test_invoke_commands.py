"""Every `oci fn function invoke` command the project shows sets a read timeout that outlasts the function.

The OCI CLI reads a reply for 60 s by default and then retries the call, so a renewal that takes longer
would be invoked again every minute (REFERENCE: the CLI's `--read-timeout`)."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def commands() -> list[tuple[str, str]]:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    found = []
    for name in tracked:
        path = ROOT / name
        if path.suffix in (".py", ".pyc") or not path.is_file():
            continue
        for line in path.read_text(errors="replace").splitlines():
            if re.search(r"oci fn function invoke --", line):  # a command, not a mention in prose
                found.append((name, line.strip()))
    return found


def test_the_module_output_is_such_a_command_and_every_command_sets_the_read_timeout():
    found = commands()
    assert any(name.endswith("outputs.tf") for name, _ in found), found
    missing = [f"{name}: {line}" for name, line in found if "--read-timeout" not in line]
    assert missing == []


def test_the_read_timeout_outlasts_the_function_timeout():
    outputs = (ROOT / "terraform/modules/certmgr/outputs.tf").read_text()
    assert re.search(r"--read-timeout \$\{var\.function_timeout_seconds \+ \d+\}", outputs)
