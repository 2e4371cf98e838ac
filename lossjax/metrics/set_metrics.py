r"""Multi-label metrics: predicted label sets against multi-hot targets.

Pure, ``jit``-able functions of per-class scores ``s`` (``(n, k)``, e.g.
:meth:`lossjax.Pairing.label_scores`) and multi-hot targets ``y`` (``(n,
k)`` of 0 and 1). A label set is predicted by thresholding: class ``j`` is
predicted for example ``i`` when :math:`s_{ij} \ge t`.

- :func:`exact_set_accuracy`: the fraction of examples whose predicted set
  equals the target set.
- :func:`f1_scores`: micro-averaged F1 (every (example, class) decision
  pooled) and macro-averaged F1 (per class, then averaged).
- :func:`top_k_set_accuracy`: the fraction of examples whose ``k``
  highest-scoring classes are exactly their ``k`` labels (``k`` the
  example's true number of labels); threshold-free and per example, so a
  bad ranking is told apart from a bad threshold.
- :func:`mean_average_precision`: per class, the mean precision at the rank
  of each positive example when the examples are sorted by score, averaged
  over classes with a positive; threshold-free.
- :func:`choose_threshold`: the threshold of a grid with the best exact-set
  accuracy (on validation data; the smallest on a tie).
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 ... 0.95


def predicted_sets(scores: ArrayLike, threshold: ArrayLike) -> jax.Array:
  """Boolean ``(n, k)``: the classes whose score reaches ``threshold``."""
  return jnp.asarray(scores) >= threshold


def exact_set_accuracy(
  scores: ArrayLike, targets: ArrayLike, threshold: ArrayLike
) -> jax.Array:
  """Fraction of examples whose predicted label set equals the target's."""
  hits = predicted_sets(scores, threshold) == (jnp.asarray(targets) > 0.5)
  return jnp.mean(jnp.all(hits, axis=-1))


def exact_set_accuracy_by_count(
  scores: ArrayLike,
  targets: ArrayLike,
  threshold: ArrayLike,
  counts: tuple[int, ...],
) -> jax.Array:
  """:func:`exact_set_accuracy` of the examples with each number of labels
  in ``counts`` (NaN where there is none)."""
  targets = jnp.asarray(targets) > 0.5
  right = jnp.all(predicted_sets(scores, threshold) == targets, axis=-1)
  labels = jnp.sum(targets, axis=-1)
  out = []
  for count in counts:
    mine = labels == count
    out.append(
      jnp.sum(right & mine) / jnp.where(mine.any(), mine.sum(), jnp.nan)
    )
  return jnp.stack(out)


def f1_scores(
  scores: ArrayLike, targets: ArrayLike, threshold: ArrayLike
) -> tuple[jax.Array, jax.Array]:
  """``(micro F1, macro F1)``; a class never present nor predicted scores 1."""
  predicted = predicted_sets(scores, threshold)
  actual = jnp.asarray(targets) > 0.5
  tp = jnp.sum(predicted & actual, axis=0)
  fp = jnp.sum(predicted & ~actual, axis=0)
  fn = jnp.sum(~predicted & actual, axis=0)

  def f1(tp, fp, fn):
    denominator = 2 * tp + fp + fn
    return jnp.where(denominator > 0, 2 * tp / jnp.maximum(denominator, 1), 1.0)

  return f1(tp.sum(), fp.sum(), fn.sum()), jnp.mean(f1(tp, fp, fn))


def top_k_set_accuracy(scores: ArrayLike, targets: ArrayLike) -> jax.Array:
  """Fraction of examples whose top-``k`` classes equal their label set.

  ``k`` is each example's own number of labels. Equal scores are ranked by
  class index (a stable sort), so a pairing whose scores tie is not
  credited with the tie.
  """
  scores = jnp.asarray(scores)
  actual = jnp.asarray(targets) > 0.5
  # The rank of each class within its example, 0 for the highest score: the
  # classes scored higher, and the equal ones before it (a stable sort's
  # rank, counted: sorting 10 scores per example cost 10x as much).
  above = scores[..., None, :] > scores[..., :, None]
  classes = jnp.arange(scores.shape[-1])
  tied_before = (scores[..., None, :] == scores[..., :, None]) & (
    classes[None, :] < classes[:, None]
  )
  rank = jnp.sum(above | tied_before, axis=-1)
  top_k = rank < jnp.sum(actual, axis=-1, keepdims=True)
  return jnp.mean(jnp.all(top_k == actual, axis=-1))


def mean_average_precision(scores: ArrayLike, targets: ArrayLike) -> jax.Array:
  """Average precision per class, averaged over classes with a positive."""
  scores = jnp.asarray(scores)
  actual = (jnp.asarray(targets) > 0.5).astype(scores.dtype)
  order = jnp.argsort(-scores, axis=0)
  sorted_actual = jnp.take_along_axis(actual, order, axis=0)
  ranks = jnp.arange(1, scores.shape[0] + 1, dtype=scores.dtype)[:, None]
  precision = jnp.cumsum(sorted_actual, axis=0) / ranks
  positives = jnp.sum(actual, axis=0)
  per_class = jnp.sum(precision * sorted_actual, axis=0) / jnp.maximum(
    positives, 1
  )
  has = positives > 0
  return jnp.sum(jnp.where(has, per_class, 0.0)) / jnp.maximum(has.sum(), 1)


def choose_threshold(
  scores: ArrayLike,
  targets: ArrayLike,
  thresholds: tuple[float, ...] = THRESHOLDS,
) -> jax.Array:
  """The threshold of ``thresholds`` with the best exact-set accuracy."""
  grid = jnp.asarray(thresholds, jnp.asarray(scores).dtype)
  accuracy = jax.vmap(lambda t: exact_set_accuracy(scores, targets, t))(grid)
  return grid[jnp.argmax(accuracy)]  # argmax: the first (smallest) best
