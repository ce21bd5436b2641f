"""`simulator backrooms import DIR`: the backrooms study's plain logs as completed backrooms conversations.

The study (scottviteri/UniversalBackrooms and its forks) writes one log per run, named
`{models}_{template}_{YYYYmmdd_HHMMSS}.txt` (BackroomsLogs/), in one of two formats:

- old: a blank line, then `Claude 1:` alone on a line, then the message;
- new: a blank line, then `### Claude 1 ###` alone on a line, then the message (the project writes this
  one too);

and, when a participant said `^C^C`, a last line `Claude 1 has ended the conversation with ^C^C.`.
Forks add a `### Backrooms Run ###` block (Template:, Models:, Started:), `### Round k/n` lines and a
`--- Reasoning Summary (logs only) ---` after a message: the block gives the template and models,
the round lines each message's round, and a reasoning summary stays in the message's raw text only
(the other participants never saw it).

Each file becomes one conversation: its participants as written (each speaker header, in the order
they first speak), its template and date from the name (or the block), whether it ended with ^C^C
(`outcome.ended_with_stop`, and the stop reason a live run gives). An old-format header is only a
line `Name:` after a blank line; once the first round is known, only the next participant's name in
turn counts, so a message line such as `Example:` stays text. The id is derived from the file's
bytes: the same log imported again, from any folder, stores nothing twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from simulator.actions.imports import ImportReport, import_files, stable_id
from simulator.core.agents import Agent
from simulator.core.conversation import Prepared, Status
from simulator.core.experiment import LLMSetting
from simulator.core.named import to_pairs
from simulator.core.run_spec import RunSpec
from simulator.core.safe_text import check_name
from simulator.errors import ValidationError
from simulator.store import Message, Store

MAX_LOG_BYTES = 20_000_000
MAX_TEXT_BYTES = 4_000_000  # a message stores its text twice (content, raw): well under 16 MB a document
MAX_PARTICIPANTS = 50
STOP = "^C^C"
FILE_NAME = re.compile(r"(?P<stem>.+)_(?P<stamp>\d{8}_\d{6})(?:_\d+)?\.txt")
NEW_HEADER = re.compile(r"### (?P<name>.+?) ###")
OLD_HEADER = re.compile(r"(?P<name>[^\s:#][^:]{0,79}):")
NUMBERED = re.compile(r".+ \d{1,3}")
ROUND = re.compile(r"### Round (?P<round>\d{1,6})(?:/\d{1,6})?")
ENDED = re.compile(r"(?P<name>.+) has ended the conversation with \^C\^C\.")
OTHER_ENDINGS = re.compile(r"(Reached maximum number of turns|Context budget limit reached).*")
REASONING = "--- Reasoning Summary (logs only) ---"
PREAMBLE = "Backrooms Run"


@dataclass(frozen=True)
class LogTurn:
    speaker: str
    content: str  # what the other participants saw
    raw: str  # as written, a logs-only reasoning summary included
    round: int | None  # from a `### Round k/n` line, 0-based


@dataclass(frozen=True)
class BackroomsLog:
    models: tuple[str, ...]
    template: str
    started: datetime
    participants: tuple[str, ...]
    turns: tuple[LogTurn, ...]
    ended_by: str | None  # who said ^C^C, if anyone
    ending: str | None  # the log's own last line about how it ended
    header: str  # "### Name ###" or "Name:"


def parse_log(text: str, file_name: str) -> BackroomsLog:
    """One log (`file_name`: its path below the import folder), checked whole; a malformed one is one
    ValidationError naming the file."""
    stem, started = _name_parts(file_name)
    lines = text.replace("\r\n", "\n").split("\n")
    new_format = any(NEW_HEADER.fullmatch(line) and line != f"### {PREAMBLE} ###" for line in lines)
    header = "### Name ###" if new_format else "Name:"
    meta, body = _preamble(lines)
    body, ended_by, ending = _ending(body)
    turns = _turns(body, new_format, file_name)
    participants = tuple(dict.fromkeys(t.speaker for t in turns))
    if len(participants) > MAX_PARTICIPANTS:
        raise ValidationError(f"{file_name}: {len(participants)} participants, at most {MAX_PARTICIPANTS}")
    ended_by = ended_by or next((t.speaker for t in turns[-1:] if STOP in t.content), None)
    models, template = _models_and_template(meta, stem, len(participants), file_name)
    return BackroomsLog(models, template, started, participants, tuple(turns), ended_by, ending, header)


def _name_parts(file_name: str) -> tuple[str, datetime]:
    match = FILE_NAME.fullmatch(Path(file_name).name)
    if not match:
        raise ValidationError(f"{file_name}: not named {{models}}_{{template}}_{{YYYYmmdd_HHMMSS}}.txt")
    try:
        started = datetime.strptime(match["stamp"], "%Y%m%d_%H%M%S").replace(tzinfo=timezone.utc)
    except ValueError:
        raise ValidationError(f"{file_name}: {match['stamp']} is not a date and time") from None
    return match["stem"], started


def _preamble(lines: list[str]) -> tuple[dict[str, str], list[str]]:
    """The `### Backrooms Run ###` block's `Key: value` lines, and the lines after it."""
    first = next((i for i, line in enumerate(lines) if line.strip()), len(lines))
    if first == len(lines) or lines[first] != f"### {PREAMBLE} ###":
        return {}, lines
    meta, i = {}, first + 1
    while i < len(lines) and lines[i].strip():
        key, _, value = lines[i].partition(":")
        meta[key.strip().lower()] = value.strip()
        i += 1
    return meta, lines[i:]


