"""The torch-free preprocessing reproduces timm's own eval transform from a model's data config."""
from __future__ import annotations

import numpy as np
import pytest
import timm
from PIL import Image
from timm.data import create_transform, resolve_model_data_config

from classifiers.preprocess import PreprocessConfig, preprocess


@pytest.mark.parametrize("overlay", [
    {},  # resnet18's own: bicubic, crop_pct 0.95, centre crop, ImageNet mean/std
    dict(interpolation="bilinear", crop_pct=0.875, crop_mode="squash", mean=(0.5,) * 3, std=(0.5,) * 3),
    dict(crop_pct=1.0, crop_mode="border", input_size=(3, 192, 160)),
    dict(crop_pct=0.9, input_size=(3, 200, 256)),
], ids=["center", "squash", "border-nonsquare", "center-nonsquare"])
def test_matches_timm_create_transform(overlay, photos):
    model = timm.create_model("resnet18", pretrained=False, pretrained_cfg_overlay=overlay)
    transform = create_transform(**resolve_model_data_config(model))
    config = PreprocessConfig.from_model(model)
    for _, image in photos[:6]:
        expected = transform(image).numpy()
        ours = preprocess(image, config)
        assert ours.shape == expected.shape == config.input_size
        np.testing.assert_allclose(ours, expected, atol=2e-5)


def test_config_round_trips_through_json():
    config = PreprocessConfig(interpolation="bilinear", crop_mode="squash", jpeg_quality=75, mean=(0.1, 0.2, 0.3))
    assert PreprocessConfig.from_dict(__import__("json").loads(config.to_json())) == config


def test_decode_size_keeps_what_the_resize_needs():
    assert PreprocessConfig(input_size=(3, 224, 224), crop_pct=0.875).decode_size == 256
    assert PreprocessConfig(input_size=(3, 384, 384), crop_pct=1.0).decode_size == 384


def test_grey_and_alpha_images_become_three_channels(photos):
    config = PreprocessConfig()
    _, image = photos[0]
    assert preprocess(image.convert("L"), config).shape == (3, 224, 224)
    assert preprocess(image.convert("RGBA"), config).shape == (3, 224, 224)


@pytest.mark.parametrize("size", [(451, 300), (300, 451), (97, 211), (211, 97), (150, 150)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("overlay", [
    dict(crop_pct=1.0, crop_mode="border", input_size=(3, 192, 160)),
    dict(crop_pct=1.0, crop_mode="border", input_size=(3, 160, 192)),
    dict(crop_pct=0.9, input_size=(3, 200, 256)),
], ids=["border-tall", "border-wide", "center-nonsquare"])
def test_padding_and_crop_match_timm_for_every_aspect(overlay, size):
    """Images padded on either side (the border mode's mean fill, torchvision's symmetric pad)
    and cropped at odd offsets: the photos above are all landscape and pad only vertically."""
    rng = np.random.default_rng(7)
    image = Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")
    model = timm.create_model("resnet18", pretrained=False, pretrained_cfg_overlay=overlay)
    expected = create_transform(**resolve_model_data_config(model))(image).numpy()
    ours = preprocess(image, PreprocessConfig.from_model(model))
    assert ours.shape == expected.shape
    np.testing.assert_allclose(ours, expected, atol=2e-5)


def test_from_dict_ignores_keys_it_does_not_know():
    config = PreprocessConfig(crop_mode="squash", jpeg_quality=75)
    data = {**config.to_dict(), "_norm": "stale", "label_names": ["sfw", "nsfw"]}
    assert PreprocessConfig.from_dict(data) == config
