"""`make demo | head -2`: once its reader goes away, the demo stops the sandbox and Pebble and ends, quietly."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_the_demo_stops_everything_it_started_when_its_output_pipe_closes():
    demo = subprocess.Popen([sys.executable, "-m", "demo"], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)  # its own process group: what it started is in it
    try:
        head = [demo.stdout.readline() for _ in range(2)]
        demo.stdout.close()  # gone while the sandbox starts: its summary is the first line with nowhere to go
        err = demo.stderr.read()
        assert demo.wait(timeout=60) != 0 and "Starting the sandbox" in head[1]
    finally:
        demo.kill()
    assert "Traceback" not in err, err
    with pytest.raises(ProcessLookupError):  # nothing of the group is left: no sandbox, no Pebble
        os.killpg(demo.pid, 0)
