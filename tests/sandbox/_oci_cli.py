"""The real OCI CLI against the sandbox, run in this process (click's runner): the CLI's import costs about
two seconds of CPU, paid once per test process instead of once per command."""
from __future__ import annotations

import functools
import json
import os

from click.testing import CliRunner


@functools.cache
def _cli():
    """Imported on first use, and the environment put back after: importing `oci_cli` sets
    OCI_PYTHON_SDK_NO_SERVICE_IMPORTS=1 in os.environ, which the processes this one starts would inherit."""
    saved = dict(os.environ)
    from oci_cli import dynamic_loader
    from oci_cli.cli import cli
    os.environ.clear()
    os.environ.update(saved)
    return dynamic_loader, cli


def oci_cli(sandbox, *args: str, ok: bool = True):
    """Run `oci <args>` on the sandbox's endpoint and config file. With `ok` (the default), check that it
    succeeded and return its JSON output (None when it printed nothing); else return the click result."""
    dynamic_loader, cli = _cli()
    dynamic_loader.load_service_from_command(args)  # what `oci` does with its argv as it starts
    done = CliRunner(env={"OCI_CLI_SUPPRESS_FILE_PERMISSIONS_WARNING": "True"}).invoke(
        cli, [*args, "--endpoint", sandbox.endpoint, "--config-file", sandbox.env["OCI_CONFIG_FILE"]])
    if not ok:
        return done
    assert done.exit_code == 0, (done.stderr, done.exception)
    return json.loads(done.stdout) if done.stdout.strip() else None  # actions without a body print nothing
