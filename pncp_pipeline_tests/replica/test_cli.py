"""`pncp-pipeline fake-api`: the replica as a separate process, as users and the demo run it."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pncp_pipeline.replica import cli
from pncp_pipeline_tests.replica.support import API, api_client, call, case, plain_client

SCRIPT = Path(sys.executable).parent / "pncp-pipeline"
#: The installed console script when there is one (it is what users type), else the module.
COMMAND = [str(SCRIPT)] if SCRIPT.exists() else [sys.executable, "-m", "pncp_pipeline.cli"]
STARTUP_S = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_answering(proc: subprocess.Popen[bytes], url: str) -> None:
    """Poll with short requests; `proc.wait` doubles as the pause and notices an early exit."""
    with plain_client(timeout=0.5) as client:
        for _ in range(int(STARTUP_S / 0.05)):
            try:
                if client.get(f"{url}/_replica/stats").status_code == 200:
                    return
            except httpx.TransportError:
                pass
            try:
                code = proc.wait(timeout=0.05)
            except subprocess.TimeoutExpired:
                continue
            raise AssertionError(f"fake-api exited with {code} before answering")
    raise AssertionError(f"fake-api did not answer within {STARTUP_S} s")


@pytest.fixture
def fake_api(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A running `fake-api` whose 429 switch is on: proves the flags reach the wire."""
    port, stderr = free_port(), tmp_path / "stderr.txt"
    with stderr.open("wb") as err:
        proc = subprocess.Popen([*COMMAND, "fake-api", "--port", str(port), "--seed", "1", "--fail-429", "1",
                                 "--stall-s", "3"], stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_answering(proc, url)
        yield url, stderr
    finally:
        proc.terminate()
        code = proc.wait(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal it caught, so -SIGTERM is a clean exit.
    assert code in (0, -signal.SIGTERM), f"fake-api exited with {code} on SIGTERM"
    assert "Traceback" not in stderr.read_text()


def test_fake_api_serves_pages_on_the_given_port(fake_api: tuple[str, Path]) -> None:
    url, stderr = fake_api
    assert f"PNCP replica on {url}{API}" in stderr.read_text()
    faults = call("GET", f"{url}/_replica/faults").json()
    assert faults["fail_429"] == 1.0 and faults["stall_s"] == 3.0 and faults["fail_5xx"] == 0.0
    c = case("contratos")
    with api_client(url) as api:
        assert api.get(c.path, params={**c.params, "pagina": 1}).status_code == 429
        call("POST", f"{url}/_replica/faults", json={"fail_429": 0}).raise_for_status()
        page = api.get(c.path, params={**c.params, "pagina": 1, "tamanhoPagina": 10})
    assert page.status_code == 200
    body = page.json()
    assert body["numeroPagina"] == 1 and len(body["data"]) == 10 and body["totalRegistros"] > 10


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*COMMAND, *args], capture_output=True, text=True, timeout=60)


def exit_code(argv: list[str]) -> int:
    """Run `fake-api` in this process, as the console script would, and return its exit status."""
    try:
        return cli.main(argv)
    except SystemExit as stop:  # argparse exits on its own
        return int(stop.code or 0)


def test_bad_arguments_exit_with_code_2_from_the_installed_command() -> None:
    result = run("fake-api", "--fail-5xx", "2")
    assert result.returncode == 2
    assert "probability" in result.stderr


@pytest.mark.parametrize("args", [
    ["--fail-reset", "-0.5"], ["--fail-html", "often"], ["--fail-stall", "1.01"], ["--scale", "0"],
    ["--latency-ms", "-1"], ["--stall-s", "-1"], ["--port", "0"], ["--port", "70000"], ["--bogus"],
], ids=" ".join)
def test_bad_arguments_exit_with_code_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert exit_code(args) == 2
    assert capsys.readouterr().err.strip()  # and say why


def test_port_in_use_fails_fast() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run("fake-api", "--port", str(port))
    assert result.returncode != 0
    assert "in use" in result.stderr.lower()  # the bind error is reported, not just a banner
