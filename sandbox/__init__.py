"""Local stand-ins for everything certmgr talks to: Pebble (ACME), an OCI REST emulator that the real
`oci` SDK talks to with real request signatures, an authoritative DNS server for the emulated zones, TLS
servers for the load balancer's HTTPS listeners, and an SMTP sink. Dev and test only: never shipped."""
