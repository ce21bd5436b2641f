"""Experiments: the filterable list, and one experiment's page with its rendered prompts for chosen
agent counts and variants, its conversations and its batches."""

from __future__ import annotations

from collections import Counter
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from simulator.actions.browse import conversation_counts, filter_values, list_conversations
from simulator.actions.experiments import find, list_experiments, rendered_prompts
from simulator.core.experiment import Experiment
from simulator.errors import ValidationError
from simulator.web.params import flag, int_param, path_id, store_of, text_param
from simulator.web.templating import page

MAX_AGENTS_PER_ROLE = 9


def matches(document: dict[str, Any], words: str) -> bool:
    """Every word of the search in the name, note or creator, any case."""
    haystack = " ".join(str(document.get(k) or "") for k in ("name", "note", "creator")).lower()
    return all(word in haystack for word in words.lower().split())


async def experiments_list(request: Request) -> Response:
    store = store_of(request)
    q, creator, model = text_param(request, "q"), text_param(request, "creator"), text_param(request, "model")
    favourites = flag(request, "favourites")
    documents = await list_experiments(store, creator=creator or None, favourite=True if favourites else None,
                                       model=model or None)
    documents = [d for d in documents if matches(d, q)]
    ids = [d["_id"] for d in documents]
    conversations = await conversation_counts(store, ids)
    batches = Counter(b.experiment_id for b in await store.batches.list())
    creators, models = await filter_values(store, conversations=False)
    rows = [{"id": d["_id"], "name": d.get("name", ""), "creator": d.get("creator", ""),
             "created_at": d.get("created_at"), "favourite": bool(d.get("favourite")), "note": d.get("note", ""),
             "models": sorted({l.get("model", "") for l in d.get("llms", [])}),
             "roles": [r.get("name", "") for r in d.get("roles", [])],
             "conversations": conversations.get(d["_id"], 0), "batches": batches.get(d["_id"], 0)}
            for d in documents]
    return page(request, "experiments.html", rows=rows, creators=creators, models=models,
                filters={"q": q, "creator": creator, "model": model, "favourites": favourites})


def chosen_counts(request: Request, experiment: Experiment) -> dict[str, int]:
    return {role: int_param(request, f"n.{role}", 1, 1, MAX_AGENTS_PER_ROLE) for role in experiment.role_names}


def chosen_variants(request: Request, experiment: Experiment) -> dict[str, str]:
    return {name: text_param(request, f"v.{name}") or choices[0] for name, choices in experiment.variants.items()}


async def experiment_page(request: Request) -> Response:
    store = store_of(request)
    stored = await find(store, str(path_id(request)))
    experiment = stored.experiment
    counts, variants = chosen_counts(request, experiment), chosen_variants(request, experiment)
    try:
        prompts, problem = rendered_prompts(experiment, counts, variants), None
    except ValidationError as exc:
        prompts, problem = [], exc.one_line()
    return page(request, "experiment.html", id=stored.id, experiment=experiment, counts=counts, variants=variants,
                prompts=prompts, problem=problem, max_agents=MAX_AGENTS_PER_ROLE,
                conversations=await list_conversations(store, experiment_id=stored.id),
                batches=await store.batches.list(experiment_id=stored.id))
