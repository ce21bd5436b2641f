"""Prompt templates: a small, checked subset of jinja2, rendered in its sandbox.

Templates come from other people's experiments, so before anything is stored each
one is parsed and walked: only variables we offer, their known attributes, if/else,
comparisons, `~` and a few text filters are allowed. No loops, no arithmetic, no
access to anything else; rendering then runs in SandboxedEnvironment with
StrictUndefined as a second wall.

The original tool's tags (`<GUARD_NOUN>`, `<GUARD_VERB_WATCH>`, `<AGENTS_NUM>`) are
translated into the equivalent expressions first, so its experiments come over as is.
"""

from __future__ import annotations

import re
from functools import lru_cache
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from jinja2 import StrictUndefined, TemplateSyntaxError, nodes
from jinja2.exceptions import SecurityError, UndefinedError
from jinja2.sandbox import SandboxedEnvironment

from simulator.core.wording import ROLE_ATTRIBUTES, TOTAL_ATTRIBUTES

ALLOWED_FILTERS = frozenset({"capitalize", "upper", "lower", "title", "trim"})
TOTAL_NAMES = ("agents", "roles")
AGENT_ATTRIBUTES = frozenset({"name", "role"})
MAX_DEPTH = 40  # nodes deep; deeper templates exhaust jinja's parser or Python's compiler
_COMPARISONS = frozenset({"eq", "ne", "gt", "gteq", "lt", "lteq"})
_LEGACY_TAG = re.compile(r"<([A-Z][A-Z0-9_]*)>")

_environment = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, keep_trailing_newline=True)


class TemplateProblem(ValueError):
    """A template that may not be stored; the message says what and where in it."""


@dataclass(frozen=True)
class Vocabulary:
    """What a template may name: role variables, totals, the agent, variant choices."""

    roles: tuple[str, ...]
    variants: Mapping[str, tuple[str, ...]]
    with_agent: bool = True

    def names(self) -> set[str]:
        names = set(self.roles) | set(TOTAL_NAMES) | {"variant"}
        if self.with_agent:
            names |= {"agent", "role"}
        return names

    def attributes(self, name: str) -> frozenset[str] | None:
        if name in self.roles or name == "role":
            return ROLE_ATTRIBUTES
        if name in TOTAL_NAMES:
            return TOTAL_ATTRIBUTES
        if name == "agent":
            return AGENT_ATTRIBUTES
        if name == "variant":
            return frozenset(self.variants)
        return None


def translate_legacy_tags(text: str, roles: Iterable[str]) -> str:
    """`<GUARD_NOUN>` -> `{{ guard.noun }}`; an unknown tag is a TemplateProblem."""
    by_upper = {r.upper(): r for r in roles}

    def replace(match: re.Match[str]) -> str:
        tag = match.group(1)
        if tag in ("AGENTS_NUM", "ROLES_NUM"):
            return "{{ %s.num }}" % tag[:-4].lower()
        for upper, role in sorted(by_upper.items(), key=lambda kv: -len(kv[0])):
            if not tag.startswith(upper + "_"):
                continue
            rest = tag[len(upper) + 1:]
            if rest in ("NOUN", "POSS", "NUM"):
                return "{{ %s.%s }}" % (role, rest.lower())
            if rest.startswith("VERB_") and re.fullmatch(r"[A-Z]+", rest[5:]):
                return "{{ %s.verb('%s') }}" % (role, rest[5:].lower())
        raise TemplateProblem(f"unknown tag <{tag}> (known: <ROLE_NOUN>, <ROLE_POSS>, <ROLE_NUM>, "
                              f"<ROLE_VERB_X>, <AGENTS_NUM>, <ROLES_NUM> for roles {', '.join(by_upper) or 'none'})")

    return _LEGACY_TAG.sub(replace, text)


def check_template(text: str, vocabulary: Vocabulary) -> str:
    """Translate legacy tags, parse, and walk the tree; returns the jinja source."""
    source = translate_legacy_tags(text, vocabulary.roles)
    try:
        tree = _environment.parse(source)
    except TemplateSyntaxError as exc:
        raise TemplateProblem(f"template syntax error on line {exc.lineno}: {exc.message}") from None
    except RecursionError:
        raise TemplateProblem(f"template nested more than the parser allows (keep it under {MAX_DEPTH} levels)") \
            from None
    _Checker(vocabulary).visit(tree)
    return source