def _ending(lines: list[str]) -> tuple[list[str], str | None, str | None]:
    """The lines without the log's own closing line, who said ^C^C, and that line."""
    last = len(lines) - 1
    while last >= 0 and not lines[last].strip():
        last -= 1
    if last < 0:
        return lines, None, None
    ended = ENDED.fullmatch(lines[last])
    if ended or OTHER_ENDINGS.fullmatch(lines[last]):
        return lines[:last], ended["name"] if ended else None, lines[last]
    return lines, None, None


def _turns(lines: list[str], new_format: bool, file_name: str) -> list[LogTurn]:
    """Every message after its speaker header; text before the first header is refused."""
    turns: list[LogTurn] = []
    speaker: str | None = None
    block: list[str] = []
    current_round = turn_round = None
    old = _OldHeaders()
    for i, line in enumerate(lines):
        index = len(turns) + (speaker is not None)  # the turn a header here would start
        previous = lines[i - 1] if i else ""
        marker = ROUND.fullmatch(line) if new_format and not previous.strip() else None
        name = _new_header(line, previous) if new_format else old.header(line, previous, index)
        if name is None and marker is None:
            if speaker is None and line.strip():
                raise ValidationError(f"{file_name}: text before the first speaker header (line {i + 1})")
            block.append(line)
            continue
        if speaker is not None:
            turns.append(_turn(speaker, block, turn_round, file_name))
        speaker, block = None, []
        if marker is not None:
            current_round = int(marker["round"]) - 1
            continue
        speaker, turn_round = check_name(name, f"{file_name}: speaker {name!r}"), current_round
    if speaker is not None:
        turns.append(_turn(speaker, block, turn_round, file_name))
    if not turns:
        raise ValidationError(f"{file_name}: no messages (no `### Name ###` or `Name:` headers)")
    return turns


def _new_header(line: str, previous: str) -> str | None:
    """`### Name ###` after a blank line (the study writes "\n### Name ###\n" after each message's newline)."""
    match = NEW_HEADER.fullmatch(line)
    return match["name"] if match and not previous.strip() and not ROUND.fullmatch(line) else None


