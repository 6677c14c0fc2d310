"""Common tests over every exported function (scikit-learn's ``test_common`` idea).

Every function a qakit module lists in ``__all__`` must

1. be decorated with :func:`qakit._public.public` on its ``def`` (shared parameters checked by name,
   results stamped);
2. have a recipe here (``RECIPES``): adding an export without one fails
   :func:`test_every_export_has_a_recipe`, so no function can skip these checks;
3. on hostile input (inf, -inf, NaN, off-scale values, duplicated rows, an empty table, one row, ids
   with a trailing space) either raise a qakit error (a ``QakitError``) or return a result that is
   finite, carries its record, and -- where the hostile rows changed the answer -- itemises them
   (``exclusions`` or ``adjustments``). A raw pandas/numpy exception, an inf, or a changed number with
   nothing itemised fails.

Also the record properties: every DataFrame a public function returns carries a record (stamped even
when empty), and ``exclusions()`` on a hand-made frame raises.
"""

from __future__ import annotations

import ast
import functools
import importlib
import inspect
import pkgutil
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import qakit
import qakit.widgets  # noqa: F401  (the explorer: not imported by qakit itself)
import qakit.compare  # noqa: F401  (issue 26 modules, not imported by qakit itself)
import qakit.staffing  # noqa: F401
import qakit.engines  # noqa: F401  (the deprecated aliases: their recipes call them)
import qakit.surveys  # noqa: F401
from qakit import schema as S
from qakit import synth
from qakit._public import PUBLIC_MARK
from qakit.errors import ParameterError, QakitError


#: exports that take no table (nothing hostile to feed them) or only read the shared folder / files,
#: with the reason; they are still checked for the public wrapper
NO_TABLE = {
    "schema.validate_links": "returns nothing; orphans raise (test_bad_input.py)",
    "realdata.shared_data_dir": "returns a path",
    "stats.correlation_verdict": "takes numbers, returns a sentence (doctested)",
    "realdata.load_twitter": "reads ../shared/data; tested on hostile files in test_realdata.py",
    "realdata.load_calls": "reads ../shared/data; tested in test_realdata.py",
    "realdata.load_olist": "reads ../shared/data; tested in test_realdata.py",
    "realdata.load_fed": "reads ../shared/data; tested in test_realdata.py",
    "realdata.load_maia": "reads ../shared/data; tested in test_autoqa_data.py",
    "realdata.load_twitter_messages": "reads ../shared/data; tested in test_autoqa_data.py",
    "datasets.sample_data_dir": "returns a path",
    "datasets.load_sample": "reads the bundled sample",
    "datasets.sample_scorecard_path": "returns a path",
    "datasets.load_sample_scorecard": "reads the bundled card",
    "scorecard.parse_scale": "a scale spelling, tested in test_scorecard.py / test_bad_input.py",
    "scorecard.scorecard_from_dict": "a card mapping, tested in test_bad_input.py",
    "scorecard.load_scorecard": "a card file, tested in test_bad_input.py",
    "scorecard.load_scorecard_text": "card text, tested in test_bad_input.py",
    "io.read_table": "a file path; hostile files in test_bad_input.py / test_io.py",
    "io.write_table": "writes a file; round trip in test_io.py",
    "io.to_csv_safe": "returns CSV text; formula injection tests in test_io.py / test_bad_input.py",
    "report.targets.check_targets": "a mapping of targets, tested in test_targets.py",
    "report.targets.target_status": "a mapping of values, tested in test_targets.py",
    "tuning.weights_table": "a list of cards",
    "kpis.customer_cost_value_plot": "draws a figure from customer_cost_value's result",
    "stats.shrink_means": "arrays of per-group summaries",
    "kpis.summary_table": "takes kpi_results' dict; its bad input in test_kpis.py",
    "kpis.csat_definition": "returns a CSAT definition (scale + threshold); bad scales in test_bad_input.py",
    "scorecard.score_matrix": "a reviews x categories array (the engine); hostile ratings reach it through score_reviews",
    "scorecard.normalise_name": "a category name",
    "scorecard.load_scorecard_json": "card text, tested in test_vendor_rules.py",
    "stats.bootstrap_group_means": "arrays; NaN/missing groups refused in test_stats.py",
    "sampling.inclusion_probabilities": "an array of sizes",
    "impact.hodges_lehmann": "two arrays",
    "engines.connection": "deprecated: returns the DuckDB connection or Spark session",
    "engines.spark_connection": "returns the Spark session qakit runs on",
    "engines.duckdb_connection": "returns the shared DuckDB connection",
    "engines.set_duckdb_memory": "an amount of memory (text); bad amounts refused in test_engine_memory.py",
    "exports.read_export": "a file path; every preset read from hostile fixtures in test_exports.py",
    "exports.parse_unit": "one column of durations, tested in test_exports.py",
    "exports.normalise_header": "a header name",
    "exports.implied_card": "returns scorecards (the card an export implies); exercised through reconcile here",
    "autoqa.load_rules": "rules YAML, tested in test_autoqa_rules.py",
    "autoqa.rules.rules_from_dict": "a rules mapping, tested in test_autoqa_rules.py",
    "autoqa.rules.rule_from_spec": "one auto: block of a scorecard category, tested in test_autoqa_rules.py",
    "autoqa.rules_from_card": "a scorecard (its auto: blocks), tested in test_autoqa_rules.py",
    "autoqa.auto_scorecard": "rules and a scorecard; returns a scorecard, tested in test_autoqa_rules.py",
    "autoqa.maia.evaluate_maia": "reads ../shared/data (MAIA-DQE); tested in test_autoqa_maia.py",
    "autoqa.qualification": "an agreement table, tested in test_autoqa_learned.py",
    "autoqa.rule_accuracy": "detect() output and a person's labels; hostile messages reach it in test_autoqa_hostile.py",
    "scorecard.auto.check_auto": "one category's auto: block, tested in test_autoqa_rules.py",
    "scorecard.auto.regex_problem": "a regular expression (RE2), tested in test_autoqa_rules.py",
    "scorecard.auto.is_learned": "a checked auto: block",
    "autoqa.kappa_agreement": "a predictions table (its rows come from cross_validate, covered here)",
    "report.tiles.headline": "takes the report's loaded data (ReportData); hostile data reaches it via load_report_data",
    "report.tiles.agent_verdicts": "takes ReportData, see report.tiles.headline",
    "report.views.appendix_tables": "takes ReportData, see report.tiles.headline",
    "report.views.readable_tables": "takes ReportData, see report.tiles.headline",
    "report.tiles.duration_units": "takes ReportData, see report.tiles.headline",
    "report.views.title_text": "takes ReportData, see report.tiles.headline",
    "report.views.period_text": "takes ReportData, see report.tiles.headline",
    "report.tiles.headline_values": "takes ReportData, see report.tiles.headline",
    "report.tiles.coaching_table": "takes ReportData, see report.tiles.headline",
    "report.tiles.left_out_rows": "takes ReportData, see report.tiles.headline",
    "report.tiles.report_kpis": "takes ReportData, see report.tiles.headline",
    "report.data.load_report_data": "reads a dataset folder (paths and dates), no table",
    "report.data.load_calibration": "reads a dataset name or file, no table",
    "report.params.check_last_days": "a number of days -> the checked number",
    "report.data.load_optional_tables": "reads the dataset folder into ReportData; bad files in test_report_ops.py",
    "report.operations.appendix_tables": "takes ReportData, see report.tiles.headline",
    "report.params.check_report_parameters": "report parameters; bad values in test_report_params.py",
    "report.params.group_columns": "report parameters",
    "report.params.is_path_parameter": "a parameter name",
    "report.params.resolve_paths": "report parameters",
    "report.pdf.html_to_pdf": "an HTML file",
    "report.pdf.find_chromium": "finds the browser",
    "registry.metric": "a metric name",
    "registry.default_targets": "no input",
    "registry.value_labels": "no input",
    "registry.internal_names": "no input",
    "stats.correlation_verdict": "numbers (r, CI, n) -> a sentence",
    "widgets.card_changes": "two cards -> their differing settings as text, tested in test_explorer_ui.py",
    "widgets.tuned_label": "a card and a day -> a label (doctested)",
    "widgets.tuned_card": "a card and a label -> a card, tested in test_explorer_ui.py",
    "widgets.report_command": "a path -> a shell command (doctested)",
    "exports.preset_fields": "a preset name -> the field names mapping= accepts (doctested)",
    "events.activity_roles": "activity names -> roles (doctested; event logs in test_exports_shapes.py)",
    "events.priority_key": "priority labels -> keys (doctested)",
    "scorecard.card.applies_key": "a value or labels -> matching keys (doctested)",
    "scorecard.card.load_scorecards": "a card file, tested in test_hostile_exports.py",
    "scorecard.card.dump_scorecards": "writes a card file; round trip in test_exports_shapes.py",
    "calibration.benchmark_verdict": "numbers (estimate, se) -> verdict words (test_agreement_ac.py)",
}


