"""KMS GetVault and GetKey through the real SDK: the vault's management endpoint is where its keys are read, and a
key disabled by hand reads DISABLED."""
import uuid

import oci
import pytest

from _fixtures import sdk_client, service_backend
from sandbox.oci import vault as vault_module

vaults = sdk_client(oci.key_management.KmsVaultClient)
backend = service_backend(vault_module)


@pytest.fixture
def vault(sandbox, backend):
    return backend.add_vault(sandbox.world.tenancy_id, f"kms-{uuid.uuid4().hex[:8]}")


def test_a_vault_names_the_endpoint_its_keys_are_read_at(sandbox, vaults, backend, vault):
    vault_id, key_id = vault
    found = vaults.get_vault(vault_id).data
    assert (found.id, found.lifecycle_state) == (vault_id, "ACTIVE")
    keys = oci.key_management.KmsManagementClient(sandbox.oci_config, signer=sandbox.signer,
                                                  service_endpoint=found.management_endpoint)
    key = keys.get_key(key_id).data
    assert (key.id, key.vault_id, key.lifecycle_state) == (key_id, vault_id, "ENABLED")
    backend.set_key_state(key_id, "DISABLED")
    assert keys.get_key(key_id).data.lifecycle_state == "DISABLED"


def test_an_unknown_vault_is_404(vaults):
    with pytest.raises(oci.exceptions.ServiceError) as err:
        vaults.get_vault("ocid1.vault.oc1.us-ashburn-1.nothere", retry_strategy=oci.retry.NoneRetryStrategy())
    assert (err.value.status, err.value.code) == (404, "NotAuthorizedOrNotFound")
