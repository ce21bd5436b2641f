"""The explorer's pure parts: what cleaning cut, a chatroom's cycle, search excerpts, the batch grid,
chart ticks, the token and Host checks, and escaping in the templates."""

from __future__ import annotations

import dataclasses

from bson import ObjectId

from simulator.batch.runner import CellRow
from simulator.core.batch import Batch, BatchCell
from simulator.web.access import Access, host_name
from simulator.web.grid import grid
from simulator.web.pages.search import excerpt
from simulator.web.svg import line_chart
from simulator.web.templating import render
from simulator.web.transcript import Cleaning, cleaning


def test_cleaning_keeps_what_was_cut_before_and_after_the_kept_text():
    assert cleaning("Guard_1: Stay back.\nPrisoner_2: no", "Stay back.") == Cleaning(
        "Guard_1: ", "Stay back.", "\nPrisoner_2: no", found=True)
    assert cleaning("Stay back.  ", "Stay back.") is None  # only white space differs
    assert cleaning("", "Stay back.") is None  # no raw reply stored
    assert cleaning("Stay   back", "Stay back") == Cleaning("", "Stay   back", "", found=False)


def test_an_excerpt_marks_every_match_in_its_window_and_elides_the_rest():
    text = "x" * 300 + " The Yard is cold; the yard is quiet. " + "y" * 300
    parts = excerpt(text, "the yard")
    assert [p for p, hit in parts if hit] == ["The Yard", "the yard"]
    assert parts[0] == ("…", False) and parts[-1] == ("…", False)
    assert excerpt("a.b (c)", "b (c") == [("a.", False), ("b (c", True), (")", False)]


def cell(n: int, repeat: int, counts: dict, status: str = "completed", holder: str | None = None) -> CellRow:
    return CellRow(n=n, values={"repeat": repeat, "llm": 0, "agent_counts": counts}, conversation_id=ObjectId(),
                   status=status, runs=1, messages=3, n_messages=4, model="ollama/sim-tiny", error=None,
                   holder=holder, lease_age=2.0 if holder else None)


def test_a_grid_has_a_row_per_combination_and_a_column_per_repeat():
    rows = [cell(0, 0, {"guard": 1, "prisoner": 1}), cell(1, 0, {"guard": 2, "prisoner": 1}, "running", "h:1:x"),
            cell(2, 1, {"guard": 1, "prisoner": 1}, "failed"), cell(3, 1, {"guard": 2, "prisoner": 1}, "pending")]
    batch = Batch(id=ObjectId(), protocol="roles", title="t", creator="a", status="running",
                  cells=tuple(BatchCell(r.n, r.conversation_id, r.values) for r in rows),
                  grid={"axes": ["repeat", "llm", "agent_counts"]})
    rows[0] = dataclasses.replace(rows[0], tokens=70)
    shown = grid(batch, rows)
    assert shown.axes == ("llm", "agent_counts") and shown.repeats == 2
    assert [r.labels for r in shown.rows] == [("ollama/sim-tiny", "1v1"), ("ollama/sim-tiny", "2v1")]
    assert [[c.status for c in r.cells] for r in shown.rows] == [["completed", "failed"], ["running", "pending"]]
    assert shown.rows[1].cells[0].holder == "h:1:x" and shown.tokens == 70
    assert (shown.status, shown.done, shown.total, shown.messages) == ("running", 2, 4, 12)


def test_chart_points_and_whole_generation_ticks():
    chart = line_chart("length", [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], {"length": [float(v) for v in range(11)]})
    assert [t.label for t in chart.x_ticks] == ["0", "2", "4", "6", "8", "10"]
    points = chart.lines[0].points
    assert points[0].y > points[-1].y  # larger values are drawn higher
    assert line_chart("empty", [], {}).lines == ()


def test_tokens_and_host_headers():
    assert Access().allows(None) and not Access("s3cret").allows(None)
    assert Access("s3cret").allows("s3cret") and not Access("s3cret").allows("s3cret ")
    assert [host_name(h) for h in ("127.0.0.1:8765", "localhost", "[::1]:8765", "evil.example:80")] == [
        "127.0.0.1", "localhost", "[::1]", "evil.example"]


def test_templates_escape_markup_and_show_control_characters():
    html = render("_summary.html", day=0, content="<img src=x onerror=alert(1)> \x1b[2J\u202edone")
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "\\x1b[2J" in html and "\\u202e" in html and "\x1b" not in html
