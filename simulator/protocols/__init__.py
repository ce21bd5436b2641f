"""Every protocol the simulator runs, in one registry.

The CLI's run commands, the menus' entries, the checks and the batch planner all read
PROTOCOLS, so a new protocol is its module, its tests and one line here.
"""

from __future__ import annotations

from simulator.errors import ValidationError
from simulator.protocols.base import EngineParts, Option, Protocol
from simulator.protocols.backrooms import Backrooms
from simulator.protocols.chatroom import Chatroom
from simulator.protocols.iterated_learning import IteratedLearning
from simulator.protocols.roles import RoleExperiment
from simulator.protocols.telephone import Telephone

PROTOCOLS: dict[str, Protocol] = {p.name: p for p in (
    RoleExperiment(),
    Chatroom(),
    Backrooms(),
    Telephone(),
    IteratedLearning(),
)}

__all__ = ["PROTOCOLS", "EngineParts", "Option", "Protocol", "get"]


def get(name: str) -> Protocol:
    try:
        return PROTOCOLS[name]
    except KeyError:
        raise ValidationError(f"unknown protocol {name!r} (known: {', '.join(PROTOCOLS)})") from None
