"""schemathesis against a real worker: every operation of GET /api/openapi.json called with
generated inputs (valid and invalid), as an admin, and none answers 5xx, nor crashes into the
safety net that turns a view's unhandled parsing error into a 400.

Bounds, and why: the suite runs in about 18 minutes on 2 cores and this test must fit in it.
Each operation gets POSITIVE_EXAMPLES valid and NEGATIVE_EXAMPLES invalid inputs (hypothesis
finds the usual 5xx causes, such as a wrong type, a huge number or an odd string in a path,
within the first few examples), no shrinking (every failing input is kept and reported
instead), and the whole run stops calling after TIME_CAP_SECONDS so that a slow machine
cannot make the test run away: about 40 operations x 20 calls x ~20 ms is 20 s on an idle
machine, and the cap leaves room for a loaded one. The run says how many calls it made.
"""

from __future__ import annotations

import json
import time
import urllib.request
from collections import Counter
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from monitor.storage.migrate import upgrade
from tests.conftest import service_env, unique_namespace
from tests.integration.helpers import engine_for
from tests.playbooks.test_explain import sent_to_vip

POSITIVE_EXAMPLES = 12
NEGATIVE_EXAMPLES = 8
TIME_CAP_SECONDS = 150.0
ADMIN_TOKEN = "fuzz-admin-token-0123456789"
SAFETY_NET_LINE = "answered as 400 (a view should have refused this input)"


def test_no_generated_input_makes_any_operation_answer_5xx(
    tansu, database_url, start_worker, tmp_path: Path
):
    engine = engine_for(database_url)
    upgrade(engine)
    sent_to_vip(engine)  # an incident, drafts, customers and a sent delivery to read back
    env = service_env(
        broker_url=tansu,
        database_url=database_url,
        data_dir=tmp_path / "data",
        namespace=unique_namespace(),
        slack=None,
    )
    env["CRISISMON_API_TOKENS"] = f"{ADMIN_TOKEN}=fuzz:admin"
    worker = start_worker(env)
    auth = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    request = urllib.request.Request(f"{worker.web_url}/api/openapi.json", headers=auth)
    with urllib.request.urlopen(request, timeout=10) as response:
        document = json.loads(response.read())
    schema = schemathesis.openapi.from_dict(document)

    deadline = time.monotonic() + TIME_CAP_SECONDS
    server_errors: list[str] = []
    statuses: Counter[int] = Counter()
    calls = 0
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == sum(len(item) for item in document["paths"].values())
    for operation in operations:
        for mode, examples in (
            (GenerationMode.POSITIVE, POSITIVE_EXAMPLES),
            (GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES),
        ):

            @settings(
                max_examples=examples,
                deadline=None,
                database=None,
                derandomize=True,  # the same inputs every run: a failure is reproducible
                phases=[Phase.explicit, Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: schemathesis.Case) -> None:
                nonlocal calls
                if time.monotonic() > deadline:
                    return
                calls += 1
                response = case.call(base_url=worker.web_url, headers=auth, timeout=15)
                statuses[response.status_code] += 1
                try:
                    case.validate_response(response, checks=[not_a_server_error])
                except Exception:  # schemathesis' failure group: keep every input, go on
                    server_errors.append(
                        f"{case.operation.label} -> {response.status_code}: "
                        f"{case.as_curl_command(headers=auth)}\n  {response.text[:300]}"
                    )

            try:
                call()
            except Unsatisfiable:
                # An operation without parameters or body has no input to make invalid.
                if mode is not GenerationMode.NEGATIVE:
                    raise
    print(f"schemathesis: {calls} calls over {len(operations)} operations: {dict(statuses)}")
    # The admin token is let in: the generated inputs reach the views, not the access check.
    assert statuses[401] + statuses[403] < calls / 10, statuses
    assert sum(n for code, n in statuses.items() if code < 300) > calls / 5, statuses
    assert time.monotonic() <= deadline, f"the time cap stopped the run after {calls} calls"
    assert not server_errors, "\n".join(server_errors)
    # The safety net (monitor/safety_net.py) answers a view's unhandled ValueError, TypeError...
    # as 400, so a crash does not look like a 5xx; it logs each one as a bug to fix.
    missed = [line for line in worker.log().splitlines() if SAFETY_NET_LINE in line]
    assert not missed, "views crashed on input they should have refused:\n" + "\n".join(missed)
