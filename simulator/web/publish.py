"""`simulator publish`: an experiment, a batch or some conversations as a static site.

The pages are the explorer's own templates filled with the explorer's own page contexts
(conversation_context, load_grid, Analyses), so a transcript reads exactly as in the
explorer; only the links differ. Templates write site-absolute links ("/conversations/ID");
`relative` turns each into a path inside the folder ("../conversations/ID.html") or, for a
page a static site cannot have (search, forks, live views, filters), drops the href so it is
plain text. Autoescaping guarantees that data never writes `href="` itself, so only the
templates' links are rewritten. Nothing is fetched from outside the folder: the stylesheet,
script and icon are copied in, figures are PNG files, charts inline SVG.

The site is built in a hidden folder beside DIR and renamed into place at the end, so a
failure leaves nothing half-written; DIR must not exist or be empty.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

from bson import ObjectId
from bson.errors import InvalidId

from simulator.actions.browse import Transcript
from simulator.actions.experiments import find
from simulator.cli.export import FORMATS, render_export
from simulator.core.batch import Batch
from simulator.core.conversation import Conversation
from simulator.errors import NotFound, SimulatorError, ValidationError
from simulator.store import Store
from simulator.web.analyses import Analyses, AnalysisResult
from simulator.web.grid import load_grid
from simulator.web.pages.batches import ANALYSED
from simulator.web.pages.conversations import conversation_context, read_all
from simulator.web.templating import render

STATIC = Path(__file__).with_name("static")
AT_ONCE = 16  # conversations read from the store together
LINK = re.compile(r'\s(href|src|action)="([/?][^"]*)"')
Progress = Callable[[int, int], None]


@dataclass
class Subject:
    """What is published: a title, the conversations, and the batches and experiment they belong to."""

    title: str
    conversations: list[Conversation]
    batches: list[Batch] = field(default_factory=list)
    experiment_id: ObjectId | None = None
    whole_experiment: bool = False  # an experiment was named: its own analysis over every run


@dataclass(frozen=True)
class Published:
    folder: Path
    conversations: int
    files: int
    bytes: int
    seconds: float
    notes: tuple[str, ...] = ()


def as_id(text: str) -> ObjectId | None:
    try:
        return ObjectId(text)
    except (InvalidId, TypeError):
        return None


async def subject_of(store: Store, targets: list[str]) -> Subject:
    """One batch id, one experiment (id or name), or conversation ids."""
    if not targets:
        raise ValidationError("name an experiment, a batch or conversations to publish")
    first = as_id(targets[0])
    if len(targets) == 1 and first is not None:
        try:
            batch = await store.batches.get(first)
        except NotFound:
            pass
        else:
            return Subject(batch.title, await store.conversations.find(batch_id=batch.id), [batch], batch.experiment_id)
    if len(targets) == 1:
        try:
            stored = await find(store, targets[0])
        except NotFound:
            if first is None:
                raise
        else:
            return Subject(stored.experiment.name, await store.conversations.find(experiment_id=stored.id),
                           await store.batches.list(experiment_id=stored.id), stored.id, whole_experiment=True)
    ids = [as_id(t) for t in targets]
    if None in ids:
        raise ValidationError(f"{targets[ids.index(None)]!r} is not a conversation id",
                              "give one experiment, one batch, or conversation ids")
    conversations = [await store.conversations.get(cid) for cid in dict.fromkeys(ids)]
    return Subject(f"{len(conversations)} conversation(s)", conversations)


def relative(path: str, depth: int, pages: set[str]) -> str | None:
    """Where a site-absolute link of the explorer goes in the published folder, from a page `depth`
    folders down; None when the site has no such page."""
    up = "../" * depth
    path = path.split("#", 1)[0]
    if path.startswith("/static/"):
        return up + "static/" + path[len("/static/"):].split("?", 1)[0]
    if path.startswith("/analysis/files/"):
        return up + "analysis/" + path.rsplit("/", 1)[-1]
    match = re.fullmatch(r"/conversations/([0-9a-f]{24})/export\.(\w+)", path)
    if match and match.group(1) in pages:
        return f"{up}data/conversations/{match.group(1)}.{match.group(2)}"
    match = re.fullmatch(r"/(conversations|batches)/([0-9a-f]{24})(/analysis)?", path)
    if match and match.group(2) + (match.group(3) or "") in pages:
        return f"{up}{match.group(1)}/{match.group(2)}{'-analysis' if match.group(3) else ''}.html"
    if re.fullmatch(r"/experiments/[0-9a-f]{24}/analysis", path) and "analysis" in pages:
        return up + "analysis.html"
    if path in ("/conversations", "/experiments", "/") or re.fullmatch(r"/experiments/[0-9a-f]{24}", path):
        return up + "index.html"
    return None


def localise(html: str, depth: int, pages: set[str]) -> str:
    def swap(match: re.Match) -> str:
        target = relative(match.group(2), depth, pages)
        return "" if target is None else f' {match.group(1)}="{target}"'

    return LINK.sub(swap, html)


class Site:
    """The folder being written: pages (links made relative) and data files, counted as they go."""

    def __init__(self, root: Path, pages: set[str]):
        self.root, self.pages, self.files = root, pages, 0
        self.where = f"published {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC"

    def write(self, name: str, text: str) -> None:
        path = self.root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        self.files += 1

    def page(self, name: str, template: str, menu: str, **context) -> None:
        html = render(template, where=self.where, path=menu, **context)
        self.write(name, localise(html, name.count("/"), self.pages))


async def publish(store: Store, targets: list[str], output: Path, *, analysis: bool = True,
                  progress: Progress | None = None) -> Published:
    """Write the site into `output` (which must not exist or be empty) and say what it holds."""
    started = time.monotonic()
    output = output.expanduser().resolve()
    if output.exists() and (not output.is_dir() or any(output.iterdir())):
        raise ValidationError(f"{output} exists and is not an empty folder", "choose a new folder with -o")
    subject = await subject_of(store, targets)
    if not subject.conversations:
        raise NotFound(f"{subject.title} has no conversations to publish")
    output.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{output.name}-", dir=output.parent))
    try:
        notes = await build(store, subject, building, analysis, progress)
        if output.exists():
            output.rmdir()
        os.replace(building, output)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise
    files = [p for p in output.rglob("*") if p.is_file()]
    return Published(output, len(subject.conversations), len(files), sum(p.stat().st_size for p in files),
                     time.monotonic() - started, tuple(notes))


async def build(store: Store, subject: Subject, root: Path, analysis: bool, progress: Progress | None) -> list[str]:
    site = Site(root, {str(c.id) for c in subject.conversations} | {str(b.id) for b in subject.batches})
    shutil.copytree(STATIC, root / "static")
    rows = await conversation_pages(store, site, subject.conversations, progress)
    links, notes = await analysis_pages(store, site, subject) if analysis else ([], [])
    for batch in subject.batches:
        loaded, grid = await load_grid(store, batch.id)
        site.page(f"batches/{batch.id}.html", "batch.html", "/batches", batch=loaded, grid=grid,
                  analysed=f"{batch.id}/analysis" in site.pages, stream=None)
    write_data(site, rows)
    site.page("index.html", "publish_index.html", "/conversations", subject=subject, rows=rows, notes=notes,
              analyses=links)
    return notes


async def conversation_pages(store: Store, site: Site, conversations: list[Conversation],
                             progress: Progress | None) -> list[dict]:
    """Each conversation's transcript page and its exports; the index's rows, in the subject's order."""
    rows = []
    ordered = sorted(conversations, key=lambda c: c.id)
    for start in range(0, len(ordered), AT_ONCE):
        if progress:
            progress(start, len(ordered))
        chunk = await asyncio.gather(*(read_all(store, c.id) for c in ordered[start:start + AT_ONCE]))
        for shown, scores in chunk:
            rows.append(await conversation_page(store, site, shown, scores))
    if progress:
        progress(len(ordered), len(ordered))
    return rows


