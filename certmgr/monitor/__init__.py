"""The expiry monitor: find every certificate, classify it, send one digest, log each one, remember.

Scanned: the Certificates service in every subscribed region (Resource Search for ACTIVE certificates, then
each one's CURRENT bundle), the certificates on the load balancers in CERTMGR_MONITOR_LB_IDS, and certmgr's
own certificate in Vault. Calls run on a bounded thread pool sharing one client per service and region. A
region or certificate that cannot be read becomes an UNKNOWN item ("could not check", with the reason) and
the scan goes on.

Re-alerting: CRITICAL, EXPIRED and UNKNOWN go out every run; an unchanged WARNING only every
CERTMGR_MONITOR_REALERT_DAYS. What was alerted (certificate -> [severity, date]) is kept in the Vault secret
`{prefix}-monitor-state` when CERTMGR_VAULT_ID, _VAULT_KEY_ID and _COMPARTMENT_ID are set: a function has
no disk that outlives an invocation, and Vault is where certmgr already keeps its state. Without them there
is no memory and every WARNING is sent every run (the result says so).

Files: `scan`, `model` (items, severities), `memory` (alert memory), `report` (the
digest), `deliver` (e-mail, Notifications, Logging), `runner` (one run, in that order). Its settings are
`Config.monitor` (the table is `certmgr/settings/monitor_variables.py`).
"""
from ..settings.monitor_variables import MonitorConfig
from .memory import AlertMemory, remember
from .model import SEVERITIES, Item, MonitorResult, alert_reason, classify, region_of
from .runner import SCAN_POLICY, run

__all__ = ["SCAN_POLICY", "SEVERITIES", "AlertMemory", "Item", "MonitorConfig", "MonitorResult", "alert_reason",
           "classify", "region_of", "remember", "run"]
