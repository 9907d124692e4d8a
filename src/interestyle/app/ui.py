"""The Gradio page: components wired to [`Editor`][interestyle.app.session.Editor]; no image logic here."""

from __future__ import annotations

import functools
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from PIL import Image

from ..errors import InterestyleError
from ..images import mask_to_pil, to_pil
from .session import MIX_LAYERS, Editor, Inversion, ResultFolders
from .uploads import MAX_MEGAPIXELS, read_upload

# Must be set before gradio is imported: no usage statistics leave the machine.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from gradio.context import LocalContext

__all__ = ["CSS", "MASK_LABEL", "build_app", "route_warnings", "tell"]

# Small models make small images: scale them up to their frame, pixels kept sharp.
CSS = """
.its-image img { width: 100% !important; height: 100% !important; object-fit: contain; image-rendering: pixelated; }
"""

# What a visitor can fix: one message in the page and one line in the log, and the app keeps serving.
PAGE_ERRORS = (InterestyleError, ValueError, TypeError, FileNotFoundError, ImportError)
MAX_SLIDERS = 12
CACHE_HOURS = 6.0
F = TypeVar("F", bound=Callable[..., Any])

INTRO = """\
# IntereStyle editor
Pick a sample face or upload a photo, check the **interest mask** (white = face and hair; touch it up with
the brush of the mask's toolbar), then **Invert**. The error is measured inside the mask only: what lies
outside it (backgrounds, hands, microphones) is not the encoder's job. Then move the sliders, or mix styles.
"""
MASK_LABEL = (
    "Interest mask: white = interest region. Toolbar on the left: Brush, then Color: white adds, black "
    "removes; Erase takes strokes back"
)


def tell(message: str) -> None:
    """A note for the visitor: a yellow toast in the page (not an error badge) and one line on stderr."""
    print(f"interestyle app: {' '.join(message.split())}", file=sys.stderr, flush=True)
    gr.Warning(message)


