"""`ledgerdesk customers import`, run as a separate process on SQLite and PostgreSQL: all rows or none."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from infrastructure.composition import build_services
from infrastructure.settings import Settings
from tests.support.processes import cli_env, run_cli

HEADER = "customer_id,tier,contract,contract_until,purchases,seats,onsite,renewal,region\n"
GOOD = HEADER + "bob,gold,C-1,2027-06-30,P-1;P-2,40,true,2027-05-01,emea\ndave,silver,,,,,,,\n"


def test_a_good_file_sets_every_profile_with_typed_attributes(sql_settings: Settings, tmp_path: Path) -> None:
    file = tmp_path / "customers.csv"
    file.write_text(GOOD, encoding="utf-8")
    done = run_cli("customers", "import", str(file), "--tenant", "acme", "--by", "ops", env=cli_env(sql_settings))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("imported 2 profiles: recorded")

    services = build_services(sql_settings)
    try:
        bob = services.desk.customer_profile("acme", "bob")
        assert bob.profile is not None
        found = (bob.profile.tier, bob.profile.contract, bob.profile.contract_until)
        assert found == ("gold", "C-1", date(2027, 6, 30))
        assert bob.profile.purchases == ("P-1", "P-2")
        assert bob.profile.attributes == {"seats": 40, "onsite": True, "renewal": date(2027, 5, 1), "region": "emea"}
        assert services.desk.customer_tier("acme", "dave") == "silver"
    finally:
        services.close()
    again = run_cli("customers", "import", str(file), "--tenant", "acme", env=cli_env(sql_settings))
    assert again.stdout.strip() == "imported 2 profiles: nothing changed"


@pytest.mark.parametrize(
    ("rows", "said"),
    [
        ("erin,Gold Tier,,,,,,,\n", "row 3, column tier:"),
        ("erin,gold,,2027-01-01,,,,,\n", "row 3, column contract_until: contract_until needs a contract"),
        ("erin,gold,C-2,31/12/2027,,,,,\n", "row 3, column contract_until:"),
        ("erin,gold,,,P 1,,,,\n", "row 3, column purchases:"),
        ("not an id,gold,,,,,,,\n", "row 3, column customer_id:"),
        ("erin,gold,,,,," + "x" * 201 + ",,\n", "row 3, column onsite:"),
    ],
)
def test_a_bad_row_is_named_and_nothing_is_stored(
    sqlite_settings: Settings, tmp_path: Path, rows: str, said: str
) -> None:
    file = tmp_path / "customers.csv"
    file.write_text(HEADER + "bob,gold,,,,,,,\n" + rows, encoding="utf-8")
    done = run_cli("customers", "import", str(file), "--tenant", "acme", env=cli_env(sqlite_settings))
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("ledgerdesk: error:")]
    assert len(errors) == 1, done.stderr
    assert said in errors[0]
    services = build_services(sqlite_settings)
    try:
        assert services.desk.customer_tier("acme", "bob") is None  # the good row before it was not stored either
    finally:
        services.close()


def test_a_header_without_customer_id_or_with_a_bad_column_name_is_refused(
    sqlite_settings: Settings, tmp_path: Path
) -> None:
    file = tmp_path / "customers.csv"
    for header, said in (("tier\n", "customer_id column"), ("customer_id,Shoe Size\n", "column Shoe Size")):
        file.write_text(header, encoding="utf-8")
        done = run_cli("customers", "import", str(file), "--tenant", "acme", env=cli_env(sqlite_settings))
        assert done.returncode == 2
        assert said in done.stderr
