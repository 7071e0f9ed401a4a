"""Schemathesis against the real server's /api/openapi.json, as anonymous, customer and admin.

Bounded (6 examples per operation, derandomised, no shrinking; the coverage phase once, as admin)
so it fits in `make test`: about 2 minutes on the 2-core machine.
Every response must be documented: no 5xx, a documented status code, the documented content type
and a body matching the documented schema. Failures are written to tests/artifacts/schemathesis-*.
"""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ARTIFACTS, CONFIG = HERE / "artifacts", HERE / "schemathesis.toml"
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
EXAMPLES = 6
RUN_SECONDS = 420  # a hard ceiling; the three runs together take about 2 minutes


async def _schemathesis(base: str, name: str, headers: dict[str, str], phases: str) -> tuple[int, str]:
    args = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG),
        "run", f"{base}/api/openapi.json", "--url", base,
        "--checks", CHECKS, "--max-examples", str(EXAMPLES), "--generation-deterministic", "--seed", "1",
        "--no-shrink", "--phases", phases, "--workers", "1", "--request-timeout", "10",
        "--suppress-health-check", "all", "--no-color", "--warnings", "off",
        "--report", "ndjson", "--report-ndjson-path", str(ARTIFACTS / f"schemathesis-{name}.ndjson"),
    ]
    for key, value in headers.items():
        args += ["-H", f"{key}: {value}"]
    # Run in the (git-ignored) artifacts folder: Schemathesis keeps its crash cache in ./.schemathesis.
    proc = await asyncio.create_subprocess_exec(*args, cwd=ARTIFACTS, stdout=asyncio.subprocess.PIPE,
                                                stderr=asyncio.subprocess.STDOUT)
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), RUN_SECONDS)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise
    text = out.decode(errors="replace")
    (ARTIFACTS / f"schemathesis-{name}.txt").write_text(text)
    return proc.returncode or 0, text


@pytest.mark.timeout(RUN_SECONDS + 60)
async def test_the_api_keeps_its_documented_promises(make_client, make_user) -> None:
    # Generous limits: throttles answer documented 429s, but the run should reach the handlers.
    client = await make_client(auth={"registrations_per_hour": 100_000, "login_ip_max_failures": 100_000})
    ARTIFACTS.mkdir(exist_ok=True)
    base = f"http://{client.host}:{client.port}"
    roles = {"anonymous": {}, "customer": (await make_user("customer"))["headers"],
             "admin": (await make_user("admin"))["headers"]}
    # The coverage phase (boundary values, NUL, huge numbers, every documented enum) once, as the
    # admin who reaches every handler; random fuzzing as each role.
    phases = {"anonymous": "fuzzing", "customer": "fuzzing", "admin": "coverage,fuzzing"}
    # The three roles at once: one server, as under real traffic, and a third of the wall time.
    runs = (_schemathesis(base, name, headers, phases[name]) for name, headers in roles.items())
    results = await asyncio.gather(*runs)
    failed = {name: text[-5000:] for name, (code, text) in zip(roles, results) if code != 0}
    assert not failed, "\n\n".join(f"--- {name}\n{text}" for name, text in failed.items())
