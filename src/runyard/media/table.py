"""``Table``: rows and columns logged to a run, stored as a ``.table.json`` file under ``media/table/``.

The file holds W&B's run table format, ``{"columns": [...], "data": [[...], ...]}``; a media cell (an image in
a row) is stored as its own file and the cell holds its reference dict. Unlike W&B, which truncates a logged
table at 10,000 rows, every row is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from runyard.media.base import Media, MediaFile, media_path, need, sha256_hex

__all__ = ["Table"]


class Table(Media):
    """A table of rows to log: ``runyard.log({"predictions": runyard.Table(columns=["id", "image"], data=rows)})``.

    Cells hold numbers, strings, bools, None, lists, dicts, or media (``runyard.Image``, ``runyard.Audio``...).

    Args:
        columns: the column names (default ``["Input", "Output", "Expected"]``, as in W&B; or
            ``"Column 1"``.. when ``data`` rows are of another width).
        data: the rows: a list of lists, a 2-D NumPy array or a pandas DataFrame.
        rows: the rows, under W&B's older name.
        dataframe: a pandas DataFrame; when given, ``columns`` and ``data`` are ignored.
        dtype, optional, allow_mixed_types, log_mode: accepted for W&B compatibility; runyard does not check
            column types.

    Raises:
        ValueError: a row whose length is not the number of columns.
    """

    MAX_ROWS: int | None = None  # W&B: 10,000 (rows past it dropped); runyard stores every row
    _log_type = "table-file"

    def __init__(
        self,
        columns: Sequence[Any] | None = None,
        data: Any = None,
        rows: Any = None,
        dataframe: Any = None,
        dtype: Any = None,
        optional: bool | list[bool] = True,
        allow_mixed_types: bool = False,
        log_mode: str | None = "IMMUTABLE",
    ) -> None:
        self.log_mode = log_mode or "IMMUTABLE"
        if rows is not None and data is None:
            data = rows
        if dataframe is None and _is_dataframe(data):
            dataframe = data
        if dataframe is not None:
            self.columns: list[Any] = [str(c) for c in dataframe.columns]
            self.data: list[list[Any]] = dataframe.to_numpy(dtype=object).tolist()
            return
        if data is not None and hasattr(data, "tolist") and hasattr(data, "ndim"):
            if data.ndim != 2:
                raise ValueError(f"runyard.Table: data must be 2-D (rows of cells), not of shape {data.shape}")
            data = data.tolist()
        rows_in = [list(r) for r in data] if data is not None else []
        if columns is None:
            width = len(rows_in[0]) if rows_in else 3
            columns = ["Input", "Output", "Expected"] if width == 3 else [f"Column {i + 1}" for i in range(width)]
        self.columns = list(columns)
        self.data = []
        for row in rows_in:
            self._check_row(row)
        self.data = rows_in

    def _check_row(self, row: Sequence[Any]) -> None:
        if len(row) != len(self.columns):
            raise ValueError(
                f"runyard.Table: a row has {len(row)} cell(s) but the table has {len(self.columns)} column(s) "
                f"({self.columns!r})"
            )

    # -- W&B's Table API
    def add_data(self, *data: Any) -> None:
        """Add one row: ``table.add_data(1, "cat", runyard.Image(img))``."""
        self._check_row(data)
        self.data.append(list(data))

    def add_row(self, *row: Any) -> None:
        """Add one row (W&B's older name for :meth:`add_data`)."""
        self.add_data(*row)

    def add_column(self, name: str, data: Sequence[Any], optional: bool = False) -> None:
        """Add a column; ``data`` has one value per row."""
        if name in self.columns:
            raise ValueError(f"runyard.Table: there is already a column named {name!r}")
        values = list(data.tolist() if hasattr(data, "tolist") else data)
        if self.columns and len(values) != len(self.data):
            raise ValueError(
                f"runyard.Table: column {name!r} has {len(values)} value(s); the table has {len(self.data)} rows"
            )
        if not self.columns:
            self.data = [[v] for v in values]
        else:
            for row, v in zip(self.data, values, strict=True):
                row.append(v)
        self.columns.append(name)

    def get_column(self, name: str, convert_to: str | None = None) -> Any:
        """The values of one column, as a list (or a NumPy array with ``convert_to="numpy"``)."""
        if name not in self.columns:
            raise KeyError(f"runyard.Table: no column named {name!r} (columns: {self.columns!r})")
        i = self.columns.index(name)
        values = [row[i] for row in self.data]
        if convert_to == "numpy":
            np = need("numpy", "Table.get_column(convert_to='numpy')")
            return np.array(values)
        return values

    def get_index(self) -> list[int]:
        """The row numbers, 0..n-1."""
        return list(range(len(self.data)))

    def get_dataframe(self) -> Any:
        """The table as a pandas DataFrame (needs pandas)."""
        pd = need("pandas", "Table.get_dataframe()")
        return pd.DataFrame(self.data, columns=self.columns)

    def iterrows(self) -> Iterator[tuple[int, list[Any]]]:
        """``(index, row)`` for each row."""
        yield from enumerate(self.data)

    @property
    def ncols(self) -> int:
        return len(self.columns)

    def __len__(self) -> int:
        return len(self.data)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Table) and self.columns == other.columns and self.data == other.data

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<runyard.Table {len(self.data)} rows x {len(self.columns)} columns>"

    # -- stored form
    def bind(self, key: str, step: int | str) -> tuple[dict[str, Any], list[MediaFile]]:
        files: list[MediaFile] = []

        def cell(value: Any) -> Any:
            if isinstance(value, Media):
                ref, cell_files = value.bind(key, step)
                files.extend(cell_files)
                return ref
            if hasattr(value, "tolist"):  # NumPy scalars and arrays, torch tensors
                return value.tolist()
            if hasattr(value, "isoformat"):
                return value.isoformat()
            raise TypeError(
                f"runyard.Table at {key!r}: a cell holds {type(value).__name__}, which a table cannot store"
            )

        text = json.dumps({"columns": self.columns, "data": self.data}, default=cell, separators=(",", ":"))
        content = text.encode()
        digest = sha256_hex(content)
        path = media_path("table", key, step, digest[:20], ".table.json")
        ref = {
            "_type": self._log_type,
            "path": path,
            "sha256": digest,
            "size": len(content),
            "ncols": len(self.columns),
            "nrows": len(self.data),
            "log_mode": self.log_mode,
        }
        return ref, [*files, MediaFile(path, content=content)]

    @classmethod
    def from_json(cls, content: dict[str, Any] | str | bytes) -> Table:
        """The table stored in a ``.table.json`` file (its parsed content, or the text)."""
        if not isinstance(content, dict):
            content = json.loads(content)
        assert isinstance(content, dict)
        table = cls(columns=list(content["columns"]))
        table.data = [list(r) for r in content["data"]]
        return table


def _is_dataframe(value: Any) -> bool:
    return type(value).__module__.startswith("pandas") and hasattr(value, "columns") and hasattr(value, "to_numpy")
