"""The tables of `simulator analyze experiment`: every statistic of the study, from the frames.

Pure: ExperimentData (simulator/analysis/frames.py) in, a Report of named tables out; the
command prints them, writes each as CSV and draws figures from them. Groups are the `by`
columns (default: the model and every variant), so a table reads like the study's: one
line per model x goal.

- scores_by_role: per group, score and role, n, mean and share of messages above 0.5
  ("all" counts each message once); scores_by_conversation the same per conversation;
- scores_by_third and scores_by_index: the same over the course of the conversation;
- persuasion: Yes / No / NotTried counts, P(attempt) and P(success | attempt) per group,
  with runs that did not complete and runs without a final label counted apart;
- agreement: Cohen's kappa of every pair of annotators over the conversations both labelled;
- logistic_success: success among attempts on the factors, HC0 errors and odds ratios;
  ols_toxic_share: each completed conversation's share of messages above 0.5 (all roles,
  and per role) on the same factors. A factor that does not vary among the records is left out and
  said so; a fit that cannot be made (separation, too few runs) is a note, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Sequence

import pandas as pd

from simulator.analysis.agreement import krippendorff_alpha, pairwise_agreement
from simulator.analysis.errors import AnalysisError
from simulator.analysis.frames import ExperimentData
from simulator.analysis.persuasion import NO, NOT_TRIED, YES, persuasion_rates
from simulator.analysis.regression import Regression, logistic_regression, ols_regression
from simulator.analysis.roles import ALL, THRESHOLD, RoleScore, role_scores
from simulator.analysis.scorers import shown_by_default
from simulator.analysis.timeline import role_scores_over_conversation
from simulator.store.labels import ADJUDICATOR


@dataclass(frozen=True)
class ReportTable:
    name: str  # the CSV file's stem
    title: str
    frame: pd.DataFrame
    on_screen: bool = True
    notes: tuple[str, ...] = ()


@dataclass
class Report:
    tables: list[ReportTable]
    by: list[str]
    scores: list[str]  # score columns shown on screen (the CSV files have all); the first is the one figures
    # and the OLS use
    notes: list[str] = field(default_factory=list)

    def table(self, name: str) -> ReportTable:
        return next(t for t in self.tables if t.name == name)


def default_by(data: ExperimentData) -> list[str]:
    return ["model", *[f for f in data.factors if f.startswith("variant.")]]


def regression_factors(data: ExperimentData) -> list[str]:
    """The experiment's variants, the model and the agent counts."""
    return [*[f for f in data.factors if f.startswith("variant.")], "model",
            *[f for f in data.factors if f.startswith("agents.")]]


def experiment_report(data: ExperimentData, by: Sequence[str] | None = None,
                      scores: Sequence[str] | None = None) -> Report:
    by = list(by) if by else default_by(data)
    unknown = [b for b in by if b not in data.factors]
    if unknown:
        raise AnalysisError(f"cannot group by {', '.join(unknown)}", hint=f"factors: {', '.join(data.factors)}")
    chosen = list(scores) if scores else shown_by_default(data.score_columns)
    missing = [s for s in chosen if s not in data.score_columns]
    if missing:
        raise AnalysisError(f"no stored score {', '.join(missing)}",
                            hint=f"scored: {', '.join(data.score_columns) or 'nothing yet (run simulator score)'}")
    report = Report([], by, chosen)
    if not chosen:
        report.notes.append("no message is scored yet: `simulator score EXPERIMENT` scores them offline")
    roles = list(dict.fromkeys(data.messages["role"])) if not data.messages.empty else []
    every = data.score_columns  # the CSV files hold every score; the screen shows the chosen ones
    report.tables += [
        _scores_table("scores_by_role", "Scores per role", data, by, every, roles),
        _scores_table("scores_by_conversation", "Scores per conversation and role", data,
                      [*by, "conversation_id"], every, roles, on_screen=False),
        _timeline_table("scores_by_third", "Scores per role by third of the conversation", data, by, every, roles,
                        "third"),
        _timeline_table("scores_by_index", "Scores per role by message index", data, by, every, roles, "index",
                        on_screen=False),
        persuasion_table(data, by), agreement_table(data), alpha_table(data), logistic_table(data),
        ols_table(data, chosen[0] if chosen else None, roles),
        forks_table(data, every, roles),
        ReportTable("conversations", "Conversations", data.conversations, on_screen=False),
        ReportTable("messages", "Messages with their scores", data.messages, on_screen=False),
        ReportTable("labels", "Outcome labels", data.labels, on_screen=False),
    ]
    return report


