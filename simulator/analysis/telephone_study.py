"""The telephone-game study's own metric definitions, so that its published attractors come out as published.

Perez et al., "When LLMs Play the Telephone Game" (code and chains: jeremyperez2/TelephoneGameLLM,
llm_culture/analysis/utils.py and run_initial_vs_last_story.py) measure a chain as follows, and
`simulator analyze telephone --metrics study` measures it the same way; the project's own definitions
(simulator/analysis/metrics) stay the default. Why it matters: on the published gpt-3.5 rephrase
chains the two Gunning fog implementations put the difficulty attractor three points apart.

- Text: every generation's output has its hashtags (`#word`) removed before it is measured; the
  initial text is measured as it is.
- difficulty: `textstat.gunning_fog` of textstat 0.7.3 with pyphen 0.15.0, the pair the study ran
  (later textstat releases fetch a pronunciation dictionary at first use, which fails offline, and
  count syllables differently). textstat's definition, quirks included: 0.4 x (words per sentence,
  rounded to 1 decimal, + 100 x difficult words / words), rounded to 2 decimals, where words are
  counted after punctuation is removed, sentences of at most two words are not counted, and a
  difficult word is one not on the Dale-Chall easy list with 3 or more pyphen syllables, each
  distinct word counted once. It gives the five published "Difficulty" texts their published values
  (11.57, 14.78, 22.9, 24.83, 32.24) exactly (tests/test_telephone_study.py).
- positivity: VADER's compound score as NLTK computes it (`nltk.sentiment.vader`), reading the
  lexicon that vaderSentiment 3.3.2 ships in its wheel: NLTK's own copy is a download
  (`nltk.download("vader_lexicon")`), which nothing here may do. With that lexicon NLTK's algorithm
  gives the five published "Positivity" texts their published values exactly; vaderSentiment's
  own algorithm (the project's positivity) differs on one of them (-0.9638 against -0.9738).
- length: characters. The study's length series starts at generation 1 (the initial text is not
  measured), so its attractor regresses the final length on generation 1's, not on the initial
  text's; `Fit(start=1)` says so.
- toxicity: Detoxify's "original" model. Its weights cannot be downloaded here, so the column comes
  only from a Detoxify or ToxiGen checkpoint on disk (`--local-classifier DIR`), and is otherwise
  left out with a note: never another classifier under the same name.

Fits, as the study's: OLS of the final value on the start value; position = intercept / (1 - slope)
unclipped for difficulty and length (the study writes `np.max(position, 0)`, which for a number
is the number itself), clipped to [-1, 1] for positivity and toxicity; no attractor (0, 0) when
|slope| >= 1. Its intermediate fit takes column 10 of its series: generation 10, or generation 11
for length. (Its p-value tests another null hypothesis; ours is reported, see attractors.py.)
"""

from __future__ import annotations

import functools
import re
import warnings
from importlib import metadata
from pathlib import Path
from typing import Any, Mapping

from simulator.analysis.telephone import Fit, Metric, MetricSet
from simulator.errors import ConfigError
from simulator.files import read_limited

HASHTAG = re.compile(r"#\w+")
PINNED = {"textstat": "0.7.3", "pyphen": "0.15.0"}
MAX_LEXICON_BYTES = 2_000_000
UNIT = (-1.0, 1.0)
TOXICITY_LABELS = ("toxicity", "toxic", "label_1")  # Detoxify's name, toxic-bert's, ToxiGen-RoBERTa's
NO_TOXICITY = ("toxicity left out: the study scored it with Detoxify, whose weights are not here; give "
               "--local-classifier DIR (a Detoxify or ToxiGen checkpoint on disk) to include it")


def without_hashtags(text: str) -> str:
    """The study's preprocessing of a generation's output: every `#word` removed, nothing else."""
    return HASHTAG.sub("", text)


def prepared(generation: int, text: str) -> str:
    """The text the study measures: the initial text as written, every later one without hashtags."""
    return text if generation == 0 else without_hashtags(text)


def difficulty(text: str) -> float:
    """Gunning fog exactly as textstat 0.7.3 with pyphen 0.15.0 computes it."""
    return float(_textstat().gunning_fog(text))


def positivity(text: str) -> float:
    """VADER compound as NLTK computes it, with the lexicon vaderSentiment ships."""
    return float(_vader().polarity_scores(text)["compound"])


def length(text: str) -> float:
    """Characters (of the text with its hashtags already removed)."""
    return float(len(text))


def toxicity_from(scores: Mapping[str, float], labels: list[str] | None = None) -> float:
    """The toxicity a Detoxify or ToxiGen checkpoint gives: its `toxicity`, `toxic` or `LABEL_1` score."""
    for label in TOXICITY_LABELS:
        if label in scores:
            return float(scores[label])
    shown = ", ".join(labels or sorted(scores)) or "none"
    raise ConfigError(f"the local classifier has no toxicity label (its labels: {shown})",
                      "give a Detoxify or ToxiGen checkpoint: labels toxicity, toxic or LABEL_1")


def study_metrics(toxicity: Metric | None = None) -> MetricSet:
    """The study's definitions; toxicity only when a local Detoxify/ToxiGen checkpoint scored the texts."""
    metrics: dict[str, Metric] = {"length": length, "difficulty": difficulty, "positivity": positivity}
    fits = {"length": Fit(1, None), "difficulty": Fit(0, None), "positivity": Fit(0, UNIT)}
    if toxicity is not None:
        metrics["toxicity"] = toxicity
        fits["toxicity"] = Fit(0, UNIT)
    return MetricSet("study", metrics, fits, prepared, () if toxicity is not None else (NO_TOXICITY,))


def check_versions() -> None:
    """textstat and pyphen as pinned, or one line saying what to install: other versions give other numbers."""
    for package, wanted in PINNED.items():
        try:
            found = metadata.version(package)
        except metadata.PackageNotFoundError:
            found = "none"
        if found != wanted:
            raise ConfigError(f"the study's difficulty needs {package} {wanted} (installed: {found})",
                              f"pip install {' '.join(f'{p}=={v}' for p, v in PINNED.items())}")


@functools.cache
def _textstat() -> Any:
    """textstat's module-level instance (its own caches live there), once its versions are checked."""
    check_versions()
    with warnings.catch_warnings():  # textstat 0.7.3 imports pkg_resources, which newer setuptools deprecate
        warnings.simplefilter("ignore")
        import textstat
    return textstat


@functools.cache
def _vader() -> Any:
    """NLTK's analyzer over the packaged lexicon (NLTK would otherwise load a downloaded copy)."""
    from nltk.sentiment.vader import SentimentIntensityAnalyzer, VaderConstants

    class PackagedLexicon(SentimentIntensityAnalyzer):
        def __init__(self, lexicon: str):  # NLTK's own __init__ only differs in where the text comes from
            self.lexicon_file = lexicon
            self.lexicon = self.make_lex_dict()
            self.constants = VaderConstants()

    return PackagedLexicon(_lexicon_text())


def _lexicon_text() -> str:
    import vaderSentiment

    path = Path(vaderSentiment.__file__).with_name("vader_lexicon.txt")
    return read_limited(path, MAX_LEXICON_BYTES, str(path)).decode("utf-8").rstrip("\n")
