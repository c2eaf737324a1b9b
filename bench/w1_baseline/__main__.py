"""`python -m bench.w1_baseline --port N --workers N`: serve the W1 app, as `ledgerdesk serve` serves the API.

The settings come from the environment (LEDGERDESK_DATABASE_URL, ...), as for `ledgerdesk serve`.
"""

from __future__ import annotations

import argparse
import sys

import typer

from api.cli.processes import serve_app
from bench.w1_baseline.app import FACTORY


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.w1_baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="Address to listen on.")
    parser.add_argument("--port", type=int, default=8000, help="Port to listen on.")
    parser.add_argument("--workers", type=int, default=1, help="API worker processes.")
    arguments = parser.parse_args()
    try:
        serve_app(FACTORY, host=arguments.host, port=arguments.port, workers=arguments.workers)
    except typer.Exit as stop:  # its one-line error is printed already, as `ledgerdesk serve` prints it
        sys.exit(stop.exit_code)


if __name__ == "__main__":
    main()
