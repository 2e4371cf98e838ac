"""Exclusive or independent classes? Multi-label data made from real images.

Seed 001's guideline: softmax + log-likelihood for mutually exclusive
classes, sigmoid + cross-entropy for multi-label data. :func:`compose` makes
data where an image can carry several labels: each example is a canvas of
``K`` slots side by side (``K`` times as wide as a source image), of which
``n`` (drawn uniformly from 1 to ``K``, so the count is not given away)
hold distinct source images in randomly chosen slots; the others are blank.
The target is multi-hot over the classes (a class present twice is one
label). Examples of a split are made only from that split's source images,
so no source image crosses training, validation and test.

Every example keeps the indices of its source images in their split
(``source_indices``, ``-1`` for a blank slot), so the labels can be checked.

How a pairing trains on multi-hot targets (:func:`training_targets`):
independent-unit (``"binary"``) pairings take them as they are;
one-distribution (``"multiclass"``) pairings train against the target
divided by its sum (two labels: 0.5 each), the usual practice, which asks
the softmax to share its unit of mass among the present classes.
"""

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

# A canvas is at most this many source images wide: 5 MNIST digits make
# 3,920 inputs, five times the first layer of an ordinary MNIST network.
MAX_SLOTS = 5


def check_slots(slots: int) -> None:
  """``slots`` must be an integer in ``[1, MAX_SLOTS]``."""
  if not isinstance(slots, (int, np.integer)) or isinstance(slots, bool):
    raise ValueError(f"the number of slots must be an integer, got {slots!r}.")
  if slots < 1:
    raise ValueError(
      f"multilabel={slots}: an example needs at least 1 image; give 1 to "
      f"{MAX_SLOTS} (e.g. 3), or leave it unset for single-label data."
    )
  if slots > MAX_SLOTS:
    raise ValueError(
      f"multilabel={slots}: at most {MAX_SLOTS} images fit side by side on "
      f"one canvas (each slot adds a source image's width of inputs); give "
      f"1 to {MAX_SLOTS}."
    )


def _side(num_inputs: int) -> int:
  side = math.isqrt(num_inputs)
  if side * side != num_inputs:
    raise ValueError(
      f"multi-label composition places square single-channel images side by "
      f"side; images of {num_inputs} inputs are not square (MNIST's are "
      "28 x 28 = 784)."
    )
  return side


def compose(
  images: np.ndarray,
  labels: np.ndarray,
  *,
  slots: int,
  num_classes: int,
  num_examples: int | None = None,
  seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
  """Multi-label examples from one split's single-label images.

  Args:
    images: ``(n, side * side)`` source images, values in ``[0, 1]``.
    labels: ``(n,)`` integer labels in ``[0, num_classes)``.
    slots: ``K``, the canvas's slots (1 to :data:`MAX_SLOTS`).
    num_classes: classes of the source.
    num_examples: examples to make (default: as many as source images).
    seed: fixes every draw.

  Returns:
    ``(canvases, targets, source_indices)``: float32 ``(N, side * side *
    K)`` images (row-major ``side x (side * K)``), float32 multi-hot
    ``(N, num_classes)`` targets, int64 ``(N, K)`` source indices (``-1``:
    blank slot).

  Raises:
    ValueError: a bad slot count, a source without integer labels, fewer
      source images than slots, or non-square images.
  """
  check_slots(slots)
  labels = np.asarray(labels)
  if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
    raise ValueError(
      "multi-label composition needs a source with one integer label per "
      f"image; got labels of shape {labels.shape} and dtype {labels.dtype} "
      "(a dataset without class labels, or one already multi-label)."
    )
  if len(labels) < slots:
    raise ValueError(
      f"the source split has {len(labels)} images, fewer than the {slots} "
      "slots of an example."
    )
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(f"labels must lie in [0, {num_classes}).")
  side = _side(images.shape[1])
  n = len(labels) if num_examples is None else num_examples
  rng = np.random.default_rng(seed)
  counts = rng.integers(1, slots + 1, size=n)
  source = np.full((n, slots), -1, np.int64)
  for i, count in enumerate(counts):
    chosen_slots = rng.choice(slots, count, replace=False)
    source[i, chosen_slots] = rng.choice(len(labels), count, replace=False)
  present = source >= 0
  safe = np.where(present, source, 0)
  # (N, K, side, side) -> (N, side, K, side): slots side by side in each row.
  tiles = np.where(present[..., None], images[safe], 0.0).astype(np.float32)
  canvases = tiles.reshape(n, slots, side, side).transpose(0, 2, 1, 3)
  targets = np.zeros((n, num_classes), np.float32)
  rows = np.repeat(np.arange(n)[:, None], slots, axis=1)
  targets[rows[present], labels[safe][present]] = 1.0
  return canvases.reshape(n, -1), targets, source


def with_multilabel(dataset, *, slots: int, seed: int):
  """``dataset`` with each split replaced by its composed multi-label split.

  Splits draw from independent streams of ``seed``; each keeps as many
  examples as it had source images. The returned dataset's splits have
  multi-hot ``labels`` ``(N, classes)`` and ``source_indices`` ``(N, K)``.
  """
  splits = {}
  for stream, name in enumerate(("train", "validation", "test")):
    split = getattr(dataset, name)
    canvases, targets, source = compose(
      split.images,
      split.labels,
      slots=slots,
      num_classes=dataset.num_classes,
      seed=np.random.SeedSequence([seed, stream]).generate_state(1)[0],
    )
    splits[name] = dataclasses.replace(
      split, images=canvases, labels=targets, source_indices=source
    )
  return dataclasses.replace(
    dataset,
    **splits,
    notes=(
      *dataset.notes,
      f"multi-label: 1 to {slots} images per example side by side "
      f"(seed {seed})",
    ),
  )


def training_targets(kind: str, targets: jax.Array) -> jax.Array:
  """Multi-hot ``targets`` as a pairing of ``kind`` trains on them."""
  if kind == "multiclass":
    total = jnp.sum(targets, axis=-1, keepdims=True)
    return targets / jnp.maximum(total, 1.0)
  return targets
