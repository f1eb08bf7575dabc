"""Media stored as a file as they are: ``Audio``, ``Video``, ``Html``, ``Object3D`` and ``Molecule``.

Each keeps its bytes from construction on (a file read, a WAV written, a string encoded), so its reference
carries ``sha256`` and ``size`` like W&B's. The web app's viewers for 3-D objects and molecules come later; the
files are stored and read back already.
"""

from __future__ import annotations

import io
import json
import os
import wave
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from runyard.media.base import Media, MediaFile, file_ref, media_path, need, sha256_hex

__all__ = ["Audio", "Html", "Molecule", "Object3D", "Video"]


class _FileMedia(Media):
    _subdir = "files"
    _ext = ""

    def __init__(self, content: bytes, ext: str, caption: str | None = None) -> None:
        self._content = content
        self._ext = ext
        self._caption = None if caption is None else str(caption)

    def _extra(self) -> dict[str, Any]:
        return {}

    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        path = media_path(self._subdir, key, step, sha256_hex(self._content)[:20], self._ext)
        ref = file_ref(self._log_type, path, self._content, caption=self._caption, **self._extra())
        return ref, [MediaFile(path, content=self._content)]

    def __repr__(self) -> str:
        return f"<runyard.{type(self).__name__} {len(self._content)} bytes>"


def _read(path: Any, what: str, allowed: Sequence[str] | None = None) -> tuple[bytes, str]:
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"runyard.{what}: {str(path)!r} is not a file")
    name = p.name.lower()
    ext = next((e for e in allowed or () if name.endswith("." + e)), None) if allowed else p.suffix.lower()[1:]
    if allowed and ext is None:
        raise ValueError(f"runyard.{what}: {p.name!r} is not one of the file types {', '.join(allowed)}")
    return p.read_bytes(), "." + (ext or "bin")


def _is_path(value: Any) -> bool:
    return isinstance(value, (str, os.PathLike))


