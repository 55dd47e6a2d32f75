"""bot.matching.Matcher on real photos and the real model: edited copies match, unrelated photos do not."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image, ImageOps

from classifiers import ScoringPipeline, load_classifier
from storage.signatures import StoredSignature

from bot.matching import Matcher

from tests.classifiers.conftest import PHOTOS, photo_path


@pytest.fixture(scope="module")
def pipeline():
    return ScoringPipeline(load_classifier(runtime="onnxruntime"), frames=3)


def jpeg(image: Image.Image, quality: int = 60) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="JPEG", quality=quality)
    return buf.getvalue()


def signed(pipeline, items):
    return {r.key: r.signatures for r in pipeline.score(items)}


def references(signatures_by_version: dict[int, tuple], reason: str = "nsfw") -> list[StoredSignature]:
    return [StoredSignature(version, s.index, s.pdq, s.pdq_quality, s.embedding.tobytes(), reason)
            for version, sigs in signatures_by_version.items() for s in sigs]


def edited(image: Image.Image) -> Image.Image:
    w, h = image.size
    return ImageOps.mirror(image.crop((w // 12, h // 12, w - w // 12, h - h // 12)).resize((w * 2 // 3, h * 2 // 3)))


def test_an_edited_copy_matches_and_unrelated_photos_do_not(pipeline):
    names = PHOTOS[:8]
    originals = {n: Image.open(photo_path(n)).convert("RGB") for n in names}
    sigs = signed(pipeline, [(n, jpeg(im, 90)) for n, im in originals.items()])
    judged = {100 + i: sigs[n] for i, n in enumerate(names[:4])}  # four judged files
    matcher = Matcher(references(judged))
    copies = signed(pipeline, [(n, jpeg(edited(originals[n]))) for n in names])
    for i, name in enumerate(names[:4]):
        (found,) = matcher.match(1, copies[name])
        assert (found.reference_version_id, found.reason) == (100 + i, "nsfw")
        assert found.cosine is not None and found.cosine >= matcher.thresholds.cosine
    for name in names[4:]:  # never judged: no match with the four others
        assert matcher.match(1, copies[name]) == []


def test_a_version_never_matches_itself_and_empty_sets_match_nothing(pipeline):
    name = PHOTOS[0]
    sigs = signed(pipeline, [(name, photo_path(name).read_bytes())])[name]
    assert Matcher([]).match(5, sigs) == []
    assert Matcher(references({5: sigs})).match(5, sigs) == []
    assert [m.reference_version_id for m in Matcher(references({6: sigs})).match(5, sigs)] == [6]


def test_an_animation_matches_frame_by_frame(pipeline):
    """A GIF whose middle frame is a judged photo matches it; the other frames do not matter."""
    frames = [Image.open(photo_path(n)).convert("RGB").resize((320, 240)) for n in PHOTOS[:3]]
    judged_name = PHOTOS[1]
    judged = signed(pipeline, [(judged_name, jpeg(Image.open(photo_path(judged_name)).convert("RGB")))])
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=200)
    (anim,) = signed(pipeline, [("anim", buf.getvalue())]).values()
    assert len(anim) == 3
    (found,) = Matcher(references({9: judged[judged_name]}, reason="deleted")).match(1, anim)
    assert (found.reference_version_id, found.reason, found.frame_index) == (9, "deleted", anim[1].index)


def test_an_embedding_alone_at_the_bar_is_needed(pipeline):
    """A frame without embedding matches by PDQ only (a mirrored copy then does not)."""
    name = PHOTOS[2]
    image = Image.open(photo_path(name)).convert("RGB")
    ref = signed(pipeline, [(name, jpeg(image, 90))])[name]
    mirrored = signed(pipeline, [(name, jpeg(ImageOps.mirror(image)))])[name]
    no_embedding = [StoredSignature(3, s.index, s.pdq, s.pdq_quality, None, "nsfw") for s in ref]
    assert Matcher(no_embedding).match(1, mirrored) == []
    assert len(Matcher(references({3: ref})).match(1, mirrored)) == 1
    recompressed = signed(pipeline, [(name, jpeg(image, 50))])[name]
    (by_hash,) = Matcher(no_embedding).match(1, recompressed)
    assert by_hash.pdq_distance <= 31 and by_hash.cosine is None
