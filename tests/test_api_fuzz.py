"""Schemathesis over the OpenAPI document (reliability-plan.md G14, T39): every operation,
with generated valid and invalid inputs and an admin token, answers without a 5xx and with
the status codes and bodies its schema declares. Bounded examples keep it CI-sized."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    ignored_auth,
    response_schema_conformance,
    status_code_conformance,
)

from web_support import Web

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, ignored_auth]


@pytest.fixture(scope="module")
def token(web_module: Web) -> str:
    return web_module.token("admin")


@pytest.fixture(scope="module")
def api_schema(web_module: Web, token: str) -> Any:
    return schemathesis.openapi.from_asgi("/api/v1/openapi.json", web_module.app,
                                          headers={"Authorization": f"Bearer {token}"})


EXAMPLES = 12


def test_every_operation_matches_its_schema(api_schema: Any, token: str) -> None:
    """Each operation with generated inputs (valid and invalid); failures are collected so
    one run reports every operation that breaks its contract."""
    failures: list[str] = []
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 19
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case: Any) -> None:
            response = case.call(headers={"Authorization": f"Bearer {token}"})
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # a check failed: keep going, report all at the end
            failures.append(f"{operation.label}: {str(exc)[:600]}")
    assert not failures, "\n\n".join(failures)


def test_the_schema_covers_the_api(api_schema: Any) -> None:
    paths = set(api_schema.raw_schema["paths"])
    assert {"/api/v1/metrics", "/api/v1/metrics/{key}", "/api/v1/funnel",
            "/api/v1/records/{key}", "/api/v1/imports", "/api/v1/targets",
            "/api/v1/snapshots", "/api/v1/plan"} <= paths
    assert api_schema.raw_schema["components"]["securitySchemes"]["bearer"]["scheme"] == \
        "bearer"
