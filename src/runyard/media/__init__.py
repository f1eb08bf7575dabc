"""Media and tables for ``log()``: ``Image``, ``Histogram``, ``Table``, ``Audio``, ``Video``, ``Html``,
``Object3D``, ``Molecule``, and the charts of :mod:`runyard.media.plot`.

How they are stored (history references, run files) is described in docs/media.md. The package is pure: no
SDK or store import, and optional libraries (NumPy, Pillow, pandas, imageio) imported only when used.
"""

from __future__ import annotations

from runyard.media import plot
from runyard.media.base import Media, MediaDependencyError, MediaFile
from runyard.media.files import Audio, Html, Molecule, Object3D, Video
from runyard.media.histogram import Histogram
from runyard.media.image import Image
from runyard.media.plot import CustomChart, plot_table
from runyard.media.sequence import MediaList
from runyard.media.table import Table

__all__ = [
    "Audio",
    "CustomChart",
    "Histogram",
    "Html",
    "Image",
    "Media",
    "MediaDependencyError",
    "MediaFile",
    "MediaList",
    "Molecule",
    "Object3D",
    "Table",
    "Video",
    "plot",
    "plot_table",
]
