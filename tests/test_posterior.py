"""The posterior over the 243 light-box hypotheses read from log-probabilities, checked against hand computations.

A handy identity for the hand computations: P(h) is a product over objects of q_o(h_o), where
q_o(s) = exp(log-probability of s at object o's status token), or exp(missing) when s is not
given. So with Z_o = sum_s q_o(s) and h_o = -sum_s q_o(s) ln q_o(s):
    sum_h P(h) = prod_o Z_o,    H = -sum_h P(h) ln P(h) = sum_o h_o * prod_{o' != o} Z_o'.
"""

from __future__ import annotations

import itertools
import math

import pytest

from simulator.analysis.posterior import (biased_mass, hypothesis_entropy, hypothesis_logprobs, hypothesis_mass,
                                          read_posterior, screen_probabilities, status_logprobs)
from simulator.protocols.iterated_learning import OBJECTS, STATES

LN3 = math.log(1 / 3)
E10 = math.exp(-10)  # the study's missing log-probability, as a probability: 4.539992976248485e-05
UNIFORM = [{"on": LN3, "off": LN3, "und": LN3}] * 5
ONE_HOT = [{"on": 0.0}] * 5  # every object certainly on; off and und not among the top log-probabilities


def test_uniform_gives_ln_243():
    # every hypothesis has P = (1/3)^5 = 1/243, and they sum to 1: H = 243 * (1/243) ln 243 = ln 243
    assert hypothesis_entropy(UNIFORM) == pytest.approx(math.log(243), rel=1e-13)
    assert hypothesis_entropy(UNIFORM) == pytest.approx(5.493061443340549, rel=1e-13)
    assert hypothesis_entropy(UNIFORM, renormalise=True) == pytest.approx(math.log(243), rel=1e-13)
    assert hypothesis_mass(UNIFORM) == pytest.approx(1.0, rel=1e-13)
    # biased: the 81 hypotheses with the screen off, 81/243 = 1/3
    assert biased_mass(UNIFORM) == pytest.approx(1 / 3, rel=1e-13)
    assert screen_probabilities(UNIFORM) == pytest.approx({"on": 1 / 3, "off": 1 / 3, "und": 1 / 3}, rel=1e-13)


def test_one_hot_with_a_very_negative_missing_gives_zero():
    # P(all on) = e^0 = 1 contributes -1 * 0 = 0; every other hypothesis has P = e^(-1000 k) = 0.0 in floats
    assert hypothesis_entropy(ONE_HOT, missing=-1000.0) == 0.0
    assert hypothesis_entropy(ONE_HOT, missing=-1000.0, renormalise=True) == 0.0
    assert biased_mass(ONE_HOT, missing=-1000.0) == 0.0


def test_one_hot_with_the_studys_missing_of_minus_10():
    # A hypothesis with k objects not on has ln P = -10 k and contributes -P ln P = 10 k e^(-10 k); there are
    # C(5, k) 2^k of them. H = sum_k C(5,k) 2^k 10k e^(-10k)
    #   = 100 e^-10 + 800 e^-20 + 2400 e^-30 + 3200 e^-40 + 1600 e^-50 = 0.004541642123742983
    by_hand = sum(math.comb(5, k) * 2 ** k * 10 * k * math.exp(-10 * k) for k in range(1, 6))
    assert by_hand == pytest.approx(100 * E10 + 800 * E10 ** 2 + 2400 * E10 ** 3 + 3200 * E10 ** 4 + 1600 * E10 ** 5)
    assert hypothesis_entropy(ONE_HOT) == pytest.approx(by_hand, rel=1e-12)
    assert hypothesis_entropy(ONE_HOT) == pytest.approx(0.004541642123742983, rel=1e-12)
    # the total mass is (1 + 2 e^-10)^5, a little over 1: not renormalised, as in the study
    z1 = 1 + 2 * E10
    assert hypothesis_mass(ONE_HOT) == pytest.approx(z1 ** 5, rel=1e-13)
    # renormalised: each object is (1, e^-10, e^-10) / z1, independent, so H = 5 (ln z1 + 2 e^-10 * 10 / z1)
    #   = 5 (9.0795737e-05 + 9.0791616e-04) = 0.00499355947
    assert hypothesis_entropy(ONE_HOT, renormalise=True) == pytest.approx(5 * (math.log(z1) + 20 * E10 / z1),
                                                                          rel=1e-12)
    assert hypothesis_entropy(ONE_HOT, renormalise=True) == pytest.approx(0.004993559470282215, rel=1e-10)
    # biased (screen off): q_screen(off) = e^-10 times the other four objects' z1: e^-10 z1^4; renormalised e^-10/z1
    assert biased_mass(ONE_HOT) == pytest.approx(E10 * z1 ** 4, rel=1e-12)
    assert biased_mass(ONE_HOT, renormalise=True) == pytest.approx(E10 / z1, rel=1e-12)
    # the study's P(screen) counts 0, not e^-10, for a status not among the top ones
    assert screen_probabilities(ONE_HOT) == {"on": 1.0, "off": 0.0, "und": 0.0}


