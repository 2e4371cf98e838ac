"""Reading a dataset's files: the IDX format, offline, and TFDS.

Two sources give the same thing: float32 pixels in ``[0, 1]`` flattened to
``(n, height*width*channels)`` and int32 labels, as a
:class:`lossjax.datasets.splits.Split`.

- **IDX** (offline): a directory with the four files of the original MNIST
  distribution (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), as shipped for
  MNIST, Fashion-MNIST and KMNIST. Headers, sizes and label ranges are checked;
  a truncated or corrupt file raises :class:`DataError`, never returns garbage.
- **TFDS**: any prepared image-classification dataset by name, read through
  TFDS's random-access data sources, which need no TensorFlow. Preparing a
  dataset (download and conversion) does need TensorFlow and a network; when
  either is missing the error says so and names the offline alternative.
"""

import contextlib
import gzip
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from lossjax.datasets.splits import DataError, Split

IDX_FILES = {
  ("train", "images"): "train-images-idx3-ubyte",
  ("train", "labels"): "train-labels-idx1-ubyte",
  ("test", "images"): "t10k-images-idx3-ubyte",
  ("test", "labels"): "t10k-labels-idx1-ubyte",
}
# Type codes of the IDX header's third byte, and the big-endian dtypes.
_IDX_DTYPES = {
  0x08: np.dtype(">u1"),
  0x09: np.dtype(">i1"),
  0x0B: np.dtype(">i2"),
  0x0C: np.dtype(">i4"),
  0x0D: np.dtype(">f4"),
  0x0E: np.dtype(">f8"),
}
SOURCES = ("auto", "idx", "tfds")

# The arrays the official files of the known datasets hold. A directory named
# like one of KNOWN_FOLDERS is checked against them when read, so a truncated,
# swapped (test for train) or foreign file is an error naming the file, not a
# quietly different experiment.
_MNIST_SHAPES = {
  ("train", "images"): (60_000, 28, 28),
  ("train", "labels"): (60_000,),
  ("test", "images"): (10_000, 28, 28),
  ("test", "labels"): (10_000,),
}
# Folder name -> (dataset name, shapes of its files).
KNOWN_FOLDERS = {
  "mnist": ("mnist", _MNIST_SHAPES),
  "mnist-t10k": ("mnist", _MNIST_SHAPES),
  "fashion-mnist": ("fashion_mnist", _MNIST_SHAPES),
}


# md5 sums of the official files, uncompressed (the same for any faithful
# copy, gzipped or not, wherever it lies): a copy is known by its content.
# MNIST: yann.lecun.com's files; Fashion-MNIST: Zalando Research's release.
OFFICIAL_MD5 = {
  ("mnist", "train", "images"): "6bbc9ace898e44ae57da46a324031adb",
  ("mnist", "train", "labels"): "a25bea736e30d166cdddb491f175f624",
  ("mnist", "test", "images"): "2646ac647ad5339dbf082846283269ea",
  ("mnist", "test", "labels"): "27ae3e4e09519cfbb04c329615203637",
  ("fashion_mnist", "train", "images"): "f4a8712d7a061bf5bd6d2ca38dc4d50a",
  ("fashion_mnist", "train", "labels"): "9018921c3c673c538a1fc5bad174d6f9",
  ("fashion_mnist", "test", "images"): "8181f5470baa50b63fa0f6fddb340f0a",
  ("fashion_mnist", "test", "labels"): "15d484375f8d13e6eb1aabb0c3f46965",
}
_OFFICIAL_FILE = {md5: key for key, md5 in OFFICIAL_MD5.items()}


# ----------------------------------------------------------------------------
# IDX files.


def read_idx(path: str | os.PathLike) -> np.ndarray:
  """Reads one IDX file (gzipped or not) into a native-endian array.

  Args:
    path: the file.

  Returns:
    The array, with the shape and dtype its header declares.

  Raises:
    DataError: unreadable, truncated, or a header that does not fit the data.
  """
  return _read_idx(path)[0]


