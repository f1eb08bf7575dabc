"""``Image``: an image logged to a run, stored as a PNG (or the file given) under ``media/images/``.

Logging must stay cheap in the training thread: the constructor checks the input and keeps a copy of the
pixels; the PNG is encoded later, off that thread (see :mod:`runyard.sdk.media_writer`). The file is named at
log time (key, step and a random id), so history holds its reference at once.
"""

from __future__ import annotations

import io
import os
import warnings
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from runyard.media.base import Media, MediaFile, file_ref, media_path, need, sha256_hex
from runyard.media.png import encode_png, png_size

__all__ = ["Image"]

_MODES = {"L": 1, "LA": 2, "RGB": 3, "RGBA": 4}
_CHANNELS = (1, 2, 3, 4)


class Image(Media):
    """An image to log: ``runyard.log({"examples": runyard.Image(array, caption="a cat")})``.

    Args:
        data_or_path: a NumPy array (``HW`` greyscale, ``HWC`` or ``CHW`` with 1, 3 or 4 channels; ``HWC`` may
            also have 2: grey and alpha) of integers (0..255) or floats (0..1, or any range, which is rescaled),
            a torch tensor (``CHW`` or ``HW``), a PIL image, a matplotlib figure (or ``matplotlib.pyplot``: its
            current figure), or the path of an image file (kept as it is).
        mode: the PIL-style mode of an array: ``"L"``, ``"LA"``, ``"RGB"`` or ``"RGBA"``; it must match the
            number of channels. Guessed from the shape when not given.
        caption: a caption shown with the image.
        grouping: accepted for W&B compatibility.
        normalize: rescale float arrays to 0..255 as W&B does (default True); False clips them instead.

    Raises:
        ValueError: an array whose shape is not an image (not 2-D or 3-D, a channel count other than 1-4, empty)
            or a mode that does not match it; a file that does not exist.
        TypeError: an unsupported element type (complex, strings, objects) or input type.
        runyard.media.base.MediaDependencyError: a JPEG or other non-PNG file, or a PIL image, without Pillow
            installed (``pip install 'runyard[media]'``).
    """

    _log_type = "image-file"

    def __init__(
        self,
        data_or_path: Any,
        mode: str | None = None,
        caption: str | None = None,
        grouping: int | None = None,
        classes: Any = None,
        boxes: Any = None,
        masks: Any = None,
        file_type: str | None = None,
        normalize: bool = True,
    ) -> None:
        self._caption = None if caption is None else str(caption)
        self._grouping = grouping
        self._array: Any = None
        self._chw = False
        self._pil: Any = None
        self._content: bytes | None = None
        self._digest: str | None = None
        self._normalize = normalize
        self.format = "png"
        if boxes is not None or masks is not None:
            warnings.warn("runyard.Image: boxes and masks are not stored yet; the image is", stacklevel=2)
        if mode is not None and mode not in _MODES:
            raise ValueError(f"runyard.Image: mode must be one of {', '.join(_MODES)}, not {mode!r}")
        data = data_or_path
        module = data.__name__ if isinstance(data, ModuleType) else type(data).__module__  # matplotlib.pyplot
        if isinstance(data, (str, os.PathLike)):
            self._from_path(Path(data))
        elif isinstance(data, Image):
            self.__dict__.update({k: v for k, v in data.__dict__.items() if k != "_caption"})
        elif module.startswith("PIL.") or module == "PIL":
            self._pil = data.copy()
            self.width, self.height = (int(v) for v in data.size)
        elif module.startswith("matplotlib"):
            self._from_figure(data)
        elif module.startswith("torch"):
            array = data.detach().cpu()
            if array.dtype.is_floating_point and str(array.dtype) == "torch.bfloat16":
                array = array.float()
            self._from_array(array.numpy(), mode, torch=True)
        elif hasattr(data, "__array__") or isinstance(data, (list, tuple)):
            np = need("numpy", "runyard.Image from an array")
            self._from_array(np.asarray(data), mode, torch=False)
        else:
            raise TypeError(
                f"runyard.Image: cannot make an image of {type(data).__name__}; pass a NumPy array, a torch "
                "tensor, a PIL image, a matplotlib figure or the path of an image file"
            )

    # -- inputs
    def _from_path(self, path: Path) -> None:
        if not path.is_file():
            raise ValueError(f"runyard.Image: {str(path)!r} is not a file")
        data = path.read_bytes()
        ext = path.suffix.lower().lstrip(".") or "png"
        size = png_size(data)
        if size is None:
            pil = need("PIL.Image", f"runyard.Image of a .{ext} file", "Pillow")
            try:
                with pil.open(io.BytesIO(data)) as img:
                    size = img.size
            except Exception as exc:
                raise ValueError(f"runyard.Image: {str(path)!r} is not an image Pillow can read: {exc}") from None
        self.width, self.height = int(size[0]), int(size[1])
        self._content = data
        self.format = ext

    def _from_figure(self, fig: Any) -> None:
        if hasattr(fig, "gcf"):  # the pyplot module itself, as W&B accepts
            fig = fig.gcf()
        if not hasattr(fig, "savefig"):
            fig = getattr(fig, "figure", None)
        if fig is None or not hasattr(fig, "savefig"):
            raise TypeError("runyard.Image: pass a matplotlib Figure (or matplotlib.pyplot)")
        buf = io.BytesIO()
        fig.savefig(buf, format="png")  # here: matplotlib is not safe to use from another thread
        data = buf.getvalue()
        size = png_size(data)
        assert size is not None
        self.width, self.height = size
        self._content = data

    def _from_array(self, array: Any, mode: str | None, torch: bool) -> None:
        kind = array.dtype.kind
        if kind not in ("u", "i", "f", "b"):
            raise TypeError(
                f"runyard.Image: an array of {array.dtype} is not an image; use integers (0..255), floats or bools"
            )
        shape = tuple(int(n) for n in array.shape)
        if len(shape) == 3 and shape[0] in (1, 3, 4) and (torch or shape[-1] not in _CHANNELS):
            self._chw = True  # torch images are CHW, as W&B reads them; a NumPy array is when HWC cannot be
        if len(shape) == 2:
            height, width, channels = shape[0], shape[1], 1
        elif len(shape) == 3:
            if self._chw:
                channels, height, width = shape
            else:
                height, width, channels = shape
            if channels not in _CHANNELS:
                raise ValueError(
                    f"runyard.Image: an array of shape {shape} is not an image: expected HW, HWC or CHW with "
                    "1, 3 or 4 channels"
                )
        else:
            raise ValueError(
                f"runyard.Image: an array of shape {shape} is not an image: expected HW, HWC or CHW with 1, 3 or "
                "4 channels"
            )
        if width == 0 or height == 0:
            raise ValueError(f"runyard.Image: an array of shape {shape} is empty")
        if mode is not None and _MODES[mode] != channels:
            raise ValueError(f"runyard.Image: mode {mode!r} needs {_MODES[mode]} channel(s); the array has {channels}")
        import numpy as np

        self._array = np.array(array, order="C", copy=True)  # the caller may reuse its buffer after log()
        self.width, self.height = width, height

    # -- logging
    @property
    def image(self) -> Any:
        """The image as a PIL image (needs Pillow)."""
        pil = need("PIL.Image", "runyard.Image.image", "Pillow")
        if self._pil is not None:
            return self._pil
        return pil.open(io.BytesIO(self._content if self._content is not None else self._encode()))

    def _ident(self) -> str:
        """The id in the file's name: W&B's (the file's SHA-256) when the bytes are known; else 20 random hex
        digits, chosen once per object: hashing the pixels would cost more than the rest of ``log()``."""
        if self._digest is None:
            if self._content is not None:
                self._digest = sha256_hex(self._content)[:20]
            else:
                self._digest = os.urandom(10).hex()
        return self._digest

    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        path = media_path("images", key, step, self._ident(), "." + self.format)
        ref = file_ref(
            self._log_type,
            path,
            self._content,
            format=self.format,
            width=self.width,
            height=self.height,
            caption=self._caption,
            grouping=self._grouping,
        )
        if self._content is not None:
            return ref, [MediaFile(path, content=self._content)]
        return ref, [MediaFile(path, encode=self._encode)]

    def _encode(self) -> bytes:
        """The PNG bytes (run off the training thread)."""
        if self._pil is not None:
            buf = io.BytesIO()
            self._pil.save(buf, format="PNG")
            return buf.getvalue()
        return encode_png(_to_uint8_hwc(self._array, self._chw, self._normalize))

    @classmethod
    def seq_to_json(cls, seq: Sequence[Image], refs: list[dict[str, Any]]) -> dict[str, Any]:
        """W&B's ``images/separated`` reference for a list of images logged in one key."""
        first = seq[0]
        out: dict[str, Any] = {
            "_type": "images/separated",
            "width": first.width,
            "height": first.height,
            "format": refs[0]["format"],
            "count": len(seq),
            "filenames": [r["path"] for r in refs],
        }
        if first._caption is not None:
            out["captions"] = [img._caption for img in seq]
        return out

    def __repr__(self) -> str:
        return f"<runyard.Image {self.width}x{self.height}>"


def _to_uint8_hwc(array: Any, chw: bool, normalize: bool) -> Any:
    """W&B's conversion of image arrays: floats in 0..1 (or any range, rescaled) to 0..255, others clipped."""
    import numpy as np

    if chw:
        array = array.transpose(1, 2, 0)
    if array.ndim == 2:
        array = array[:, :, None]
    kind = array.dtype.kind
    if kind == "b":
        array = array.astype(np.uint8) * 255
    elif kind == "f":
        array = np.nan_to_num(array.astype(np.float64), nan=0.0, posinf=255.0, neginf=0.0)
        if normalize:
            lo = float(array.min())
            if lo < 0:
                span = float(array.max()) - lo
                array = (array - lo) / span if span > 0 else np.zeros_like(array)
            if float(array.max()) <= 1.0:
                array = array * 255
        array = array.clip(0, 255).astype(np.uint8)
    elif array.dtype != np.uint8:
        array = array.clip(0, 255).astype(np.uint8)
    return np.ascontiguousarray(array)
