"""Offline landmarks and face-hull masks from MediaPipe's face mesh (``pip install 'interestyle[mediapipe]'``).

``mediapipe==0.10.21`` carries its face detector and 468-point face-mesh models inside the wheel, so it
runs with no download (later releases ship no models). It pins numpy 1.26 and pulls jax: install it in a
separate environment, never beside a numpy 2 stack. This module imports mediapipe only when a provider
is first called.

The mesh is mapped to the 68-point iBUG convention by `MESH_TO_68` (one mesh vertex per iBUG
point, chosen by anatomy: the face-oval contour for the jaw, the brow, nose, eyelid and lip contours for
the rest). The correspondence is approximate: the mesh's oval follows the visible face edge, which at the
temples (points 0 and 16) sits higher than dlib's jaw line, and dlib's eyelid points are at the lash line
where the mesh has its own spacing. The points FFHQ alignment uses (eye centres as means of 36-41 /
42-47, mouth corners 48 / 54) are the eye contours' corners and lids and the lip corners, which the two
conventions share closely. Five points: the means of the 68-point eyes, mesh vertex 1 (nose tip), and the
lip corners 61 and 291.
"""

from __future__ import annotations

import importlib.util
import threading
from typing import Any

import numpy as np
import torch
from PIL import Image, ImageDraw
from torch import Tensor

from ..errors import MissingExtraError
from ..validation import check_positive_int, check_unit_interval

__all__ = ["MESH_NOSE_TIP", "MESH_TO_68", "MediaPipeFaceMask", "MediaPipeLandmarks", "mesh_to_68", "mesh_to_five"]

# iBUG 68 <- MediaPipe face-mesh vertex. Left/right are the image's for an upright face.
MESH_TO_68: tuple[int, ...] = (
    # 0-16 jaw, from the image's left temple over the chin (8) to the right temple
    162, 234, 93, 58, 172, 136, 149, 148, 152, 377, 378, 365, 397, 288, 323, 454, 389,
    # 17-21 left brow (outer to inner), 22-26 right brow (inner to outer)
    71, 63, 105, 66, 107, 336, 296, 334, 293, 301,
    # 27-30 nose bridge (top to tip), 31-35 nostrils (left to right)
    168, 197, 5, 4, 75, 97, 2, 326, 305,
    # 36-41 left eye: outer corner, upper lid (2), inner corner, lower lid (2)
    33, 160, 158, 133, 153, 144,
    # 42-47 right eye: inner corner, upper lid (2), outer corner, lower lid (2)
    362, 385, 387, 263, 373, 380,
    # 48-59 outer lip: left corner, upper lip to the right corner (54), lower lip back
    61, 39, 37, 0, 267, 269, 291, 405, 314, 17, 84, 181,
    # 60-67 inner lip: left corner, upper, right corner (64), lower
    78, 82, 13, 312, 308, 317, 14, 87,
)  # fmt: skip
MESH_NOSE_TIP = 1
_MESH_POINTS = 468

_INSTALL = (
    "the 'mediapipe' landmark backend needs mediapipe==0.10.21 (its models ship in the wheel): "
    "pip install 'interestyle[mediapipe]' in its own environment (it pins numpy 1.26 and pulls jax)"
)


def mesh_to_68(mesh: Tensor) -> Tensor:
    """(F, 468, 2) face-mesh pixels -> (F, 68, 2) iBUG pixels (see `MESH_TO_68`)."""
    return mesh[:, list(MESH_TO_68)]


def mesh_to_five(mesh: Tensor) -> Tensor:
    """(F, 468, 2) face-mesh pixels -> (F, 5, 2): eye centres, nose tip, mouth corners (image's left first)."""
    ibug = mesh_to_68(mesh)
    return torch.stack(
        [ibug[:, 36:42].mean(1), ibug[:, 42:48].mean(1), mesh[:, MESH_NOSE_TIP], ibug[:, 48], ibug[:, 54]], dim=1
    )


def _require_mediapipe() -> None:
    """Fail when the provider is made, before any work, if MediaPipe is missing (without importing it)."""
    if importlib.util.find_spec("mediapipe") is None:
        raise MissingExtraError(_INSTALL, extra="mediapipe")