def _read_idx(path: str | os.PathLike) -> tuple[np.ndarray, str]:
  """:func:`read_idx`, and the md5 sum of the uncompressed file."""
  path = Path(path)
  try:
    with path.open("rb") as f:
      raw = f.read()
    if raw[:2] == b"\x1f\x8b":
      raw = gzip.decompress(raw)
  except (OSError, EOFError, gzip.BadGzipFile) as e:
    raise DataError(
      f"cannot read {path}: {e}. The file is damaged or truncated; "
      "download it again."
    ) from e
  if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
    raise DataError(
      f"{path} is not an IDX file (bad magic number {raw[:4].hex() or 'empty'}"
      "; expected 0000 then a type code and the number of dimensions)."
    )
  dtype, ndim = _IDX_DTYPES[raw[2]], raw[3]
  header = 4 + 4 * ndim
  if ndim == 0 or len(raw) < header:
    raise DataError(f"{path}: IDX header is truncated or declares 0 axes.")
  shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, offset=4))
  expected = header + int(np.prod(shape)) * dtype.itemsize
  if len(raw) != expected:
    raise DataError(
      f"{path}: header declares shape {shape} ({expected} bytes) but the file "
      f"holds {len(raw)} bytes; it is truncated or corrupt. Download it again."
    )
  data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
  md5 = hashlib.md5(raw, usedforsecurity=False).hexdigest()
  return data.astype(dtype.newbyteorder("=")), md5


def check_identity(
  path: Path, md5: str, name: str, split: str, kind: str, shape: tuple
) -> None:
  """A file read for ``name``'s ``split`` ``kind`` must not be another
  known dataset's (or split's) official file, nor, at the official size,
  anything but ``name``'s own; :class:`DataError` naming both otherwise."""
  found = _OFFICIAL_FILE.get(md5)
  if found == (name, split, kind):
    return
  if found is not None:
    other, other_split, other_kind = found
    raise DataError(
      f"{path} is the official {other} {other_split} {other_kind} file (md5 "
      f"{md5}), but it was read as the {split} {kind} of {name!r}. Give "
      f"--dataset={other} for these files, or a --data_dir holding {name}'s."
    )
  official = OFFICIAL_MD5.get((name, split, kind))
  if official is not None and shape == _MNIST_SHAPES[split, kind]:
    raise DataError(
      f"{path} has the size of {name}'s official {split} {kind} but not its "
      f"content (md5 {md5}, official {official}): it is another dataset or "
      "a modified copy. Replace it with the official file, or give the "
      "dataset its own --dataset name."
    )


def idx_path(directory: Path, stem: str) -> Path | None:
  # Distributions differ: "train-images-idx3-ubyte" or "train-images.idx3-ubyte",
  # gzipped or not.
  dotted = stem.replace("-idx", ".idx")
  for name in (stem, dotted):
    for suffix in (".gz", ""):
      candidate = directory / (name + suffix)
      if candidate.is_file():
        return candidate
  return None


def has_idx_files(directory: str | os.PathLike) -> bool:
  """Whether ``directory`` holds at least one split of IDX files."""
  directory = Path(directory)
  return any(
    idx_path(directory, IDX_FILES[split, "images"])
    and idx_path(directory, IDX_FILES[split, "labels"])
    for split in ("train", "test")
  )


def _pixels(images: np.ndarray) -> np.ndarray:
  if images.dtype != np.uint8:
    raise DataError(
      f"image data has dtype {images.dtype}; expected unsigned bytes (0-255)."
    )
  return (images.reshape(len(images), -1) / np.float32(255)).astype(np.float32)


def _labels(labels: np.ndarray, num_classes: int, where: str) -> np.ndarray:
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise DataError(
      f"{where}: labels must be a 1-D integer array, got {labels.dtype} "
      f"{labels.shape}."
    )
  bad = (labels < 0) | (labels >= num_classes)
  if bad.any():
    raise DataError(
      f"{where}: {int(bad.sum())} labels outside [0, {num_classes}) (e.g. "
      f"{labels[bad][:3].tolist()}); the file is corrupt or not a "
      f"{num_classes}-class dataset."
    )
  return labels.astype(np.int32)


