"""The whole sandbox in one object: start, seed, describe as env vars, stop."""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from .oci.auth import ApiKey, new_rsa_key, pem_private
from .oci.server import OciServer
from .oci.world import World


class Sandbox:
    """Starts the OCI emulator and the stand-ins around it on 127.0.0.1 with ephemeral ports."""

    def __init__(self, workdir: str | os.PathLike | None = None):
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="certmgr-sandbox-"))
        self.world = World()
        self.server: OciServer | None = None
        self.env: dict[str, str] = {}
        self.oci_config: dict[str, str] = {}

    @property
    def endpoint(self) -> str:
        """Base URL of the home region (every service shares it)."""
        return self.server.url

    def region_endpoint(self, region: str) -> str:
        return f"{self.server.url}/regions/{region}"

    def _write_api_key(self) -> None:
        key = ApiKey(self.world.tenancy_id, "ocid1.user.oc1..aaaaaaaasandboxuser" + os.urandom(8).hex(),
                     new_rsa_key())
        self.world.auth.add_api_key(key)
        key_file = self.workdir / "oci_api_key.pem"
        key_file.write_text(pem_private(key.private_key))
        key_file.chmod(0o600)
        config_file = self.workdir / "oci_config"
        config_file.write_text(f"[DEFAULT]\nuser={key.user}\nfingerprint={key.fingerprint}\n"
                               f"tenancy={key.tenancy}\nregion={self.world.home_region}\nkey_file={key_file}\n")
        self.oci_config = {"user": key.user, "fingerprint": key.fingerprint, "tenancy": key.tenancy,
                           "region": self.world.home_region, "key_file": str(key_file)}
        self.env.update(OCI_CONFIG_FILE=str(config_file), OCI_CLI_CONFIG_FILE=str(config_file))

    def start(self) -> "Sandbox":
        self.server = OciServer(self.world).start()
        self._write_api_key()
        self.env.update(CERTMGR_OCI_ENDPOINT=self.endpoint, SANDBOX_CONTROL=f"{self.endpoint}/_control",
                        CERTMGR_COMPARTMENT_ID=self.world.tenancy_id)
        return self

    def stop(self) -> None:
        if self.server:
            self.server.stop()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
