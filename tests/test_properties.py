"""Property-based tests (Hypothesis) of every door input comes through: command-line options, settings and
input file formats. The property is always the same: a value is accepted in its proper shape, or refused with
the tool's own one-line error (ValidationError, ConfigError, argparse's exit 2), never any other exception,
which the command line would print as "unexpected error". Runs in this process, examples bounded."""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
from pathlib import Path

import bson
import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from simulator.errors import ConfigError, SimulatorError, ValidationError

ROOT = Path(__file__).resolve().parent.parent
SMALL = ROOT / "tests" / "data" / "small_prison.yaml"
FAST = hsettings(max_examples=60, deadline=None, suppress_health_check=list(HealthCheck))
FEW = hsettings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))

# What people and files really send: digits of other scripts, huge numbers, special floats, URL tricks.
TRICKY = ["٣", "۵", "０", "1_0", "9" * 5000, "-1", "nan", "inf", "1e400", "", " ", "0x10", "١٢٧.0.0.1",
          "javascript:alert(1)", "http://h:99999", "http://[::1", "mongodb://u:p@[::1", "file:///etc/passwd",
          "../../x", "a\x00b", "\ud800", "\u202e", "guard=٢", "=HYPERLINK(1)", "$where", "a" * 300]
tricky_text = st.one_of(st.sampled_from(TRICKY), st.text(max_size=40))
json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(min_value=-(2**80), max_value=2**80), st.floats(), tricky_text),
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(tricky_text, children, max_size=4)),
    max_leaves=12)


def accepted_or_refused(call, *refusals: type[BaseException]):
    """The call's result, or None when it refused with one of the tool's own errors."""
    try:
        return call()
    except refusals or (SimulatorError,):
        return None


# --- numbers and URLs --------------------------------------------------------------------------------

@FAST
@given(tricky_text)
def test_a_whole_number_is_ascii_digits_in_range_or_refused(text):
    from simulator.core.parsing import parse_whole

    value = accepted_or_refused(lambda: parse_whole(text, -5, 10**6), ValueError)
    if value is not None:
        assert -5 <= value <= 10**6 and text.strip().lstrip("+-").isascii()


@FAST
@given(tricky_text)
def test_a_number_is_finite_in_range_or_refused(text):
    from simulator.core.parsing import parse_number

    value = accepted_or_refused(lambda: parse_number(text, 0, 2, low_open=True), ValueError)
    if value is not None:
        assert math.isfinite(value) and 0 < value <= 2 and text.isascii()


@FAST
@given(st.one_of(tricky_text, st.builds(lambda h, p: f"http://{h}:{p}", tricky_text, tricky_text)))
def test_a_server_url_has_an_allowed_scheme_host_and_port_or_is_refused(text):
    from simulator.core.parsing import parse_server_url

    url = accepted_or_refused(lambda: parse_server_url(text), ValueError)
    if url is not None:
        assert url.startswith(("http://", "https://")) and url.isascii() and not any(c.isspace() for c in url)


SETTINGS = ["MONGODB_URI", "DB_NAME", "DB_TIMEOUT_MS", "DB_WRITE_CONCURRENCY", "OLLAMA_HOST", "OPENAI_BASE_URL",
            "SIM_LLAMACPP_URL", "SIM_LLAMACPP_PORT", "SIM_ENDPOINTS", "SIM_MODEL_ALIASES", "SIM_USER", "DB_USER",
            "DB_PASSWORD", "DB_CLUSTER_URL", "ANTHROPIC_BASE_URL", "SIM_MAX_REPLY_CHARS"]


@FAST
@given(st.dictionaries(st.sampled_from(SETTINGS), tricky_text, max_size=4))
def test_any_settings_load_or_are_one_config_error(values):
    from simulator.config import load_settings

    settings = accepted_or_refused(lambda: load_settings(values), ConfigError)
    if settings is not None and values.get("SIM_MAX_REPLY_CHARS", "").strip():
        assert 1_000 <= settings.max_reply_chars <= 2_000_000


# --- command-line options ----------------------------------------------------------------------------

COMMANDS = {"telephone": [], "chatroom": [], "backrooms": ["--lm", "ollama/sim-tiny", "ollama/sim-tiny"],
            "run": [str(SMALL)], "iterated-learning": []}


def flags_of(command: str) -> list[str]:
    from simulator.cli.main import build_parser

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices[command]
    return sorted(o for a in sub._actions for o in a.option_strings if o.startswith("--") and a.nargs != 0
                  and o not in ("--help", "--ray", "--workers", "--endpoints", "--template-file", "--texts"))


