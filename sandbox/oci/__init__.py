"""An OCI REST emulator: one HTTP server, the real API paths and versions, signature-checked."""
