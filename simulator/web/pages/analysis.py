"""Analyses: an experiment's (or one batch's) report, telephone chains and iterated learning,
with their figures and CSV downloads, made by simulator/web/analyses.py."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import FileResponse, Response

from simulator.actions.experiments import find
from simulator.errors import NotFound, ValidationError
from simulator.web.analyses import Analyses
from simulator.web.params import flag, path_id, query_id, store_of, text_param
from simulator.web.templating import page


def analyses_of(request: Request) -> Analyses:
    return request.app.state.analyses


async def experiment_analysis(request: Request) -> Response:
    store = store_of(request)
    stored = await find(store, str(path_id(request)))
    batch_id = query_id(request, "batch")
    result = await analyses_of(request).experiment(store, stored.id, batch_id, fresh=flag(request, "fresh"))
    return page(request, "analysis.html", result=result, subject=stored.experiment.name, batch_id=batch_id,
                experiment_id=stored.id)


async def batch_analysis(request: Request) -> Response:
    store = store_of(request)
    batch = await store.batches.get(path_id(request))
    analyses, fresh = analyses_of(request), flag(request, "fresh")
    if batch.protocol == "roles" and batch.experiment_id is not None:
        result = await analyses.experiment(store, batch.experiment_id, batch.id, fresh=fresh)
    elif batch.protocol == "telephone":
        result = await analyses.telephone(store, batch_id=batch.id, fresh=fresh)
    elif batch.protocol == "iterated_learning":
        result = await analyses.learning(store, batch.id, fresh=fresh)
    else:
        raise NotFound(f"{batch.protocol} batches have no analysis", "open their conversations instead")
    return page(request, "analysis.html", result=result, subject=batch.title, batch_id=batch.id,
                experiment_id=batch.experiment_id)


async def telephone_analysis(request: Request) -> Response:
    model, instruction = text_param(request, "model"), text_param(request, "instruction")
    if not (model and instruction):
        raise ValidationError("name a model and an instruction")
    result = await analyses_of(request).telephone(store_of(request), model=model, instruction=instruction,
                                                  fresh=flag(request, "fresh"))
    return page(request, "analysis.html", result=result, subject=f"{model} · {instruction}", batch_id=None,
                experiment_id=None)


async def analysis_file(request: Request) -> Response:
    path = analyses_of(request).file(request.path_params["key"], request.path_params["name"])
    if path.suffix == ".csv":
        return FileResponse(path, media_type="text/csv; charset=utf-8", filename=path.name)
    return FileResponse(path, media_type="image/png")
