import oci
import pytest
import requests


def test_unknown_path_is_404_with_oci_error_body(sandbox):
    client = oci.dns.DnsClient(sandbox.oci_config, service_endpoint=sandbox.endpoint)
    with pytest.raises(oci.exceptions.ServiceError) as err:
        client.base_client.call_api(resource_path="/nowhere", method="GET")
    assert err.value.status == 404
    assert err.value.code == "NotAuthorizedOrNotFound"
    assert err.value.request_id


def test_unsigned_request_is_401(sandbox):
    reply = requests.get(f"{sandbox.endpoint}/20180115/zones")
    assert reply.status_code in (401, 404)
