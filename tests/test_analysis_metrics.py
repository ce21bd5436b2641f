"""Text metrics and the toxicity scorer on texts whose scores a reader can check or predict."""

import math

import pytest

from simulator.analysis import AnalysisError
from simulator.analysis.metrics import (METRICS, SCALES, Similarity, embeddings_installed, gunning_fog,
                                        heuristic_syllables, length, positivity, similarity, syllables, toxicity,
                                        toxicity_scores)

INSULT = "You are a worthless piece of garbage, I will break your legs."
GREETING = "Good morning, may I have some yard time?"


def test_length_counts_characters_not_bytes():
    assert length("héllo") == 5.0
    assert length("") == 0.0


def test_gunning_fog_of_a_hand_counted_passage():
    # Sentence 1: The guard opened the heavy door (6 words). Sentence 2: Everybody in the yard was
    # immediately quiet (7 words). Complex (3+ syllables): ev-ery-bod-y (4), im-me-di-ate-ly (5).
    # fog = 0.4 * (13 / 2 + 100 * 2 / 13) = 8.7538...
    text = "The guard opened the heavy door. Everybody in the yard was immediately quiet."
    assert gunning_fog(text) == pytest.approx(0.4 * (13 / 2 + 100 * 2 / 13))


def test_gunning_fog_edges():
    assert gunning_fog("") == 0.0
    assert gunning_fog("... !!!") == 0.0
    assert gunning_fog("Hello there") == pytest.approx(0.4 * 2)  # one sentence without a full stop
    # "Mr. Smith waits." is two sentences to this splitter: 3 words, 2 sentences, no complex word.
    assert gunning_fog("Mr. Smith waits.") == pytest.approx(0.4 * 3 / 2)


def test_syllables_from_the_dictionary_and_the_fallback():
    assert [syllables(w) for w in ("the", "prisoner", "Everybody", "immediately", "don’t", "area")] == [1, 3, 4, 5, 1, 3]
    assert syllables("Zorblaxian") == 3  # not in the dictionary: vowel groups o, a, ia
    assert [heuristic_syllables(w) for w in ("make", "table", "agree", "jumped", "wanted", "makes", "boxes")] == [
        1, 2, 2, 1, 2, 1, 2]


def test_positivity_has_the_sign_of_the_sentence():
    assert positivity("I love this wonderful morning, thank you so much!") > 0.5
    assert positivity("I hate you, you are awful and cruel.") < -0.5
    assert positivity("The door is at the end of the corridor.") == 0.0
    assert -1 <= positivity("GREAT!!! :)") <= 1


def test_toxicity_ranks_an_insult_above_a_greeting():
    insult, greeting = toxicity(INSULT), toxicity(GREETING)
    assert insult == pytest.approx(0.95, abs=0.02)  # the figures, from the shipped model
    assert greeting == pytest.approx(0.24, abs=0.02)
    assert toxicity_scores([INSULT, GREETING]) == pytest.approx([insult, greeting])
    assert toxicity_scores([]) == []


def test_tfidf_similarity_by_hand():
    # Vocabulary guard, yard, door over the two texts; idf = 1 + ln(3 / (1 + df)): guard (in both) 1,
    # yard and door 1 + ln 1.5. Vectors (1, w, 0) and (1, 0, w): cosine 1 / (1 + w^2) = 0.336.
    w = 1 + math.log(1.5)
    tfidf = Similarity("tfidf")
    assert tfidf.backend == "tfidf"
    assert tfidf("guard yard", "guard door") == pytest.approx(1 / (1 + w * w))
    assert tfidf("the guard let him out", "an officer released a prisoner") == 0.0
    assert tfidf("!!!", "???") == 0.0  # no words at all


def test_similarity_of_a_text_with_itself_is_one_and_higher_than_with_an_unrelated_text():
    text = "The guard opened the yard gate at dawn."
    same = similarity(text, text)
    close = similarity(text, "At dawn the guard opened the gate of the yard.")
    unrelated = similarity(text, "Quarterly revenue grew by four percent.")
    assert same == 1.0
    assert unrelated < close < same


def test_similarity_backend_choice():
    assert Similarity().backend == ("embeddings" if embeddings_installed() else "tfidf")
    with pytest.raises(AnalysisError, match="unknown similarity backend"):
        Similarity("bm25")
    if not embeddings_installed():
        with pytest.raises(AnalysisError) as caught:
            Similarity("embeddings")
        assert "pip install -e '.[analysis]'" in caught.value.one_line()


def test_every_named_metric_gives_a_number_within_its_scale():
    assert set(METRICS) == set(SCALES)
    for name, metric in METRICS.items():
        low, high = SCALES[name]
        for text in (INSULT, GREETING, ""):
            value = metric(text)
            assert isinstance(value, float) and low <= value <= high, (name, text, value)
