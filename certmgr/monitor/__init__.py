"""The expiry monitor: find every certificate, classify it, send one digest, log each one, remember.

Scanned, in every subscribed region: the Certificates service, every load balancer and API Gateway
certificate of every compartment, certmgr's own certificate in Vault and the TLS endpoints configured
(scan.py says how). Calls run on a bounded thread pool sharing one client per service and region. A region,
compartment or certificate that cannot be read becomes an UNKNOWN item ("could not check", with the reason)
and the scan goes on.

Re-alerting: CRITICAL, EXPIRED and UNKNOWN go out every run; an unchanged WARNING only every
CERTMGR_MONITOR_REALERT_DAYS. What was alerted (certificate -> [severity, date]) is kept in the Vault secret
`{prefix}-monitor-state` when CERTMGR_VAULT_ID, _VAULT_KEY_ID and _COMPARTMENT_ID are set: a function has
no disk that outlives an invocation, and Vault is where certmgr already keeps its state. Without them there
is no memory and every WARNING is sent every run (the result says so).

Files: `scan` and `sources` (finding and reading), `model` (items, severities), `actions` (what to do about
each), `memory` (alert memory), `report` (the digest), `deliver` (e-mail, Notifications, Logging), `runner`
(one run, in that order). Its settings are
`Config.monitor` (the table is `certmgr/settings/monitor_variables.py`).
"""
from ..settings.monitor_variables import MonitorConfig
from .memory import AlertMemory, remember
from .model import SEVERITIES, Item, MonitorResult, alert_reason, classify, region_of
from .runner import SCAN_POLICY, run

__all__ = ["SCAN_POLICY", "SEVERITIES", "AlertMemory", "Item", "MonitorConfig", "MonitorResult", "alert_reason",
           "classify", "region_of", "remember", "run"]
