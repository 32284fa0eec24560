"""Where each service serves its operations endpoints (`http.py`), and the `--metrics-port`
option that moves them: apart from the endpoints, because every `mappa` process makes every
command's options and the endpoints bring uvicorn, FastStream and SQLAlchemy with them."""

from __future__ import annotations

import typer

# The default ports (0 turns the endpoint off); MAPPA_METRICS_PORT overrides them.
PICTURE_PORT = 9464
REPORTING_PORT = 9465
ALERTS_PORT = 9466
INTAKE_PORT = 9467
PORT_ENV = "MAPPA_METRICS_PORT"

# The `--metrics-port` option of every `run` command (each gives its own default).
PORT_OPTION = typer.Option(
    "--metrics-port",
    envvar=PORT_ENV,
    min=0,
    max=65535,
    help="Port of /healthz, /readyz and /metrics (0: none).",
)
