"""certmgr: keeps TLS certificates alive on Oracle Cloud (ACME DNS-01 on OCI DNS, Vault, Load Balancer)."""

__version__ = "0.1.0"
