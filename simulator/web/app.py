"""The explorer's web application: its routes, its error pages, and the access guard around it.

Every route is a GET; the store is opened once by the server and shared by all requests.
A researcher's mistake (an id that does not exist, a bad filter) and a database that stopped
answering are pages with one line saying so, never a traceback.
"""

from __future__ import annotations

from pathlib import Path

from pymongo.errors import PyMongoError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simulator.config import Settings
from simulator.errors import NotFound, SimulatorError, StoreError
from simulator.logs import get_logger
from simulator.store import Store
from simulator.store.connection import store_error
from simulator.web.access import Access, Guard
from simulator.web.analyses import Analyses
from simulator.web.database import where
from simulator.web.pages import analysis, batches, conversations, experiments, search
from simulator.web.pages import forks
from simulator.web.pages import annotate
from simulator.web.templating import page

log = get_logger("web")
STATIC = Path(__file__).with_name("static")


def home(request: Request) -> Response:
    return RedirectResponse("/experiments", status_code=303)


ROUTES = [
    Route("/", home),
    Route("/experiments", experiments.experiments_list),
    Route("/experiments/{id}", experiments.experiment_page),
    Route("/experiments/{id}/analysis", analysis.experiment_analysis),
    Route("/conversations", conversations.conversations_list),
    Route("/conversations/{id}", conversations.conversation_page),
    Route("/conversations/{id}/events", conversations.conversation_events),
    Route("/conversations/{id}/export.{format}", conversations.conversation_export),
    Route("/batches", batches.batches_list),
    Route("/batches/{id}", batches.batch_page),
    Route("/batches/{id}/events", batches.batch_events),
    Route("/batches/{id}/analysis", analysis.batch_analysis),
    Route("/analysis/telephone", analysis.telephone_analysis),
    Route("/analysis/files/{key}/{name}", analysis.analysis_file),
    Route("/search", search.search_page),
    Route("/conversations/{id}/forks", forks.forks_page),  # fork tree and two continuations (issue 25)
    Route("/forks/compare", forks.compare_page),
    Route("/experiments/{id}/annotate", annotate.annotate_list),  # annotation mode only (issue 25)
    Route("/experiments/{id}/annotate/{cid}", annotate.annotate_one),
    Route("/experiments/{id}/annotate/{cid}", annotate.save, methods=["POST"]),
    Mount("/static", StaticFiles(directory=STATIC), name="static"),
]


async def problem(request: Request, exc: Exception) -> Response:
    """One line for the researcher: 404 for what does not exist, 503 when the database is gone."""
    if isinstance(exc, PyMongoError):
        log.info("database error on %s: %s", request.url.path, exc)
        exc = store_error(exc, request.app.state.settings.mongodb_uri)
    status = 404 if isinstance(exc, NotFound) else 503 if isinstance(exc, StoreError) else 400
    return page(request, "error.html", status_code=status, message=exc.one_line())


async def no_page(request: Request, exc: Exception) -> Response:
    return page(request, "error.html", status_code=404, message=f"no page {request.url.path}")


def create_app(store: Store, settings: Settings, analyses: Analyses, access: Access = Access(),
               annotating: "annotate.Annotating | None" = None) -> Guard:
    app = Starlette(routes=ROUTES, exception_handlers={SimulatorError: problem, PyMongoError: problem, 404: no_page})
    app.state.store = store
    app.state.settings = settings
    app.state.analyses = analyses
    app.state.where = where(settings)
    app.state.annotating = annotating  # None: read-only (the guard refuses every POST)
    return Guard(app, access)