class _Checker:
    def __init__(self, vocabulary: Vocabulary):
        self.vocabulary = vocabulary
        self.depth = 0

    def visit(self, node: nodes.Node) -> None:
        self.depth += 1
        try:
            if self.depth > MAX_DEPTH:
                raise TemplateProblem(f"template nested more than {MAX_DEPTH} levels deep; simplify it")
            self._dispatch(node)
        finally:
            self.depth -= 1

    def _dispatch(self, node: nodes.Node) -> None:
        method = getattr(self, f"visit_{type(node).__name__}", None)
        if method is None:
            raise TemplateProblem(f"template uses {_describe(node)}, which prompts may not use "
                                  f"(allowed: variables, if/else, comparisons, ~ and the filters "
                                  f"{', '.join(sorted(ALLOWED_FILTERS))})")
        method(node)

    def visit_children(self, node: nodes.Node) -> None:
        for child in node.iter_child_nodes():
            self.visit(child)

    visit_Template = visit_Output = visit_If = visit_CondExpr = visit_And = visit_Or = visit_Not = visit_children
    visit_Concat = visit_Compare = visit_children

    def visit_TemplateData(self, node: nodes.TemplateData) -> None:
        pass

    def visit_Const(self, node: nodes.Const) -> None:
        if not isinstance(node.value, (str, int, float, bool)) and node.value is not None:
            raise TemplateProblem(f"template uses a constant of type {type(node.value).__name__}")

    def visit_Operand(self, node: nodes.Operand) -> None:
        if node.op not in _COMPARISONS:
            raise TemplateProblem(f"template uses the operator {node.op!r}")
        self.visit(node.expr)

    def visit_Name(self, node: nodes.Name) -> None:
        if node.ctx != "load":
            raise TemplateProblem(f"template assigns to {node.name!r}")
        if node.name not in self.vocabulary.names():
            known = ", ".join(sorted(self.vocabulary.names()))
            raise TemplateProblem(f"unknown variable {node.name!r} (known: {known})")

    def visit_Getattr(self, node: nodes.Getattr) -> None:
        if not isinstance(node.node, nodes.Name):
            raise TemplateProblem(f"template reaches .{node.attr} of an expression; only name.attribute is allowed")
        self.visit_Name(node.node)
        name, allowed = node.node.name, self.vocabulary.attributes(node.node.name) or frozenset()
        if node.attr == "verb" and "verb" in allowed:
            raise TemplateProblem(f"{name}.verb must be called with a verb, e.g. {name}.verb('watch')")
        if node.attr not in allowed:
            raise TemplateProblem(f"unknown attribute {name}.{node.attr} (known: {', '.join(sorted(allowed)) or 'none'})")

    def visit_Call(self, node: nodes.Call) -> None:
        target = node.node
        if not (isinstance(target, nodes.Getattr) and target.attr == "verb" and isinstance(target.node, nodes.Name)):
            raise TemplateProblem("template calls something other than ROLE.verb('...')")
        self.visit_Name(target.node)
        if "verb" not in (self.vocabulary.attributes(target.node.name) or ()):
            raise TemplateProblem(f"{target.node.name} has no verb()")
        valid = (len(node.args) == 1 and not node.kwargs and node.dyn_args is None and node.dyn_kwargs is None
                 and isinstance(node.args[0], nodes.Const) and isinstance(node.args[0].value, str)
                 and re.fullmatch(r"[A-Za-z]+", node.args[0].value))
        if not valid:
            raise TemplateProblem(f"{target.node.name}.verb takes one quoted word, e.g. verb('watch')")

    def visit_Filter(self, node: nodes.Filter) -> None:
        if node.name not in ALLOWED_FILTERS or node.args or node.kwargs:
            raise TemplateProblem(f"template uses the filter {node.name!r} "
                                  f"(allowed: {', '.join(sorted(ALLOWED_FILTERS))}, without arguments)")
        if node.node is not None:
            self.visit(node.node)


def _describe(node: nodes.Node) -> str:
    names = {"For": "a for loop", "Macro": "a macro", "Assign": "an assignment", "Include": "an include",
             "Import": "an import", "FromImport": "an import", "Extends": "extends", "Block": "a block",
             "CallBlock": "a call block", "FilterBlock": "a filter block", "With": "a with block",
             "Getitem": "subscripting ([...])", "Slice": "slicing", "List": "a list", "Dict": "a dict",
             "Tuple": "a tuple", "Test": "a test (is ...)"}
    kind = type(node).__name__
    if kind in names:
        return names[kind]
    if isinstance(node, nodes.BinExpr) or isinstance(node, nodes.UnaryExpr):
        return f"the operator {getattr(node, 'operator', kind)!r}"
    return f"the construct {kind}"


@lru_cache(maxsize=2048)
def _compiled(source: str):
    """Compiling is the slow part of rendering; a batch renders the same templates many times."""
    return _environment.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render a checked template in the sandbox; failures become TemplateProblem."""
    try:
        return _compiled(source).render(**context)
    except (UndefinedError, SecurityError, TemplateSyntaxError) as exc:
        raise TemplateProblem(f"template failed to render: {exc}") from None
    except (TypeError, ValueError, SyntaxError, RecursionError, MemoryError) as exc:
        # e.g. `guard.num > 'many'`: checked names, but an operation Python refuses
        raise TemplateProblem(f"template failed to render: {type(exc).__name__}: {str(exc)[:200]}") from None
