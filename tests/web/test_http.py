"""The one limits middleware (app/web/http.py) in front of a tiny app: what the document upload is told."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from app.web.http import Limits

LIMIT = 1000


async def upload(request: Request) -> JSONResponse:
    """Reads the whole form as the upload route does, answering 400 when it cannot."""
    try:
        form = await request.form()
    except Exception as exc:  # noqa: BLE001 - what the real route does with a body it cannot parse
        return JSONResponse({"error": f"not a form ({exc})", "status": 400}, status_code=400)
    return JSONResponse({"size": len(await form["file"].read())}, status_code=202)


@pytest.fixture
def client() -> TestClient:
    app = Starlette(routes=[Route("/documents", upload, methods=["POST"])])
    return TestClient(Limits(app, large=("/documents",), upload_max_body=LIMIT))


def chunked(total: int):
    """A multipart body of `total` bytes or so, sent without Content-Length (chunked)."""
    head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\n'
    yield head
    for _ in range(total // 100):
        yield b"x" * 100
    yield b"\r\n--b--\r\n"


def test_a_chunked_upload_over_the_limit_gets_413_not_the_routes_400(client: TestClient):
    headers = {"content-type": "multipart/form-data; boundary=b"}
    over = client.post("/documents", content=chunked(2 * LIMIT), headers=headers)
    assert (over.status_code, over.json()) == (413, {"error": f"the upload is over {LIMIT:,} bytes", "status": 413})
    under = client.post("/documents", content=chunked(500), headers=headers)
    assert (under.status_code, under.json()) == (202, {"size": 500})
    declared = client.post("/documents", content=b"x" * (LIMIT + 1), headers=headers)
    assert (declared.status_code, declared.json()["error"]) == (413, f"the upload is over {LIMIT:,} bytes")
