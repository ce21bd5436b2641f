"""`simulator chatroom import DIR`: the self-replicating-prompts study's logs as completed chatroom runs.

The study's chatroom (`Room.to_disk`) writes `log2_%Y_%m_%d_%H_%M_%S.json`:

    {"config": {"max_iterations", "max_memory", "models": [...], "system_prompts": [...]},
     "chat_history": [{"content", "model", "seed"}, ...]}

where the first entries, of model "given", are the room's initial prompts. Each file becomes a
chatroom conversation: participant lmN speaks for the N-th model of `config.models` (a message is
its model's first participant), the initial prompts, system prompts and `max_memory` (as
`max_context`) are its options, and the study's convergence settings, which the file does not
record, are its command's defaults (3 messages, fuzzy ratio above 99). Then the room's own stop
conditions and convergence check (simulator/protocols/chatroom.py) run over the imported messages,
and their verdict is stored as a live run stores it: `outcome` (converged, period, the repeating
messages) and the stop reason. Like a live run, the check reads the participants' messages, not
the initial prompts (the study's own check included them). Each message's seed is kept in
`imported_from.seeds`. The id is derived from the file's bytes.
"""

from __future__ import annotations

import dataclasses
import random
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

from simulator.actions.imports import ImportReport, import_files, stable_id
from simulator.core.conversation import Conversation, Status
from simulator.core.experiment import LLMSetting
from simulator.core.experiment_file import load_data
from simulator.core.run_spec import RunSpec
from simulator.core.safe_text import check_name
from simulator.engine.state import ConversationState, Turn
from simulator.errors import ValidationError
from simulator.protocols import PROTOCOLS
from simulator.store import Message, Store

MAX_LOG_BYTES = 50_000_000
MAX_TEXT_BYTES = 4_000_000
MAX_PARTICIPANTS = 50
GIVEN = "given"  # the study's model name for an initial prompt
FILE_NAME = re.compile(r"log2_(?P<stamp>\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2})\.json")
STUDY_CHECK = {"min_quine_length": 3, "threshold": 99, "exact": False}


@dataclass(frozen=True)
class ChatroomLog:
    models: tuple[str, ...]
    system_prompts: tuple[str, ...]
    max_iterations: int
    max_memory: int
    initial: tuple[str, ...]
    turns: tuple[tuple[int, str], ...]  # (participant index, content)
    seeds: tuple[int | None, ...]
    started: datetime | None


def parse_log(data: Any, file_name: str) -> ChatroomLog:
    """One decoded log (`file_name`: its path below the import folder), checked whole; anything of another
    shape is one ValidationError naming the file."""
    if not isinstance(data, dict) or not isinstance(data.get("config"), dict) \
            or not isinstance(data.get("chat_history"), list):
        raise ValidationError(f"{file_name}: expected {{\"config\": {{...}}, \"chat_history\": [...]}}")
    config = data["config"]
    models = _texts(config.get("models"), f"{file_name}: config.models", allow_empty=False)
    if not 1 <= len(models) <= MAX_PARTICIPANTS:
        raise ValidationError(f"{file_name}: config.models has {len(models)} models, 1 to {MAX_PARTICIPANTS} allowed")
    for model in models:
        check_name(model, f"{file_name}: model {model!r}")
    prompts = _texts(config.get("system_prompts", []), f"{file_name}: config.system_prompts", allow_empty=True)
    if len(prompts) not in (0, 1, len(models)):
        raise ValidationError(f"{file_name}: config.system_prompts has {len(prompts)} prompts for {len(models)} models")
    initial, turns, seeds = _history(data["chat_history"], models, file_name)
    if not turns:
        raise ValidationError(f"{file_name}: no message from the participants (only given prompts)")
    return ChatroomLog(tuple(models), tuple(prompts) if any(prompts) else (),
                       _whole(config.get("max_iterations", len(turns)), f"{file_name}: config.max_iterations"),
                       _whole(config.get("max_memory", 10), f"{file_name}: config.max_memory"),
                       tuple(initial), tuple(turns), tuple(seeds), _started(file_name))


