"""A sweep's result: the chunk files it is saved in as it trains, every
configuration's per-epoch arrays, and the rows made of them (one per
configuration for ``summary.csv``, one per configuration and epoch for
``metrics.jsonl``)."""

import dataclasses
import functools
import math
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lossjax.core.pairings import Pairing
from lossjax.output import results

if TYPE_CHECKING:
  from lossjax.training.sharded_sweep import SweepSpec


def chunk_path(workdir: Path, pairing: Pairing, index: int) -> Path:
  return workdir / "chunks" / pairing.name / f"{index:05d}.npz"


def save_chunk(path: Path, arrays: dict[str, np.ndarray]) -> None:
  """Writes a chunk atomically (temporary file, then rename)."""
  results.write_npz(path, **arrays)


def load_chunk(
  path: Path,
  configs: Sequence[tuple[int, float, float]],
  spec: "SweepSpec",
  metrics: Sequence[str],
) -> dict[str, np.ndarray] | None:
  """A finished chunk's arrays, or ``None`` if absent or not this chunk's.

  A file that cannot be read, or that holds other configurations or another
  number of epochs (it was not written by this sweep), counts as absent and
  is trained again.
  """
  if not path.is_file():
    return None
  try:
    with np.load(path) as f:
      arrays = {k: f[k] for k in f.files}
  except (OSError, ValueError, zipfile.BadZipFile, EOFError):
    return None
  columns = ("seed", "init_scale", "lr")
  if not all(k in arrays for k in (*columns, *metrics)):
    return None
  got = np.stack([arrays[k].astype(np.float64) for k in columns], -1)
  expected = np.array(configs, np.float64)
  if got.shape != expected.shape or not np.allclose(got, expected):
    return None
  shape = (len(configs), spec.epochs + 1)
  if any(arrays[m].shape != shape for m in metrics):
    return None
  return arrays


@dataclasses.dataclass
class SweepResult:
  """Per-pairing arrays of every configuration (see
  :func:`lossjax.training.sharded_sweep.train_configs`)."""

  spec: "SweepSpec"
  arrays: dict[str, dict[str, np.ndarray]]
  chunks_trained: int
  chunks_skipped: int

  @functools.cached_property
  def summary(self) -> list[dict]:
    """:func:`summary_rows`, computed once for every writer and the report."""
    return summary_rows(self)

  def epochs_to_target(
    self, pairing: str, init_scale: float, lr: float
  ) -> list[int | None]:
    """Epochs until the cost fell below the target, per seed (``None``:
    never), of one (pairing, init scale, rate)."""
    return [
      r["epochs_to_target"]
      for r in self.summary
      if (r["pairing"], r["init_scale"], r["lr"]) == (pairing, init_scale, lr)
    ]


def first_epoch(mask: np.ndarray) -> np.ndarray:
  """Index of the first True along the last axis, or -1 where none is."""
  hit = mask.any(axis=-1)
  return np.where(hit, mask.argmax(axis=-1), -1)


def summary_rows(result: SweepResult) -> list[dict]:
  """One row per configuration: final cost, epochs to target, divergence."""
  rows = []
  for pairing, arrays in result.arrays.items():
    cost = arrays["cost"]
    with np.errstate(invalid="ignore"):
      blown_up = ~np.isfinite(cost) | (cost > result.spec.divergence_cost)
    diverged_at = first_epoch(blown_up)
    to_target = first_epoch(result.spec.reached_target(arrays))
    for i in range(len(cost)):
      diverged = diverged_at[i] >= 0
      row = {
        "pairing": pairing,
        "init_scale": float(arrays["init_scale"][i]),
        "lr": float(arrays["lr"][i]),
        "seed": int(arrays["seed"][i]),
        "final_cost": None if diverged else float(cost[i, -1]),
        "epochs_to_target": int(to_target[i]) if to_target[i] >= 0 else None,
        "diverged": bool(diverged),
        "diverged_epoch": int(diverged_at[i]) if diverged else None,
      }
      for extra in ("accuracy", "output"):
        if extra in arrays:
          value = float(arrays[extra][i, -1])
          row[f"final_{extra}"] = value if math.isfinite(value) else None
      rows.append(row)
  return rows


def metric_rows(result: SweepResult) -> list[dict]:
  """One row per configuration and epoch (for ``metrics.jsonl``)."""
  rows = []
  for pairing, arrays in result.arrays.items():
    metrics = [k for k in ("cost", "accuracy", "output") if k in arrays]
    for i in range(len(arrays["cost"])):
      config = {
        "pairing": pairing,
        "init_scale": float(arrays["init_scale"][i]),
        "lr": float(arrays["lr"][i]),
        "seed": int(arrays["seed"][i]),
      }
      for epoch in range(arrays["cost"].shape[1]):
        row = {**config, "epoch": epoch}
        for metric in metrics:
          value = float(arrays[metric][i, epoch])
          row[metric] = value if math.isfinite(value) else None
        rows.append(row)
  return rows
