"""Runs holding media as the wandb client logs it, written through the store's ingest of run-log records.

History rows hold W&B-shaped references (``image-file``, ``images/separated``, ``histogram``, ``table-file``,
``audio-file``, ``video-file``, ``html-file``) and the bytes are run files at the references' paths, exactly
what the wandb protocol path stores for the real client (tests/wandb_client/test_wandb_media.py checks that
one end to end); config holds a custom chart spec under ``_wandb.visualize``.
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
import zlib
from typing import Any

from runyard.records import KIND_EXIT, KIND_FILE, KIND_ROW, KIND_START

ENTITY = "local"
HTML = b"<h1 id='h'>hello runyard</h1><script>document.getElementById('h').dataset.ran = '1'</script>"


def png(width: int, height: int, seed: int) -> bytes:
    """A small RGB PNG (a gradient whose colour depends on ``seed``), encoded without Pillow."""
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            row += bytes(((x * 255) // max(1, width - 1), (seed * 47) % 256, (y * 255) // max(1, height - 1)))
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"".join(rows)))
        + chunk(b"IEND", b"")
    )


def wav(samples: int = 800, rate: int = 8000) -> bytes:
    """A short mono 16-bit WAV tone."""
    data = b"".join(struct.pack("<h", int(8000 * math.sin(i / 4))) for i in range(samples))
    fmt = struct.pack("<HHIIHH", 1, 1, rate, rate * 2, 2, 16)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body)) + body


def image_ref(path: str, content: bytes, width: int, height: int, caption: str | None = None) -> dict[str, Any]:
    ref: dict[str, Any] = {
        "_type": "image-file",
        "path": path,
        "sha256": hashlib.sha256(content).hexdigest(),
        "size": len(content),
        "format": "png",
        "width": width,
        "height": height,
    }
    if caption is not None:
        ref["caption"] = caption
    return ref


def file_ref(kind: str, path: str, content: bytes, **extra: Any) -> dict[str, Any]:
    return {"_type": kind, "path": path, "sha256": hashlib.sha256(content).hexdigest(), "size": len(content), **extra}


def histogram(step: int, bins: int = 64) -> dict[str, Any]:
    """A histogram of ``1000`` samples shifting right with ``step`` (as wandb.Histogram logs it)."""
    centre = bins / 2 + 8 * math.sin(step / 10)
    values = [round(1000 * math.exp(-(((i - centre) / 6) ** 2)) / (6 * math.sqrt(math.pi))) for i in range(bins)]
    edges = [-1.0 + 2.0 * i / bins for i in range(bins + 1)]
    return {"_type": "histogram", "values": values, "bins": edges}


def table_json(rows: int, image_path: str | None = None) -> bytes:
    """A table file ``{"columns", "data"}`` of ``rows`` rows: id, label, score (and an image cell)."""
    columns = ["id", "label", "score"] + (["image"] if image_path else [])
    data = []
    for i in range(rows):
        row: list[Any] = [i, f"class-{i % 3}", round(((i * 7919) % 1000) / 1000, 3)]
        if image_path:
            row.append({"_type": "image-file", "path": image_path, "format": "png", "width": 16, "height": 16})
        data.append(row)
    return json.dumps({"columns": columns, "data": data}).encode()


LINE_SPEC = {
    "panel_type": "Vega2",
    "panel_config": {
        "panelDefId": "wandb/line/v0",
        "fieldSettings": {"x": "x", "y": "y", "stroke": None},
        "stringSettings": {"title": "squares"},
        "transform": {"name": "tableWithLeafColNames"},
        "userQuery": {
            "queryFields": [
                {
                    "name": "runSets",
                    "fields": [{"name": "summaryTable", "args": [{"name": "tableKey", "value": "squares_table"}]}],
                }
            ]
        },
    },
}
CONFUSION_SPEC = {
    "panel_type": "Vega2",
    "panel_config": {
        "panelDefId": "wandb/confusion_matrix/v1",
        "fieldSettings": {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"},
        "stringSettings": {"title": "confusion"},
        "userQuery": {
            "queryFields": [
                {
                    "name": "runSets",
                    "fields": [{"name": "summaryTable", "args": [{"name": "tableKey", "value": "confusion_table"}]}],
                }
            ]
        },
    },
}


def media_run(project: str, run_id: str, *, steps: int = 5, seed: int = 0, table_rows: int = 30) -> list[list[Any]]:
    """The records of one finished run logging every media type (images each step, the rest at the end)."""
    start = {
        "session": f"s-{project}-{run_id}",
        "run_id": run_id,
        "project": project,
        "entity": ENTITY,
        "name": f"media-{run_id}",
        "notes": None,
        "tags": [],
        "group": None,
        "job_type": None,
        "config": {"lr": 0.1, "_wandb": {"visualize": {"squares": LINE_SPEC, "confusion": CONFUSION_SPEC}}},
        "created_at": 1.0 + seed,
        "started_at": 1.0 + seed,
        "resumed": False,
        "start_step": 0,
        "runtime_offset": 0.0,
        "host": "h",
        "pid": 1,
        "username": "local",
        "program": "media.py",
        "mode": "online",
    }
    records: list[list[Any]] = [[1, KIND_START, start]]

    def add(kind: str, body: dict[str, Any]) -> None:
        records.append([len(records) + 1, kind, body])

    for step in range(steps):
        content = png(24, 16, seed * 100 + step)
        path = f"media/images/img_{step}_{hashlib.sha256(content).hexdigest()[:20]}.png"
        add(KIND_FILE, {"name": path, "content": content})
        grid = [png(12, 12, seed + step + i) for i in range(2)]
        grid_paths = [
            f"media/images/grid_{step}_{i}_{hashlib.sha256(g).hexdigest()[:8]}.png" for i, g in enumerate(grid)
        ]
        for gp, g in zip(grid_paths, grid, strict=True):
            add(KIND_FILE, {"name": gp, "content": g})
        row = {
            "_step": step,
            "_runtime": float(step),
            "_timestamp": 100.0 + step,
            "loss": 1.0 / (step + 1),
            "img": image_ref(path, content, 24, 16, caption=f"{run_id} step {step}"),
            "grid": {
                "_type": "images/separated",
                "count": 2,
                "filenames": grid_paths,
                "captions": ["left", "right"],
                "width": 12,
                "height": 12,
                "format": "png",
            },
            "weights": histogram(step + seed),
        }
        add(KIND_ROW, row)
    last = steps
    cell = png(16, 16, seed + 7)
    cell_path = "media/images/cell_0.png"
    add(KIND_FILE, {"name": cell_path, "content": cell})
    files = {
        "media/table/samples_0.table.json": table_json(table_rows, cell_path),
        "media/table/squares_table_0.table.json": json.dumps(
            {"columns": ["x", "y"], "data": [[x, x * x + seed] for x in range(10)]}
        ).encode(),
        "media/table/confusion_table_0.table.json": json.dumps(
            {
                "columns": ["Actual", "Predicted", "nPredictions"],
                "data": [[a, p, 5 if a == p else 1] for a in ("cat", "dog", "bird") for p in ("cat", "dog", "bird")],
            }
        ).encode(),
        "media/audio/sound_0.wav": wav(),
        "media/html/page_0.html": HTML,
        "media/videos/clip_0.gif": png(16, 16, 3),  # a still standing in for a GIF: the panel shows it as an image
    }
    for name, content in files.items():
        add(KIND_FILE, {"name": name, "content": content})
    t = lambda name, **extra: file_ref("table-file", name, files[name], **extra)  # noqa: E731
    add(
        KIND_ROW,
        {
            "_step": last,
            "_runtime": float(last),
            "_timestamp": 100.0 + last,
            "samples": t("media/table/samples_0.table.json", ncols=4, nrows=table_rows),
            "squares_table": t("media/table/squares_table_0.table.json", ncols=2, nrows=10),
            "confusion_table": t("media/table/confusion_table_0.table.json", ncols=3, nrows=9),
            "sound": file_ref(
                "audio-file", "media/audio/sound_0.wav", files["media/audio/sound_0.wav"], caption="tone"
            ),
            "page": file_ref("html-file", "media/html/page_0.html", files["media/html/page_0.html"]),
            "clip": file_ref("video-file", "media/videos/clip_0.gif", files["media/videos/clip_0.gif"]),
        },
    )
    add(KIND_EXIT, {"exit_code": 0, "state": "finished", "t": 200.0, "runtime": float(last + 1)})
    return records