@FEW
@given(st.sampled_from(sorted(COMMANDS)), st.data())
def test_any_protocol_options_are_planned_or_refused_in_one_line(command, data):
    """argparse and the protocol's own checks, as the command runs them before it connects to anything."""
    from simulator.cli.main import build_parser
    from simulator.cli.protocol_commands import common_of, value_of
    from simulator.config import Settings
    from simulator.protocols import PROTOCOLS

    flags = data.draw(st.lists(st.sampled_from(flags_of(command)), max_size=4, unique=True))
    argv = [command, *COMMANDS[command]]
    for flag in flags:
        argv += [flag, data.draw(tricky_text.filter(lambda t: not t.startswith("-")))]
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        try:
            args = build_parser().parse_args(argv)
        except SystemExit as exc:
            assert exc.code == 2 and len(err.getvalue().strip().splitlines()) == 1, err.getvalue()
            return
    protocol = next(p for p in PROTOCOLS.values() if p.command == command)

    def plan():
        from simulator.actions import conversations as actions
        from simulator.actions.experiments import validate_document
        from simulator.batch.plan import check_plan
        from simulator.core.experiment_file import decode_experiment_file

        experiment = validate_document(decode_experiment_file(SMALL.read_bytes(), SMALL.name), SMALL.name) \
            if protocol.needs_experiment else None
        values = {o.name: value_of(o, getattr(args, o.name)) for o in protocol.asked()}
        planned = protocol.plan(values, common_of(args, Settings()), experiment)
        if not planned.axes:
            return actions.checked(planned.base)
        return check_plan(planned)

    accepted_or_refused(plan, ValidationError)


# --- input file formats --------------------------------------------------------------------------------

@FAST
@given(st.one_of(st.text(max_size=200), json_values.map(json.dumps)), st.booleans())
def test_any_data_file_text_loads_or_is_one_validation_error(text, is_json):
    from simulator.core.experiment_file import load_data

    accepted_or_refused(lambda: load_data(text, "f", is_json=is_json), ValidationError)


@FAST
@given(json_values)
def test_any_experiment_document_is_valid_or_one_validation_error(value):
    from simulator.actions.experiments import validate_document
    from simulator.core.experiment_file import decode_experiment_file

    raw = json.dumps(value).encode()
    accepted_or_refused(lambda: validate_document(decode_experiment_file(raw, "x.json"), "x.json"), ValidationError)


@FAST
@given(st.lists(st.one_of(json_values.map(json.dumps), tricky_text), min_size=1, max_size=3))
def test_any_backrooms_template_parses_or_is_one_validation_error(lines):
    from simulator.protocols.backrooms import parse_template

    accepted_or_refused(lambda: parse_template("\n".join(lines), "t.jsonl"), ValidationError)


@FAST
@given(json_values, st.lists(tricky_text.filter(lambda t: "/" not in t and t), min_size=4, max_size=4))
def test_any_published_chain_file_is_a_chain_or_one_validation_error(value, parts):
    from simulator.protocols.telephone import published_chain

    relative = f"{parts[0]}/{parts[1]}/{parts[2]}/seed_{parts[3]}/output0.json"
    chain = accepted_or_refused(lambda: published_chain(value, relative), ValidationError)
    if chain is not None:
        assert 0 <= chain[0].seed <= 2**31 - 1 and all(isinstance(t, str) for t in chain[2])


@FAST
@given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()),
       st.sampled_from(["texts.yaml", "texts.json", "rubric.yaml", "rubric.txt", "labels.csv"]))
def test_any_texts_rubric_or_label_file_is_read_or_one_validation_error(tmp_path_factory, raw, name):
    from simulator.actions.annotation import _row_label, read_csv
    from simulator.analysis.rubrics import read_rubric
    from simulator.protocols.telephone import read_texts

    path = tmp_path_factory.mktemp("doors") / name
    path.write_bytes(raw)
    if name.startswith("texts"):
        accepted_or_refused(lambda: read_texts(str(path)), ValidationError)
    elif name.startswith("rubric"):
        accepted_or_refused(lambda: read_rubric(path, "score"), ValidationError)
        accepted_or_refused(lambda: read_rubric(path, "outcome"), ValidationError)
    else:
        rows = accepted_or_refused(lambda: read_csv(path), ValidationError) or []
        for row in rows:
            accepted_or_refused(lambda: _row_label(row, "line", None, False), ValidationError)


