"""``interestyle app``: a local editor in the browser (Gradio), a thin layer over the public API.

Needs the optional extra: ``pip install 'interestyle[app]'``. [`Editor`][interestyle.app.session.Editor] holds the
models and does the work through [`interestyle.invert`][interestyle.invert], [`interestyle.edit`][interestyle.edit] and
[`interestyle.style_mix`][interestyle.style_mix]; [`build_app`][interestyle.app.build_app] lays it out as a Gradio page;
[`launch`][interestyle.app.launch] serves it on 127.0.0.1 only, offline, with analytics off and never a share link.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING, Any

from ..errors import MissingExtraError
from ..validation import check_positive_int
from .session import DEFAULT_MODEL, Editor, Inversion
from .uploads import MAX_MEGAPIXELS, read_upload

if TYPE_CHECKING:
    import gradio as gr

__all__ = [
    "DEFAULT_MODEL",
    "MAX_MEGAPIXELS",
    "MAX_QUEUE",
    "Editor",
    "Inversion",
    "build_app",
    "launch",
    "read_upload",
]

INSTALL = "the app needs Gradio: pip install 'interestyle[app]'"
MAX_QUEUE = 16
"""Requests that may wait for the model at once (each event runs one at a time): past it a visitor gets
"This application is currently busy. Please try again." (gradio_client: ``QueueError``) at once, instead
of waiting without end."""


def require_gradio() -> None:
    """Import `interestyle.app.ui` (which imports Gradio, analytics off).

    Raises:
        MissingExtraError: Gradio is not installed (an ImportError whose message says what to install).
    """
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    try:
        from .ui import build_app as _build  # noqa: F401 (imported anew when a test removed it)
    except ModuleNotFoundError as exc:
        if exc.name != "gradio":
            raise
        raise MissingExtraError(INSTALL, extra="app") from None


def build_app(editor: Editor) -> gr.Blocks:
    """The Gradio page for ``editor`` (see `interestyle.app.ui.build_app`).

    Raises:
        MissingExtraError: Gradio is not installed (an ImportError whose message says what to install).
    """
    require_gradio()
    from .ui import build_app as build

    return build(editor)


def launch(
    editor: Editor, *, port: int | None = None, block: bool = True, max_queue: int = MAX_QUEUE, **kwargs: Any
) -> gr.Blocks:
    """Serve the editor on ``http://127.0.0.1:PORT`` (no share link, no analytics) and return the Blocks.

    It prints one line (which model, the address) unless ``quiet=True``, and routes the library's warnings
    raised while serving a request into that visitor's page (`interestyle.app.ui.route_warnings`).

    Args:
        editor: the models and directions to serve.
        port: the port; None lets Gradio pick a free one from 7860 on.
        block: wait until the server is stopped (Ctrl+C); False returns at once with the server running.
        max_queue: requests that may wait at once (see [`MAX_QUEUE`][interestyle.app.MAX_QUEUE]); more are told to try
            again.
        kwargs: more arguments for ``gr.Blocks.launch`` (not ``share`` or ``server_name``).
    """
    for forbidden in ("share", "server_name"):
        if forbidden in kwargs:
            raise ValueError(f"{forbidden}= is fixed: the app serves on 127.0.0.1 only, never through a share link")
    max_queue = check_positive_int(max_queue, "max_queue")
    app = build_app(editor)
    from .ui import CSS, route_warnings

    route_warnings()
    announce = not kwargs.pop("quiet", False)
    app.queue(max_size=max_queue)
    app.launch(
        server_name="127.0.0.1",
        server_port=port,
        share=False,
        inbrowser=False,
        prevent_thread_lock=True,
        footer_links=["api"],
        quiet=True,  # Gradio's own lines include a hint to set share=True, which this app never does
        **{"css": CSS, **kwargs},
    )
    if announce:
        print(f"IntereStyle editor for {editor.name}: open {app.local_url} in a browser (Ctrl+C stops it)", flush=True)
    if block:
        app.block_thread()
    return app
