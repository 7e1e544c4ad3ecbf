"""Every `oci fn function invoke` the project shows (the module's outputs, the README's first run, crontab and CI
lines) sets a read timeout that outlasts the function, or invokes detached.

The OCI CLI reads a reply for 60 s by default and then retries the call, so a renewal that takes longer would be
invoked again every minute (REFERENCE: the CLI's `--read-timeout`). A command may run over several lines (a
shell's trailing backslash, a CI step's `run: |` block): all of it counts."""
from __future__ import annotations

import re
import subprocess
from pathlib import Path

from test_terraform import OCI_MAX_SYNC_TIMEOUT

ROOT = Path(__file__).resolve().parents[2]
COMMAND = "oci fn function invoke"


def occurrences(text: str) -> list[str]:
    """Each command in `text`, from its start to the end of its last line (a trailing backslash continues it)."""
    lines, found = text.splitlines(), []
    for i, line in enumerate(lines):
        if COMMAND not in line:
            continue
        command = line[line.index(COMMAND):]
        while command.rstrip().endswith("\\") and i + 1 < len(lines):
            i += 1
            command = command.rstrip()[:-1].rstrip() + " " + lines[i].strip()
        found.append(command)
    return found


def commands() -> list[tuple[str, str]]:
    """(file, command) for every occurrence in the repository's tracked files, but this one."""
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    return [(name, command) for name in tracked if name != f"tests/unit/{Path(__file__).name}" and (ROOT / name).is_file()
            for command in occurrences((ROOT / name).read_text(errors="replace"))]


def outlasts_the_function(command: str) -> bool:
    if "--fn-invoke-type detached" in command:
        return True
    seconds = re.search(r"--read-timeout (\d+|\$\{var\.function_timeout_seconds \+ \d+\})", command)
    return bool(seconds) and (not seconds[1].isdigit() or int(seconds[1]) > OCI_MAX_SYNC_TIMEOUT)


def test_the_commands_are_found_wherever_they_are_shown():
    found = {name for name, _ in commands()}
    assert {"README.md", "terraform/modules/certmgr/outputs.tf"} <= found, found


def test_every_command_reads_longer_than_the_function_runs_or_is_detached():
    assert [f"{name}: {command}" for name, command in commands() if not outlasts_the_function(command)] == []


def test_a_command_cut_over_lines_is_read_whole():
    step = f"""      - run: |
          {COMMAND} \\
            --function-id ${{{{ secrets.CERTMGR_FUNCTION_ID }}}} \\
            --read-timeout 330 --file - --body ''
      - run: echo done"""
    assert occurrences(step) == [f"{COMMAND} --function-id ${{{{ secrets.CERTMGR_FUNCTION_ID }}}} --read-timeout 330 --file - --body ''"]
    assert outlasts_the_function(occurrences(step)[0])
    assert not outlasts_the_function(f"{COMMAND} --function-id x --file - --body ''")
    assert not outlasts_the_function(f"{COMMAND} --read-timeout 60 --function-id x")
    assert outlasts_the_function(f"{COMMAND} --fn-invoke-type detached --function-id x")