def test_a_missing_status_counts_missing():
    # A, B, C, D uniform; the screen has only "on" given, at ln(1/2): off and und count -10 there.
    # P(h) = (1/81) q(screen), q = (1/2, e^-10, e^-10); the 81 combinations of A..D each have P = q/81:
    # H = sum_s q(s) (ln 81 - ln q(s)) = 1/2 (ln 81 + ln 2) + 2 e^-10 (ln 81 + 10)
    #   = 2.5437981 + 0.0013070 = 2.5451051
    given = [*UNIFORM[:4], {"on": math.log(0.5)}]
    by_hand = 0.5 * (math.log(81) + math.log(2)) + 2 * E10 * (math.log(81) + 10)
    assert hypothesis_entropy(given) == pytest.approx(by_hand, rel=1e-12)
    assert hypothesis_entropy(given) == pytest.approx(2.5451051, abs=1e-7)
    assert hypothesis_mass(given) == pytest.approx(0.5 + 2 * E10, rel=1e-12)
    # renormalised: ln 81 for A..D plus the entropy of (1/2, e^-10, e^-10) / (1/2 + 2 e^-10)
    z = 0.5 + 2 * E10
    screen = [0.5 / z, E10 / z, E10 / z]
    assert hypothesis_entropy(given, renormalise=True) == pytest.approx(
        math.log(81) - sum(p * math.log(p) for p in screen), rel=1e-12)
    # biased: q(off) = e^-10 times A..D's mass 1; renormalised e^-10 / z
    assert biased_mass(given) == pytest.approx(E10, rel=1e-12)
    assert biased_mass(given, renormalise=True) == pytest.approx(E10 / z, rel=1e-12)
    assert screen_probabilities(given) == {"on": 0.5, "off": 0.0, "und": 0.0}
    assert screen_probabilities(given, renormalise=True) == {"on": 1.0, "off": 0.0, "und": 0.0}
    # and a missing value of our own: -20 for the two absent screen statuses
    assert hypothesis_entropy(given, missing=-20.0) == pytest.approx(
        0.5 * (math.log(81) + math.log(2)) + 2 * math.exp(-20) * (math.log(81) + 20), rel=1e-12)


def test_each_hypothesis_sums_its_objects_statuses_in_object_order():
    given = [{"on": -0.1, "off": -2.0}, {"off": -0.3}, {"und": -0.7, "on": -1.0}, {"on": -0.2}, {"off": -0.05}]
    table = hypothesis_logprobs(given)
    assert len(table) == 243 and set(table) == set(itertools.product(STATES, repeat=5))
    # (on, off, und, on, off): -0.1 - 0.3 - 0.7 - 0.2 - 0.05 = -1.35
    assert table[("on", "off", "und", "on", "off")] == pytest.approx(-1.35)
    # (off, on, off, und, screen on): -2.0 + (-10) + (-10) + (-10) + (-10) = -42
    assert table[("off", "on", "off", "und", "on")] == pytest.approx(-42.0)
    renormalised = hypothesis_logprobs(given, renormalise=True)
    assert sum(math.exp(v) for v in renormalised.values()) == pytest.approx(1.0, rel=1e-12)
    with pytest.raises(ValueError):
        hypothesis_entropy(given[:4])