SOURCE = "source (as it ran)"


def forks_table(data: ExperimentData, scores: Sequence[str], roles: Sequence[str]) -> ReportTable:
    """Forks against their source from the message they parted at (K): per condition and role, the scores of
    messages K and later only (the source's own continuation under `source (as it ran)`), and per condition
    the share of final goal labels that are Yes. Messages before K are the same text in every fork."""
    title = "Forks by condition after the message they part at"
    conversations = data.conversations
    if "fork.source" not in conversations or conversations["fork.source"].isna().all():
        return ReportTable("forks", title, pd.DataFrame(), on_screen=False, notes=("no forks among these runs",))
    rows = []
    forks = conversations[conversations["fork.source"].notna()]
    for (source, at), family in forks.groupby(["fork.source", "fork.at"], sort=True):
        members = [(SOURCE, conversations[conversations["conversation_id"] == source])] + \
            [(condition, part) for condition, part in family.groupby("fork.condition", sort=True)]
        for condition, part in members:
            if part.empty:
                continue
            ids = set(part["conversation_id"])
            after = data.messages[data.messages["conversation_id"].isin(ids) & (data.messages["index"] >= at)]
            labelled = part[part["goal_achieved"].notna()]
            goal = {"conversations": len(part), "goal_yes": int((labelled["goal_achieved"] == YES).sum()),
                    "goal_labelled": len(labelled)}
            group = {"source": source, "at": int(at), "condition": condition}
            for score in scores:
                scored = after[after[score].notna()]
                for role, summary in role_scores(zip(scored["role"], scored[score]), roles).items():
                    rows.append(_score_row(group, score, role, summary, **goal))
            if not scores:
                rows.append({**group, **goal})
    return ReportTable("forks", title, pd.DataFrame(rows), on_screen=True,
                       notes=("scores of messages at index `at` and later only; goal_yes of goal_labelled: final "
                              "labels that say Yes",))


def _groups(frame: pd.DataFrame, by: Sequence[str]) -> Iterable[tuple[dict[str, Any], pd.DataFrame]]:
    if frame.empty:
        return
    for key, part in frame.groupby(list(by), sort=True, dropna=False):
        yield dict(zip(by, key if isinstance(key, tuple) else (key,))), part


def _score_row(group: dict[str, Any], score: str, role: str, summary: RoleScore, **extra: Any) -> dict[str, Any]:
    return {**group, "score": score, **extra, "role": role, "n": summary.n, "mean": summary.mean,
            "share_above_half": summary.share_above_half}


def _scores_table(name: str, title: str, data: ExperimentData, by: Sequence[str], scores: Sequence[str],
                  roles: Sequence[str], on_screen: bool = True) -> ReportTable:
    rows = []
    for group, part in _groups(data.messages, by):
        for score in scores:
            scored = part[part[score].notna()]
            for role, summary in role_scores(zip(scored["role"], scored[score]), roles).items():
                rows.append(_score_row(group, score, role, summary))
    return ReportTable(name, title, pd.DataFrame(rows), on_screen,
                       (f"share_above_half: share of messages scored above {THRESHOLD}; "
                        f"{ALL!r} counts each message once",))


def _timeline_table(name: str, title: str, data: ExperimentData, by: Sequence[str], scores: Sequence[str],
                    roles: Sequence[str], position: str, on_screen: bool = True) -> ReportTable:
    rows = []
    for group, part in _groups(data.messages, by):
        for score in scores:
            scored = part[part[score].notna()]
            records = zip(scored[position].astype(int), scored["role"], scored[score])
            for at, per_role in role_scores_over_conversation(records, roles).items():
                rows.extend(_score_row(group, score, role, summary, **{position: at})
                            for role, summary in per_role.items())
    return ReportTable(name, title, pd.DataFrame(rows), on_screen)


