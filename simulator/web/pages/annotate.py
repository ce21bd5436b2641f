"""Annotation mode (`simulator explore --annotate`): outcome labels of an experiment's runs in the browser.

Who labels is who the explorer's process is, by the CLI's identity rules (config.identity): the
login the database server authenticated, else the declared name (SIM_USER, DB_USER, the OS
login), which nothing checks. So each annotator runs their own explorer; the page says which
kind of name it is. An annotator sees only their own labels (blind, as in the terminal menu)
until they choose to compare; comparing shows everyone's labels, the agreement per rubric
question, and the disagreements an adjudicator settles. Labels are saved by the same actions
as the menus (actions/annotation.py), so every write passes the store's write gate.

Writes come as form POSTs carrying the explorer's CSRF token (made at start, compared in
constant time) from a page of the explorer itself (Sec-Fetch-Site, and an Origin when one is sent).
Without annotation mode the access guard refuses every POST before it reaches here.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

from bson import ObjectId
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response

from simulator.actions import annotation
from simulator.actions.experiment_runs import runs_of
from simulator.actions.experiments import StoredExperiment
from simulator.analysis.errors import AnalysisError
from simulator.analysis.label_agreement import rubric_agreement
from simulator.analysis.outcomes import GOAL_LABELS, final_outcome, outcome, Outcome
from simulator.core.conversation import Conversation, Status
from simulator.errors import NotFound, ValidationError
from simulator.store.labels import ADJUDICATOR, OutcomeLabel
from simulator.web.pages.conversations import read_all
from simulator.web.params import flag, path_id, store_of
from simulator.web.templating import page
from simulator.web.transcript import entries, legend

MAX_FORM_BYTES = 20_000
MAX_NOTE = 2_000
THIRDS = (("", "cannot tell"), ("1", "first"), ("2", "second"), ("3", "last"))
AGREEMENT_RESAMPLES = 1000


@dataclass(frozen=True)
class Annotating:
    """Who annotates through this explorer, how that name was established, and the forms' CSRF token."""

    annotator: str
    verified: bool  # the database server authenticated this login; else a declared name nothing checks
    csrf: str

    @classmethod
    def start(cls, annotator: str, verified: bool) -> "Annotating":
        return cls(annotator, verified, secrets.token_urlsafe(32))

    @property
    def how(self) -> str:
        return ("your database login" if self.verified else
                "a declared name (SIM_USER or your OS login): this database does not authenticate, so nothing checks it")


def annotating_of(request: Request) -> Annotating:
    found = getattr(request.app.state, "annotating", None)
    if found is None:
        raise NotFound("annotation is off in this explorer", "start it with `simulator explore --annotate`")
    return found


async def completed_runs(request: Request) -> tuple[StoredExperiment, list[Conversation]]:
    stored, runs = await runs_of(store_of(request), str(path_id(request)))
    return stored, [c for c in runs if c.status is Status.COMPLETED]


def label_text(label: OutcomeLabel | None) -> str:
    if label is None or label.goal_achieved is None:
        return ""
    return label.goal_achieved + (f" (third {label.third})" if label.third else "")


def by_annotator(labels: list[OutcomeLabel]) -> dict[str, dict[ObjectId, dict[str, object]]]:
    """annotator -> conversation -> {question: answer}: the usable labels of people and judges, not adjudications."""
    found: dict[str, dict[ObjectId, dict[str, object]]] = {}
    for label in labels:
        if label.kind != ADJUDICATOR and label.usable:
            found.setdefault(label.annotator, {})[label.conversation_id] = {
                "goal_achieved": label.goal_achieved, "third": label.third}
    return found


@dataclass(frozen=True)
class Row:
    conversation: Conversation
    mine: str
    others: dict[str, str]  # annotator -> label (only when comparing)
    adjudicated: str
    final: str  # agreed | single | adjudicated | disagreed | unlabelled (only when comparing)


def rows_of(runs: list[Conversation], labels: list[OutcomeLabel], me: str, compare: bool) -> list[Row]:
    rows = []
    for conversation in runs:
        its = [l for l in labels if l.conversation_id == conversation.id]
        people = [l for l in its if l.kind != ADJUDICATOR]
        adjudication = next((l for l in its if l.kind == ADJUDICATOR), None)
        mine = next((l for l in people if l.annotator == me), None)
        final = final_outcome([Outcome(l.goal_achieved, l.third) if l.usable else None for l in people],
                              Outcome(adjudication.goal_achieved, adjudication.third) if adjudication else None)
        rows.append(Row(conversation, label_text(mine),
                        {l.annotator: label_text(l) for l in people} if compare else {},
                        label_text(adjudication) if compare else "", final.how if compare else ""))
    return rows


