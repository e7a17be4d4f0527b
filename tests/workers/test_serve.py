"""The README's promise, run for real: the installed `crm` console script loads the demo organisation and
serves the API on a free port; a token from the demo reads accounts, the docs answer, strangers get a 401.

Runs in an empty temporary directory with the default settings (SQLite and the secret key under ./var), or
against the test run's PostgreSQL database when CRM_TEST_DATABASE=postgresql."""

import os
import re
import socket
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import BACKEND

CRM = Path(sys.executable).parent / "crm"
STARTUP_SECONDS = 60
ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def workdir(tmp_path: Path, request: pytest.FixtureRequest) -> tuple[Path, dict[str, str]]:
    """An empty directory to run in, and the environment: no CRM_* setting but the database (PostgreSQL
    only; SQLite is the default under ./var) and the data dir."""
    if not CRM.exists():
        pytest.fail(f"the console script {CRM} is missing: install the project (`make run` does it)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRM_")}
    env.update({"CRM_DATA_DIR": str(tmp_path / "var"), "NO_COLOR": "1", "COLUMNS": "120"})
    if BACKEND == "postgresql":
        request.getfixturevalue("clean_db")
        env["CRM_DATABASE_URL"] = request.getfixturevalue("migrated")
    return tmp_path, env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _crm(workdir: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run([str(CRM), *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=180,
                          check=False)
    assert done.returncode == 0, f"crm {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return ANSI.sub("", done.stdout + done.stderr)


def _wait_until_healthy(base: str, server: subprocess.Popen[bytes], stderr: Path) -> None:
    deadline = time.monotonic() + STARTUP_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"crm serve exited with {server.returncode}:\n{stderr.read_text()}")
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    pytest.fail(f"crm serve did not answer /healthz within {STARTUP_SECONDS}s:\n{stderr.read_text()}")


def test_the_readme_commands_serve_the_demo_over_http(workdir: tuple[Path, dict[str, str]]) -> None:
    cwd, env = workdir
    loaded = _crm(cwd, env, "demo", "load", "--if-empty")
    found = re.search(r"CRM_TOKEN=(crm_[A-Za-z0-9_-]+)", loaded)
    assert found, f"no admin token in the output of crm demo load:\n{loaded}"
    token = found.group(1)

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    out, err = cwd / "serve.out", cwd / "serve.err"
    with out.open("wb") as stdout, err.open("wb") as stderr:
        server = subprocess.Popen([str(CRM), "serve", "--port", str(port)], cwd=cwd, env=env,
                                  stdout=stdout, stderr=stderr)
    try:
        _wait_until_healthy(base, server, err)
        with httpx.Client(base_url=base, timeout=30) as http:
            accounts = http.get("/api/v1/accounts", headers={"Authorization": f"Bearer {token}"})
            assert accounts.status_code == 200, accounts.text
            names = {a["name"] for a in accounts.json()["items"]}
            assert {"Fabrikam, Inc.", "Coho Winery", "Woodgrove Bank"} <= names

            openapi = http.get("/openapi.json")
            assert openapi.status_code == 200
            assert "/api/v1/accounts" in openapi.json()["paths"]
            docs = http.get("/docs")
            assert docs.status_code == 200
            assert "text/html" in docs.headers["content-type"]

            stranger = http.get("/api/v1/accounts")
            assert stranger.status_code == 401
            assert stranger.headers["content-type"] == "application/problem+json"
            assert stranger.json()["status"] == 401
    finally:
        server.terminate()
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    key_file = cwd / "var" / "secret_key"
    assert key_file.exists(), "the secret key was not generated under the data dir"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    secret = key_file.read_text().strip()
    assert len(secret) >= 32
    for output in (loaded, out.read_text(), err.read_text()):
        assert secret not in output
