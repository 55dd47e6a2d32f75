"""The match line of a review card: the earlier judged or deleted files a re-upload is the same picture as."""
from __future__ import annotations

__all__ = ["match_wikitext", "MAX_MATCHES"]

#: earlier files named on one card, at most
MAX_MATCHES = 3


def match_wikitext(matches) -> str:
    """What a card says about the earlier files a version matches (:class:`storage.signatures.MatchRecord`,
    closest first): a link to each, its verdict (who answered, the diff) or its deletion log, and how close
    the match is (PDQ bits of 256 that differ; similarity of the classifier's features, 1 = identical)."""
    shown = []
    for m in list(matches)[:MAX_MATCHES]:
        title = m.reference_title
        if m.reason == "deleted":
            log_url = "{{fullurl:Special:Log/delete|page=" + title.replace(" ", "_") + "}}"
            why = f"deleted ([{log_url} deletion log])"
        else:
            who = f" by [[User:{m.verdict_reviewer}|{m.verdict_reviewer}]]" if m.verdict_reviewer else ""
            diff = f" ([[Special:Diff/{m.verdict_revid}|answer]])" if m.verdict_revid else ""
            why = f"answered <b>{m.reason}</b>{who}{diff}"
        close = []
        if m.pdq_distance is not None:
            close.append(f"PDQ distance {m.pdq_distance}/256")
        if m.cosine is not None:
            close.append(f"similarity {m.cosine:.2f}")
        shown.append(f"same picture as [[:{title}]], {why}; {', '.join(close)}")
    return "<br/>".join(shown)