async def annotate_list(request: Request) -> Response:
    """The experiment's completed runs with your labels; with ?compare=1 everyone's, and the agreement."""
    me = annotating_of(request)
    store = store_of(request)
    stored, runs = await completed_runs(request)
    compare = flag(request, "compare")
    labels = await store.labels.for_conversations([c.id for c in runs], annotator=None if compare else me.annotator)
    agreement = []
    if compare:
        agreement = await asyncio.to_thread(rubric_agreement, by_annotator(labels), resamples=AGREEMENT_RESAMPLES)
    rows = rows_of(runs, labels, me.annotator, compare)
    annotators = sorted({a for r in rows for a in r.others})
    return page(request, "annotate.html", stored=stored, rows=rows, me=me, compare=compare, agreement=agreement,
                annotators=annotators, done=sum(1 for r in rows if r.mine))


async def annotate_one(request: Request) -> Response:
    """One run's transcript and the rubric's questions; an adjudicator (?adjudicate=1) also sees every label."""
    me = annotating_of(request)
    store = store_of(request)
    stored, conversation = await run_of(request)
    adjudicating = flag(request, "adjudicate")
    shown, scores = await read_all(store, conversation.id)
    summaries = {s["day"]: s["content"] for s in shown.summaries}
    labels = await store.labels.for_conversations([conversation.id],
                                                  annotator=None if adjudicating else me.annotator)
    mine = next((l for l in labels if l.annotator == me.annotator and l.kind != ADJUDICATOR), None)
    rubric = await annotation.stored_outcome_rubric(store, stored, None, me.annotator)
    role = rubric.role or stored.experiment.role_names[-1]
    return page(request, "annotate_one.html", stored=stored, c=conversation, me=me, mine=mine,
                others=[l for l in labels if adjudicating and l.kind != ADJUDICATOR],
                adjudicating=adjudicating, instructions=rubric.instructions(role), goals=GOAL_LABELS, thirds=THIRDS,
                entries=entries(conversation, shown.messages, summaries=summaries, scores=scores),
                legend=legend(conversation))


async def run_of(request: Request) -> tuple[StoredExperiment, Conversation]:
    stored, runs = await completed_runs(request)
    wanted = path_id(request, "cid")
    found = next((c for c in runs if c.id == wanted), None)
    if found is None:
        raise NotFound(f"{wanted} is not a completed run of experiment {stored.experiment.name!r}",
                       "only completed runs are labelled")
    return stored, found


async def save(request: Request) -> Response:
    """Store the posted label (yours, or an adjudication) and go back to the list (post, redirect, get)."""
    me = annotating_of(request)
    form = await posted_form(request)
    refused = refusal(request, me, form)
    if refused is not None:
        return refused
    stored, conversation = await run_of(request)
    try:
        checked = outcome(form.get("goal_achieved", ""), form.get("third") or None)
    except AnalysisError as exc:
        raise ValidationError(exc.message, "go back and choose again") from None
    kind = ADJUDICATOR if form.get("kind") == ADJUDICATOR else annotation.PERSON
    await annotation.save_label(store_of(request), conversation.id, me.annotator, checked,
                                form.get("note", "").strip()[:MAX_NOTE], kind=kind)
    back = f"/experiments/{stored.id}/annotate" + ("?compare=1" if kind == ADJUDICATOR else "")
    return RedirectResponse(f"{back}#c-{conversation.id}", status_code=303)


async def posted_form(request: Request) -> dict[str, str]:
    """An url-encoded form of at most MAX_FORM_BYTES, one value per field (the first)."""
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_FORM_BYTES:
            raise ValidationError("the form is too large")
    try:
        fields = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
    except (UnicodeDecodeError, ValueError):
        raise ValidationError("the form could not be read") from None
    return {name: values[0] for name, values in fields.items()}


def refusal(request: Request, me: Annotating, form: dict[str, str]) -> Response | None:
    """A forged or cross-site post: a missing or wrong CSRF token, or one a browser says came from another site."""
    origin, site = request.headers.get("origin", "null"), request.headers.get("sec-fetch-site", "same-origin")
    # no-referrer makes a browser send "Origin: null" even from our own page; Sec-Fetch-Site still tells
    if site not in ("same-origin", "none") or (origin != "null" and urlsplit(origin).netloc != request.headers.get("host")):
        return PlainTextResponse("a form from another site is refused", status_code=403)
    if not hmac.compare_digest(form.get("csrf", "").encode(), me.csrf.encode()):
        return PlainTextResponse("the form's token is missing or stale: reload the page", status_code=403)
    return None