def load_idx_split(
  directory: str | os.PathLike,
  split: str,
  *,
  num_classes: int = 10,
  expected_shapes: dict[tuple[str, str], tuple[int, ...]] | None = None,
  name: str | None = None,
) -> Split:
  """Reads the ``train`` or ``test`` split from IDX files in ``directory``.

  ``expected_shapes``: ``(split, "images" | "labels") -> shape`` that the
  files must hold (the official sizes of a known dataset); ``None`` checks
  only that the files are consistent with each other. ``name``: the dataset
  the files are read as; their content is checked against the official
  files (:func:`check_identity`).
  """
  directory = Path(directory)
  paths = {
    kind: idx_path(directory, IDX_FILES[split, kind])
    for kind in ("images", "labels")
  }
  missing = [IDX_FILES[split, kind] for kind, p in paths.items() if p is None]
  if missing:
    raise DataError(
      f"{directory} has no {' or '.join(missing)} (.gz or not), so the "
      f"{split} split is missing."
    )
  images, images_md5 = _read_idx(paths["images"])
  labels, labels_md5 = _read_idx(paths["labels"])
  if name is not None:
    check_identity(
      paths["images"], images_md5, name, split, "images", images.shape
    )
    check_identity(
      paths["labels"], labels_md5, name, split, "labels", labels.shape
    )
  for kind, array in (("images", images), ("labels", labels)):
    expected = (expected_shapes or {}).get((split, kind))
    if expected is not None and array.shape != expected:
      raise DataError(
        f"{paths[kind]} holds an array of shape {array.shape}, but the "
        f"{split} {kind} of {directory.name} have shape {expected}: the file "
        "is from another split or dataset, or was cut short. Replace it with "
        "the official file."
      )
  if images.ndim < 2:
    raise DataError(f"{paths['images']}: expected images (n, rows, cols).")
  if len(images) != len(labels):
    raise DataError(
      f"{paths['images'].name} holds {len(images)} images but "
      f"{paths['labels'].name} holds {len(labels)} labels."
    )
  return Split(
    _pixels(images), _labels(labels, num_classes, str(paths["labels"]))
  )


# ----------------------------------------------------------------------------
# TFDS.


def _missing_for_prepare() -> list[str]:
  return [
    module
    for module in ("tensorflow",)
    if importlib.util.find_spec(module) is None
  ]


def load_tfds_split(
  name: str, split: str, *, data_dir: str | None = None
) -> tuple[Split, int]:
  """Reads a prepared TFDS split through its random-access data source.

  Returns:
    The split and the number of classes declared by the dataset.
  """
  try:
    import tensorflow_datasets as tfds
  except ImportError as e:  # pragma: no cover - it is a dependency
    raise DataError(
      "tensorflow-datasets is not installed: pip install tensorflow-datasets"
    ) from e
  where = data_dir or "~/tensorflow_datasets"
  with _scratch_tempdir():
    return _load_tfds_split(tfds, name, split, data_dir, where)


@contextlib.contextmanager
def _scratch_tempdir():
  """Points ``tempfile`` at a folder removed afterwards.

  TFDS's metadata lookup (``DatasetInfo.initialize_from_bucket``) makes a
  ``/tmp/tmp*tfds`` folder it never removes; each failed offline attempt
  would leave two behind.
  """
  previous = tempfile.tempdir
  with tempfile.TemporaryDirectory(prefix="lossjax-tfds-") as scratch:
    tempfile.tempdir = scratch
    try:
      yield
    finally:
      tempfile.tempdir = previous


def _load_tfds_split(tfds, name, split, data_dir, where) -> tuple[Split, int]:
  try:
    builder = tfds.builder(name, data_dir=data_dir)
  except tfds.core.registered.DatasetNotFoundError as e:
    raise DataError(
      f"TFDS has no dataset named {name!r}. Check the spelling (e.g. mnist, "
      "fashion_mnist, kmnist) or point --data_dir at IDX files."
    ) from e
  try:
    source = tfds.data_source(
      name, split=split, data_dir=data_dir, download=False
    )
  except Exception as e:  # noqa: BLE001 - TFDS raises many kinds here
    if builder.is_prepared():
      problem = (
        f"is prepared under {where} but cannot be read without TensorFlow "
        f"({type(e).__name__}: {str(e).splitlines()[0]}). Rebuild it in "
        "array_record format"
      )
    else:
      missing = _missing_for_prepare()
      needs = (
        f"{', '.join(missing)} (not installed) and internet access"
        if missing
        else "internet access"
      )
      problem = (
        f"is not prepared under {where}, and preparing it needs {needs}. "
        "Prepare it"
      )
    raise DataError(
      f"TFDS dataset {name!r} ({split} split) {problem} on a machine with "
      f"TensorFlow and internet access: `tfds build {name} --file_format=array_record "
      "--data_dir=DIR`. Offline alternative: point --data_dir at a directory "
      "holding the four IDX files (train-images-idx3-ubyte.gz, "
      "train-labels-idx1-ubyte.gz, t10k-images-idx3-ubyte.gz, "
      "t10k-labels-idx1-ubyte.gz)."
    ) from e
  num_classes = int(builder.info.features["label"].num_classes)
  records = [source[i] for i in range(len(source))]
  if not records:
    raise DataError(f"TFDS split {name}/{split} is empty.")
  images = np.stack([np.asarray(r["image"]) for r in records])
  labels = np.array([int(r["label"]) for r in records])
  where = f"TFDS {name}/{split}"
  return Split(
    _pixels(images), _labels(labels, num_classes, where)
  ), num_classes