def _in_page(fn: F) -> F:
    """Turn a user-fixable exception into one message in the page and one log line (no stack trace, no red
    error badges on the outputs, which keep what they showed)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except PAGE_ERRORS as exc:
            tell(str(exc))
            return gr.skip()

    return wrapper  # type: ignore[return-value]


def route_warnings() -> None:
    """Show the library's warnings (the demo model on a real photo, a photo too small, a mask that assumes an aligned
    crop) to the visitor whose request raised them, each time, as `tell` does; warnings outside a request go where they
    went. Installed once, by [`interestyle.app.launch`][interestyle.app.launch]."""
    if getattr(warnings.showwarning, "_interestyle_app", False):
        return
    shown = warnings.showwarning

    def show(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
        if LocalContext.event_id.get(None) is not None and issubclass(category, UserWarning):
            tell(str(message))
        else:
            shown(message, category, *args, **kwargs)

    show._interestyle_app = True  # type: ignore[attr-defined]
    warnings.showwarning = show
    warnings.filterwarnings("always", category=UserWarning, module=r"interestyle\.")


def _png(image: Image.Image | None, folder: Path, name: str) -> str | None:
    """``image`` written to ``folder/NAME.png``; what an event returns for an image.

    Gradio copies a returned file into its cache atomically, but rewrites a returned PIL image in place, at
    a path named by its content: two visitors getting the same image at once (every sample's aligned-face
    mask is the same) then read it half-written, and their requests fail.
    """
    if image is None:
        return None
    path = folder / f"{name}.png"
    image.save(path, format="PNG")
    return str(path)


def _editor_mask(value: Any) -> Image.Image | None:
    """The painted mask of an ImageEditor value (its composite), or None when there is none."""
    if value is None:
        return None
    composite = value.get("composite") if isinstance(value, dict) else value
    return composite if isinstance(composite, Image.Image) else None


def build_app(editor: Editor) -> gr.Blocks:
    """The editor's page for ``editor``'s model; launch it with ``.launch(server_name="127.0.0.1")``.

    Events (also callable through ``gradio_client`` by these API names): ``sample`` (seed -> photo),
    ``upload`` (file -> photo), ``mask`` (photo, provider -> mask), ``invert`` (photo, mask, align, refine ->
    input, mask, baseline, IntereStyle, errors, edited, downloads), ``edit`` (sliders -> edited,
    downloads), ``style_sample`` / ``style_upload`` and ``mix`` (style, layers -> mixed, downloads).
    """
    names = list(editor.directions)[:MAX_SLIDERS]
    providers = editor.mask_providers()
    default_provider = "aligned-face" if "aligned-face" in providers else (providers[0] if providers else None)

    folders = ResultFolders()  # one per request: its images and downloads

    def load_photo(path: str | None) -> str | None:
        if path is None:
            raise ValueError("no file was uploaded")
        image, note = read_upload(path)
        if note:
            tell(note)
        return _png(image, folders.new(), "photo")

    def sample(seed: float) -> str | None:
        return _png(editor.sample(int(seed)), folders.new(), "sample")

    def mask(photo: Image.Image | None, provider: str) -> str | None:
        return None if photo is None else _png(editor.mask(photo, provider), folders.new(), "mask")

    def shown_with_downloads(result: Any, folder: Path) -> tuple[str, list[str]]:
        """The result as the page shows it, and the files offered for download (its PNG is the shown one)."""
        png, latents = editor.save(editor.shown(result), result.latents[:1], folder)
        return str(png), [str(png), str(latents)]

    def invert(
        photo: Image.Image | None,
        painted: Any,
        align: bool,
        refine: bool,
        progress: Any = gr.Progress(track_tqdm=True),  # noqa: B008 (track_tqdm: refine's bar over its steps)
    ) -> tuple:
        if photo is None:
            raise ValueError("no photo yet: pick a sample or upload a photo first")
        inv = editor.invert(
            photo,
            _editor_mask(painted),
            align=align,
            refine=refine,
            progress=lambda f, t: progress(f, desc=t),
        )
        r = inv.result
        folder = folders.new()
        shown, files = shown_with_downloads(r, folder)
        mask_image = None if r.masks is None else mask_to_pil(r.masks[0])[0]
        baseline = None if inv.baseline is None else to_pil(inv.baseline.images[:1])[0]
        sliders = [gr.update(value=0.0) for _ in names]
        return (
            _png(to_pil(r.inputs[:1])[0], folder, "input"),
            _png(mask_image, folder, "mask"),
            _png(baseline, folder, "baseline"),
            _png(to_pil(r.images[:1])[0], folder, "reconstruction"),
            inv.error_text(),
            shown,
            files,
            inv,
            *sliders,
        )

    def edit(inv: Inversion | None, *strengths: float) -> tuple:
        if inv is None:
            raise ValueError("invert a photo first, then move the sliders")
        result = editor.edit(inv, dict(zip(names, strengths, strict=True)))
        return shown_with_downloads(result, folders.new())

    def mix(inv: Inversion | None, style: Image.Image | None, layers: str, progress: Any = gr.Progress()) -> tuple:  # noqa: B008
        if inv is None:
            raise ValueError("invert a photo first, then mix its style")
        if style is None:
            raise ValueError("no style image yet: pick a sample or upload one")
        progress(0.0, desc="inverting the style image")
        result = editor.mix(inv, style, layers)
        return shown_with_downloads(result, folders.new())

    image = functools.partial(
        gr.Image, type="pil", format="png", interactive=False, height=220, elem_classes="its-image"
    )
    # Gradio's cache holds a copy of every result; those older than CACHE_HOURS go (checked every half hour)
    cache = (1800, int(CACHE_HOURS * 3600))
    with gr.Blocks(title="IntereStyle editor", analytics_enabled=False, delete_cache=cache) as app:
        state = gr.State(None)
        gr.Markdown(INTRO + "\n" + editor.describe(), elem_id="intro")
        with gr.Row():
            with gr.Column():
                photo = image(label="Photo", elem_id="photo", height=300)
                with gr.Row():
                    seed = gr.Number(value=0, precision=0, minimum=0, label="Sample number", elem_id="sample-seed")
                    sample_button = gr.Button("Sample face", elem_id="sample")
                upload = gr.File(
                    label=f"…or upload a photo (PNG, JPEG, WebP; up to {MAX_MEGAPIXELS:.0f} megapixels)",
                    file_types=["image"],
                    elem_id="upload",
                )
            with gr.Column():
                provider = gr.Dropdown(providers, value=default_provider, label="Interest-mask provider")
                painted = gr.ImageEditor(
                    type="pil",
                    image_mode="RGB",
                    format="png",
                    sources=(),
                    label=MASK_LABEL,
                    brush=gr.Brush(colors=["#ffffff", "#000000"], default_color="#ffffff", color_mode="fixed"),
                    eraser=gr.Eraser(),  # with a second tool Gradio shows the toolbar, and so the colours
                    layers=False,
                    transforms=(),
                    height=300,
                    elem_id="mask-editor",
                )
                align = gr.Checkbox(
                    label="Align the face first (real photos; needs the optional mediapipe backend)", value=False
                )
                refine_box = gr.Checkbox(
                    label=f"Refine: tune the generator to the photo inside the mask ({editor.refine_steps} steps, "
                    "seconds on a CPU; the occluder is never learned)",
                    value=False,
                    elem_id="refine",
                )
                invert_button = gr.Button("Invert", variant="primary", elem_id="invert")
        with gr.Row():
            shown_input = image(label="Input", elem_id="input")
            shown_mask = image(label="Mask", elem_id="mask")
            shown_baseline = image(label="Baseline", elem_id="baseline", visible=editor.baseline is not None)
            shown_recon = image(label="IntereStyle", elem_id="reconstruction")
        errors = gr.Markdown(elem_id="errors")
        with gr.Row():
            with gr.Column():
                gr.Markdown("### Edit")
                sliders = []
                for k, name in enumerate(names):
                    low, high, step = editor.slider_range(name)
                    sliders.append(
                        gr.Slider(
                            low,
                            high,
                            value=0,
                            step=step,
                            label=editor.labels[name],
                            info=editor.directions[name].description or None,
                            elem_id=f"slider-{k}",
                        )
                    )
                edited = image(label="Edited (pasted into the photo through the mask)", elem_id="edited")
            with gr.Column():
                gr.Markdown(f"### Style mixing\nStyle vectors of this model: {editor.layer_help()}.")
                style = image(label="Style image", elem_id="style", height=200)
                with gr.Row():
                    style_seed = gr.Number(value=1, precision=0, minimum=0, label="Sample number")
                    style_button = gr.Button("Sample style", elem_id="style-sample")
                style_upload = gr.File(label="…or upload a style image", file_types=["image"])
                layers = gr.Radio(list(MIX_LAYERS), value="coarse", label="Take from the style image")
                mix_button = gr.Button("Mix", elem_id="mix")
                mixed = image(label="Mixed", elem_id="mixed")
        files = gr.File(
            label="Downloads: result PNG and latents (safetensors)",
            file_count="multiple",
            interactive=False,
            elem_id="downloads",
        )

        sample_button.click(_in_page(sample), seed, photo, api_name="sample").then(
            _in_page(mask), [photo, provider], painted, api_name=False
        )
        upload.upload(_in_page(load_photo), upload, photo, api_name="upload").then(
            _in_page(mask), [photo, provider], painted, api_name=False
        )
        provider.change(_in_page(mask), [photo, provider], painted, api_name="mask")
        invert_button.click(
            _in_page(invert),
            [photo, painted, align, refine_box],
            [shown_input, shown_mask, shown_baseline, shown_recon, errors, edited, files, state, *sliders],
            api_name="invert",
        )
        gr.on(
            [slider.input for slider in sliders],
            _in_page(edit),
            [state, *sliders],
            [edited, files],
            api_name="edit",
            trigger_mode="always_last",
        )
        style_button.click(_in_page(sample), style_seed, style, api_name="style_sample")
        style_upload.upload(_in_page(load_photo), style_upload, style, api_name="style_upload")
        mix_button.click(_in_page(mix), [state, style, layers], [mixed, files], api_name="mix")
    return app
