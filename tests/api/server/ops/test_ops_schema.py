"""schemathesis against the served app's own OpenAPI (the chat and every router of
`tradegraph serve`), over the real socket: every GET operation, with generated parameters and
a viewer's key, never answers with a server error."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.case import Case
from schemathesis.schemas import BaseSchema

from api.server.app import create_app
from api.server.rate_limit import RateLimit
from api.server.routers import service_routers
from api.server.serve import serving_in_thread
from core.api_keys import open_api_keys
from core.backends import Storage
from tests.api.server.ops.conftest import OpsServer, wait_until_ready

UNLIMITED = RateLimit(rate=1e6, burst=1_000_000)
"""The fuzzing is one client sending as fast as it can: the rate limit is tested elsewhere."""


@pytest.fixture(scope="module")
def served_schema(ops_server: OpsServer) -> Iterator[BaseSchema]:
    engine = ops_server.engine
    with closing(open_api_keys(Storage(engine.root))) as keys:
        routers = service_routers(engine, keys, rate_limit=UNLIMITED)
        with serving_in_thread(create_app(engine, keys, routers=routers)) as url:
            wait_until_ready(url)  # /readyz is 503 while the decision index is read at start
            yield schemathesis.openapi.from_url(f"{url}/openapi.json").include(method="GET")


@pytest.fixture(scope="module")
def viewer_key(ops_server: OpsServer) -> str:
    return ops_server.run.tokens["viewer"]


schema = schemathesis.pytest.from_fixture("served_schema")


@schema.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
def test_no_get_answers_with_a_server_error(case: Case, viewer_key: str) -> None:
    case.call_and_validate(headers={"X-API-Key": viewer_key}, checks=[not_a_server_error])
