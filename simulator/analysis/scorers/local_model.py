"""A local transformers text classifier, given by the path of its folder: an optional extra.

For researchers who have ToxiGen-RoBERTa (tomh/toxigen_roberta) or one of Detoxify's
Hugging Face checkpoints (unitary/toxic-bert, unitary/unbiased-toxic-roberta) on disk. It
needs `pip install 'llm-interaction-simulator[local-classifier]'` (transformers and torch, several GB),
which is why it is not a default dependency. The model is read from the folder only
(local_files_only): nothing is downloaded.

Every label the model has becomes a score under its own name, lower-cased (ToxiGen-RoBERTa
names its labels LABEL_0 / LABEL_1, 1 being toxic; toxic-bert names them toxic, insult, ...).
Single-label models get a softmax over their labels, multi-label ones (Detoxify's) a sigmoid
per label, as their configuration says.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Sequence

from simulator.analysis.scorers.base import Scored, checked_scores
from simulator.errors import ConfigError

EXTRA = "pip install 'llm-interaction-simulator[local-classifier]'"


class LocalClassifier:
    batch_size = 32

    def __init__(self, path: Path, name: str = "local"):
        self.path, self.name = Path(path).expanduser(), name
        if not (self.path / "config.json").is_file():
            raise ConfigError(f"{self.path} is not a transformers model folder (no config.json)",
                              "give the folder that holds config.json and the weights")
        self._pipeline: Any = None

    def _load(self) -> Any:
        try:
            from transformers import pipeline
        except ImportError:
            raise ConfigError("the local classifier needs transformers and torch", EXTRA) from None
        classifier = pipeline("text-classification", model=str(self.path), tokenizer=str(self.path), top_k=None,
                              model_kwargs={"local_files_only": True})
        multi = getattr(classifier.model.config, "problem_type", None) == "multi_label_classification"
        return lambda texts: classifier(list(texts), truncation=True,
                                        function_to_apply="sigmoid" if multi else "softmax")

    async def score(self, texts: Sequence[str]) -> list[Scored]:
        if self._pipeline is None:
            self._pipeline = await asyncio.to_thread(self._load)
        results = await asyncio.to_thread(self._pipeline, texts)
        return [checked_scores({label_name(r["label"]): float(r["score"]) for r in labels}) for labels in results]


def label_name(label: str) -> str:
    return str(label).strip().lower().replace(".", "_").replace(" ", "_")