def exported() -> dict[str, Callable]:
    """Every function any qakit module lists in ``__all__``, named by the first (shortest) public
    module that exports it: a new module or function is picked up without editing this file."""
    out: dict[str, Callable] = {}
    seen: set[int] = set()
    for info in sorted(pkgutil.walk_packages(qakit.__path__, "qakit."), key=lambda i: (i.name.count("."), i.name)):
        mod = importlib.import_module(info.name)
        for name in getattr(mod, "__all__", []):
            obj = getattr(mod, name, None)
            if not inspect.isfunction(obj) or obj.__module__ == "qakit.records" or id(obj) in seen:
                continue
            seen.add(id(obj))
            out[f"{info.name.removeprefix('qakit.')}.{name}"] = obj
    return out


# --- base data -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def base() -> dict:
    d = synth.generate(seed=3, n_agents=6, weeks=3, conversations=1500, reviews_per_agent_week=4,
                       calibration_conversations=10)
    card = qakit.datasets.load_sample_scorecard()
    calls = pd.DataFrame({
        "call_id": [f"k{i}" for i in range(40)], "agent_id": [f"A{i % 4}" for i in range(40)],
        "created_at": pd.date_range("2026-08-03 08:00", periods=40, freq="37min", tz="UTC"),
        "answered": [i % 7 != 0 for i in range(40)],
        "speed_of_answer_s": [float((i * 13) % 60) if i % 7 else np.nan for i in range(40)],
        "handle_time_s": [300.0 + 10 * i if i % 7 else np.nan for i in range(40)],
        "time_to_abandon_s": [float(5 + i) if i % 7 == 0 else np.nan for i in range(40)]})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = card.score(d["ratings"])
    scores = scores.assign(weight=1.0)
    texts = [("customer", "Hello, my parcel has not arrived and I have been waiting for two weeks now"),
             ("agent", "Hi, thank you for waiting. I am sorry for the delay, I will check it right away."),
             ("customer", "Thanks, please hurry, this is unacceptable"),
             ("agent", "It arrives tomorrow. Is there anything else I can help with? Have a nice day!")]
    rude = [("customer", "Where is my refund, I asked three times already and nobody answers me"),
            ("agent", "Read the policy. Refunds take time."), ("customer", "This is not ok"),
            ("agent", "Nothing else to do.")]
    rows = []
    for i in range(24):
        conv_texts = texts if i % 3 else rude
        for j, (role, text) in enumerate(conv_texts):
            rows.append({"conversation_id": f"m{i:02d}", "message_id": f"m{i:02d}-{j}", "author_role": role,
                         "agent_id": f"A{i % 4}" if role == "agent" else None,
                         "sent_at": pd.Timestamp("2026-08-03 09:00", tz="UTC") + pd.Timedelta(minutes=10 * (4 * i + j)),
                         "text": text})
    messages = pd.DataFrame(rows)
    polite = pd.DataFrame({"review_id": [f"h{i:02d}" for i in range(24)], "conversation_id": [f"m{i:02d}" for i in range(24)],
                           "agent_id": [f"A{i % 4}" for i in range(24)], "reviewer_id": "qa1",
                           "reviewed_at": "2026-08-10", "category": "Politeness",
                           "rating": [1.0 if i % 3 else 0.0 for i in range(24)]})
    reviews = scores[["review_id", "conversation_id", "agent_id", "reviewer_id", "reviewed_at"]].assign(
        vendor_score=scores["iqs"])
    picked = reviews["review_id"].iloc[:12].tolist()
    disputes = pd.DataFrame({"dispute_id": [f"d{i}" for i in range(12)], "review_id": picked,
                             "created_at": pd.Timestamp("2026-08-20", tz="UTC"),
                             "dispute_status": ["accepted", "rejected", "pending"] * 4,
                             "resolved_at": [pd.Timestamp("2026-08-22", tz="UTC"), pd.Timestamp("2026-08-23", tz="UTC"), pd.NaT] * 4,
                             "accepted": pd.array([True, False, None] * 4, dtype="boolean"),
                             "score_before": scores["iqs"].iloc[:12].to_numpy(),
                             "score_after": np.where(np.arange(12) % 3 == 0, 100.0, scores["iqs"].iloc[:12].to_numpy())})
    calls_daily = pd.DataFrame({"date": pd.date_range("2026-08-03", periods=14, freq="D", tz="UTC").repeat(2),
                                "queue": ["sales", "support"] * 14, "offered": [100.0 + 3 * i for i in range(28)],
                                "answered": [90.0 + 2 * i for i in range(28)], "abandoned": [10.0 + i for i in range(28)],
                                "answered_within": [70.0 + i for i in range(28)], "asa_s": [15.0 + (i % 5) for i in range(28)]})
    auto_card = qakit.Scorecard([qakit.Category(r.name) for r in qakit.autoqa.rules.DEFAULT_RULES])
    acts = ["Insert ticket", "Take in charge ticket", "Wait", "Resolve ticket", "Closed"]
    events = pd.DataFrame({"case_id": [f"c{i // 5}" for i in range(100)], "activity": acts * 20,
                           "timestamp": pd.Timestamp("2026-08-03 08:00", tz="UTC")
                           + pd.to_timedelta([(i // 5) * 90 + (i % 5) * 17 for i in range(100)], unit="min"),
                           "resource": [f"A{(i // 5) % 4}" for i in range(100)]})
    conv = d["conversations"].iloc[:60]
    incidents = conv.assign(priority=["2 - High", "4 - Low"] * 30, on_hold_s=[0.0, 3600.0, 600.0] * 20,
                            made_sla=["true", "false", "true", "true"] * 15)
    phone_card = qakit.Scorecard(
        [qakit.Category("Tone")], version="phone", applies_to={"channel": ["Phone"]})
    # issue 26: Erlang inputs per interval and a staffing table covering the calls above
    intervals = pd.DataFrame({"arrivals": [100.0, 60.0, 20.0], "aht_s": [180.0, 240.0, 300.0], "agents": [14.0, 9.5, 5.0],
                              "agent_id": ["A0", "A1", "A2"]})
    staffing = pd.DataFrame({"interval_start": pd.date_range("2026-08-03 08:00", "2026-08-04 09:00", freq="30min", tz="UTC"),
                             "agents": 3.0})
    return {"events": events, "incidents": incidents, "phone_card": phone_card,
            "intervals": intervals, "staffing": staffing, "ratings": d["ratings"], "conversations": d["conversations"], "surveys": d["surveys"],
            "calibration": d["calibration"], "calls": calls, "scores": scores, "card": card,
            "messages": messages, "polite": polite, "reviews": reviews, "disputes": disputes,
            "calls_daily": calls_daily, "auto_card": auto_card}


@dataclass(frozen=True)
class Recipe:
    """How to call one export: ``table`` is the input that hostile variants change, ``column`` the
    value column they poison (``rows``: which rows matter, e.g. CSAT rows of the surveys)."""

    call: Callable[[dict], object]
    table: str
    column: str | None = None
    rows: Callable[[pd.DataFrame], pd.Series] | None = None
    id_column: str = "agent_id"
    #: NaN in ``column`` is a value of the contract, not a defect (a rating N/A, an open
    #: conversation's missing resolved_at, an optional column left empty): no itemising required
    nan_ok: bool = False
    #: a row-for-row transform (reshape, sample, escape): ids and duplicates pass through as given, so
    #: only impossible values (inf, off-scale) must be refused or itemised
    rowwise: bool = False
    #: the function is given no scale (no card): any finite number is a possible value
    scale_free: bool = False
    #: the export refuses this call by name (a rule its engine does not express yet): the clean call
    #: must raise a ParameterError matching this text, never answer with a different number
    refused: str | None = None


def _csat(df):
    return df["kind"].eq("csat")


def _rated(**kw):
    return {"nan_ok": True, **kw}


def _card2(t):
    return t["card"].with_changes(weights={"Tone": 2.0})


def _conv_csat(t):
    return qakit.stats.csat_by_conversation(t["surveys"])


def _fast(t):
    """The explorer's per-change result: the tuned card scored from the prepared state."""
    return X.explore_fast(X.prepare_explorer(t["ratings"], t["card"], csat=_conv_csat(t)), _card2(t))


K = qakit.kpis
X = qakit.widgets
#: two agents of the base data coached in its second week (issue 25)
COACHED = pd.DataFrame({"agent_id": ["A01", "A02"], "coached_at": ["2026-08-12 10:00Z", "2026-08-12 11:00Z"],
                        "focus": ["Tone", "Solution; Tone"]})


def _coaching(t):
    from qakit.coaching import coaching_effect

    return coaching_effect(t["scores"], COACHED, pre_weeks=1, post_weeks=1, min_reviews=1)


def _health(t):
    from qakit.health import scorecard_health

    return scorecard_health(t["ratings"], t["card"], surveys=t["surveys"], n_resamples=20)


RECIPES: dict[str, Recipe] = {
    "coaching.coaching_effect": Recipe(_coaching, "scores", "iqs"),
    "health.scorecard_health": Recipe(_health, "ratings", "rating", nan_ok=True),
    "schema.validate": Recipe(lambda t: S.validate(t["conversations"], "conversations"), "conversations",
                              "handle_time_s", nan_ok=True),  # validation keeps optional values missing
    "kpis.csat_score": Recipe(lambda t: K.csat_score(t["surveys"], min_n=0), "surveys", "score", _csat),
    "kpis.nps_score": Recipe(lambda t: K.nps_score(t["surveys"], min_n=0), "surveys", "score",
                             lambda d: d["kind"].eq("nps")),
    "kpis.ces_score": Recipe(lambda t: K.ces_score(t["surveys"], min_n=0), "surveys", "score",
                             lambda d: d["kind"].eq("ces")),
    "kpis.first_response_time": Recipe(lambda t: K.first_response_time(t["conversations"], min_n=0),
                                       "conversations", "first_response_at"),
    "kpis.resolution_time": Recipe(lambda t: K.resolution_time(t["conversations"], min_n=0),
                                   "conversations", "resolved_at"),
    "kpis.handle_time": Recipe(lambda t: K.handle_time(t["conversations"], min_n=0), "conversations",
                               "handle_time_s"),
    "kpis.fcr_rate": Recipe(lambda t: K.fcr_rate(t["conversations"], rule="contacts", min_n=0),
                            "conversations", "contacts"),
    "kpis.interactions_per_issue": Recipe(lambda t: K.interactions_per_issue(t["conversations"], min_n=0),
                                          "conversations", "contacts"),
    "kpis.escalation_rate": Recipe(lambda t: K.escalation_rate(t["conversations"], min_n=0),
                                   "conversations", "escalated"),
    "kpis.resolution_rate": Recipe(lambda t: K.resolution_rate(t["conversations"], min_n=0),
                                   "conversations", "status"),
    "kpis.backlog": Recipe(lambda t: K.backlog(t["conversations"]), "conversations", "resolved_at",
                           nan_ok=True),  # no resolved_at = still open: counted in the backlog
    "kpis.sla_attainment": Recipe(lambda t: K.sla_attainment(t["conversations"], min_n=0),
                                  "conversations", "resolved_at"),
    "kpis.service_level": Recipe(lambda t: K.service_level(t["calls"], min_n=0), "calls",
                                 "speed_of_answer_s"),
    "kpis.abandonment_rate": Recipe(lambda t: K.abandonment_rate(t["calls"], min_n=0), "calls", "answered"),
    "kpis.cost_per_contact": Recipe(lambda t: K.cost_per_contact(t["conversations"], cost_per_hour=30.0),
                                    "conversations", "handle_time_s"),
    "kpis.customer_cost_value": Recipe(lambda t: K.customer_cost_value(t["conversations"], cost_per_contact=5.0),
                                       "conversations", "customer_value", id_column="customer_id"),
    "kpis.kpi_results": Recipe(lambda t: K.kpi_results(t["conversations"], t["surveys"])["first_response_time"],
                               "conversations", "first_response_at"),
    "kpis.kpi_summary": Recipe(lambda t: K.kpi_summary(t["conversations"], t["surveys"]), "conversations",
                               "handle_time_s"),
    "stats.csat_by_conversation": Recipe(lambda t: qakit.stats.csat_by_conversation(t["surveys"]).to_frame(),
                                         "surveys", "score", _csat, id_column="conversation_id"),
    "stats.join_csat": Recipe(lambda t: qakit.stats.join_csat(t["scores"], t["surveys"]), "surveys", "score", _csat),
    "stats.iqs_csat_correlation": Recipe(
        lambda t: qakit.stats.iqs_csat_correlation(t["scores"], t["surveys"], method="pearson", min_n=0),
        "scores", "iqs"),
    "stats.category_correlations": Recipe(
        lambda t: qakit.stats.category_correlations(t["ratings"], t["card"], t["surveys"], min_n=0),
        "ratings", "rating", nan_ok=True),
    "stats.key_drivers": Recipe(lambda t: qakit.stats.key_drivers(t["ratings"], t["card"], t["surveys"]),
                                "ratings", "rating", nan_ok=True),
    "stats.agent_summary": Recipe(lambda t: qakit.stats.agent_summary(t["scores"], t["surveys"], min_n=0),
                                  "scores", "iqs"),
    "stats.sample_size_plan": Recipe(lambda t: qakit.stats.sample_size_plan(t["scores"]), "scores", "iqs"),
    "calibration.agreement": Recipe(lambda t: qakit.calibration.agreement(t["calibration"], card=t["card"],
                                                                           n_resamples=0),
                                    "calibration", "rating", nan_ok=True),
    "calibration.cohen_kappa": Recipe(
        lambda t: qakit.calibration.cohen_kappa(t["calibration"], reviewers=("cal_rev_1", "cal_rev_2"),
                                                card=t["card"]), "calibration", "rating", nan_ok=True),
    "calibration.pairwise_kappa": Recipe(lambda t: qakit.calibration.pairwise_kappa(t["calibration"], card=t["card"]),
                                         "calibration", "rating", nan_ok=True),
    "calibration.reviewer_bias": Recipe(lambda t: qakit.calibration.reviewer_bias(t["calibration"], card=t["card"]),
                                        "calibration", "rating", id_column="reviewer_id", nan_ok=True),
    "calibration.consensus": Recipe(lambda t: qakit.calibration.consensus(t["calibration"]), "calibration", "rating",
                                    nan_ok=True, scale_free=True),
    "sampling.sample_random": Recipe(lambda t: qakit.sampling.sample_random(t["conversations"], n=20, seed=1),
                                     "conversations", None, rowwise=True),
    "sampling.sample_stratified": Recipe(
        lambda t: qakit.sampling.sample_stratified(t["conversations"], per_group=2, seed=1), "conversations", None),
    "sampling.risk_score": Recipe(lambda t: qakit.sampling.risk_score(t["conversations"]).to_frame(),
                                  "conversations", "handle_time_s"),
    "sampling.sample_risk_based": Recipe(
        lambda t: qakit.sampling.sample_risk_based(t["conversations"], n=20, seed=1), "conversations",
        "handle_time_s", rowwise=True),
    "sampling.weighted_iqs": Recipe(lambda t: qakit.sampling.weighted_iqs(t["scores"], min_n=0), "scores", "iqs"),
    "impact.compare_periods": Recipe(
        lambda t: qakit.impact.compare_periods(t["conversations"], value="handle_time_s", kind="mean",
                                               change_date="2026-08-12", n_resamples=200),
        "conversations", "handle_time_s"),
    "io.wide_to_long": Recipe(
        lambda t: qakit.io.wide_to_long(
            t["ratings"].pivot_table(index=["review_id", "conversation_id", "agent_id", "reviewer_id"],
                                     columns="category", values="rating", aggfunc="first").reset_index(),
            id_columns=["review_id", "conversation_id", "agent_id", "reviewer_id"]),
        "ratings", "rating", nan_ok=True, rowwise=True, scale_free=True),
    "io.neutralise_formulas": Recipe(lambda t: qakit.io.neutralise_formulas(t["conversations"]), "conversations",
                                     None, rowwise=True),
    "tuning.compare_scorecards": Recipe(
        lambda t: qakit.tuning.compare_scorecards(t["ratings"], t["card"], _card2(t), n_resamples=50),
        "ratings", "rating", nan_ok=True),
    "tuning.fit_weights": Recipe(lambda t: qakit.tuning.fit_weights(t["ratings"], t["card"], t["surveys"], k=2),
                                 "ratings", "rating", nan_ok=True),
    # --- engines: the deprecated qakit.engines aliases, i.e. the public functions with engine="duckdb"
    "engines.score_reviews": Recipe(lambda t: qakit.engines.score_reviews(t["ratings"], t["card"], engine="duckdb"),
                                    "ratings", "rating", nan_ok=True),
    "engines.iqs_score": Recipe(lambda t: qakit.engines.iqs_score(t["ratings"], t["card"], by="agent_id", min_n=0,
                                                                  engine="duckdb"), "ratings", "rating", nan_ok=True),
    "engines.category_scores": Recipe(lambda t: qakit.engines.category_scores(t["ratings"], t["card"], min_n=0,
                                                                              engine="duckdb"),
                                      "ratings", "rating", nan_ok=True),
    "engines.csat_score": Recipe(lambda t: qakit.engines.csat_score(t["surveys"], min_n=0, engine="duckdb"),
                                 "surveys", "score", _csat),
    "engines.nps_score": Recipe(lambda t: qakit.engines.nps_score(t["surveys"], min_n=0, engine="duckdb"),
                                "surveys", "score", lambda d: d["kind"].eq("nps")),
    "engines.ces_score": Recipe(lambda t: qakit.engines.ces_score(t["surveys"], min_n=0, engine="duckdb"),
                                "surveys", "score", lambda d: d["kind"].eq("ces")),
    "engines.first_response_time": Recipe(lambda t: qakit.engines.first_response_time(t["conversations"], min_n=0,
                                                                                      engine="duckdb"),
                                          "conversations", "first_response_at"),
    "engines.resolution_time": Recipe(lambda t: qakit.engines.resolution_time(t["conversations"], min_n=0,
                                                                              engine="duckdb"),
                                      "conversations", "resolved_at"),
    "engines.fcr_rate": Recipe(lambda t: qakit.engines.fcr_rate(t["conversations"], rule="contacts", min_n=0,
                                                                engine="duckdb"), "conversations", "contacts"),
    "engines.escalation_rate": Recipe(lambda t: qakit.engines.escalation_rate(t["conversations"], min_n=0,
                                                                              engine="duckdb"),
                                      "conversations", "escalated"),
    "engines.resolution_rate": Recipe(lambda t: qakit.engines.resolution_rate(t["conversations"], min_n=0,
                                                                              engine="duckdb"),
                                      "conversations", "status"),
    "engines.sla_attainment": Recipe(lambda t: qakit.engines.sla_attainment(t["conversations"], min_n=0,
                                                                            engine="duckdb"),
                                     "conversations", "resolved_at"),
    "engines.service_level": Recipe(lambda t: qakit.engines.service_level(t["calls"], min_n=0, engine="duckdb"),
                                    "calls", "speed_of_answer_s"),
    "engines.backlog": Recipe(lambda t: qakit.engines.backlog(t["conversations"], engine="duckdb"), "conversations",
                              "resolved_at", nan_ok=True),
    # --- automatic scoring (text columns: the hostile variants are rows, ids, empty and one-row tables)
    "autoqa.detect": Recipe(lambda t: qakit.autoqa.detect(t["messages"]), "messages", None),
    "autoqa.auto_ratings": Recipe(lambda t: qakit.autoqa.auto_ratings(qakit.autoqa.detect(t["messages"])),
                                  "messages", None),
    "autoqa.aqs_score": Recipe(lambda t: qakit.autoqa.aqs_score(qakit.autoqa.auto_ratings(qakit.autoqa.detect(
        t["messages"])), t["auto_card"], by="agent_id", min_n=0), "messages", None),
    "autoqa.aqs_vs_iqs": Recipe(lambda t: qakit.autoqa.aqs_vs_iqs(
        qakit.autoqa.auto_ratings(qakit.autoqa.detect(t["messages"])), t["polite"],
        card=qakit.Scorecard([qakit.Category("Politeness")]), auto_card=t["auto_card"], min_n=0),
        "messages", None),
    "autoqa.readability": Recipe(lambda t: qakit.autoqa.readability(t["messages"]), "messages", None),
    "autoqa.spelling": Recipe(lambda t: qakit.autoqa.spelling(t["messages"]), "messages", None),
    "autoqa.customer_sentiment": Recipe(lambda t: qakit.autoqa.customer_sentiment(t["messages"]), "messages", None),
    "autoqa.risk_signals": Recipe(lambda t: qakit.autoqa.risk_signals(t["messages"]), "messages", None),
    "autoqa.sample_for_review": Recipe(lambda t: qakit.autoqa.sample_for_review(t["messages"], n=5, seed=1),
                                       "messages", None, rowwise=True),
    "autoqa.learned.documents": Recipe(lambda t: qakit.autoqa.learned.documents(t["messages"]), "messages", None,
                                       rowwise=True),
    "autoqa.learned.human_labels": Recipe(lambda t: qakit.autoqa.learned.human_labels(
        t["polite"], category="Politeness")[0].to_frame(), "polite", "rating", id_column="agent_id",
        nan_ok=True, scale_free=True),  # returns (labels, itemised exclusions): the N/A rows are in the second
    "autoqa.cross_validate": Recipe(lambda t: qakit.autoqa.cross_validate(t["messages"], t["polite"],
                                                                          category="Politeness", n_splits=3, seed=0),
                                    "polite", "rating", scale_free=True),  # no card: the label's scale is the data's
    "autoqa.learned_ratings": Recipe(lambda t: qakit.autoqa.learned_ratings(t["messages"], t["polite"],
                                                                            category="Politeness", seed=0),
                                     "polite", "rating", scale_free=True),
    # --- vendor exports and QA operations
    "exports.reconcile": Recipe(lambda t: qakit.exports.reconcile({"ratings": t["ratings"], "reviews": t["reviews"]},
                                                                  t["card"]), "reviews", "vendor_score",
                                nan_ok=True),  # a missing vendor score is listed as a differing review (documented)
    "ops.dispute_rate": Recipe(lambda t: qakit.ops.dispute_rate(t["reviews"], t["disputes"], min_n=0), "disputes",
                               "score_after", id_column="dispute_id"),
    "ops.dispute_outcomes": Recipe(lambda t: qakit.ops.dispute_outcomes(t["disputes"], min_n=0), "disputes",
                                   "score_after", id_column="dispute_id"),
    "ops.iqs_after_disputes": Recipe(lambda t: qakit.ops.iqs_after_disputes(t["scores"], t["disputes"], min_n=0),
                                     "disputes", "score_after", id_column="dispute_id"),
    "ops.review_coverage": Recipe(lambda t: qakit.ops.review_coverage(t["reviews"]), "reviews", None),
    "ops.reviewer_strictness": Recipe(lambda t: qakit.ops.reviewer_strictness(t["scores"], min_n=0), "scores", "iqs",
                                      id_column="reviewer_id"),
    "ops.calls_daily_kpis": Recipe(lambda t: qakit.ops.calls_daily_kpis(t["calls_daily"], min_n=0), "calls_daily",
                                   "offered", id_column="queue"),
    "calls.call_handle_time": Recipe(lambda t: qakit.calls.call_handle_time(t["calls"], min_n=0), "calls",
                                     "handle_time_s"),
    "calls.call_answer_time": Recipe(lambda t: qakit.calls.call_answer_time(t["calls"], min_n=0), "calls",
                                     "speed_of_answer_s"),
    "calls.call_abandon_time": Recipe(lambda t: qakit.calls.call_abandon_time(t["calls"], min_n=0), "calls",
                                      "time_to_abandon_s"),
    "calls.queue_intervals": Recipe(lambda t: qakit.calls.queue_intervals(t["calls"]), "calls", "speed_of_answer_s"),
    "events.conversations_from_events": Recipe(lambda t: qakit.events.conversations_from_events(t["events"]),
                                               "events", None, id_column="case_id"),
    "events.reconcile_sla": Recipe(lambda t: qakit.events.reconcile_sla(t["incidents"], targets={"high": 8, "low": 72}),
                                   "incidents", "on_hold_s", id_column="conversation_id"),
    "exports.card_versions": Recipe(lambda t: qakit.exports.card_versions(t["ratings"]), "ratings", None),
    "exports.with_card_versions": Recipe(lambda t: qakit.exports.with_card_versions(t["ratings"]), "ratings", None,
                                         rowwise=True),
    "scorecard.card.align_applies_to": Recipe(
        lambda t: qakit.scorecard.card.align_applies_to(t["conversations"], [t["phone_card"]]), "conversations",
        None, rowwise=True),
    "scorecard.score_reviews": Recipe(lambda t: qakit.score_reviews(t["ratings"], t["card"]), "ratings", "rating", nan_ok=True),
    "scorecard.iqs_score": Recipe(lambda t: qakit.iqs_score(t["scores"], by="agent_id", min_n=0), "scores", "iqs"),
    "scorecard.category_scores": Recipe(lambda t: qakit.category_scores(t["ratings"], t["card"], min_n=0),
                                        "ratings", "rating", nan_ok=True),
    # --- issue 26: agreement (AC1/AC2, alignment, drift), survey response, fair comparisons, staffing
    "calibration.gwet_ac": Recipe(lambda t: qakit.calibration.gwet_ac(t["calibration"], card=t["card"]),
                                  "calibration", "rating", nan_ok=True),
    "calibration.benchmark_alignment": Recipe(
        lambda t: qakit.calibration.benchmark_alignment(t["calibration"], benchmark="cal_rev_1", card=t["card"]),
        "calibration", "rating", id_column="reviewer_id", nan_ok=True),
    "calibration.reviewer_drift": Recipe(lambda t: qakit.calibration.reviewer_drift(t["calibration"]),
                                         "calibration", "rating", id_column="reviewer_id", nan_ok=True, scale_free=True),
    "surveys.response_rate": Recipe(lambda t: qakit.surveys.response_rate(t["surveys"], by="agent_id", min_n=0),
                                    "surveys", "score", _csat, nan_ok=True),  # a missing score = sent, not answered
    "surveys.raking_weights": Recipe(lambda t: qakit.surveys.raking_weights(t["conversations"].iloc[::7],
                                                                            t["conversations"]),
                                     "conversations", "channel", rowwise=True),
    "surveys.weighted_csat": Recipe(lambda t: qakit.surveys.weighted_csat(t["surveys"], t["conversations"]),
                                    "surveys", "score", _csat),
    "surveys.weighted_iqs_csat": Recipe(lambda t: qakit.surveys.weighted_iqs_csat(t["scores"], t["surveys"],
                                                                                  t["conversations"], min_n=0),
                                        "scores", "iqs"),
    "surveys.csat_bounds": Recipe(lambda t: qakit.surveys.csat_bounds(t["surveys"], by="agent_id"), "surveys", "score",
                                  _csat, nan_ok=True),  # a missing score = sent, not answered: it widens the bounds
    "compare.compare_groups": Recipe(lambda t: qakit.compare.compare_groups(t["conversations"], group="team",
                                                                            value="handle_time_s", strata="priority",
                                                                            min_n=0),
                                     "conversations", "handle_time_s"),
    "staffing.erlang_c": Recipe(lambda t: qakit.staffing.erlang_c(t["intervals"]), "intervals", "aht_s", rowwise=True),
    "staffing.erlang_a": Recipe(lambda t: qakit.staffing.erlang_a(t["intervals"], patience_s=120), "intervals",
                                "aht_s", rowwise=True),
    "staffing.required_agents": Recipe(lambda t: qakit.staffing.required_agents(t["intervals"]), "intervals", "aht_s",
                                       rowwise=True),
    "staffing.staffing_check": Recipe(lambda t: qakit.staffing.staffing_check(t["calls"], t["staffing"], min_n=0),
                                      "calls", "speed_of_answer_s"),
    # --- the tuning explorer (results are ExplorerResult dataclasses of tables)
    "widgets.explore": Recipe(lambda t: X.explore(t["ratings"], _card2(t), baseline=t["card"], csat=_conv_csat(t)),
                              "ratings", "rating", nan_ok=True),
    "widgets.prepare_explorer": Recipe(lambda t: X.prepare_explorer(t["ratings"], t["card"], csat=_conv_csat(t)).base,
                                       "ratings", "rating", nan_ok=True),
    "widgets.explore_fast": Recipe(lambda t: _fast(t), "ratings", "rating", nan_ok=True),
    "widgets.engine_check": Recipe(lambda t: X.engine_check(_fast(t), t["ratings"]), "ratings", "rating", nan_ok=True),
    "widgets.flip_labels": Recipe(lambda t: X.flip_labels(_fast(t)).to_frame(), "ratings", "rating", nan_ok=True),
    "widgets.agent_view": Recipe(lambda t: X.agent_view(_fast(t), flips_first=True), "ratings", "rating", nan_ok=True),
    "widgets.effect_table": Recipe(lambda t: X.effect_table(_fast(t)), "ratings", "rating", nan_ok=True),
    "widgets.suggestion_table": Recipe(
        lambda t: X.suggestion_table(qakit.tuning.fit_weights(t["ratings"], t["card"], t["surveys"], k=2), t["card"]),
        "ratings", "rating", nan_ok=True),
}


def test_every_export_has_a_recipe():
    """Adding a public function without a recipe here (or a reason in NO_TABLE) fails."""
    names = set(exported())
    missing = sorted(names - set(RECIPES) - set(NO_TABLE))
    stale = sorted((set(RECIPES) | set(NO_TABLE)) - names)
    assert not missing, f"exports without a common-test recipe: {missing}"
    assert not stale, f"recipes for names that are no longer exported: {stale}"


#: modules of deprecated aliases made by one factory (``public(alias)`` where the alias is made, in
#: ``qakit/engines/__init__.py``; gone in 0.3, CHANGELOG.md): every other export has ``@public`` on its def
DEPRECATED_ALIASES = frozenset({"qakit.engines"})


@functools.cache
def _module_ast(path: str) -> ast.Module:
    return ast.parse(Path(path).read_text(encoding="utf-8"))


def _decorators(fn: Callable) -> list[str]:
    """The decorator names on ``fn``'s ``def`` in its module's source (read with ``ast``)."""
    for node in _module_ast(inspect.getsourcefile(fn)).body:
        if isinstance(node, ast.FunctionDef) and node.name == fn.__name__:
            return [ast.unparse(d.func if isinstance(d, ast.Call) else d) for d in node.decorator_list]
    return []


def test_every_export_is_decorated_at_its_definition():
    """Every exported function carries the ``public`` mark, and the mark comes from ``@public`` on
    its ``def`` (a reader of the definition sees what runs), not from a rebinding elsewhere."""
    not_marked, not_at_def = [], []
    for name, fn in sorted(exported().items()):
        if not getattr(fn, PUBLIC_MARK, False):
            not_marked.append(name)
        elif fn.__module__ not in DEPRECATED_ALIASES and "public" not in _decorators(inspect.unwrap(fn)):
            not_at_def.append(f"{name} ({fn.__module__})")
    assert not not_marked, f"not wrapped by qakit._public.public: {not_marked}"
    assert not not_at_def, f"wrapped, but not by @public on the def: {not_at_def}"


def test_no_module_rebinds_its_functions():
    """No module rebinds its functions at its end (``wrap_all(globals())``, removed in 0.2.0): the
    contract is the ``@public`` on each ``def``."""
    root = Path(qakit.__file__).parent
    calls = []
    for p in sorted(root.rglob("*.py")):
        mod = ".".join(p.relative_to(root.parent).with_suffix("").parts).removesuffix(".__init__")
        for node in ast.walk(_module_ast(str(p))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) == "wrap_all":
                calls.append(mod)
    assert calls == [], sorted(set(calls))


def test_top_level_exports_are_the_wrapped_functions():
    for name in dir(qakit):
        obj = getattr(qakit, name)
        if (inspect.isfunction(obj) and obj.__module__.startswith("qakit.") and not name.startswith("_")
                and obj.__module__ != "qakit.records"):
            assert getattr(obj, PUBLIC_MARK, False), f"qakit.{name} is not wrapped"


# --- hostile variants ------------------------------------------------------------------------------
def _rows(df: pd.DataFrame, r: Recipe) -> np.ndarray:
    mask = np.ones(len(df), dtype=bool) if r.rows is None else np.array(r.rows(df), dtype=bool)
    if r.column is not None and r.column in df.columns:
        mask &= df[r.column].notna().to_numpy()
    return np.flatnonzero(mask)[:3]


def _poison(df: pd.DataFrame, r: Recipe, value) -> pd.DataFrame | None:
    if r.column is None or r.column not in df.columns:
        return None
    idx = _rows(df, r)
    if len(idx) == 0:
        return None
    out = df.copy()
    col = out[r.column]
    if pd.api.types.is_float_dtype(col.dtype) or pd.api.types.is_integer_dtype(col.dtype):
        out[r.column] = col.astype("float64")
        out.iloc[idx, out.columns.get_loc(r.column)] = value
    else:  # timestamps, booleans, text: the hostile value as text
        obj = col.astype("object")
        obj.iloc[idx] = value
        out[r.column] = obj
    return out


def _off_scale(df: pd.DataFrame, r: Recipe) -> pd.DataFrame | None:
    # (a review score above 100 is legitimate with bonus sections: scores go below their minimum 0)
    big = {"rating": 99.0, "score": 99.0, "iqs": -5.0, "score_after": -5.0, "vendor_score": -5.0, "offered": -5.0, "handle_time_s": -5.0, "contacts": -2.0,
           "speed_of_answer_s": -1.0, "customer_value": -1e300}
    if r.column not in big:
        return None
    return _poison(df, r, big[r.column])


VARIANTS: dict[str, Callable[[pd.DataFrame, Recipe], pd.DataFrame | None]] = {
    "inf": lambda df, r: _poison(df, r, np.inf),
    "-inf": lambda df, r: _poison(df, r, -np.inf),
    "nan": lambda df, r: _poison(df, r, np.nan),
    "off_scale": _off_scale,
    "duplicated_rows": lambda df, r: pd.concat([df, df.iloc[:3]], ignore_index=True),
    "empty": lambda df, r: df.iloc[:0],
    "one_row": lambda df, r: df.iloc[:1],
    "id_trailing_space": lambda df, r: (
        df.assign(**{r.id_column: df[r.id_column].astype("object").where(
            df[r.id_column].ne(df[r.id_column].iloc[0]), str(df[r.id_column].iloc[0]) + " ")})
        if r.id_column in df.columns else None),
}
#: variants whose rows must be itemised when the function returns and the answer changed
MUST_ITEMISE = {"inf", "-inf", "nan", "off_scale", "duplicated_rows", "id_trailing_space"}


def _frames(res) -> list[pd.DataFrame]:
    if isinstance(res, pd.DataFrame):
        return [res]
    if isinstance(res, dict):
        return [v for v in res.values() if isinstance(v, pd.DataFrame)]
    if isinstance(res, tuple):
        return [v for v in res if isinstance(v, pd.DataFrame)]
    if hasattr(res, "__dataclass_fields__"):
        return [getattr(res, f) for f in res.__dataclass_fields__ if isinstance(getattr(res, f), pd.DataFrame)]
    return []


def _recorded(frames: list[pd.DataFrame]) -> int:
    return sum(int(S.exclusions(f)["n"].sum()) + int(S.adjustments(f)["n"].sum()) for f in frames)


def _same(a: list[pd.DataFrame], b: list[pd.DataFrame]) -> bool:
    if len(a) != len(b):
        return False
    for x, y in zip(a, b):
        try:
            pd.testing.assert_frame_equal(x.reset_index(drop=True), y.reset_index(drop=True), check_dtype=False)
        except AssertionError:
            return False
    return True


def _call(recipe: Recipe, tables: dict):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return recipe.call(tables)


def _hostile_problems(name: str, variant: str, base: dict, clean: Callable[[], list[pd.DataFrame]]) -> list[str]:
    """What is wrong with ``name``'s answer to one hostile ``variant`` of its input (empty: nothing)."""
    recipe = RECIPES[name]
    hostile = VARIANTS[variant](base[recipe.table], recipe)
    if hostile is None:
        return []  # the variant does not apply to this input (no such column); nothing to check
    tables = {**base, recipe.table: hostile}
    try:
        res = _call(recipe, tables)
    except QakitError as e:
        return [] if str(e).strip() else [f"{variant}: empty error message"]
    except Exception as e:  # noqa: BLE001 - the point of the test
        return [f"{variant}: raw {type(e).__name__}: {str(e)[:300]}"]
    frames = _frames(res)
    for f in frames:
        if not S.has_record(f):
            return [f"{variant}: result carries no record"]
        num = f.select_dtypes(include="number")
        if np.isinf(num.to_numpy(dtype=float, na_value=np.nan)).any():
            return [f"{variant}: an infinite number in the result"]
    must = MUST_ITEMISE - ({"nan"} if recipe.nan_ok else set())
    if recipe.rowwise:
        must = must & {"inf", "-inf", "off_scale"}
    if recipe.scale_free:
        must = must - {"off_scale"}
    if variant in must and frames and not _same(frames, clean()) and _recorded(frames) <= _recorded(clean()):
        return [f"{variant}: the result changed but nothing was itemised (exclusions/adjustments) -- "
                "a silently wrong number"]
    return []


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_hostile_input_gives_a_qakit_error_or_an_itemised_finite_result(name, base):
    """Every hostile variant of :data:`VARIANTS` for one function, in one case (the clean answer the
    itemisation check compares with is computed once); every failing variant is listed."""
    cache: list[list[pd.DataFrame]] = []

    def clean() -> list[pd.DataFrame]:
        if not cache:
            cache.append(_frames(_call(RECIPES[name], base)))
        return cache[0]

    problems = [p for v in VARIANTS for p in _hostile_problems(name, v, base, clean)]
    assert not problems, f"{name}:\n" + "\n".join(problems)


# --- record properties ------------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(RECIPES))
def test_every_result_carries_a_record_even_when_nothing_is_excluded(name, base):
    if RECIPES[name].refused:
        with pytest.raises(ParameterError, match=RECIPES[name].refused):
            _call(RECIPES[name], base)
        return
    frames = _frames(_call(RECIPES[name], base))
    assert frames, f"{name} returned no table"
    for f in frames:
        assert S.has_record(f)
        assert qakit.records.producer(f)
        assert list(S.exclusions(f).columns) == S.EXCLUSION_COLUMNS


def test_exclusions_on_a_hand_made_frame_raises():
    with pytest.raises(ParameterError, match="carries no qakit record"):
        qakit.exclusions(pd.DataFrame({"iqs": [80.0]}))
    with pytest.raises(ParameterError, match="carries no qakit record"):
        S.adjustments(pd.DataFrame({"iqs": [80.0]}))


def test_a_merge_outside_qakit_does_not_read_as_nothing_excluded(base):
    """concat of two results with different records drops attrs in pandas: exclusions() must raise,
    not return an empty table."""
    a = qakit.kpis.handle_time(base["conversations"].assign(handle_time_s=np.nan), min_n=0)
    b = qakit.kpis.handle_time(base["conversations"], min_n=0)
    assert not S.exclusions(a).empty
    merged = pd.concat([a, b])
    if S.has_record(merged):  # pandas kept one side's attrs: then they must be a real record
        assert qakit.records.producer(merged)
    else:
        with pytest.raises(ParameterError):
            qakit.exclusions(merged)


def test_composite_results_carry_their_parts_records(base):
    """iqs_score on scores with an all-N/A review carries the scorer's exclusion (source score_reviews)."""
    r = base["ratings"].copy()
    first = r["review_id"].iloc[0]
    r.loc[r["review_id"].eq(first), "rating"] = np.nan
    scores = base["card"].score(r)
    res = qakit.iqs_score(scores, min_n=0)
    ex = qakit.exclusions(res)
    row = ex[ex["reason"].str.startswith("all categories N/A")]
    assert row["row_ids"].iloc[0] == (first,)
    assert row["source"].iloc[0] == "score_reviews"
    assert qakit.records.producer(res) == "iqs_score"


@pytest.mark.parametrize(("param", "value", "message"), [
    ("level", 95, "level must be a finite number > 0 and < 1; got 95"),
    ("level", float("nan"), "level must be a finite number > 0 and < 1; got nan"),
    ("min_n", "abc", "min_n must be an integer >= 0; got 'abc'"),
    ("min_n", 2.5, "min_n must be an integer >= 0; got 2.5"),
    ("min_n", True, "min_n must be an integer >= 0; got True"),
])
def test_shared_parameters_are_checked_with_one_message_everywhere(param, value, message, base):
    """Every export that takes ``level`` / ``min_n`` refuses the same bad value with the same message."""
    checked = 0
    for name, fn in exported().items():
        if name not in RECIPES or param not in inspect.signature(fn).parameters:
            continue
        r = RECIPES[name]
        mod, fname = name.split(".")
        original = exported()[name]

        def spy(*a, _orig=original, **kw):
            kw[param] = value
            return _orig(*a, **kw)

        with pytest.raises(ParameterError) as info:
            _call_with(r, base, mod, fname, spy)
        assert str(info.value) == message, name
        checked += 1
    assert checked >= 5


def _call_with(recipe: Recipe, base: dict, mod: str, fname: str, spy: Callable):
    module = importlib.import_module(f"qakit.{mod}")
    saved = getattr(module, fname)
    setattr(module, fname, spy)
    targets = [module]
    if getattr(qakit, fname, None) is saved:
        targets.append(qakit)
        setattr(qakit, fname, spy)
    try:
        return _call(recipe, base)
    finally:
        for t in targets:
            setattr(t, fname, saved)


@pytest.mark.parametrize(("call", "old"), [
    (lambda t: qakit.category_scores(t["ratings"], scorecard=t["card"], min_n=0), "'scorecard' is now called 'card'"),
    (lambda t: qakit.score_reviews(t["ratings"], scorecards=t["card"]), "'scorecards' is now called 'card'"),
])
def test_old_parameter_names_work_for_one_release_with_a_future_warning(call, old, base):
    """The renames of CHANGELOG.md still in place (the scorecard parameter, in modules being rewritten
    in a parallel branch): the old spelling works, with a FutureWarning naming both. The renames in
    qakit.stats and qakit.calibration are removed in 0.2.0."""
    with pytest.warns(FutureWarning, match=old):
        res = call(base)
    assert S.has_record(res if isinstance(res, pd.DataFrame) else _frames(res)[0])


def test_old_and_new_name_together_are_refused(base):
    with pytest.raises(ParameterError, match="pass 'card' only"):
        qakit.category_scores(base["ratings"], scorecard=base["card"], card=base["card"])
