"""Image-classification data as in-memory arrays, and its options.

:func:`load_dataset` reads a dataset from its source (the offline IDX copy
or TFDS; :mod:`lossjax.datasets.sources`), carves the validation split from
the end of the training split (the book keeps the first 50,000 MNIST
training images for training and the last 10,000 for validation) and can
subsample. :class:`DataConfig` holds the data options every study shares
(dataset, sizes, label noise, multi-label composites) and loads them.
"""

import dataclasses
import os
from pathlib import Path

import numpy as np

from lossjax import config as config_lib
from lossjax.datasets import label_corruption
from lossjax.datasets import multilabel as multilabel_lib
from lossjax.datasets.sources import (
  IDX_FILES,
  KNOWN_FOLDERS,
  SOURCES,
  has_idx_files,
  idx_path,
  load_idx_split,
  load_tfds_split,
)
from lossjax.datasets.splits import DataError, Dataset, Split, take_first


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
    idx_path(data_dir, IDX_FILES["train", "images"])
    and idx_path(data_dir, IDX_FILES["train", "labels"])
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
    train=take_first(train, train_size, "train_size", "training"),
    validation=take_first(validation, eval_size, "eval_size", "validation"),
    test=take_first(test, eval_size, "eval_size", "test"),
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
    (:data:`lossjax.datasets.sources.OFFICIAL_MD5`), not a path of the machine that ran it.
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
        notes=(*dataset.notes[:-1], self.noise_description()),
      )
    if self.multilabel is None:
      return dataset
    try:
      return multilabel_lib.with_multilabel(
        dataset, slots=self.multilabel, seed=self.multilabel_seed
      )
    except ValueError as e:
      raise DataError(str(e)) from None

  def noise_description(self) -> str:
    """The label noise these options ask for, in words (the data
    description's note and the summaries' label line)."""
    return label_corruption.describe_noise(
      self.label_noise,
      self.label_noise_kind,
      self.label_noise_seed,
      per_seed=self.noise_varies_with_seed,
      clean_validation=self.clean_validation,
    )

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
