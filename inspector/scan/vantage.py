"""A Dask worker preload naming the network it scans from: ``dask worker ADDR --preload
inspector.scan.vantage --vantage NAME``. Every result that worker produces is stored with
``vantage = NAME`` (``diff --by-vantage`` compares them); ``scan --cluster ... --vantage NAME``
runs only on the workers that carry NAME."""

from __future__ import annotations

import click


@click.command()
@click.option("--vantage", required=True, help="the network this worker scans from")
def dask_setup(worker, vantage: str) -> None:
    worker.smtp_inspector_vantage = vantage
