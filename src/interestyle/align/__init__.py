"""Real photos: FFHQ face alignment, landmark providers, and pasting the results back.

The encoders only understand faces placed the way the generator's training data placed them (FFHQ's
crop). ``align_face`` makes that crop from landmarks; ``unalign`` / ``paste_back`` put an inverted or
edited crop back into the photo::

    from interestyle.align import align_faces, paste_back

    faces = align_faces("photo.jpg", "mediapipe", size=256)   # needs interestyle[mediapipe]
    ...  # invert / edit torch.cat([f.image for f in faces]) -> edited (F, 3, 256, 256)
    photo = paste_back("photo.jpg", edited, [f.transform for f in faces])

This package never imports the models; the optional MediaPipe backend is imported on first use.
"""

from ..errors import NoFaceError
from .faces import PhotoFaces, align_faces, align_photos, face_batch, paste_photos
from .ffhq import AlignedFace, AlignmentTransform, align_face, ffhq_quad
from .landmarks import (
    ENTRY_POINT_GROUP,
    LandmarkProvider,
    available_landmark_providers,
    get_landmark_provider,
    register_landmark_provider,
)
from .paste import DEFAULT_FEATHER_FRACTION, face_region_mask, paste_back, paste_weight, unalign

__all__ = [
    "DEFAULT_FEATHER_FRACTION",
    "ENTRY_POINT_GROUP",
    "AlignedFace",
    "AlignmentTransform",
    "LandmarkProvider",
    "NoFaceError",
    "PhotoFaces",
    "align_face",
    "align_faces",
    "align_photos",
    "available_landmark_providers",
    "face_batch",
    "face_region_mask",
    "ffhq_quad",
    "get_landmark_provider",
    "paste_back",
    "paste_photos",
    "paste_weight",
    "register_landmark_provider",
    "unalign",
]
