"""Categories are stored at ingest, in the imageinfo query itself, so reports break down by them."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from bot.metadata import file_versions
from classifiers.learning.evaluation import build_evaluation
from classifiers.learning.report import write_report
from storage import ScoreIn, VerdictIn

from .conftest import MODEL
from .test_uploader_context import CountingRequests, _upload

pytestmark = pytest.mark.wiki


def test_categories_are_stored_at_ingest_and_fill_the_breakdown(site, store, wiki, tmp_path,
                                                                 monkeypatch):
    alice = wiki.user("Alice")
    for name, colour in (("Beach one.png", "yellow"), ("Statue one.png", "grey")):
        _upload(alice, name, colour, tmp_path)
    alice.edit("File:Beach one.png", "[[Category:Beaches]] [[Category:Swimwear]]")
    alice.edit("File:Statue one.png", "[[Category:Classical art]]")
    requests = CountingRequests(monkeypatch)
    found = file_versions(site, ["File:Beach one.png", "File:Statue one.png"], thumb_width=250)
    # categories cost no request of their own (pywikibot's siteinfo queries aside)
    assert [p["prop"] for p in requests.seen if "titles" in p] == ["imageinfo|categories"]
    assert found["File:Beach one.png"].categories == ("Beaches", "Swimwear")
    assert found["File:Statue one.png"].categories == ("Classical art",)

    ids = store.add_file_versions(list(found.values()))
    store.record_scores([(v, MODEL, ScoreIn(flagged=s > 0.5, score=s, media_type="still",
                                            frames=((0, None, s),)))
                         for v, s in zip(ids, (0.9, 0.7))])
    for vid, verdict in zip(ids, ("nsfw", "sfw")):
        store.record_verdict(VerdictIn(version_id=vid, reviewer="Patty", verdict=verdict, revid=vid,
                                       timestamp=datetime(2026, 11, 21, tzinfo=timezone.utc),
                                       trusted=True))
    labelled = sorted(store.labelled_versions(), key=lambda v: v.title)
    assert [v.categories for v in labelled] == [("Beaches", "Swimwear"), ("Classical art",)]
    evaluation = build_evaluation(source="stored", keys=[v.title for v in labelled],
                                  labels=[int(v.label == "nsfw") for v in labelled],
                                  scores_by_model={MODEL: [v.scores[MODEL] for v in labelled]},
                                  categories=[v.categories for v in labelled])
    report = write_report(evaluation, tmp_path / "report").read_text()
    assert "## By category" in report and f"| {MODEL} | Classical art | 1 | 0 |" in report
