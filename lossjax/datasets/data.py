"""Image-classification data as in-memory arrays: TFDS or IDX files.

Two sources give the same thing: float32 pixels in ``[0, 1]`` flattened to
``(n, height*width*channels)`` and int32 labels.

- **IDX** (offline): a directory with the four files of the original MNIST
  distribution (``train-images-idx3-ubyte[.gz]``, ``train-labels-idx1-ubyte``,
  ``t10k-images-idx3-ubyte``, ``t10k-labels-idx1-ubyte``), as shipped for
  MNIST, Fashion-MNIST and KMNIST. Headers, sizes and label ranges are checked;
  a truncated or corrupt file raises :class:`DataError`, never returns garbage.
- **TFDS**: any prepared image-classification dataset by name, read through
  TFDS's random-access data sources, which need no TensorFlow. Preparing a
  dataset (download and conversion) does need TensorFlow and a network; when
  either is missing the error says so and names the offline alternative.

:func:`load_dataset` picks the source, carves the validation split from the
end of the training split (the book keeps the first 50,000 MNIST training
images for training and the last 10,000 for validation) and can subsample.
"""

import contextlib
import dataclasses
import gzip
import hashlib
import importlib.util
import os
import tempfile
from pathlib import Path

import numpy as np

from lossjax import config as config_lib
from lossjax.datasets import label_corruption
from lossjax.datasets import multilabel as multilabel_lib

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


