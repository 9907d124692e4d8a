"""The frozen networks the training loss measures with: LPIPS (AlexNet, v0.1) and ArcFace IR-SE50.

Both are built empty and filled from safetensors folders (``interestyle convert --kind lpips|arcface``
makes them from the public checkpoints); nothing here downloads or unpickles. The trainer uses them
for its perceptual and identity terms, and the converter uses their layouts to check what it writes;
this package imports neither of the two.
"""

from .arcface import ArcFace, IdentityLoss, face_crop, load_arcface
from .lpips import LPIPS, load_lpips

__all__ = ["LPIPS", "ArcFace", "IdentityLoss", "face_crop", "load_arcface", "load_lpips"]
