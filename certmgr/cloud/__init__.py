"""OCI: one client factory and one adapter per service (DNS records, Vault, the run lock, the load balancer, the Certificates service)."""
