"""Writing results: atomic files, JSON, CSV and Markdown tables.

Every file is written to a temporary name in the same directory and renamed
into place, so an interrupted run leaves either the old file or the new one,
never half of one.
"""

import csv
import dataclasses
import io
import json
import math
import os
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np


def _umask() -> int:
  mask = os.umask(0)
  os.umask(mask)
  return mask


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
  """Writes ``data`` to ``path`` via a temporary file and ``os.replace``."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
  try:
    # mkstemp creates the file 0600; give it the mode open() would have.
    os.chmod(tmp, 0o666 & ~_umask())
    with os.fdopen(fd, "wb") as f:
      f.write(data)
      f.flush()
      os.fsync(f.fileno())
    os.replace(tmp, path)
  except BaseException:
    Path(tmp).unlink(missing_ok=True)
    raise
  return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
  """Writes ``text`` (UTF-8) to ``path`` atomically."""
  return atomic_write_bytes(path, text.encode("utf-8"))


def write_npz(
  path: str | os.PathLike, *, compressed: bool = False, **arrays
) -> Path:
  """Writes ``arrays`` as one ``.npz`` file atomically."""
  buffer = io.BytesIO()
  (np.savez_compressed if compressed else np.savez)(buffer, **arrays)
  return atomic_write_bytes(path, buffer.getvalue())


def json_safe(value: Any) -> Any:
  """``value`` with every non-finite float (nested too) replaced by ``None``.

  JSON has no NaN/inf: a diverged run is written as null, not invalid JSON.
  """
  if isinstance(value, float) and not math.isfinite(value):
    return None
  if isinstance(value, Mapping):
    return {k: json_safe(v) for k, v in value.items()}
  if isinstance(value, (list, tuple)):
    return [json_safe(v) for v in value]
  return value


def write_json(path: str | os.PathLike, obj: Any) -> Path:
  """Writes ``obj`` as indented, strict JSON (non-finite floats -> null)."""
  text = json.dumps(json_safe(obj), indent=2, allow_nan=False)
  return atomic_write_text(path, text + "\n")


def read_json(path: str | os.PathLike) -> Any:
  """Reads a JSON file; ``ValueError`` naming the file if it is not JSON."""
  try:
    return json.loads(Path(path).read_text(encoding="utf-8"))
  except json.JSONDecodeError as e:
    raise ValueError(f"{path} is not valid JSON ({e}).") from None


def json_line(obj: Any) -> str:
  """One strict JSON line (non-finite floats -> null), newline-terminated."""
  return json.dumps(json_safe(obj), allow_nan=False) + "\n"


def write_csv(
  path: str | os.PathLike,
  rows: Iterable[Mapping[str, Any]],
  columns: Sequence[str],
) -> Path:
  """Writes ``rows`` (dicts) as CSV with the given column order."""
  buffer = io.StringIO()
  writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
  writer.writeheader()
  for row in rows:
    writer.writerow({c: "" if row.get(c) is None else row[c] for c in columns})
  return atomic_write_text(path, buffer.getvalue())


def format_value(value: Any, digits: int = 4) -> str:
  """A compact human-readable cell: floats to ``digits`` significant digits."""
  if value is None:
    return "-"
  if isinstance(value, float):
    return f"{value:.{digits}g}"
  return str(value)


def percent_text(fraction: float | None, decimals: int = 2) -> str:
  """A fraction as a percentage cell, ``decimals`` after the point: 0.9731
  -> ``97.31``; ``None`` -> ``-``."""
  return "-" if fraction is None else f"{100 * fraction:.{decimals}f}"


def table_lines(
  headers: Sequence[str], rows: Iterable[Sequence[Any]]
) -> list[str]:
  """The lines of a GitHub Markdown table: the header, its rule, a line per
  row. Cells that are not strings go through :func:`format_value`; every
  table the studies write is made here."""
  lines = [
    "| " + " | ".join(headers) + " |",
    "|" + "|".join("---" for _ in headers) + "|",
  ]
  for row in rows:
    cells = [c if isinstance(c, str) else format_value(c) for c in row]
    if len(cells) != len(headers):
      raise ValueError(
        f"a table row has {len(cells)} cells for {len(headers)} headers: "
        f"{cells}"
      )
    lines.append("| " + " | ".join(cells) + " |")
  return lines


@dataclasses.dataclass(frozen=True)
class Column:
  """One column of a table: its header and how a row becomes its cell."""

  header: str
  cell: Callable[[Any], Any]


def column_table(columns: Sequence[Column], rows: Iterable[Any]) -> str:
  """The Markdown table of ``rows``, one cell per column (see
  :func:`table_lines`): a table's columns are listed once, header beside
  cell."""
  cells = ([c.cell(row) for c in columns] for row in rows)
  return "\n".join(table_lines([c.header for c in columns], cells)) + "\n"


def markdown_table(
  rows: Sequence[Mapping[str, Any]],
  columns: Sequence[str],
  headers: Sequence[str] | None = None,
) -> str:
  """Renders ``rows`` (dicts) as a GitHub Markdown table of ``columns``."""
  cells = ([format_value(row.get(c)) for c in columns] for row in rows)
  return "\n".join(table_lines(list(headers or columns), cells)) + "\n"


def write_summary(
  workdir: str | os.PathLike,
  config: Any,
  summary: Any,
  markdown: str | None = None,
) -> list[Path]:
  """A study's ``config.json`` (repeats the run), ``summary.json`` and, if
  given, ``summary.md``: the common head of every study's writer."""
  workdir = Path(workdir)
  paths = [
    write_json(workdir / "config.json", config.to_json()),
    write_json(workdir / "summary.json", summary),
  ]
  if markdown is not None:
    paths.append(atomic_write_text(workdir / "summary.md", markdown))
  return paths
