"""Voting settings reach scoring: ``vote_rule``, ``quorum`` and ``vote_k`` in bot.toml change
a file's stored verdict when ``python -m bot score`` runs against the local wiki.

The animation has four frames from four photos, one of which (scikit-image's retina) this
model scores some 100 times higher than the others. The threshold is set between the
highest frame score and the next (geometric mean, so resampling a thumbnail cannot move a
frame across it), so exactly one frame passes: ``majority`` with
quorum 0.5 does not flag it, quorum 0.25 does; ``any-k`` with k=1 flags it, k=2 does not.
A bot that dropped any of the three settings before scoring gets one of these wrong.
"""
from __future__ import annotations

import subprocess

import pytest
from PIL import Image

import storage
from storage.schema import Score

from .conftest import bot_command, photo

pytestmark = pytest.mark.wiki

TITLE = "File:Four photos.gif"


def four_photo_gif(path):
    frames = [photo(n).convert("RGB").resize((160, 120)) for n in ("chelsea", "retina", "hubble_deep_field", "rocket")]
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=200, loop=0)
    return path


@pytest.fixture
def uploaded_gif(wiki, tmp_path):
    path = four_photo_gif(tmp_path / "four.gif")
    wiki.user("Alice").upload(path, TITLE.removeprefix("File:"))
    return path


def stored_verdict(data) -> tuple[bool, float]:
    with storage.open_store(None, data_dir=data) as store:
        with store.engine.connect() as connection:
            (row,) = connection.execute(Score.__table__.select()).all()
    return row.flagged, row.score


def test_vote_rule_quorum_and_k_from_settings_change_the_verdict(uploaded_gif, scoring, bot_env, tmp_path):
    # the frame scores this model gives, measured here (deterministic for fixed weights and input)
    (result,) = scoring.pipeline.score([("gif", uploaded_gif)])
    assert result.ok and result.media_type == "animated" and len(result.frames) == 4
    ranked = sorted((f.score for f in result.frames), reverse=True)
    assert ranked[0] > 10 * ranked[1], ranked  # a threshold fits well between them
    threshold = round((ranked[0] * ranked[1]) ** 0.5, 6)

    cases = {
        'vote_rule = "majority"\nquorum = 0.5\n': False,   # 1 of 4 frames < half
        'vote_rule = "majority"\nquorum = 0.25\n': True,   # 1 of 4 frames = a quarter
        'vote_rule = "any-k"\nvote_k = 1\n': True,
        'vote_rule = "any-k"\nvote_k = 2\n': False,
    }
    got = {}
    for n, (toml, _) in enumerate(cases.items()):
        config = tmp_path / f"bot{n}.toml"
        config.write_text(f"frames = 4\nthreshold = {threshold!r}\n{toml}")
        data = tmp_path / f"data{n}"
        done = subprocess.run(bot_command("score", TITLE, "--config", str(config), "--data-dir", str(data)),
                              env=bot_env, capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout + done.stderr
        got[toml] = stored_verdict(data)[0]
    assert got == cases
