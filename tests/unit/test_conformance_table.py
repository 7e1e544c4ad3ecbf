"""sandbox/oci/CONFORMANCE.md has a row for every operation the emulator serves and every operation certmgr's
IAM policy grants (certmgr/cloud/permissions.json), and every row names a source."""
import re
from pathlib import Path

from certmgr.cloud.grants import TABLE as TABLE_OF_GRANTS
from sandbox.oci.server import SERVICES

ROOT = Path(__file__).resolve().parents[2]
TABLE = (ROOT / "sandbox" / "oci" / "CONFORMANCE.md").read_text()


def rows() -> dict[str, str]:
    """Operation -> the rest of its row."""
    found = {}
    for line in TABLE.splitlines():
        cells = line.split("|")
        if len(cells) > 2 and not set(cells[1].strip()) <= set("-") and cells[1].strip() != "Operation":
            for name in re.findall(r"\b[a-z_]+\.[a-z_]+\b", cells[1]):
                found[name] = "|".join(cells[2:])
    return found


def test_every_emulated_operation_has_a_row():
    operations = {route.operation for service in SERVICES for route in service.ROUTES}
    assert operations - set(rows()) == set()


def test_every_operation_certmgr_is_granted_has_a_row():
    granted = {op for role, ops in TABLE_OF_GRANTS.items() if role not in ("about", "statements") for op in ops}
    assert granted - set(rows()) == set()


def test_every_row_cites_a_source_that_is_listed():
    listed = set(re.findall(r"^- \[([a-z0-9-]+)\]", TABLE, re.MULTILINE))
    for operation, rest in rows().items():
        cited = set(re.findall(r"\[([a-z0-9-]+)\]", rest.rsplit("|", 2)[-2]))
        assert cited and cited <= listed, (operation, cited - listed)