async def conversation_page(store: Store, site: Site, shown: Transcript, scores) -> dict:
    context = await conversation_context(store, shown, scores)
    c = shown.conversation
    site.page(f"conversations/{c.id}.html", "conversation.html", "/conversations", **{**context, "stream": None})
    for fmt in FORMATS:
        site.write(f"data/conversations/{c.id}.{fmt}", render_export(fmt, shown))
    return {"id": str(c.id), "title": c.title, "protocol": c.spec.protocol,
            "models": " + ".join(dict.fromkeys(l.model for l in c.spec.llms)), "status": context["status"],
            "messages": len(shown.messages), "n_messages": c.spec.n_messages,
            "batch_id": str(c.spec.batch_id or ""), "experiment_id": str(c.spec.experiment_id or ""),
            "created_at": c.created_at.isoformat() if c.created_at else ""}


async def analysis_pages(store: Store, site: Site, subject: Subject) -> tuple[list[tuple[str, str]], list[str]]:
    """The experiment's analysis and each analysed batch's, with their figures and CSV files, as (title, page)
    links for the index; one that cannot be made is a note on the index, not a failure."""
    links: list[tuple[str, str]] = []
    notes: list[str] = []
    analyses = Analyses(Path(tempfile.mkdtemp(prefix="sim-publish-")))
    try:
        jobs = [("analysis.html", None)] if subject.whole_experiment else []
        jobs += [(f"batches/{b.id}-analysis.html", b) for b in subject.batches if b.protocol in ANALYSED]
        for name, batch in jobs:
            try:
                result = await analysis_of(store, analyses, subject, batch)
            except SimulatorError as exc:
                notes.append(f"analysis of {batch.title if batch else subject.title}: {exc.one_line()}")
                continue
            for file in (*result.figures, *result.downloads):
                (site.root / "analysis").mkdir(exist_ok=True)
                shutil.copyfile(analyses.file(result.key, file), site.root / "analysis" / file)
                site.files += 1
            site.pages.add(f"{batch.id}/analysis" if batch else "analysis")
            site.page(name, "analysis.html", "/batches" if batch else "/experiments", result=result,
                      subject=batch.title if batch else subject.title, batch_id=batch.id if batch else None,
                      experiment_id=subject.experiment_id)
            links.append((f"analysis of {batch.title if batch else 'every run'}", name))
    finally:
        analyses.close()
    return links, notes


async def analysis_of(store: Store, analyses: Analyses, subject: Subject, batch: Batch | None) -> AnalysisResult:
    if batch is None or (batch.protocol == "roles" and batch.experiment_id is not None):
        return await analyses.experiment(store, subject.experiment_id, batch.id if batch else None)
    if batch.protocol == "telephone":
        return await analyses.telephone(store, batch_id=batch.id)
    return await analyses.learning(store, batch.id)


def write_data(site: Site, rows: list[dict]) -> None:
    """The index of conversations as CSV and JSON (each conversation's own files are in data/conversations/)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    site.write("data/conversations.csv", buffer.getvalue())
    site.write("data/conversations.json", json.dumps(rows, ensure_ascii=False, indent=1))


def safe_cell(value):
    """A cell a spreadsheet will not run as a formula (a title is other people's text)."""
    return "'" + value if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
