"""A dataset as in-memory arrays: its splits, and the one error a dataset
that cannot be loaded raises (:mod:`lossjax.datasets.data` loads them)."""

import dataclasses

import numpy as np


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
      train=take_first(self.train, size, "train_size", "training"),
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
      validation=take_first(self.validation, size, "eval_size", "validation"),
      test=take_first(self.test, size, "eval_size", "test"),
    )

  def describe(self) -> str:
    return (
      f"{self.name} ({self.source}): {len(self.train)} train, "
      f"{len(self.validation)} validation, {len(self.test)} test, "
      f"{self.train.images.shape[1]} inputs, {self.num_classes} classes"
      + "".join(f"; {note}" for note in self.notes)
    )


def take_first(
  split: Split, size: int | None, what: str, split_name: str
) -> Split:
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
