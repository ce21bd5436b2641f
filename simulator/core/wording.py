"""Role wording that agrees with the agent counts of a conversation.

A prompt written once must read right for 1 guard and for 2 guards: "the guard
watches his or her prisoner" / "the guards watch their prisoners". inflect supplies
plurals, possessives and number words; verbs take their base form ("watch").
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Mapping

_IRREGULAR_THIRD_PERSON = {"be": "is", "have": "has", "do": "does", "go": "goes"}
_IRREGULAR_PLURAL_VERB = {"be": "are"}


@lru_cache(maxsize=1)
def _engine():
    """inflect takes over a second to import, so only commands that render prompts pay for it."""
    import inflect

    return inflect.engine()


def third_person(base: str) -> str:
    """watch -> watches, try -> tries, say -> says, be -> is."""
    word = base.strip().lower()
    if word in _IRREGULAR_THIRD_PERSON:
        return _IRREGULAR_THIRD_PERSON[word]
    if word.endswith(("s", "x", "z", "ch", "sh", "o")):
        return word + "es"
    if len(word) > 1 and word.endswith("y") and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    return word + "s"


def number_word(n: int) -> str:
    return _engine().number_to_words(n)


@dataclass(frozen=True)
class Total:
    """A count as template variables: `{{ agents.num }}`, `{{ roles.num_word }}`."""

    count: int

    @property
    def plural(self) -> bool:
        return self.count != 1

    @property
    def num(self) -> int:
        return self.count

    @property
    def num_word(self) -> str:
        return number_word(self.count)

    def __str__(self) -> str:
        return str(self.count)


@dataclass(frozen=True)
class RoleWording(Total):
    """Template variables of one role (`{{ guard.noun }}`) for a given count."""

    name: str = ""

    @property
    def noun(self) -> str:
        return _engine().plural_noun(self.name, self.count) if self.plural else self.name

    @property
    def poss(self) -> str:
        noun = self.noun
        return f"{noun}'" if noun.endswith("s") else f"{noun}'s"

    @property
    def they(self) -> str:
        return "they" if self.plural else "he or she"

    @property
    def them(self) -> str:
        return "them" if self.plural else "him or her"

    @property
    def their(self) -> str:
        return "their" if self.plural else "his or her"

    def __str__(self) -> str:
        return self.noun

    def verb(self, base: str) -> str:
        """The verb agreeing with this role as subject: guard.verb('watch')."""
        word = str(base).strip().lower()
        if self.plural:
            return _IRREGULAR_PLURAL_VERB.get(word, word)
        return third_person(word)


ROLE_ATTRIBUTES = frozenset({"name", "count", "plural", "num", "num_word", "noun", "poss", "they", "them",
                             "their", "verb"})


TOTAL_ATTRIBUTES = frozenset({"count", "num", "num_word", "plural"})


def role_wordings(counts: Mapping[str, int]) -> dict[str, RoleWording]:
    return {name: RoleWording(count=n, name=name) for name, n in counts.items()}
