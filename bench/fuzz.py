"""Long form of the schemathesis run against ``tutornb/server/openapi.yaml``, with figures.

Against a real ``jupyter server`` subprocess on 127.0.0.1 (its own token, temp HOME/JUPYTER_*):

1. schemathesis's Python API: ``--cases`` cases per REST operation (a quarter positive, a quarter
   positive on a real session, half negative), every response through the strict checks (no 5xx,
   status codes, content types, headers, bodies) and the request-acceptance checks with the named
   exceptions of ``tests/security/fuzz_api.py``;
2. ``--chains`` stateful chains: create → message over the chat socket → pause → resume → export
   and the reads in between, every response checked;
3. schemathesis's own engine (the ``st run`` CLI): examples, coverage, fuzzing and its stateful
   phase (links inferred from ``Location`` headers), ``--cases`` examples per operation, with the
   response checks and the stateful ones (use after free, resource availability, ignored auth).

Usage: ``python -m bench.fuzz [--cases 200] [--chains 50] [--no-cli]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.figures import show
from tests.support.fuzz_api import OPENAPI, fuzz_operations, stateful_chains
from tests.support.live_server import LiveServer

CLI_CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "use_after_free",
    "ensure_resource_availability",
    "ignored_auth",
    "missing_required_header",
    "unsupported_method",
]


def engine_config(server: LiveServer, folder: Path) -> Path:
    """Credentials for both of the document's token schemes (header and ``?token=``), given the
    engine's way so that its auth checks can also try requests without them."""
    target = folder / "schemathesis.toml"
    target.write_text(
        "[auth.openapi.token_header]\n"
        f'api_key = "token {server.token}"\n'
        "[auth.openapi.token_query]\n"
        f'api_key = "{server.token}"\n',
        encoding="utf-8",
    )
    return target


def cli_run(server: LiveServer, folder: Path, cases: int, seed: int) -> dict[str, object]:
    report_path = folder / "st-report.json"
    config = engine_config(server, folder)
    command = [
        sys.executable, "-m", "schemathesis.cli", "--config-file", str(config), "run", str(OPENAPI),
        "--url", server.api_url.rstrip("/"),
        "--max-examples", str(cases),
        "--phases", "examples,coverage,fuzzing,stateful",
        "--checks", ",".join(CLI_CHECKS),
        "--exclude-operation-id", "chatSocket",
        "--seed", str(seed),
        "--workers", "1",
        "--no-color",
        "--report", "json",
        "--report-json-path", str(report_path),
    ]  # fmt: skip
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    report = json.loads(report_path.read_text(encoding="utf-8"))
    if done.returncode != 0:
        print(done.stdout[-6000:], file=sys.stderr)  # the engine's own account of what failed
    failures = report.get("failures", [])
    return {
        "engine test cases": report["test_cases"]["generated"],
        "engine failures": sum(int(f.get("count", 1)) for f in failures),
        "engine failure kinds": [f"{f['code']} {f['title']}" for f in failures] or "none",
        "engine errors": len(report.get("errors", [])),
        "phases": {name: phase["status"] for name, phase in report["phases"].items()},
        "exit code": done.returncode,
        "time (s)": round(elapsed, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="cases per operation")
    parser.add_argument("--chains", type=int, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-cli", action="store_true", help="skip schemathesis's own engine")
    args = parser.parse_args()
    base = Path(tempfile.mkdtemp(prefix="tutornb-bench-fuzz-"))
    server = LiveServer(base / "server")
    server.start()
    try:
        started = time.perf_counter()
        report = fuzz_operations(server, args.cases, seed=args.seed)
        show(
            f"schemathesis Python API ({args.cases} cases per operation)",
            {
                "operations": len(report.cases),
                "cases": report.total,
                "fewest cases on one operation": min(report.cases.values()),
                "failures": len(report.failures),
                "5xx answers": sum(n for code, n in report.statuses.items() if code >= 500),
                "refusals right by contract": dict(report.refusals_by_design),
                "status codes": dict(sorted(report.statuses.items())),
                "time (s)": round(time.perf_counter() - started, 1),
            },
        )
        for failure in report.failures[:10]:
            print(f"    FAIL {failure.operation} {failure.check} {failure.status}")
        started = time.perf_counter()
        chains = stateful_chains(server, args.chains, seed=args.seed)
        show(
            "Stateful chains (create → message → pause → resume → export)",
            {
                "chains": chains.chains,
                "checked responses": chains.total,
                "failures": len(chains.failures),
                "status codes": dict(sorted(chains.statuses.items())),
                "time (s)": round(time.perf_counter() - started, 1),
            },
        )
        if not args.no_cli:
            show("schemathesis engine (st run)", cli_run(server, base, args.cases, args.seed))
        show("Server", {"log: unhandled exceptions": len(server.unhandled())})
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