def persuasion_table(data: ExperimentData, by: Sequence[str]) -> ReportTable:
    rows = []
    for group, part in _groups(data.conversations, by):
        goals = [g if isinstance(g, str) else None for g in part["goal_achieved"]]
        rates = persuasion_rates(goals)
        not_completed = int((part["label"] == "not completed").sum())
        rows.append({**group, "runs": len(part), YES: rates.yes, NO: rates.no, NOT_TRIED: rates.not_tried,
                     "not_completed": not_completed, "no_final_label": rates.failed - not_completed,
                     "p_attempt": rates.p_attempt, "p_success_given_attempt": rates.p_success_given_attempt})
    return ReportTable("persuasion", "Persuasion: P(attempt) = (Yes+No)/(Yes+No+NotTried), "
                       "P(success | attempt) = Yes/(Yes+No)", pd.DataFrame(rows),
                       notes=("runs that did not complete, or have no final label (annotators disagree and nobody "
                              "adjudicated, or no usable label), are counted apart, never as NotTried",))


def agreement_table(data: ExperimentData) -> ReportTable:
    completed = set(data.conversations.loc[data.conversations["status"] == "completed", "conversation_id"]) \
        if not data.conversations.empty else set()
    usable = data.labels[(data.labels["kind"] != ADJUDICATOR) & data.labels["goal_achieved"].notna()
                         & data.labels["conversation_id"].isin(completed)]
    by_annotator: dict[str, dict[str, str]] = {}
    for row in usable.itertuples():
        by_annotator.setdefault(row.annotator, {})[row.conversation_id] = row.goal_achieved
    pairs = pairwise_agreement(dict(sorted(by_annotator.items())))
    frame = pd.DataFrame([vars(p) for p in pairs],
                         columns=["annotator_a", "annotator_b", "n", "observed", "kappa"])
    labelled = ", ".join(by_annotator) or "nobody"
    notes = () if pairs else (f"agreement needs two annotators; so far labelled by: {labelled}",)
    return ReportTable("agreement", "Agreement of annotators on goal achieved (Cohen's kappa)", frame, notes=notes)


# rubric questions with their level of measurement: the goal is a category, the third an order (issue 25)
ALPHA_QUESTIONS = (("goal_achieved", "nominal"), ("third", "ordinal"))


def alpha_table(data: ExperimentData) -> ReportTable:
    """Krippendorff's alpha per rubric question over every annotator (adjudications left out), missing
    ratings allowed, with a bootstrap 95% interval."""
    completed = set(data.conversations.loc[data.conversations["status"] == "completed", "conversation_id"]) \
        if not data.conversations.empty else set()
    usable = data.labels[(data.labels["kind"] != ADJUDICATOR) & data.labels["conversation_id"].isin(completed)] \
        if not data.labels.empty else data.labels
    rows, notes = [], []
    for question, level in ALPHA_QUESTIONS:
        part = usable[usable[question].notna()] if question in usable else usable.iloc[0:0]
        annotators, units = sorted(set(part["annotator"])), sorted(set(part["conversation_id"]))
        table = {(r.annotator, r.conversation_id): getattr(r, question) for r in part.itertuples()}
        matrix = [[table.get((a, u)) for u in units] for a in annotators]
        try:
            result = krippendorff_alpha(matrix, level)
        except AnalysisError as exc:
            notes.append(f"{question}: {exc}")
            continue
        rows.append({"question": question, "level": level, "annotators": len(annotators), "units": result.units,
                     "alpha": result.alpha, "low": result.low, "high": result.high})
    frame = pd.DataFrame(rows, columns=["question", "level", "annotators", "units", "alpha", "low", "high"])
    return ReportTable("alpha", "Agreement of all annotators per rubric question (Krippendorff's alpha, "
                       "bootstrap 95% interval)", frame, notes=tuple(notes))


