"""Per-epoch metric records: append-only JSON lines, and summaries of them.

``metrics.jsonl`` gets one line per configuration and epoch, flushed as soon
as the epoch finishes, so an interrupted run keeps every finished epoch.
"""

import json
import os
import statistics
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from lossjax.output.results import atomic_write_text, json_line


class JsonlWriter:
  """Appends JSON lines to a file, flushing and syncing after each batch."""

  def __init__(
    self,
    path: str | os.PathLike,
    *,
    truncate: bool,
    keep: Sequence[dict] = (),
  ):
    """``truncate``: start the file anew, holding only the rows ``keep``
    (written atomically: a kill leaves the old file or the new one)."""
    self.path = Path(path)
    self.path.parent.mkdir(parents=True, exist_ok=True)
    if truncate:
      atomic_write_text(self.path, "".join(json_line(r) for r in keep))
    self._file = self.path.open("a", encoding="utf-8")

  @classmethod
  def maybe(
    cls,
    workdir: str | os.PathLike | None,
    name: str,
    *,
    keep: Sequence[dict] = (),
  ):
    """A writer of ``workdir/name`` started anew with the rows ``keep``
    (those of an earlier run that it resumes), or a no-op without
    workdir."""
    if workdir is None:
      return _NullWriter()
    return cls(Path(workdir) / name, truncate=True, keep=keep)

  def write(self, rows: Iterable[dict]) -> None:
    for row in rows:
      self._file.write(json_line(row))
    self._file.flush()
    os.fsync(self._file.fileno())

  def close(self) -> None:
    self._file.close()

  def __enter__(self) -> "JsonlWriter":
    return self

  def __exit__(self, *exc) -> None:
    self.close()


class _NullWriter:
  def write(self, rows: Iterable[dict]) -> None:
    del rows

  def __enter__(self) -> "_NullWriter":
    return self

  def __exit__(self, *exc) -> None:
    pass


def read_jsonl(path: str | os.PathLike) -> list[dict]:
  """Reads JSON lines, ignoring a last line cut short by an interruption."""
  rows = []
  lines = Path(path).read_text(encoding="utf-8").splitlines()
  for number, line in enumerate(lines, 1):
    try:
      rows.append(json.loads(line))
    except json.JSONDecodeError:
      if number == len(lines):
        break  # a partial final line from a killed process
      raise ValueError(f"{path}:{number} is not valid JSON.") from None
  return rows


def hidden_text(hidden: Sequence[int]) -> str:
  """An architecture's hidden sizes as summaries and files name it:
  ``100-30``."""
  return "-".join(map(str, hidden))


def hidden_sizes(text: str) -> tuple[int, ...]:
  """:func:`hidden_text` read back: ``"100-30"`` -> ``(100, 30)``."""
  return tuple(int(h) for h in text.split("-"))


def group_rows(
  rows: Iterable[dict], key: Callable[[dict], tuple]
) -> dict[tuple, list[dict]]:
  """Rows grouped by ``key(row)``, in first-seen order."""
  groups: dict[tuple, list[dict]] = {}
  for row in rows:
    groups.setdefault(key(row), []).append(row)
  return groups


def mean_and_spread(
  values: Sequence[float | None],
) -> tuple[float | None, float | None]:
  """Mean and (sample) standard deviation, ignoring missing values."""
  present = [v for v in values if v is not None]
  if not present:
    return None, None
  spread = statistics.stdev(present) if len(present) > 1 else 0.0
  return statistics.fmean(present), spread
