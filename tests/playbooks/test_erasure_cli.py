"""`crisismon customers export` and `erase` as an operator runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from monitor import audit
from monitor.storage.db import make_engine
from monitor.storage.migrate import upgrade
from tests.conftest import REPO, TEST_PSEUDONYM_KEY
from tests.playbooks.person_data import EMAIL, EXTERNAL_ID, find_everywhere, seed_person
from tests.playbooks.test_erasure_guards import NOT_IDS


def _crisismon(
    database_url: str, *args: str, key: str | None = TEST_PSEUDONYM_KEY
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRISISMON_")}
    env["CRISISMON_DATABASE_URL"] = database_url
    if key is not None:
        env["CRISISMON_PSEUDONYM_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "monitor", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        cwd=REPO,
    )


def test_export_to_a_file_then_erase_with_yes(tmp_path):
    # SQLite only: the commands are a thin shell over the functions tested on both databases.
    database_url = f"sqlite:///{tmp_path / 'crisismon.db'}"
    engine = make_engine(database_url)
    upgrade(engine)
    seeded = seed_person(engine)
    out = tmp_path / "export.json"

    exported = _crisismon(database_url, "customers", "export", EXTERNAL_ID, "--out", str(out))
    assert exported.returncode == 0, exported.stderr
    assert f"wrote {out}: 3 mentions, 0 deliveries" in exported.stderr
    document = json.loads(out.read_text())
    assert document["customer"]["email"] == EMAIL and len(document["mentions"]) == 3

    # Not a terminal and no --yes: nothing is erased, and the line says why.
    refused = _crisismon(database_url, "customers", "erase", EXTERNAL_ID)
    assert refused.returncode == 1
    assert refused.stderr.strip() == (
        "crisismon: error: erasure cannot be undone: add --yes to confirm"
    )
    assert find_everywhere(engine, (EMAIL,)) != []

    erased = _crisismon(database_url, "customers", "erase", EXTERNAL_ID, "--yes", "--who", "dpo")
    assert erased.returncode == 0, erased.stderr
    assert f"erased customer {seeded.customer_id}: 3 mentions" in erased.stderr
    assert "the broker's topics cannot be edited" in erased.stderr
    assert find_everywhere(engine, seeded.needles) == []
    assert audit.entries(engine)[-1].actor == "cli:dpo"

    again = _crisismon(database_url, "customers", "export", EXTERNAL_ID)
    assert again.returncode == 1
    assert again.stderr.strip() == f"crisismon: error: no customer {EXTERNAL_ID!r}"
    engine.dispose()


def test_a_shell_without_the_key_refuses_in_one_line(postgres):
    """PostgreSQL: the workers were given CRISISMON_PSEUDONYM_KEY, this shell was not."""
    database_url = postgres.create()
    engine = make_engine(database_url)
    upgrade(engine)
    seeded = seed_person(engine)
    before = find_everywhere(engine, seeded.needles)

    for args, what in ((("export",), "an export"), (("erase", "--yes"), "erasure")):
        refused = _crisismon(database_url, "customers", *args, EXTERNAL_ID, key=None)
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            f"crisismon: error: {what} needs the pseudonym key to find their mentions: set "
            "CRISISMON_PSEUDONYM_KEY to the key the workers use (nothing was done)"
        )
    assert find_everywhere(engine, seeded.needles) == before  # so it can be done with the key
    erased = _crisismon(database_url, "customers", "erase", EXTERNAL_ID, "--yes")
    assert erased.returncode == 0, erased.stderr
    assert find_everywhere(engine, seeded.needles) == []
    engine.dispose()


def test_digits_that_are_no_id_are_no_customer(engine, database_url):
    # Each one once (export and erase share the lookup, tested on both in test_erasure_guards).
    for ref, command in zip(NOT_IDS, (("export",), ("erase", "--yes"), ("export",)), strict=True):
        done = _crisismon(database_url, "customers", command[0], ref, *command[1:])
        assert (done.returncode, done.stderr.strip()) == (
            1,
            f"crisismon: error: no customer {ref!r}",
        )
