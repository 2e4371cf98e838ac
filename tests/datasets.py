"""Test data: IDX files written by the tests, and the shared offline copies."""

import gzip
import os
import struct
import unittest
from pathlib import Path

import numpy as np

_TYPE_CODES = {np.dtype("uint8"): 0x08, np.dtype(">i4"): 0x0C}


def idx_bytes(array: np.ndarray) -> bytes:
  """An array in IDX format (uint8 or big-endian int32)."""
  array = np.asarray(array)
  if array.dtype == np.int32:
    array = array.astype(">i4")
  header = bytes([0, 0, _TYPE_CODES[array.dtype], array.ndim])
  header += struct.pack(f">{array.ndim}I", *array.shape)
  return header + array.tobytes()


def write_idx(path: Path, array: np.ndarray, *, gz: bool = True) -> Path:
  data = idx_bytes(array)
  path = Path(str(path) + ".gz") if gz else Path(path)
  path.write_bytes(gzip.compress(data) if gz else data)
  return path


def write_idx_dataset(
  directory: Path,
  *,
  n_train=60,
  n_test=20,
  seed=0,
  gz=True,
  splits=("train", "t10k"),
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Writes a small learnable 10-class IDX dataset; returns what it wrote.

  Each class lights up its own band of rows, plus noise, so a linear model
  can learn it.
  """
  rng = np.random.default_rng(seed)
  written = {}
  for split, n in (("train", n_train), ("t10k", n_test)):
    if split not in splits:
      continue
    labels = rng.integers(0, 10, n).astype(np.uint8)
    images = rng.integers(0, 60, (n, 28, 28)).astype(np.uint8)
    for i, label in enumerate(labels):
      images[i, 2 * label : 2 * label + 3, :] = 250
    write_idx(directory / f"{split}-images-idx3-ubyte", images, gz=gz)
    write_idx(directory / f"{split}-labels-idx1-ubyte", labels, gz=gz)
    written[split] = (images, labels)
  return written


def shared_data(subdir: str, test: unittest.TestCase) -> Path:
  """The offline copy of a real dataset, or skip the test saying why."""
  root = os.environ.get("LOSSJAX_DATA_DIR")
  default = Path(__file__).resolve().parents[2] / "shared" / "data"
  path = Path(root) / subdir if root else default / subdir
  if not path.is_dir():
    test.skipTest(
      f"real data not found at {path}: set LOSSJAX_DATA_DIR to a directory "
      f"holding {subdir}/ (IDX files) to run this test."
    )
  return path
