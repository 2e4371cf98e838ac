"""Wrong labels on purpose: corrupting a fraction of a dataset's labels.

The log-likelihood's large gradient on badly wrong examples, which cures the
learning slowdown, is also what makes it chase mislabelled examples (Ghosh,
Kumar & Sastry, AAAI 2017; Zhang & Sabuncu, NeurIPS 2018). To measure that,
:func:`with_label_noise` corrupts the *training and validation* labels of a
:class:`lossjax.datasets.data.Dataset` (a user has no clean labels to select a model
on) and leaves the test labels clean.

Kinds:

- ``"symmetric"``: each chosen example gets a uniformly drawn *other* class.
- ``"pair"``: each chosen example of class ``c`` becomes ``(c + 1) mod k``,
  the pair-flip noise of Patrini et al. (CVPR 2017), where the wrong label
  is systematic and so harder to average away.

Exactly ``round(fraction * n)`` examples of each split are corrupted, chosen
without replacement; the choice is a function of ``seed`` alone, and the
two splits draw from independent streams.
"""

import dataclasses
import math

import numpy as np

NOISE_KINDS = ("symmetric", "pair")


def check_fraction(fraction: float) -> None:
  """``fraction`` must lie in ``[0, 1)``; raises ``ValueError`` otherwise."""
  if not (
    isinstance(fraction, (int, float))
    and math.isfinite(fraction)
    and 0 <= fraction < 1
  ):
    raise ValueError(
      f"the label-noise fraction must lie in [0, 1), got {fraction}: 0 keeps "
      "every label, 0.4 corrupts 40% of them (1 would leave no correct label "
      "to learn from)."
    )


def corrupt_labels(
  labels: np.ndarray,
  *,
  fraction: float,
  num_classes: int,
  kind: str = "symmetric",
  seed: int = 0,
) -> np.ndarray:
  """A copy of ``labels`` with ``round(fraction * n)`` of them made wrong.

  Args:
    labels: integer labels ``(n,)`` in ``[0, num_classes)``.
    fraction: in ``[0, 1)``.
    num_classes: ``k >= 2``.
    kind: one of :data:`NOISE_KINDS`.
    seed: fixes which examples change and to what.

  Returns:
    The corrupted labels; every changed label differs from the original.

  Raises:
    ValueError: a fraction outside ``[0, 1)``, an unknown kind, fewer than
      two classes, or labels out of range.
  """
  check_fraction(fraction)
  if kind not in NOISE_KINDS:
    raise ValueError(
      f"unknown label-noise kind {kind!r}; choose one of {NOISE_KINDS}."
    )
  if num_classes < 2:
    raise ValueError(f"label noise needs >= 2 classes, got {num_classes}.")
  labels = np.asarray(labels)
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise ValueError(f"labels must lie in [0, {num_classes}).")
  rng = np.random.default_rng(seed)
  chosen = rng.choice(labels.size, round(fraction * labels.size), replace=False)
  noisy = labels.copy()
  if kind == "pair":
    noisy[chosen] = (labels[chosen] + 1) % num_classes
  else:  # a shift of 1..k-1 is a uniform draw among the other classes
    shift = rng.integers(1, num_classes, size=chosen.size)
    noisy[chosen] = (labels[chosen] + shift) % num_classes
  return noisy.astype(labels.dtype)


def with_label_noise(
  dataset,
  *,
  fraction: float,
  kind: str,
  seed: int,
  clean_validation: bool = False,
):
  """``dataset`` with corrupted training and validation labels.

  ``clean_validation``: corrupt the training labels only.

  The returned :class:`lossjax.datasets.data.Dataset` keeps the clean training labels
  (``clean_train_labels``), so that what the network fits to a wrong label
  can be measured (:meth:`lossjax.datasets.data.Dataset.mislabelled`), and describes
  the noise. ``fraction == 0`` returns ``dataset`` itself.
  """
  check_fraction(fraction)
  if fraction == 0:
    return dataset
  corrupted = {}
  splits = ("train",) if clean_validation else ("train", "validation")
  for stream, name in enumerate(splits):
    split = getattr(dataset, name)
    labels = corrupt_labels(
      split.labels,
      fraction=fraction,
      num_classes=dataset.num_classes,
      kind=kind,
      seed=np.random.SeedSequence([seed, stream]).generate_state(1)[0],
    )
    corrupted[name] = dataclasses.replace(split, labels=labels)
  return dataclasses.replace(
    dataset,
    **corrupted,
    clean_train_labels=dataset.train.labels,
    notes=(
      *dataset.notes,
      describe_noise(
        fraction,
        kind,
        seed,
        clean_validation=clean_validation,
      ),
    ),
  )


def describe_noise(
  fraction: float,
  kind: str,
  seed: int,
  *,
  per_seed: bool = False,
  clean_validation: bool = False,
) -> str:
  """What :func:`with_label_noise` did, in words (the data description's
  note and the summaries' label line)."""
  scheme = noise_scheme(
    kind, seed, per_seed=per_seed, clean_validation=clean_validation
  )
  return f"{100 * fraction:g}% of {scheme}"


def noise_scheme(
  kind: str,
  seed: int,
  *,
  per_seed: bool = False,
  clean_validation: bool = False,
) -> str:
  """Which labels are corrupted, how and by which draw, in words."""
  which = "training" if clean_validation else "training and validation"
  draw = (
    f"drawn per training seed: seed {seed} + the training seed"
    if per_seed
    else f"seed {seed}"
  )
  clean = "validation and test" if clean_validation else "test"
  return f"{which} labels corrupted ({kind}, {draw}); {clean} labels clean"
