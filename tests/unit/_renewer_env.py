"""The smallest complete environment of a renewer: every required CERTMGR_* variable, valid, nothing else."""

ENV = {
    "CERTMGR_DOMAIN": "example.com,*.example.com",
    "CERTMGR_DNS_ZONE_ID": "ocid1.dns-zone.oc1..aaaaaaaazone",
    "CERTMGR_ACME_EMAIL": "admin@example.com",
    "CERTMGR_LB_ID": "ocid1.loadbalancer.oc1.iad.aaaaaaaalb",
    "CERTMGR_VAULT_ID": "ocid1.vault.oc1.iad.aaaaaaaavault",
    "CERTMGR_VAULT_KEY_ID": "ocid1.key.oc1.iad.aaaaaaaakey",
    "CERTMGR_COMPARTMENT_ID": "ocid1.compartment.oc1..aaaaaaaacomp",
}
