"""Choosing what a list shows: by creator, favourites only, by model."""

from __future__ import annotations

import dataclasses

from simulator.actions.browse import Filters, filter_values
from simulator.cli.menus.session import Session
from simulator.cli.menus.ui import Option

ANY = "__any__"


async def choose_filters(session: Session, filters: Filters, *, conversations: bool) -> Filters:
    """Change one filter at a time until Done (or Esc, which keeps the changes made)."""
    ui = session.ui
    creators, models = await filter_values(session.store, conversations=conversations)
    while True:
        choice = await ui.select("Filter the list", [
            Option(f"Creator: {filters.creator or 'anyone'}", "creator"),
            Option(f"Only mine ({session.user})", "mine"),
            Option(f"Favourites only: {'yes' if filters.favourite else 'no'}", "favourite"),
            Option(f"Model: {filters.model or 'any'}", "model"),
            Option("Clear all filters", "clear"),
            Option("Done", "done"),
        ])
        if choice in (None, "done"):
            return filters
        if choice == "mine":
            filters = dataclasses.replace(filters, creator=session.user)
        elif choice == "clear":
            filters = Filters()
        elif choice == "favourite":
            filters = dataclasses.replace(filters, favourite=None if filters.favourite else True)
        elif choice == "creator":
            picked = await ui.select("Creator", [Option("anyone", ANY)] + [Option(c, c) for c in creators],
                                     default=filters.creator or ANY)
            if picked is not None:
                filters = dataclasses.replace(filters, creator=None if picked == ANY else picked)
        elif choice == "model":
            picked = await ui.select("Model", [Option("any", ANY)] + [Option(m, m) for m in models],
                                     default=filters.model or ANY)
            if picked is not None:
                filters = dataclasses.replace(filters, model=None if picked == ANY else picked)