class Audio(_FileMedia):
    """A sound to log: ``runyard.Audio(samples, sample_rate=16000)`` or ``runyard.Audio("speech.wav")``.

    Arrays are written as 16-bit WAV with the standard library: floats in -1..1, or integers (int16 range);
    shape ``(n,)`` (mono) or ``(n, channels)``.

    Args:
        data_or_path: a NumPy array (or list) of samples, or the path of an audio file (kept as it is).
        sample_rate: samples per second; required with an array.
        caption: a caption shown with the sound.

    Raises:
        ValueError: an array without ``sample_rate``, or of more than 2 dimensions.
    """

    _log_type = "audio-file"
    _subdir = "audio"

    def __init__(self, data_or_path: Any, sample_rate: int | None = None, caption: str | None = None) -> None:
        self._sample_rate = sample_rate
        self._duration: float | None = None
        if _is_path(data_or_path):
            content, ext = _read(data_or_path, "Audio")
            super().__init__(content, ext, caption)
            return
        if sample_rate is None:
            raise ValueError("runyard.Audio: an array of samples needs sample_rate=")
        np = need("numpy", "runyard.Audio from an array")
        samples = np.asarray(data_or_path.detach().cpu().numpy() if hasattr(data_or_path, "detach") else data_or_path)
        if samples.ndim not in (1, 2) or samples.size == 0:
            raise ValueError(f"runyard.Audio: samples must be of shape (n,) or (n, channels), not {samples.shape}")
        if samples.dtype.kind == "f":
            pcm = (np.clip(np.nan_to_num(samples), -1.0, 1.0) * 32767).astype("<i2")
        elif samples.dtype.kind in ("i", "u"):
            pcm = np.clip(samples, -32768, 32767).astype("<i2")
        else:
            raise TypeError(f"runyard.Audio: samples of {samples.dtype} are not sound; use floats or integers")
        channels = 1 if pcm.ndim == 1 else pcm.shape[1]
        buf = io.BytesIO()
        with wave.open(buf, "wb") as w:
            w.setnchannels(channels)
            w.setsampwidth(2)
            w.setframerate(int(sample_rate))
            w.writeframes(np.ascontiguousarray(pcm).tobytes())
        self._duration = pcm.shape[0] / float(sample_rate)
        super().__init__(buf.getvalue(), ".wav", caption)

    def _extra(self) -> dict[str, Any]:
        return {"sample_rate": self._sample_rate, "duration": self._duration}

    @classmethod
    def seq_to_json(cls, seq: Sequence[Audio], refs: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": "audio", "count": len(refs), "audio": refs}
        out["sampleRates"] = [a._sample_rate for a in seq]
        out["durations"] = [a._duration for a in seq]
        if seq[0]._caption is not None:
            out["captions"] = [a._caption for a in seq]
        return out


class Video(_FileMedia):
    """A video to log: ``runyard.Video("rollout.mp4")`` or ``runyard.Video(frames, fps=4, format="gif")``.

    Args:
        data_or_path: the path of a video file (kept as it is), or an array of frames ``(time, channels,
            height, width)`` as W&B takes them (encoding an array needs imageio: ``pip install 'runyard[media]'``).
        caption: a caption shown with the video.
        fps: frames per second of an array (default 4).
        format: ``"gif"`` (default), ``"mp4"``, ``"webm"`` or ``"ogg"`` for an array.
    """

    _log_type = "video-file"
    _subdir = "videos"

    def __init__(
        self, data_or_path: Any, caption: str | None = None, fps: int | None = None, format: str | None = None
    ) -> None:
        self.width: int | None = None
        self.height: int | None = None
        if _is_path(data_or_path):
            content, ext = _read(data_or_path, "Video")
            super().__init__(content, ext, caption)
            return
        fmt = (format or "gif").lower()
        if fmt not in ("gif", "mp4", "webm", "ogg"):
            raise ValueError(f"runyard.Video: format must be gif, mp4, webm or ogg, not {format!r}")
        np = need("numpy", "runyard.Video from an array")
        frames = np.asarray(data_or_path.detach().cpu().numpy() if hasattr(data_or_path, "detach") else data_or_path)
        if frames.ndim != 4 or frames.shape[1] not in (1, 3, 4):
            raise ValueError(
                "runyard.Video: an array of frames must be of shape (time, channels, height, width), "
                f"not {frames.shape}"
            )
        imageio = need("imageio.v2", "runyard.Video from an array of frames", "imageio")
        hwc = frames.transpose(0, 2, 3, 1)
        if hwc.dtype.kind == "f":
            hwc = (np.clip(hwc, 0, 1) * 255 if hwc.max() <= 1.0 else np.clip(hwc, 0, 255)).astype(np.uint8)
        else:
            hwc = np.clip(hwc, 0, 255).astype(np.uint8)
        buf = io.BytesIO()
        imageio.mimwrite(buf, list(hwc), format=fmt, fps=fps or 4)
        self.height, self.width = int(hwc.shape[1]), int(hwc.shape[2])
        super().__init__(buf.getvalue(), "." + fmt, caption)

    def _extra(self) -> dict[str, Any]:
        return {"width": self.width, "height": self.height}

    @classmethod
    def seq_to_json(cls, seq: Sequence[Video], refs: list[dict[str, Any]]) -> dict[str, Any]:
        out: dict[str, Any] = {"_type": "videos", "count": len(refs), "videos": refs}
        if seq[0]._caption is not None:
            out["captions"] = [v._caption for v in seq]
        return out


class Html(_FileMedia):
    """HTML to log, shown in a sandboxed frame: ``runyard.Html("<h1>report</h1>")`` or an open file or path.

    Args:
        data: the HTML text, a file object to read it from, or the path of an ``.html`` file.
        inject: accepted for W&B compatibility (runyard adds no stylesheet).
    """

    _log_type = "html-file"
    _subdir = "html"

    def __init__(self, data: Any, inject: bool = True, data_is_not_path: bool = False) -> None:
        if hasattr(data, "read"):
            text = data.read()
        elif not data_is_not_path and _is_path(data) and len(str(data)) < 4096 and Path(data).is_file():
            text = Path(data).read_text(encoding="utf-8")
        elif isinstance(data, str):
            text = data
        else:
            raise TypeError(f"runyard.Html: pass HTML text, a file or a path, not {type(data).__name__}")
        super().__init__(text.encode("utf-8") if isinstance(text, str) else bytes(text), ".html")

    @classmethod
    def seq_to_json(cls, seq: Sequence[Html], refs: list[dict[str, Any]]) -> dict[str, Any]:
        return {"_type": "html", "count": len(refs), "html": refs}


_OBJECT3D_TYPES = ("obj", "gltf", "glb", "babylon", "stl", "pts.json")
_MOLECULE_TYPES = ("pdb", "pqr", "mmcif", "mcif", "cif", "sdf", "sd", "gro", "mol2", "mmtf")


class Object3D(_FileMedia):
    """A 3-D object or point cloud to log (stored; the web app's viewer comes later).

    Args:
        data_or_path: the path of an ``obj``, ``gltf``, ``glb``, ``babylon``, ``stl`` or ``pts.json`` file, or a
            point cloud: a NumPy array of shape ``(n, 3)`` (xyz), ``(n, 4)`` (xyz and a category) or ``(n, 6)``
            (xyz and rgb), stored as W&B's ``pts.json``.
        caption: a caption.
    """

    _log_type = "object3D-file"
    _subdir = "object3D"

    def __init__(self, data_or_path: Any, caption: str | None = None, **kwargs: Any) -> None:
        if isinstance(data_or_path, dict) and data_or_path.get("type") == "lidar/beta":
            super().__init__(json.dumps(data_or_path).encode(), ".pts.json", caption)
            return
        if _is_path(data_or_path):
            content, ext = _read(data_or_path, "Object3D", _OBJECT3D_TYPES)
            super().__init__(content, ext, caption)
            return
        np = need("numpy", "runyard.Object3D from a point cloud")
        points = np.asarray(data_or_path)
        if points.ndim != 2 or points.shape[1] not in (3, 4, 6):
            raise ValueError(
                f"runyard.Object3D: a point cloud must be of shape (n, 3), (n, 4) or (n, 6), not {points.shape}"
            )
        super().__init__(json.dumps(points.tolist()).encode(), ".pts.json", caption)


class Molecule(_FileMedia):
    """A molecule to log, from a structure file (stored; the web app's viewer comes later).

    Args:
        data_or_path: the path of a ``pdb``, ``pqr``, ``mmcif``, ``mcif``, ``cif``, ``sdf``, ``sd``, ``gro``,
            ``mol2`` or ``mmtf`` file, or an open file with ``file_type`` naming its type.
        caption: a caption.
    """

    _log_type = "molecule-file"
    _subdir = "molecule"

    def __init__(
        self, data_or_path: Any, caption: str | None = None, file_type: str | None = None, **kwargs: Any
    ) -> None:
        if hasattr(data_or_path, "read"):
            if file_type not in _MOLECULE_TYPES:
                raise ValueError(f"runyard.Molecule: file_type must be one of {', '.join(_MOLECULE_TYPES)}")
            data = data_or_path.read()
            super().__init__(data.encode() if isinstance(data, str) else bytes(data), "." + file_type, caption)
            return
        if not _is_path(data_or_path):
            raise TypeError(f"runyard.Molecule: pass the path of a structure file, not {type(data_or_path).__name__}")
        content, ext = _read(data_or_path, "Molecule", _MOLECULE_TYPES)
        super().__init__(content, ext, caption)