class DataError(Exception):
  """A dataset could not be loaded; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Split:
  """One split: ``images`` float32 ``(n, d)`` in [0, 1], ``labels`` int32
  ``(n,)``, or float32 multi-hot ``(n, classes)`` for multi-label data
  (:mod:`lossjax.datasets.multilabel`), whose ``source_indices`` ``(n, K)`` name the
  source images of each example."""

  images: np.ndarray
  labels: np.ndarray
  source_indices: np.ndarray | None = None

  def __post_init__(self):
    if (
      self.images.ndim != 2
      or self.labels.ndim not in (1, 2)
      or self.labels.shape[0] != self.images.shape[0]
    ):
      raise DataError(
        f"images {self.images.shape} and labels {self.labels.shape} do not "
        "match: expected (n, d) images and n labels (or n target vectors)."
      )

  def __len__(self) -> int:
    return len(self.labels)


@dataclasses.dataclass(frozen=True)
class Dataset:
  """Train, validation and test splits of one dataset.

  With label noise (:mod:`lossjax.datasets.label_corruption`), ``clean_train_labels``
  holds the training labels before corruption. ``notes`` say what was done
  to the labels (noise, multi-label composition).
  """

  name: str
  num_classes: int
  train: Split
  validation: Split
  test: Split
  source: str
  clean_train_labels: np.ndarray | None = None
  notes: tuple[str, ...] = ()

  @property
  def multilabel(self) -> bool:
    """Whether the labels are multi-hot vectors (several per example)."""
    return self.train.labels.ndim == 2

  def with_train_size(self, size: int | None) -> "Dataset":
    """The same dataset keeping only the first ``size`` training examples."""
    clean = self.clean_train_labels
    return dataclasses.replace(
      self,
      train=_take(self.train, size, "train_size", "training"),
      clean_train_labels=None if clean is None else clean[:size],
    )

  def mislabelled(self) -> np.ndarray:
    """Indices of the training examples whose label was corrupted."""
    if self.clean_train_labels is None:
      return np.zeros(0, np.int64)
    return np.flatnonzero(self.train.labels != self.clean_train_labels)

  def with_eval_size(self, size: int | None) -> "Dataset":
    """The same dataset keeping the first ``size`` validation/test examples."""
    return dataclasses.replace(
      self,
      validation=_take(self.validation, size, "eval_size", "validation"),
      test=_take(self.test, size, "eval_size", "test"),
    )

  def describe(self) -> str:
    return (
      f"{self.name} ({self.source}): {len(self.train)} train, "
      f"{len(self.validation)} validation, {len(self.test)} test, "
      f"{self.train.images.shape[1]} inputs, {self.num_classes} classes"
      + "".join(f"; {note}" for note in self.notes)
    )


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


def _idx_path(directory: Path, stem: str) -> Path | None:
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
    _idx_path(directory, IDX_FILES[split, "images"])
    and _idx_path(directory, IDX_FILES[split, "labels"])
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
    kind: _idx_path(directory, IDX_FILES[split, kind])
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


# ----------------------------------------------------------------------------
# Splits.


def _take(split: Split, size: int | None, what: str, split_name: str) -> Split:
  """The first ``size`` examples; more than the split holds is an error, so
  that a run never records a size it did not train with."""
  if size is None:
    return split
  if size > len(split):
    raise DataError(
      f"{what}={size} is more than the {len(split)} examples of the "
      f"{split_name} split: give at most {len(split)}, or leave it unset."
    )
  source = split.source_indices
  return Split(
    split.images[:size],
    split.labels[:size],
    None if source is None else source[:size],
  )


def check_batch_size(batch_size: int, num_train: int) -> int:
  """``batch_size``, or :class:`DataError` when the training split is smaller
  (a run never silently trains with another batch size than it records)."""
  if batch_size > num_train:
    raise DataError(
      f"batch_size={batch_size} is more than the {num_train} training "
      f"examples: give at most {num_train}."
    )
  return batch_size


def _check_finite(dataset_name: str, split_name: str, split: Split) -> None:
  if not np.all(np.isfinite(split.images)):
    raise DataError(
      f"{dataset_name} {split_name} images contain NaN or inf; the source "
      "data is corrupt."
    )


def load_dataset(
  name: str,
  *,
  data_dir: str | os.PathLike | None = None,
  source: str = "auto",
  validation_size: int = 10_000,
  train_size: int | None = None,
  eval_size: int | None = None,
  test_as_train: int | None = None,
) -> Dataset:
  """Loads train, validation and test splits as float32 arrays.

  Args:
    name: dataset name (``mnist``, ``fashion_mnist``, ``kmnist``, ...); the
      TFDS name, and a label for IDX directories.
    data_dir: IDX directory, or TFDS data directory.
    source: ``"idx"``, ``"tfds"`` or ``"auto"`` (IDX if ``data_dir`` holds IDX
      files, else TFDS).
    validation_size: examples carved from the *end* of the training split.
    train_size: keep only the first this-many training examples (after the
      validation carve); ``None`` keeps all.
    eval_size: keep only the first this-many validation and test examples.
    test_as_train: for a directory with only the test split (such as the
      MNIST t10k files): train on its first ``test_as_train`` examples
      (validation carved from those) and test on the rest.

  Returns:
    A :class:`Dataset`.

  Raises:
    DataError: with a message that names the problem and what to do.
  """
  if source not in SOURCES:
    raise DataError(f"Unknown source {source!r}; choose from {SOURCES}.")
  if data_dir is not None:
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
      raise DataError(
        f"data directory {data_dir} does not exist. Point --data_dir at a "
        "directory with the IDX files (e.g. train-images-idx3-ubyte.gz) or a "
        "TFDS data directory, or leave it unset for TFDS's default."
      )
  if source == "auto":
    source = (
      "idx" if data_dir is not None and has_idx_files(data_dir) else "tfds"
    )
  if source == "idx" and data_dir is None:
    raise DataError("source='idx' needs a data_dir holding the IDX files.")
  expected_shapes = None
  if source == "idx" and data_dir.name in KNOWN_FOLDERS:
    known, expected_shapes = KNOWN_FOLDERS[data_dir.name]
    if known != name:
      raise DataError(
        f"{data_dir} is the folder of {known}, but the dataset is named "
        f"{name!r}: give --dataset={known}, or a --data_dir for {name}."
      )

  def read(split: str) -> tuple[Split, int]:
    if source == "idx":
      return load_idx_split(
        data_dir, split, expected_shapes=expected_shapes, name=name
      ), 10
    return load_tfds_split(
      name, split, data_dir=None if data_dir is None else str(data_dir)
    )

  test, num_classes = read("test")
  if test_as_train is not None:
    if not 0 < test_as_train < len(test):
      raise DataError(
        f"test_as_train={test_as_train} must be between 1 and "
        f"{len(test) - 1} (the test split has {len(test)} examples)."
      )
    train = Split(test.images[:test_as_train], test.labels[:test_as_train])
    test = Split(test.images[test_as_train:], test.labels[test_as_train:])
  elif source == "idx" and not (
    _idx_path(data_dir, IDX_FILES["train", "images"])
    and _idx_path(data_dir, IDX_FILES["train", "labels"])
  ):
    raise DataError(
      f"{data_dir} has the test split but no training files "
      "(train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz]). Add "
      "them, or train on part of the test split with test_as_train=N "
      "(--test_as_train=N), e.g. 8000 for the MNIST t10k files."
    )
  else:
    train, _ = read("train")
  if not 0 <= validation_size < len(train):
    raise DataError(
      f"validation_size={validation_size} must be below the number of "
      f"training examples ({len(train)})."
    )
  cut = len(train) - validation_size
  validation = Split(train.images[cut:], train.labels[cut:])
  train = Split(train.images[:cut], train.labels[:cut])
  dataset = Dataset(
    name=name,
    num_classes=num_classes,
    train=_take(train, train_size, "train_size", "training"),
    validation=_take(validation, eval_size, "eval_size", "validation"),
    test=_take(test, eval_size, "eval_size", "test"),
    source=source,
  )
  for split_name in ("train", "validation", "test"):
    _check_finite(name, split_name, getattr(dataset, split_name))
  return dataset


# Where offline copies are looked for when no directory is given: the folder
# names of the IDX copies this project ships its results from.
OFFLINE_FOLDERS = {"fashion_mnist": "fashion-mnist", "mnist": "mnist"}


def find_offline_copy(name: str) -> Path | None:
  """An IDX directory for ``name`` under ``$LOSSJAX_DATA_DIR`` or ``../shared/data``.

  Looks for ``<root>/<folder>`` (``fashion-mnist`` for ``fashion_mnist``)
  holding IDX files, with ``<root>`` the environment variable
  ``LOSSJAX_DATA_DIR`` if set, then ``../shared/data`` relative to the
  working directory. Returns ``None`` if neither has it (then use TFDS).
  """
  folder = OFFLINE_FOLDERS.get(name, name)
  roots = [os.environ.get("LOSSJAX_DATA_DIR"), "../shared/data"]
  for root in filter(None, roots):
    candidate = Path(root) / folder
    if candidate.is_dir() and has_idx_files(candidate):
      return candidate
  return None


def _existing_dir(value: str) -> None:
  if not Path(value).is_dir():
    raise ValueError(
      f"data directory {value} does not exist. Point --data_dir at a "
      "directory with the IDX files (e.g. train-images-idx3-ubyte.gz) or a "
      "TFDS data directory, or leave it unset."
    )


# The label-noise options: they change nothing (and are not fingerprinted)
# while --label_noise is 0.
NOISE_FIELDS = (
  "label_noise",
  "label_noise_kind",
  "label_noise_seed",
  "label_noise_per_seed",
  "clean_validation",
)


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig(config_lib.Config):
  """Which data a study trains on: the flags every data study shares."""

  dataset: str = config_lib.field(
    "mnist",
    "Dataset name: a TFDS name (mnist, fashion_mnist, kmnist, ...); also "
    "labels an IDX directory.",
  )
  data_dir: str | None = config_lib.field(
    None,
    "Directory with the four IDX files (train-images-idx3-ubyte.gz, ...), or "
    "a TFDS data directory. Unset: an offline IDX copy under "
    "$LOSSJAX_DATA_DIR or ../shared/data (folder mnist for mnist, "
    "fashion-mnist for fashion_mnist), else TFDS's default.",
    check=_existing_dir,
  )
  source: str = config_lib.field(
    "auto",
    "auto: IDX if --data_dir holds IDX files, else TFDS.",
    choices=tuple(SOURCES),
  )
  validation_size: int = config_lib.field(
    10_000,
    "Validation examples carved from the end of the training split.",
    check=config_lib.at_least(0),
  )
  train_size: int | None = config_lib.field(
    None,
    "Use only the first N training examples.",
    check=config_lib.at_least(1),
  )
  eval_size: int | None = config_lib.field(
    None,
    "Use only the first N validation and test examples.",
    check=config_lib.at_least(1),
  )
  test_as_train: int | None = config_lib.field(
    None,
    "For a directory with only the test split (MNIST t10k): train on its "
    "first N examples, test on the rest.",
    check=config_lib.at_least(1),
  )
  label_noise: float = config_lib.field(
    0.0,
    "Fraction in [0, 1) of training and validation labels made wrong (test "
    "labels stay clean), e.g. 0.4.",
    check=label_corruption.check_fraction,
  )
  label_noise_kind: str = config_lib.field(
    "symmetric",
    "symmetric: a wrong label is a uniformly drawn other class; pair: class "
    "c becomes c+1 mod k (Patrini et al. 2017).",
    choices=tuple(label_corruption.NOISE_KINDS),
  )
  label_noise_seed: int = config_lib.field(
    0,
    "Fixes which labels are corrupted and to what (with "
    "--label_noise_per_seed, the first training seed's draw).",
    check=config_lib.at_least(0),
  )
  label_noise_per_seed: bool = config_lib.field(
    False,
    "Draw the label noise anew for every training seed (draw seed: "
    "--label_noise_seed plus the training seed), so that the spread over "
    "--seeds includes the draw; off: every seed trains on one draw.",
  )
  clean_validation: bool = config_lib.field(
    False,
    "With --label_noise: leave the validation labels clean, so that rates "
    "and epochs are selected on clean labels (an oracle a user rarely has; "
    "off: validation labels are as noisy as the training labels).",
  )

  multilabel: int | None = config_lib.field(
    None,
    "Multi-label data: each example is 1 to K source images side by side "
    f"(K from 1 to {multilabel_lib.MAX_SLOTS}), its target the set of their "
    "classes. Unset: ordinary single-label data.",
    check=multilabel_lib.check_slots,
  )
  multilabel_seed: int = config_lib.field(
    0,
    "Fixes the multi-label composition (which images, how many, which slots).",
    check=config_lib.at_least(0),
  )

  # Where the data is read from, not what it is: a known dataset's files
  # are checked against its official checksums wherever they lie.
  NOT_IN_FINGERPRINT = ("data_dir", "source")

  def identity(self) -> dict:
    """The fingerprinted fields, without the options that are off (their
    seeds and kinds change nothing then)."""
    fields = super().identity()
    if not self.label_noise:
      for name in NOISE_FIELDS:
        fields.pop(name)
    if self.multilabel is None:
      for name in ("multilabel", "multilabel_seed"):
        fields.pop(name)
    return fields

  def validate(self):
    if self.multilabel is not None and self.label_noise:
      raise ValueError(
        "--label_noise and --multilabel together are not supported: label "
        "noise changes one class label, and a multi-label target is a set."
      )
    if self.data_dir is not None:
      object.__setattr__(self, "data_dir", os.path.normpath(self.data_dir))

  @property
  def noise_varies_with_seed(self) -> bool:
    """Whether each training seed trains on its own draw of label noise."""
    return bool(self.label_noise) and self.label_noise_per_seed

  def resolved(self) -> "DataConfig":
    """This config with ``data_dir`` set to the offline copy it would use.

    Only the loading resolves it: a study records the config as given, so
    that its ``config.json`` replays on any machine, where the copy is found
    again by the dataset's name (``$LOSSJAX_DATA_DIR``, ``../shared/data``)
    and checked against the official files' md5 sums
    (:data:`OFFICIAL_MD5`), not a path of the machine that ran it.
    """
    if self.data_dir is not None:
      return self
    found = find_offline_copy(self.dataset)
    return self if found is None else self.replace(data_dir=str(found))

  def load(
    self, *, loaded: Dataset | None = None, training_seed: int | None = None
  ) -> Dataset:
    """The data this config describes.

    ``loaded``: the same data already read (:meth:`load_source` of a config
    naming the same dataset, directory, source and validation size), e.g.
    once for the several studies of a report; it is used instead of reading
    again. Either way, this config's ``train_size``, ``eval_size``, label
    noise and multi-label composition are then applied, so a study given
    ``loaded`` trains on exactly what its ``config.json`` says.
    ``training_seed``: with :attr:`noise_varies_with_seed`, whose draw of
    label noise (``None``: the draw of ``label_noise_seed`` itself).
    """
    if loaded is None:
      loaded = self.load_source()
    elif loaded.name != self.dataset:
      raise ValueError(
        f"the loaded dataset is {loaded.name!r}, but the config names "
        f"{self.dataset!r}."
      )
    dataset = label_corruption.with_label_noise(
      loaded.with_train_size(self.train_size).with_eval_size(self.eval_size),
      fraction=self.label_noise,
      kind=self.label_noise_kind,
      seed=self.label_noise_seed
      + (training_seed or 0) * self.noise_varies_with_seed,
      clean_validation=self.clean_validation,
    )
    if self.noise_varies_with_seed:  # described by its first draw's seed
      dataset = dataclasses.replace(
        dataset,
        notes=(
          *dataset.notes[:-1],
          label_corruption.describe_noise(
            self.label_noise,
            self.label_noise_kind,
            self.label_noise_seed,
            per_seed=True,
            clean_validation=self.clean_validation,
          ),
        ),
      )
    if self.multilabel is None:
      return dataset
    try:
      return multilabel_lib.with_multilabel(
        dataset, slots=self.multilabel, seed=self.multilabel_seed
      )
    except ValueError as e:
      raise DataError(str(e)) from None

  def load_source(self) -> Dataset:
    """The dataset's splits as read (``data_dir`` unset: the offline copy,
    else TFDS), before ``train_size``, ``eval_size``, label noise and
    multi-label composition: what :meth:`load` derives its data from."""
    resolved = self.resolved()
    return load_dataset(
      resolved.dataset,
      data_dir=resolved.data_dir,
      source=resolved.source,
      validation_size=resolved.validation_size,
      test_as_train=resolved.test_as_train,
    )
