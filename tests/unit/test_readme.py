"""The README tells a user every variable certmgr reads: each CERTMGR_* name of the renewer's and the
monitor's variable tables appears in it."""
from pathlib import Path

from certmgr.settings.monitor_variables import MONITOR_PREFIX, _VARS as MONITOR_VARIABLES
from certmgr.settings.renewer_variables import VARIABLES

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_variable_of_both_tables_is_in_the_readme():
    names = {var.env for var in VARIABLES} | {MONITOR_PREFIX + suffix for suffix in MONITOR_VARIABLES}
    assert len(names) > 40
    assert sorted(name for name in names if f"`{name}`" not in README) == []