class _OldHeaders:
    """Old-format headers, `Name:` after a blank line, read as the study wrote them: round-robin. The first
    round's speakers are taken as they come (named like the first, `Claude 1`, when it ends in a number);
    once the first speaker comes again, only the participant whose turn it is counts as a header, so a
    message line such as `Example:` stays text."""

    def __init__(self) -> None:
        self.order: list[str] = []
        self.closed = False

    def header(self, line: str, previous: str, index: int) -> str | None:
        match = OLD_HEADER.fullmatch(line)
        if not match or previous.strip():
            return None
        name = match["name"]
        if self.closed:
            return name if name == self.order[index % len(self.order)] else None
        if name in self.order:
            self.closed = name == self.order[0]
            return name if self.closed else None
        if self.order and NUMBERED.fullmatch(self.order[0]) and not NUMBERED.fullmatch(name):
            return None
        self.order.append(name)
        return name


def _turn(speaker: str, block: list[str], turn_round: int | None, file_name: str) -> LogTurn:
    raw = "\n".join(block).strip("\n")
    content = raw.split(f"\n{REASONING}\n", 1)[0].rstrip("\n") if REASONING in raw else raw
    if len(raw.encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
        raise ValidationError(f"{file_name}: a message of {speaker} is longer than "
                              f"{MAX_TEXT_BYTES // 1_000_000} MB")
    return LogTurn(speaker, content, raw, turn_round)


def _models_and_template(meta: dict[str, str], stem: str, participants: int,
                         file_name: str) -> tuple[tuple[str, ...], str]:
    """The run's models and template: from the block when it names them, else from the file name, whose
    first tokens are the models (as many as the participants, at most all but one token)."""
    if meta.get("models") and meta.get("template"):
        return tuple(m.strip() for m in meta["models"].split(",") if m.strip()), meta["template"]
    tokens = stem.split("_")
    count = min(participants, len(tokens) - 1)
    if count < 1:
        raise ValidationError(f"{file_name}: no models and template in the name ({{models}}_{{template}}_...)")
    return tuple(tokens[:count]), "_".join(tokens[count:])


def conversation_document(log: BackroomsLog, relative: str, digest: str, user: str) -> tuple[dict[str, Any],
                                                                                           list[Message]]:
    """The stored conversation and messages of one parsed log."""
    cid = stable_id("backrooms-log", digest)
    names = log.participants
    models = [log.models[i] if i < len(log.models) else name for i, name in enumerate(names)]
    spec = RunSpec(protocol="backrooms", llms=tuple(LLMSetting(model=f"published/{m}", temperature=None)
                                                    for m in models),
                   n_messages=len(log.turns),
                   options={"template": log.template, "actors": None,
                            "script": [{"system_prompt": "", "context": []} for _ in names]})
    prepared = Prepared(title=f"Backrooms: {log.template} (imported)",
                        agents=tuple(Agent(name, "participant", i) for i, name in enumerate(names)),
                        prompts={name: "" for name in names},
                        extras={"contexts": to_pairs({name: [] for name in names}),
                                "companies": to_pairs({name: "" for name in names})})
    reason = (f"stop keyword {STOP!r} said by {log.ended_by}" if log.ended_by
              else f"imported: ended without {STOP} after {len(log.turns)} messages")
    document = {**spec.to_document(), **prepared.to_document(), "_id": cid, "creator": user,
                "status": Status.COMPLETED.value, "stop_reason": reason, "runs": 0,
                "stored_messages": len(log.turns), "created_at": log.started,
                "outcome": {"ended_with_stop": log.ended_by is not None, "stopped_by": log.ended_by},
                "imported_from": {"source": "backrooms log", "file": relative, "sha256": digest,
                                  "format": log.header, "models": list(log.models), "ending": log.ending}}
    messages = [Message(conversation_id=cid, index=i, day=0, role="participant", speaker=t.speaker,
                        content=t.content, raw_content=t.raw, created_at=log.started,
                        round=t.round if t.round is not None else i // len(names))
                for i, t in enumerate(log.turns)]
    return document, messages


async def import_logs(store: Store, user: str, root: Path) -> ImportReport:
    """Every `*.txt` log below root: each checked whole, the malformed ones refused (one line each, nothing
    stored from them), the others stored once."""
    return await import_files(store, user, root, ImportReport("backrooms logs"),
                              wanted=lambda name: name.endswith(".txt"), what="backrooms logs (*.txt)",
                              max_bytes=MAX_LOG_BYTES, read_log=parse_log, document_of=conversation_document)