class _FaceMesh:
    """One lazily built MediaPipe FaceMesh graph (static images), shared by the calls of one provider.

    Raises:
        MissingExtraError: MediaPipe is not installed.
    """

    def __init__(self, max_faces: int, min_confidence: float) -> None:
        _require_mediapipe()
        self.max_faces = check_positive_int(max_faces, "max_faces")
        self.min_confidence = check_unit_interval(min_confidence, "min_confidence")
        self._graph: Any = None
        self._lock = threading.Lock()  # a MediaPipe graph processes one image at a time

    def _build(self) -> Any:
        try:
            from mediapipe.python.solutions import face_mesh
        except ImportError as exc:
            raise MissingExtraError(f"{_INSTALL} ({exc})", extra="mediapipe") from None
        return face_mesh.FaceMesh(
            static_image_mode=True,
            max_num_faces=self.max_faces,
            refine_landmarks=False,
            min_detection_confidence=self.min_confidence,
        )

    def __call__(self, image: Tensor) -> Tensor:
        """(3, H, W) in [-1, 1] -> (F, 468, 2) pixel coordinates (pixel centres at integers)."""
        if not isinstance(image, Tensor) or image.ndim != 3 or image.shape[0] != 3:
            shape = tuple(image.shape) if isinstance(image, Tensor) else type(image).__name__
            raise ValueError(f"a landmark provider takes one (3, H, W) image in [-1, 1], got {shape}")
        h, w = image.shape[-2:]
        rgb = ((image.detach().float().cpu().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
        array = np.ascontiguousarray(rgb.permute(1, 2, 0).numpy())
        with self._lock:
            if self._graph is None:
                self._graph = self._build()
            found = self._graph.process(array).multi_face_landmarks or []
        # MediaPipe's normalised coordinates run from the image's left / top edge (0) to the right / bottom (1).
        points = [[(p.x * w - 0.5, p.y * h - 0.5) for p in face.landmark[:_MESH_POINTS]] for face in found]
        return torch.tensor(points, dtype=torch.float32).reshape(len(points), _MESH_POINTS, 2)

    def close(self) -> None:
        with self._lock:
            if self._graph is not None:
                self._graph.close()
                self._graph = None


class MediaPipeLandmarks:
    """A [`LandmarkProvider`][interestyle.align.LandmarkProvider] built on MediaPipe's face mesh; works offline.

    Args:
        points: 68 (iBUG, default), 5 (eyes, nose, mouth corners) or 468 (the raw mesh; not accepted by
            [`align_face`][interestyle.align.align_face], for your own use).
        max_faces: most faces returned per image.
        min_confidence: the face detector's threshold, in [0, 1].

    ``provider(image)`` with ``image`` (3, H, W) in [-1, 1] returns (F, points, 2) float32 pixel coordinates.
    """

    def __init__(self, *, points: int = 68, max_faces: int = 8, min_confidence: float = 0.5) -> None:
        if points not in (5, 68, _MESH_POINTS):
            raise ValueError(f"points={points!r} is invalid: expected 68, 5 or {_MESH_POINTS}")
        self.points = points
        self._mesh = _FaceMesh(max_faces, min_confidence)

    def mesh(self, image: Tensor) -> Tensor:
        """The raw face mesh: (3, H, W) in [-1, 1] -> (F, 468, 2) pixels."""
        return self._mesh(image)

    def __call__(self, image: Tensor) -> Tensor:
        mesh = self._mesh(image)
        if self.points == 68:
            return mesh_to_68(mesh)
        if self.points == 5:
            return mesh_to_five(mesh)
        return mesh

    def close(self) -> None:
        """Release the MediaPipe graph (it is rebuilt on the next call)."""
        self._mesh.close()

    def __repr__(self) -> str:
        return f"MediaPipeLandmarks(points={self.points}, max_faces={self._mesh.max_faces})"


def _convex_hull(points: np.ndarray) -> np.ndarray:
    """Andrew's monotone chain: (N, 2) -> hull vertices (M, 2), counter-clockwise."""
    pts = sorted(map(tuple, points.tolist()))
    if len(pts) < 3:
        return np.asarray(pts)

    def cross(o: tuple[float, float], a: tuple[float, float], b: tuple[float, float]) -> float:
        return (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])

    lower: list[tuple[float, float]] = []
    upper: list[tuple[float, float]] = []
    for p in pts:
        while len(lower) >= 2 and cross(lower[-2], lower[-1], p) <= 0:
            lower.pop()
        lower.append(p)
    for p in reversed(pts):
        while len(upper) >= 2 and cross(upper[-2], upper[-1], p) <= 0:
            upper.pop()
        upper.append(p)
    return np.asarray(lower[:-1] + upper[:-1])


class MediaPipeFaceMask:
    """A mask provider: the convex hull of each face's mesh, brow to chin (hair is not included).

    Args:
        grow: enlarge each hull about its centre by this fraction (0.1 = 10 %), e.g. to take in the forehead.
        max_faces: most faces per image; all are painted.
        min_confidence: the face detector's threshold, in [0, 1].

    ``provider(images)`` with ``images`` (B, 3, H, W) in [-1, 1] returns (B, 1, H, W) float32 in [0, 1]
    (antialiased edges; zeros where no face is found).
    """

    _SUPERSAMPLE = 4

    def __init__(self, *, grow: float = 0.0, max_faces: int = 8, min_confidence: float = 0.5) -> None:
        self.grow = check_unit_interval(grow, "grow", note="a fraction: 0.1 grows each hull by 10 %")
        self._mesh = _FaceMesh(max_faces, min_confidence)

    def __call__(self, images: Tensor) -> Tensor:
        if not isinstance(images, Tensor) or images.ndim != 4 or images.shape[1] != 3:
            shape = tuple(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise ValueError(f"a mask provider takes (B, 3, H, W) images in [-1, 1], got {shape}")
        h, w = images.shape[-2:]
        k = self._SUPERSAMPLE
        masks = []
        for image in images:
            canvas = Image.new("L", (w * k, h * k), 0)
            draw = ImageDraw.Draw(canvas)
            for face in self._mesh(image).double().numpy():
                hull = _convex_hull(face)
                hull = hull.mean(0) + (hull - hull.mean(0)) * (1 + self.grow)
                draw.polygon([((x + 0.5) * k, (y + 0.5) * k) for x, y in hull], fill=255)
            small = canvas.resize((w, h), Image.Resampling.BOX)
            masks.append(torch.from_numpy(np.asarray(small, dtype=np.float32) / 255.0))
        return torch.stack(masks)[:, None].to(images.device)

    def close(self) -> None:
        """Release the MediaPipe graph (it is rebuilt on the next call)."""
        self._mesh.close()