# --- finding the status tokens ----------------------------------------------------------

def tok(text, logprob=0.0, top=()):
    return {"token": text, "logprob": logprob, "top": [{"token": t, "logprob": lp} for t, lp in top]}


def spelled(tokens):
    return "".join(t["token"] for t in tokens)


def gpt_like(rule, tops, order=OBJECTS):
    """GPT's way (the study's i+3): '{"', 'A', '":', ' "', 'on', '",', ' "', 'B', ... '"}'."""
    tokens = [tok('{"')]
    for i, obj in enumerate(order):
        chosen = rule[obj]
        tokens += [tok(obj), tok('":'), tok(' "'), tok(chosen, dict(tops[obj])[chosen], tops[obj])]
        tokens += [tok('",'), tok(' "')] if i < len(order) - 1 else [tok('"}')]
    return tokens


RULE = {"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}
TOPS = {"A": [("on", -0.1), ("off", -2.5), ("und", -3.0), (" on", -4.0), ("ond", -9.0)],
        "B": [("off", -0.2), ("on", -1.9)],
        "C": [("und", -0.05), ("unknown", -4.0), ("on", -3.5)],
        "D": [("off", -0.01), ("maybe", -6.0), (' "', -7.0)],
        "screen": [("on", -0.3), ("off", -1.4), ("und", -5.0)]}


def test_the_status_token_of_a_gpt_like_reply():
    tokens = gpt_like(RULE, TOPS)
    assert spelled(tokens) == '{"A": "on", "B": "off", "C": "und", "D": "off", "screen": "on"}'
    got = status_logprobs(tokens, spelled(tokens))
    assert got == [
        # ' on' is another way to write on: ln(e^-0.1 + e^-4.0); 'ond' is no status
        {"on": pytest.approx(math.log(math.exp(-0.1) + math.exp(-4.0))), "off": -2.5, "und": -3.0},
        {"on": -1.9, "off": -0.2},
        {"on": -3.5, "und": pytest.approx(math.log(math.exp(-0.05) + math.exp(-4.0)))},  # unknown reads as und
        {"off": -0.01},  # 'maybe' and a bare quote are no status
        {"on": -0.3, "off": -1.4, "und": -5.0}]


def test_keys_in_another_order_and_case_come_back_in_object_order():
    order = ("screen", "D", "A", "C", "B")
    tokens = gpt_like(RULE, TOPS, order)
    tokens[1 + 6 * 0]["token"] = "Screen"  # the protocol's parser takes keys in any case (6 tokens per key)
    tokens[1 + 6 * 2]["token"] = "a"
    text = spelled(tokens)
    assert text.startswith('{"Screen": "on", "D": "off", "a": "on"')
    assert status_logprobs(tokens, text) == status_logprobs(gpt_like(RULE, TOPS), spelled(gpt_like(RULE, TOPS)))


def test_quotes_merged_into_the_value_and_capitals_count():
    # a tokenizer writing ' "on' as one token, with '"Off' and ' "undetermined' as alternatives
    tokens = [tok('{"')]
    for i, obj in enumerate(OBJECTS):
        tokens += [tok(obj), tok('":'), tok(' "on', -0.2, [(' "on', -0.2), ('"Off', -1.8), (' "undetermined', -3.0),
                                                            (' "On', -4.0)]),
                   tok('",' if i < 4 else '"}')]
        if i < 4:
            tokens.append(tok(' "'))
    text = spelled(tokens)
    assert text == '{"A": "on", "B": "on", "C": "on", "D": "on", "screen": "on"}'
    on = math.log(math.exp(-0.2) + math.exp(-4.0))
    assert status_logprobs(tokens, text) == [{"on": pytest.approx(on), "off": -1.8, "und": -3.0}] * 5


def test_a_tokenizer_that_splits_und_into_pieces():
    # '"u' + 'nd' for C: the letters 'u' start only und's words, so the first piece's alternatives decide
    tokens = gpt_like(RULE, TOPS)
    c = next(i for i, t in enumerate(tokens) if t["token"] == "C") + 2  # the ' "' before the value
    tokens[c:c + 2] = [tok(' "u', -0.4, [(' "u', -0.4), (' "on', -1.5), (' "o', -2.0), (' "un', -3.0)]), tok("nd")]
    text = spelled(tokens)
    assert '"C": "und"' in text
    got = status_logprobs(tokens, text)
    # ' "o' could be on or off and is not what was written: dropped; ' "un' is und too
    assert got[2] == {"on": -1.5, "und": pytest.approx(math.log(math.exp(-0.4) + math.exp(-3.0)))}
    assert got[0] == status_logprobs(gpt_like(RULE, TOPS), spelled(gpt_like(RULE, TOPS)))[0]


def test_an_ambiguous_first_piece_is_split_by_the_next_position():
    # D written 'o' + 'ff': P(off) = P('o') P('ff' | 'o'), P(on) = P('o') P('n' | 'o'); 'und' at the first position
    tokens = gpt_like(RULE, TOPS)
    d = next(i for i, t in enumerate(tokens) if t["token"] == "D") + 3
    tokens[d:d + 1] = [tok("o", -0.05, [("o", -0.05), ("und", -3.0)]), tok("ff", -0.5, [("ff", -0.5), ("n", -1.0),
                                                                                      ("x", -2.0)])]
    text = spelled(tokens)
    assert '"D": "off"' in text
    assert status_logprobs(tokens, text)[3] == {"on": pytest.approx(-1.05), "off": pytest.approx(-0.55), "und": -3.0}


def test_the_generated_token_counts_when_it_is_not_among_the_top_ones():
    # sampled at a temperature, und was generated at -4.2 though the top 2 were on and off
    tops = {**TOPS, "C": [("on", -0.3), ("off", -1.5)]}
    tokens = gpt_like(RULE, TOPS)
    c = next(i for i, t in enumerate(tokens) if t["token"] == "C") + 3
    tokens[c] = tok("und", -4.2, tops["C"])
    assert status_logprobs(tokens, spelled(tokens))[2] == {"on": -0.3, "off": -1.5, "und": -4.2}


def test_a_nested_rule_with_lowercase_keys_is_read():
    tokens = [tok('{"rule": {')]
    for i, obj in enumerate(OBJECTS):
        tokens += [tok('"' + obj.lower() + '": "'), tok(RULE[obj], -0.1, [(RULE[obj], -0.1)]),
                   tok('", ' if i < 4 else '"}}')]
    text = "Here it is:\n```json\n" + spelled(tokens) + "\n```"
    got = status_logprobs([tok("Here it is:\n```json\n"), *tokens, tok("\n```")], text)
    assert got == [{RULE[o]: -0.1} for o in OBJECTS]


def test_none_when_the_statuses_are_not_all_there():
    tokens = gpt_like(RULE, TOPS)
    text = spelled(tokens)
    assert status_logprobs(None, text) is None and status_logprobs([], text) is None
    cut = tokens[:-6]  # the screen's key and value are not there
    assert status_logprobs(cut, spelled(cut)) is None
    assert status_logprobs(tokens, "I think the screen matters.") is None  # the text is not a rule
    other = text.replace('"screen": "on"', '"screen": "off"')  # the tokens spell another rule than the text
    assert status_logprobs(tokens, other) is None
    bad = gpt_like({**RULE, "B": "maybe"}, {**TOPS, "B": [("maybe", -0.1)]})
    assert status_logprobs(bad, spelled(bad)) is None


def test_read_posterior_of_a_uniform_reply_is_ln_243():
    tops = {o: [(s, LN3) for s in STATES] for o in OBJECTS}
    tokens = gpt_like(RULE, tops)
    read = read_posterior(tokens, spelled(tokens))
    assert read.entropy == pytest.approx(math.log(243), rel=1e-13)
    assert read.biased_mass == pytest.approx(1 / 3) and read.mass == pytest.approx(1.0)
    assert read.screen == pytest.approx({s: 1 / 3 for s in STATES})
    assert read_posterior(None, spelled(tokens)) is None
