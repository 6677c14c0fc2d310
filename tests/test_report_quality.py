"""The coaching and scorecard-health displays (issue 25) on datasets that cannot support them: one
line saying which file would enable them, never a traceback in the report."""

from __future__ import annotations

import shutil

import qakit.report.quality as Q
import qakit.report.data as D
from qakit import datasets


def test_sections_without_reviews_or_coaching_say_what_is_missing(tmp_path):
    src = datasets.sample_data_dir()
    (tmp_path / "kpi").mkdir()
    (tmp_path / "reviews").mkdir()
    for f in ("conversations.parquet", "surveys.parquet"):
        shutil.copy(src / f, tmp_path / "kpi" / f)
    for f in ("ratings.parquet", "scorecard.yaml"):
        shutil.copy(src / f, tmp_path / "reviews" / f)
    kpi = D.load_report_data(dataset=str(tmp_path / "kpi"))
    Q.load_coaching(kpi, dataset=str(tmp_path / "kpi"))
    for show in (Q.coaching_verdict, Q.coaching_figure, Q.coaching_effect_table, Q.health_verdict, Q.health_table,
                 Q.consistency_table, Q.discrimination_figure, Q.redundancy_table):
        assert repr(show(kpi)) == Q.NO_REVIEWS
    reviews = D.load_report_data(dataset=str(tmp_path / "reviews"))
    Q.load_coaching(reviews, dataset=str(tmp_path / "reviews"))
    assert reviews.coaching is None
    assert repr(Q.coaching_verdict(reviews)) == Q.NO_COACHING
    assert "Cronbach's alpha is" in repr(Q.health_verdict(reviews))  # the section is shown (its numbers: test_health)


def test_sample_coaching_is_found_and_read(tmp_path):
    d = D.load_report_data()
    Q.load_coaching(d)
    assert len(d.coaching) == 15 and d.coaching["coached_at"].dt.tz is not None
    assert "coaching did not credibly change IQS" in repr(Q.coaching_verdict(d))
