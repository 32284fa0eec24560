#!/usr/bin/env python3
"""Health checks for the MAPPA Bus containers, as docker compose runs them in the container.

    mappa-healthcheck http http://127.0.0.1:9464/readyz    # the URL answers 2xx
    mappa-healthcheck process picture run         # PID 1 is `mappa picture run`, and alive
    mappa-healthcheck process --database alerts run   # ... and MAPPA_DATABASE_URL answers

Exit 0 when healthy, 1 when not (with the reason on standard error). `http` is what the
consumers' compose healthchecks ask: each serves /healthz, /readyz and /metrics on its
operations port (9464 picture, 9465 reporting, 9466 alerts; docs/operations.md), and /readyz
answers 503 with the checks that fail (consuming, broker, store; alerts: pictures warm), which
are shown here. Kubernetes asks the same endpoints with its own HTTP probes (deploy/k8s/).
`process` is for a container that serves no port (or a consumer started with
`--metrics-port 0`): the container's main process is the expected `mappa` command and is
neither a zombie nor stopped, and, with `--database`, the store it commits to answers
`SELECT 1`.

Standard library only, except `--database`, which uses the SQLAlchemy of the installed
project. The image installs this file as /usr/local/bin/mappa-healthcheck.
"""

from __future__ import annotations

import argparse
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path

# /proc/<pid>/stat states of a process that will never do more work: zombie, stopped, traced,
# dead.
_NOT_RUNNING = frozenset("ZTtXx")


class Unhealthy(Exception):
    """Why a check failed."""


def check_process(words: Sequence[str], *, proc: Path = Path("/proc"), pid: int = 1) -> None:
    """Raise Unhealthy unless process `pid` runs `mappa` with `words` in a row among its
    arguments (`picture run`), and is alive."""
    try:
        argv = (proc / str(pid) / "cmdline").read_bytes().decode(errors="replace").split("\0")
        stat = (proc / str(pid) / "stat").read_text(errors="replace")
    except OSError as error:
        raise Unhealthy(f"no process {pid}: {error}") from error
    argv = [argument for argument in argv if argument]
    if not any(Path(argument).name == "mappa" for argument in argv):
        raise Unhealthy(f"process {pid} is not mappa: {' '.join(argv)!r}")
    if not _contains(argv, list(words)):
        raise Unhealthy(f"process {pid} is not `mappa {' '.join(words)}`: {' '.join(argv)!r}")
    # "pid (comm) state ...": comm may hold spaces and parentheses, so split after the last ')'.
    state = stat.rpartition(")")[2].split()[:1]
    if not state or state[0] in _NOT_RUNNING:
        raise Unhealthy(f"process {pid} is not running (state {''.join(state) or '?'})")


def _contains(argv: list[str], words: list[str]) -> bool:
    return any(argv[i : i + len(words)] == words for i in range(len(argv) - len(words) + 1))


def check_database(url: str | None, *, timeout: float = 5.0) -> None:
    """Raise Unhealthy unless the SQLAlchemy URL `url` answers `SELECT 1`."""
    if not url:
        raise Unhealthy("MAPPA_DATABASE_URL is not set")
    from sqlalchemy import create_engine, text  # the project's own dependency, in the image
    from sqlalchemy.exc import SQLAlchemyError
    from sqlalchemy.pool import NullPool

    options = {"connect_timeout": max(1, round(timeout))} if url.startswith("postgresql") else {}
    engine = create_engine(url, connect_args=options, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
    except SQLAlchemyError as error:
        # The URL holds the password: say what failed, never where.
        cause = getattr(error, "orig", None) or error
        raise Unhealthy(f"the database does not answer: {type(cause).__name__}") from None
    finally:
        engine.dispose()


# How much of a failing answer's body is shown (a /readyz body names the failing checks).
_BODY_SHOWN = 500


def check_http(url: str, *, timeout: float = 5.0) -> None:
    """Raise Unhealthy unless a GET of `url` answers 2xx; the reason holds the body of any
    other answer (/readyz says there which checks fail and why)."""
    if not url.startswith(("http://", "https://")):
        raise Unhealthy(f"not an http(s) URL: {url!r}")
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked above)
            status = int(response.status)
    except urllib.error.HTTPError as error:
        raise Unhealthy(f"GET {url}: HTTP {error.code} {_body(error)}".rstrip()) from error
    except (urllib.error.URLError, OSError) as error:
        raise Unhealthy(f"GET {url}: {error}") from error
    if not 200 <= status < 300:
        raise Unhealthy(f"GET {url}: HTTP {status}")


def _body(error: urllib.error.HTTPError) -> str:
    try:
        return error.read(_BODY_SHOWN).decode(errors="replace").strip()
    except OSError:
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mappa-healthcheck", description=__doc__.splitlines()[0] if __doc__ else None
    )
    checks = parser.add_subparsers(dest="check", required=True)
    process = checks.add_parser("process", help="PID 1 is the given mappa command, alive")
    process.add_argument("words", nargs="+", help="the mappa subcommand, e.g. `picture run`")
    process.add_argument(
        "--database", action="store_true", help="and MAPPA_DATABASE_URL answers SELECT 1"
    )
    process.add_argument("--proc", type=Path, default=Path("/proc"), help=argparse.SUPPRESS)
    process.add_argument("--pid", type=int, default=1, help=argparse.SUPPRESS)
    http = checks.add_parser("http", help="a GET of URL answers 2xx, e.g. a /readyz")
    http.add_argument("url")
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds (default: 5)")
    args = parser.parse_args(argv)
    try:
        if args.check == "http":
            check_http(args.url, timeout=args.timeout)
        else:
            check_process(args.words, proc=args.proc, pid=args.pid)
            if args.database:
                check_database(os.environ.get("MAPPA_DATABASE_URL"), timeout=args.timeout)
    except Unhealthy as reason:
        print(f"mappa-healthcheck: unhealthy: {reason}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
