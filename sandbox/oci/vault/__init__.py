"""OCI Vault secrets: management (`/20180608`, VaultsClient) and retrieval (`/20190301`, SecretsClient).

Both APIs share one Backend per region because retrieval reads the versions that management writes.
KMS vaults and master keys are seeded (`add_vault`) and read back (GetVault, GetKey: a key can be disabled
with `set_key_state`); they are never created, rotated or used for cryptography through the API.

Version stages follow OCI's rotation model: CURRENT, PENDING, PREVIOUS and LATEST are each held by at
most one version; a version left with none of them is DEPRECATED, and only a DEPRECATED version may be
scheduled for deletion. OCI's per-secret limits hold: 30 versions in active use and 30 pending deletion.
Lifecycle states that OCI reaches asynchronously (CREATING/UPDATING -> ACTIVE, PENDING_DELETION -> DELETED,
for secrets and versions alike) are computed from timestamps, so no background threads are needed.

Files: `models` (state and value rules), `backend` (one region's operations), `handlers` (requests and
routes).
"""
from .backend import Backend
from .handlers import CONTROL_ROUTES, ROUTES

__all__ = ["CONTROL_ROUTES", "ROUTES", "Backend"]
