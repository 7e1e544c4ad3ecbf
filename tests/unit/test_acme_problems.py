"""How the CA's problem documents (RFC 8555 6.7) read in certmgr's errors: each name's subproblem, and the
variable to change when the refusal is about the configuration."""
from acme import messages

from certmgr.ca.order import _describe, _hint

COMPOUND = messages.Error.from_json({
    "type": "urn:ietf:params:acme:error:compound", "detail": "Error creating new order",
    "subproblems": [
        {"type": "urn:ietf:params:acme:error:caa", "detail": "CAA record for example.com prevents issuance",
         "identifier": {"type": "dns", "value": "example.com"}},
        {"type": "urn:ietf:params:acme:error:rejectedIdentifier", "detail": "name is blocked",
         "identifier": {"type": "dns", "value": "www.example.com"}}]})


def test_each_names_subproblem_is_shown():
    text = _describe(COMPOUND)
    assert text.startswith("urn:ietf:params:acme:error:compound: Error creating new order (")
    assert "example.com: urn:ietf:params:acme:error:caa: CAA record for example.com prevents issuance" in text
    assert "www.example.com: urn:ietf:params:acme:error:rejectedIdentifier: name is blocked" in text


def test_a_configuration_refusal_names_what_to_change_even_inside_a_compound_problem():
    assert "CAA record" in _hint(COMPOUND)
    contact = messages.Error.from_json({"type": "urn:ietf:params:acme:error:invalidContact", "detail": "no"})
    assert "CERTMGR_ACME_EMAIL" in _hint(contact)
    assert _hint(messages.Error.from_json({"type": "urn:ietf:params:acme:error:serverInternal", "detail": "x"})) is None
    assert _hint(ValueError("not the CA's")) is None


def test_a_malformed_name_is_about_the_configuration_and_other_malformed_answers_are_not():
    redundant = messages.Error.from_json({
        "type": "urn:ietf:params:acme:error:malformed",
        "detail": 'Domain name "www.example.com" is redundant with a wildcard domain in the same request. Remove one '
                  "or the other from the certificate request."})
    assert "CERTMGR_DOMAIN" in _hint(redundant)
    assert _hint(messages.Error.from_json({"type": "urn:ietf:params:acme:error:malformed",
                                           "detail": "JWS has no anti-replay nonce"})) is None
