"""Every response carries a correlation id (X-Correlation-Id), every problem body too, so that what a user reads
on an error (the Outlook add-in shows it) finds the request in the logs; a caller's own id is kept when sane."""

import io
import json
import logging

from crm_core.settings import Settings
from workers import logs


def test_a_problem_carries_the_correlation_id_of_its_response(client, admin) -> None:
    r = client.get("/api/v1/accounts/00000000-0000-0000-0000-000000000000", headers=admin.headers)
    assert r.status_code == 404
    assert r.json()["correlation_id"] == r.headers["x-correlation-id"] and len(r.headers["x-correlation-id"]) == 32
    ok = client.get("/healthz")
    assert ok.headers["x-correlation-id"] != r.headers["x-correlation-id"]


def test_the_callers_id_is_kept_when_sane_and_replaced_otherwise(client) -> None:
    given = client.get("/api/v1/accounts", headers={"X-Correlation-Id": "pane-7f3a9c21"})
    assert given.status_code == 401 and given.headers["x-correlation-id"] == "pane-7f3a9c21"
    assert given.json()["correlation_id"] == "pane-7f3a9c21"
    hostile = client.get("/api/v1/accounts", headers={"X-Correlation-Id": "<script>alert(1)</script>"})
    assert hostile.headers["x-correlation-id"] != "<script>alert(1)</script>"
    assert len(hostile.headers["x-correlation-id"]) == 32


def test_the_logs_of_a_request_carry_its_correlation_id(tmp_path, monkeypatch) -> None:
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from crm_core.api.correlation import CorrelationMiddleware

    app = FastAPI()
    app.add_middleware(CorrelationMiddleware)

    @app.get("/work")
    def work() -> dict[str, str]:
        logging.getLogger("crm.test").info("inside the request")
        return {}

    stream = io.StringIO()
    monkeypatch.setattr("sys.stderr", stream)
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        logs.configure(Settings(data_dir=tmp_path, log_format="json"))
        with TestClient(app) as client:
            r = client.get("/work", headers={"X-Correlation-Id": "pane-0123456789"})
        logging.getLogger("crm.test").info("outside any request")
    finally:
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
    lines = {line["message"]: line for line in map(json.loads, stream.getvalue().splitlines())}
    assert r.headers["x-correlation-id"] == "pane-0123456789"
    assert lines["inside the request"]["correlation_id"] == "pane-0123456789"
    assert "correlation_id" not in lines["outside any request"]
