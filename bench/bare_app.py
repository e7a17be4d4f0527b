"""The baseline: a bare FastAPI app whose endpoints answer the same paths with the very same JSON bytes that
the real API gave, from memory. No database, no authentication, no model validation: what is left is the
framework and the server (uvicorn, routing, query and path parsing), the floor any endpoint stands on.

Started by bench/api_read.py as `uvicorn bench.bare_app:create_app --factory` with BENCH_RESPONSES naming
a JSON file {"pages": {"<sort> <cursor or nothing>": body}, "records": {id: body}, "limit": 50}."""

import os
import uuid
from pathlib import Path

import orjson
from fastapi import FastAPI, HTTPException, Response


def create_app() -> FastAPI:
    fixtures = orjson.loads(Path(os.environ["BENCH_RESPONSES"]).read_bytes())
    page_limit: int = fixtures["limit"]
    pages = {key: body.encode() for key, body in fixtures["pages"].items()}
    records = {uuid.UUID(key): body.encode() for key, body in fixtures["records"].items()}
    app = FastAPI(title="bare baseline")

    # async def, as the leanest endpoint FastAPI offers (no worker-thread hop); our API's routes are sync.
    @app.get("/api/v1/contacts")
    async def list_contacts(cursor: str | None = None, sort: str = "-created_on", limit: int = page_limit,
                            ) -> Response:
        body = pages.get(f"{sort} {cursor or ''}")
        if body is None or limit != page_limit:
            raise HTTPException(404, "page not captured")
        return Response(body, media_type="application/json")

    @app.get("/api/v1/contacts/{record_id}")
    async def read_contact(record_id: uuid.UUID) -> Response:
        body = records.get(record_id)
        if body is None:
            raise HTTPException(404, "record not captured")
        return Response(body, media_type="application/json")

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app