def _history(history: list[Any], models: list[str], file_name: str) -> tuple[list[str], list[tuple[int, str]],
                                                                             list[int | None]]:
    initial, turns, seeds = [], [], []
    for i, entry in enumerate(history):
        where = f"{file_name}: chat_history[{i}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("content"), str) \
                or not isinstance(entry.get("model"), str):
            raise ValidationError(f"{where}: expected {{\"content\": text, \"model\": text, \"seed\": ...}}")
        seed = entry.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
            raise ValidationError(f"{where}: seed must be a whole number or null")
        if len(entry["content"].encode("utf-8", "surrogatepass")) > MAX_TEXT_BYTES:
            raise ValidationError(f"{where}: longer than {MAX_TEXT_BYTES // 1_000_000} MB")
        if entry["model"] == GIVEN:
            if turns:
                raise ValidationError(f"{where}: a given prompt after the participants started")
            initial.append(entry["content"])
        elif entry["model"] in models:
            turns.append((models.index(entry["model"]), entry["content"]))
            seeds.append(seed)
        else:
            raise ValidationError(f"{where}: model {entry['model'][:80]!r} is not in config.models")
    return initial, turns, seeds


def _texts(value: Any, where: str, allow_empty: bool) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and (allow_empty or v.strip()) for v in value):
        raise ValidationError(f"{where}: expected a list of {'texts' if allow_empty else 'non-empty texts'}")
    return list(value)


def _whole(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise ValidationError(f"{where}: expected a whole number from 1 to 1000000")
    return value


def _started(file_name: str) -> datetime | None:
    match = FILE_NAME.fullmatch(Path(file_name).name)
    try:
        return datetime.strptime(match["stamp"], "%Y_%m_%d_%H_%M_%S").replace(tzinfo=timezone.utc) if match else None
    except ValueError:
        return None


def conversation_document(log: ChatroomLog, relative: str, digest: str, user: str) -> tuple[dict[str, Any],
                                                                                           list[Message]]:
    """The stored conversation, its messages and the room's verdict over them, as a live run stores it."""
    protocol = PROTOCOLS["chatroom"]
    cid = stable_id("chatroom-log", digest)
    spec = RunSpec(protocol="chatroom", llms=tuple(LLMSetting(model=f"published/{m}", temperature=None)
                                                   for m in log.models),
                   n_messages=max(log.max_iterations, len(log.turns), 1),
                   options={"initial_prompts": list(log.initial), "system_prompts": list(log.system_prompts),
                            "max_context": log.max_memory, **STUDY_CHECK})
    prepared = protocol.prepare(spec, None, random.Random(0))
    prepared = dataclasses.replace(prepared, title=f"{prepared.title} (imported)")
    document = {**spec.to_document(), **prepared.to_document(), "_id": cid, "creator": user,
                "status": Status.COMPLETED.value, "runs": 0, "stored_messages": len(log.turns),
                "imported_from": {"source": "self-replicating prompts log", "file": relative, "sha256": digest,
                                  "seeds": list(log.seeds)}}
    if log.started:
        document["created_at"] = log.started
    agents = prepared.agents
    messages = [Message(conversation_id=cid, index=i, day=0, role=agents[k].role, speaker=agents[k].name,
                        content=text, raw_content=text, created_at=log.started or datetime.now(timezone.utc))
                for i, (k, text) in enumerate(log.turns)]
    document.update(verdict(document, messages))
    return document, messages


def verdict(document: Mapping[str, Any], messages: list[Message]) -> dict[str, Any]:
    """The room's stop conditions and convergence check over the stored messages: `stop_reason` and `outcome`."""
    protocol = PROTOCOLS["chatroom"]
    conversation = Conversation.from_document(document)
    state = ConversationState(agents=list(conversation.agents), n_messages=conversation.spec.n_messages, days=1,
                              turns=[Turn(m.index, m.day, m.speaker, m.role, m.content) for m in messages])
    stop = protocol.engine(conversation, []).stop.check(state)
    reason = stop.reason if stop else f"imported: {len(messages)} messages, no self-replicating cycle"
    return {"stop_reason": reason, "outcome": protocol.outcome(conversation, state, stop)}


async def import_logs(store: Store, user: str, root: Path) -> ImportReport:
    """Every `log2_*.json` below root: each checked whole, the malformed ones refused (one line each, nothing
    stored from them), the others stored once with the room's verdict."""
    return await import_files(
        store, user, root, ImportReport("chatroom logs"),
        wanted=lambda name: name.startswith("log2_") and name.endswith(".json"), what="chatroom logs (log2_*.json)",
        max_bytes=MAX_LOG_BYTES, document_of=conversation_document,
        read_log=lambda text, relative: parse_log(load_data(text, relative, is_json=True, max_depth=6), relative))
