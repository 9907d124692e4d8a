"""Providers by name: built-ins, in-process registrations and installed entry points."""

from __future__ import annotations

import sys
import textwrap

import numpy as np
import pytest
import torch

from conftest import tiny_model
from interestyle import invert
from interestyle.masks import (
    ENTRY_POINT_GROUP,
    AlignedFacePrior,
    MaskProviderError,
    available_mask_providers,
    get_mask_provider,
    is_provider_name,
    register_mask_provider,
    unregister_mask_provider,
)


class Constant:
    def __init__(self, value: float = 1.0) -> None:
        self.value = value

    def __call__(self, images):
        return torch.full((images.shape[0], 1, *images.shape[-2:]), self.value)


@pytest.fixture
def registered():
    register_mask_provider("constant", Constant)
    yield "constant"
    unregister_mask_provider("constant")


def install(site, dist: str, module: str, source: str, entry_points: str) -> None:
    """A real (if tiny) installed distribution: a module plus its dist-info with entry points."""
    (site / f"{module}.py").write_text(textwrap.dedent(source))
    info = site / f"{dist.replace('-', '_')}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\n" + textwrap.dedent(entry_points))


@pytest.fixture
def site(tmp_path, monkeypatch):
    folder = tmp_path / "site-packages"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    before = set(sys.modules)
    yield folder
    for name in set(sys.modules) - before:
        if name.startswith("their_"):
            del sys.modules[name]


SEGMENTER = """
    import torch

    class TopHalf:
        name = "their-name"
        resolution = 16

        def __init__(self, level=1.0):
            self.level = level
            self.calls = []

        def __call__(self, images):
            self.calls.append(tuple(images.shape))
            m = torch.zeros(images.shape[0], 1, *images.shape[-2:])
            m[..., : images.shape[-2] // 2, :] = self.level
            return m

    def make(**options):
        return TopHalf(**options)
"""


def test_builtins_are_available():
    assert {"aligned-face", "face-parsing"} <= set(available_mask_providers())
    assert isinstance(get_mask_provider("aligned-face"), AlignedFacePrior)
    assert get_mask_provider("aligned-face", softness=0.1).softness == 0.1


def test_register_and_use_in_process(registered):
    assert registered in available_mask_providers()
    assert get_mask_provider(registered, value=0.25).value == 0.25
    with pytest.raises(ValueError, match="already registered"):
        register_mask_provider(registered, Constant)
    register_mask_provider(registered, lambda **kw: Constant(0.5), overwrite=True)
    assert get_mask_provider(registered).value == 0.5
    result = invert(tiny_model(), np.zeros((32, 32, 3), np.uint8), mask=registered)
    torch.testing.assert_close(result.masks, torch.full((1, 1, 32, 32), 0.5))


def test_unregister():
    register_mask_provider("short-lived", Constant)
    unregister_mask_provider("short-lived")
    assert "short-lived" not in available_mask_providers()
    with pytest.raises(KeyError, match="short-lived"):
        unregister_mask_provider("short-lived")


@pytest.mark.parametrize("name", ["My Mask", "mask.png", "a/b", "", "-lead", "UPPER", "tab\t", 3])
def test_invalid_names_are_refused(name):
    with pytest.raises(ValueError, match="lowercase letters"):
        register_mask_provider(name, Constant)  # type: ignore[arg-type]


def test_registration_errors():
    with pytest.raises(ValueError, match="built-in"):
        register_mask_provider("aligned-face", Constant)
    with pytest.raises(TypeError, match="must be callable"):
        register_mask_provider("not-callable", 42)  # type: ignore[arg-type]


def test_name_rule():
    assert is_provider_name("face-parsing") and is_provider_name("seg_v2") and is_provider_name("3d")
    for path_like in ("mask.png", "./mask", "masks/a", "Mask", "my mask", "C:\\m"):
        assert not is_provider_name(path_like)


def test_unknown_name_lists_the_known_ones():
    with pytest.raises(
        MaskProviderError, match="unknown mask provider 'segment-anything'; known: aligned-face, face-parsing"
    ):
        get_mask_provider("segment-anything")
    with pytest.raises(MaskProviderError, match="not a mask provider name"):
        get_mask_provider("Face Parsing")
    with pytest.raises(TypeError, match="must be a str"):
        get_mask_provider(None)  # type: ignore[arg-type]


def test_unknown_options_list_the_accepted_ones():
    with pytest.raises(
        TypeError, match=r"'aligned-face' does not accept options \['size'\].*accepts: ellipses, softness"
    ):
        get_mask_provider("aligned-face", size=3)
    with pytest.raises(TypeError, match="accepts: weights, interest_classes, soft, dilate_px256, feather_px256"):
        get_mask_provider("face-parsing", dilation=3)


def test_factory_must_return_a_provider(registered):
    register_mask_provider("returns-none", lambda **kw: None)
    try:
        with pytest.raises(MaskProviderError, match="'returns-none' returned NoneType"):
            get_mask_provider("returns-none")
    finally:
        unregister_mask_provider("returns-none")


def test_installed_entry_point_is_used_by_name(site):
    install(site, "their-segmenter", "their_segmenter", SEGMENTER, "their-name = their_segmenter:make\n")
    assert "their-name" in available_mask_providers()
    assert "their_segmenter" not in sys.modules  # listed without importing it
    photo = np.random.default_rng(0).integers(0, 256, (48, 48, 3), dtype=np.uint8)
    result = invert(tiny_model(), [photo, photo], mask="their-name")
    assert result.masks.shape == (2, 1, 32, 32)
    assert result.masks[..., :15, :].eq(1).all() and result.masks[..., 17:, :].eq(0).all()  # made at 16, upsampled
    assert "their_segmenter" in sys.modules
    provider = get_mask_provider("their-name", level=0.5)
    assert provider.level == 0.5


def test_entry_point_gets_images_at_its_resolution(site):
    install(site, "their-segmenter", "their_segmenter", SEGMENTER, "their-name = their_segmenter:make\n")
    provider = get_mask_provider("their-name")
    invert(tiny_model(), np.zeros((48, 48, 3), np.uint8), mask=provider)
    assert provider.calls == [(1, 3, 16, 16)]


def test_broken_entry_point_is_a_named_error(site):
    install(site, "their-broken", "their_broken", "import not_a_module_anywhere\n", "broken = their_broken:make\n")
    with pytest.raises(MaskProviderError, match=r"'broken' \(their_broken:make from their-broken 0.1\) failed to load"):
        get_mask_provider("broken")


def test_entry_point_to_a_non_callable(site):
    install(site, "their-value", "their_value", "make = 42\n", "value = their_value:make\n")
    with pytest.raises(MaskProviderError, match="not a factory"):
        get_mask_provider("value")


def test_clashing_entry_points(site):
    install(site, "their-one", "their_one", SEGMENTER, "same = their_one:make\n")
    install(site, "their-two", "their_two", SEGMENTER, "same = their_two:make\n")
    with pytest.raises(MaskProviderError, match="declared by several installed packages"):
        get_mask_provider("same")


def test_entry_points_cannot_shadow_builtins_or_use_bad_names(site):
    install(
        site,
        "their-shadow",
        "their_shadow",
        SEGMENTER,
        "aligned-face = their_shadow:make\nBad.Name = their_shadow:make\n",
    )
    with pytest.warns(UserWarning, match="ignoring mask-provider entry point"):
        names = available_mask_providers()
    assert "Bad.Name" not in names
    assert isinstance(get_mask_provider("aligned-face"), AlignedFacePrior)
