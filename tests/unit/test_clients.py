"""The config-file signer is loaded once per key file version, and a replaced key file is read again."""
import os

from sandbox.oci.auth import new_rsa_key, pem_private

from certmgr.cloud.clients import Clients


def _config_file(tmp_path):
    key_file = tmp_path / "key.pem"
    key_file.write_text(pem_private(new_rsa_key()))
    config = tmp_path / "config"
    config.write_text(f"[DEFAULT]\nuser=ocid1.user.oc1..u\nfingerprint=aa:bb:cc:dd:ee:ff:00:11:22:33:44:55:66:77:88:99\ntenancy=ocid1.tenancy.oc1..t\n"
                      f"region=us-ashburn-1\nkey_file={key_file}\n")
    return config, key_file


def test_runs_share_the_signer_until_the_key_file_changes(tmp_path):
    config, key_file = _config_file(tmp_path)
    first = Clients(resource_principal=False, config_file=str(config))
    again = Clients(resource_principal=False, config_file=str(config))
    assert again.signer is first.signer

    key_file.write_text(pem_private(new_rsa_key()))
    stat = key_file.stat()
    os.utime(key_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    rotated = Clients(resource_principal=False, config_file=str(config))
    assert rotated.signer is not first.signer
    assert rotated.signer.private_key.private_numbers() != first.signer.private_key.private_numbers()


def test_another_profile_gets_its_own_signer(tmp_path):
    config, key_file = _config_file(tmp_path)
    with config.open("a") as out:
        out.write(f"[OTHER]\nuser=ocid1.user.oc1..v\nfingerprint=11:22:33:44:55:66:77:88:99:00:aa:bb:cc:dd:ee:ff\ntenancy=ocid1.tenancy.oc1..t\n"
                  f"region=us-ashburn-1\nkey_file={key_file}\n")
    default = Clients(resource_principal=False, config_file=str(config))
    other = Clients(resource_principal=False, config_file=str(config), profile="OTHER")
    assert other.signer is not default.signer
    assert other.signer.api_key.startswith("ocid1.tenancy.oc1..t/ocid1.user.oc1..v/")
