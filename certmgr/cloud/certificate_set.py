"""The certificate set in Vault (the certificate, its chain and its key: three secrets) and the ACME account keys.

Versions written together share a version name
(`serial-<hex>`): a reader starting from the certificate finds *its* key and chain by name, whatever moment
it reads at. The key is written PENDING, the chain CURRENT (it is public), the certificate CURRENT (the commit
point), then the key is promoted. A run that dies half-way leaves the previous certificate and key CURRENT,
their chain readable by name, and `promote_key` makes the certificate's own chain CURRENT again; a refused
certificate write puts the previous chain back at once.
"""
from __future__ import annotations

import functools
import logging
from dataclasses import dataclass

from .clients import together
from .vault import VaultStore
from ..errors import VaultError

log = logging.getLogger("certmgr")


@dataclass
class StoredCertificate:
    cert_pem: bytes
    chain_pem: bytes | None
    key_pem: bytes | None
    version_name: str | None
    set_is_current: bool      # the key and chain secrets' CURRENT versions are this certificate's own


def version_name(serial_hex: str) -> str:
    return f"serial-{serial_hex}"


class CertificateVault:
    """The certificate set (certificate, chain, key) and the ACME account key, by role."""

    def __init__(self, store: VaultStore, names: dict[str, str]):
        self.store, self.names = store, names

    def _read(self, *roles: str, version: str | None = None) -> list:
        return together(*(functools.partial(self.store.read, self.names[r], version=version) for r in roles))

    def read_certificate(self) -> StoredCertificate | None:
        """The certificate, its chain and its key, read at once; the key and chain are the CURRENT ones when
        they carry the certificate's version name, else the versions of that name (a write cut short)."""
        found, key, chain = self._read("certificate", "private_key", "chain")
        if found is None:
            return None
        cert_pem, name = found
        # the CURRENT key and chain are this certificate's own (not a write cut short, nor one by hand); a
        # certificate stored by hand has no version name: the CURRENT versions are all there is
        set_is_current = not name or bool(key and chain and key[1] == name and chain[1] == name)
        if not set_is_current:  # the versions of this certificate's name, if they exist (version names are unique)
            key, chain = self._read("private_key", "chain", version=name)
        return StoredCertificate(cert_pem, chain[0] if chain else None, key[0] if key else None, name,
                                 set_is_current)

    def write_certificate(self, cert_pem: bytes, chain_pem: bytes, key_pem: bytes, serial_hex: str) -> None:
        name, key, chain = version_name(serial_hex), self.names["private_key"], self.names["chain"]
        # One after the other: a refused write adds no version after it.
        key_version = self.store.write(key, key_pem, version=name, pending=True)
        previous = self.store.known[chain].current if self.store.secret_id(chain) else None
        self.store.write(chain, chain_pem, version=name)
        try:
            self.store.write(self.names["certificate"], cert_pem, version=name)
        except VaultError:
            try:  # the chain CURRENT with the certificate CURRENT, as before (failing that, the next run repairs)
                if previous is not None:
                    self.store.promote(chain, previous)
            except VaultError as exc:
                log.warning("%s", exc.message)
            raise
        self.store.promote(key, key_version)

    def check_room(self) -> None:
        """Before an order: each secret of the set can take one more version (`make_room`), or is really missing."""
        for name in (self.names[role] for role in ("private_key", "chain", "certificate")):
            self.store.make_room(name) if self.store.secret_id(name) else self.store.confirm_absent(name)

    def promote_key(self, version: str) -> None:
        """Repair after an interrupted write: make the certificate's own key and chain CURRENT."""
        for role in ("private_key", "chain"):
            match = [v.version_number for v in self.store.versions(self.names[role]) if v.name == version]
            if match:
                self.store.promote(self.names[role], match[0])

    def read_account_key(self, role: str = "account_key") -> bytes | None:
        """The ACME account key of the CA whose secret role is `role` (the primary's, or the fallback's)."""
        return found[0] if (found := self.store.read(self.names[role])) else None

    def write_account_key(self, key_pem: bytes, role: str = "account_key") -> None:
        self.store.write(self.names[role], key_pem)
