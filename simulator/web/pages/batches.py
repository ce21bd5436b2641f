"""Batches: the list, and one batch as a grid of cells that fills in while it runs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from simulator.batch.runner import batches_with_state
from simulator.web import live
from simulator.web.grid import load_grid
from simulator.web.params import path_id, store_of, text_param
from simulator.web.templating import page

ANALYSED = ("roles", "telephone", "iterated_learning")  # protocols with an analysis command


async def batches_list(request: Request) -> Response:
    protocol = text_param(request, "protocol")
    listed = await batches_with_state(store_of(request), protocol=protocol or None)
    return page(request, "batches.html", batches=[b for b, _ in listed], states={b.id: s for b, s in listed},
                protocol=protocol)


async def batch_page(request: Request) -> Response:
    batch, grid = await load_grid(store_of(request), path_id(request))
    return page(request, "batch.html", batch=batch, grid=grid, analysed=batch.protocol in ANALYSED,
                stream=f"/batches/{batch.id}/events" if grid.done < grid.total else None)


async def batch_events(request: Request) -> Response:
    return await live.batch_stream(request, path_id(request))