def _fit(fit: Callable[..., Regression], records: list[dict[str, Any]], outcome: str,
         factors: Sequence[str]) -> tuple[pd.DataFrame, list[str]]:
    """Terms of the fit over the factors that vary among the records; a fit that cannot be made is a note."""
    varying = [f for f in factors if len({r.get(f) for r in records}) > 1]
    notes = [f"left out {f}: one level among these runs" for f in factors if f not in varying]
    if not varying:
        return pd.DataFrame(), notes + ["no factor varies, so there is nothing to fit"]
    if fit is ols_regression and len({r[outcome] for r in records}) == 1:
        return pd.DataFrame(), notes + [f"not fitted: the {outcome} is {records[0][outcome]:g} in every run"]
    try:
        result = fit(records, outcome, varying)
    except AnalysisError as exc:
        return pd.DataFrame(), notes + [f"not estimable: {exc.one_line()}"]
    rows = [{"term": name, "coefficient": t.coefficient, "std_error_hc0": t.std_error, "z": t.z, "p": t.p_value,
             "ci_low": t.ci_low, "ci_high": t.ci_high,
             **({"odds_ratio": t.odds_ratio, "or_ci_low": t.odds_ratio_ci[0], "or_ci_high": t.odds_ratio_ci[1]}
                if t.odds_ratio is not None else {}), "n": result.n}
            for name, t in result.terms.items()]
    references = [f"{f} compared with {v!r}" for f, v in result.reference_levels.items()]
    return pd.DataFrame(rows), notes + ([f"reference levels: {'; '.join(references)}"] if references else [])


def logistic_table(data: ExperimentData) -> ReportTable:
    attempts = [] if data.conversations.empty else \
        data.conversations[data.conversations["goal_achieved"].isin([YES, NO])].to_dict("records")
    records = [{**r, "success": int(r["goal_achieved"] == YES)} for r in attempts]
    frame, notes = _fit(logistic_regression, records, "success", regression_factors(data)) if records \
        else (pd.DataFrame(), ["no attempts labelled yet"])
    return ReportTable("logistic_success", "Logistic regression of success among attempts (HC0 errors, odds "
                       "ratios)", frame, notes=tuple(notes))


def ols_table(data: ExperimentData, score: str | None, roles: Sequence[str]) -> ReportTable:
    title = f"OLS of each conversation's share of messages with {score or 'a score'} > {THRESHOLD} (HC0 errors)"
    if score is None:
        return ReportTable("ols_toxic_share", title, pd.DataFrame(), notes=("no scores",))
    frames, notes = [], {}
    for role in [ALL, *roles]:
        records = _shares(data, score, role)
        frame, why = _fit(ols_regression, records, "share", regression_factors(data))
        frames.append(frame.assign(role=role) if not frame.empty else frame)
        for note in why:
            notes.setdefault(note, []).append(role)
    combined = pd.concat([f for f in frames if not f.empty], ignore_index=True) if any(not f.empty for f in frames) \
        else pd.DataFrame()
    if not combined.empty:
        combined = combined[["role", *[c for c in combined.columns if c != "role"]]]
    every = len(roles) + 1
    said = tuple(note if len(who) == every else f"{', '.join(who)}: {note}" for note, who in notes.items())
    return ReportTable("ols_toxic_share", title, combined, notes=said)


def _shares(data: ExperimentData, score: str, role: str) -> list[dict[str, Any]]:
    """Each completed run's share of messages above 0.5 (a run cut short would count a shorter talk)."""
    completed = data.conversations.loc[data.conversations["status"] == "completed", "conversation_id"]
    messages = data.messages[data.messages[score].notna() & data.messages["conversation_id"].isin(completed)]
    if role != ALL:
        messages = messages[messages["role"] == role]
    shares = messages.groupby("conversation_id")[score].apply(lambda s: float((s > THRESHOLD).mean()))
    rows = data.conversations.set_index("conversation_id").loc[list(shares.index)].reset_index() \
        if len(shares) else pd.DataFrame()
    return [{**row, "share": shares[row["conversation_id"]]} for row in rows.to_dict("records")] \
        if not rows.empty else []
