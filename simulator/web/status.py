"""What state a run is in, as the runner sees it: "running" only while its lease lives.

A runner killed mid-run leaves its conversation marked running; its lease says otherwise
(simulator/actions/leasing.py). The lists, the batch grid and `batch status` call such a run
"stalled", and so do the explorer's pages and live updates.
"""

from __future__ import annotations

from simulator.actions.leasing import is_live
from simulator.core.conversation import Conversation
from simulator.store import Store

RUNNING, STALLED = "running", "stalled"


async def run_status(store: Store, conversation: Conversation) -> str:
    status = conversation.status.value
    if status == RUNNING and not is_live(await store.leases.latest(conversation.id)):
        return STALLED
    return status
