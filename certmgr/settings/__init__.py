"""Settings: Config (checks its own rules), the CERTMGR_* variable tables, value parsers, name rules."""