@FAST
@given(st.one_of(tricky_text, st.lists(tricky_text, max_size=4).map(",".join)), st.booleans())
def test_any_assignments_parse_or_are_one_validation_error(text, integer):
    from simulator.core.assignments import parse_assignments

    values = accepted_or_refused(lambda: parse_assignments(text, "--agents", integer=integer), ValidationError)
    if values and integer:
        assert all(isinstance(v, int) and v >= 0 for v in values.values())


# --- what the store holds, what a reply may be, what a CSV cell may start with ---------------------------

@FAST
@given(json_values)
def test_the_store_encoding_round_trips_and_always_encodes(value):
    from simulator.store.storable import decode, encode

    stored = encode({"v": value})
    bson.encode(stored)  # never refused by the driver: no surrogates, no 65-bit integers
    assert "\x00" not in json.dumps(stored, ensure_ascii=False) and "\\u0000" not in json.dumps(stored)
    assert not any(isinstance(x, float) and not math.isfinite(x) for x in _leaves(stored))
    assert _same(decode(stored)["v"], value)


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    if isinstance(a, list) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, int) and isinstance(b, int) and not isinstance(a, bool) and not isinstance(b, bool):
        return a == b  # BSON hands a 64-bit integer back as Int64, an int
    return a == b and type(a) is type(b)


@FAST
@given(json_values, json_values)
def test_any_token_counts_become_sane_and_are_kept_raw(prompt, completion):
    from simulator.llm.bounds import MAX_TOKENS_PER_CALL, usage_counts

    counts = usage_counts(prompt, completion)
    assert all(isinstance(counts[k], int) and 0 <= counts[k] <= MAX_TOKENS_PER_CALL
               for k in ("prompt_tokens", "completion_tokens"))
    bson.encode(__import__("simulator.store.storable", fromlist=["encode"]).encode(counts))


@FAST
@given(json_values, st.integers(min_value=1_000, max_value=5_000))
def test_any_reply_is_bounded(text, limit):
    from simulator.llm.bounds import bounded
    from simulator.llm.types import Reply

    reply = bounded(Reply(text=text if isinstance(text, str) else json.dumps(text) * 200), limit)
    assert len(reply.text) <= limit and (reply.cut_from is None or reply.truncated)


@FAST
@given(st.one_of(tricky_text, st.sampled_from(["=1", "+1", "-1+1", "@x", "\t", "\r", "-0.5", "+3"])))
def test_no_csv_cell_starts_a_formula(text):
    from simulator.core.csv_cells import FORMULA_START, PLAIN_NUMBER, safe_cell

    cell = safe_cell(text)
    assert not cell.startswith(FORMULA_START) or PLAIN_NUMBER.fullmatch(cell)
    assert cell == text or cell == "'" + text
    out = io.StringIO()
    csv.writer(out).writerow([cell])
    assert next(csv.reader(io.StringIO(out.getvalue(), newline=""))) == [cell]


# --- through the real store ----------------------------------------------------------------------------

def test_any_text_goes_through_the_real_store_and_back(settings):
    """Random text of any code points (NUL, lone surrogates, U+FFFF) and any numbers, written through a
    repository's collection to FerretDB on PostgreSQL and read back as they were; or, for what FerretDB v1
    cannot hold in any form (an array directly in an array, a key with `$` or `.`), refused by name."""
    import asyncio

    from simulator.secrets import scrub_value
    from simulator.store import connect
    from simulator.store.scrubbed import ScrubbedCollection, StoreRefused

    loop = asyncio.new_event_loop()
    store = loop.run_until_complete(connect(settings))
    collection = ScrubbedCollection(store.db["probe"])
    counter = iter(range(10**6))

    @FEW
    @given(json_values)
    def round_trip(value):
        key = next(counter)
        stored = accepted_or_refused(lambda: loop.run_until_complete(collection.insert_one({"_id": key, "v": value})),
                                     StoreRefused)  # what FerretDB v1 cannot hold (an array in an array, a $ key)
        if stored is not None:
            back = loop.run_until_complete(collection.find_one({"_id": key}))
            assert _same(back["v"], scrub_value(value))  # as written: secrets shapes masked (simulator/secrets.py)

    try:
        round_trip()
    finally:
        loop.run_until_complete(store.client.drop_database(settings.db_name))
        loop.run_until_complete(store.close())
        loop.close()
