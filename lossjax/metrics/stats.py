"""Uncertainty of a comparison: intervals, verdicts and ECE's chance level.

A sentence that says one pairing beats another rests on an interval that
excludes a tie. The tests are :mod:`scipy.stats`'s, not hand-written:

- **Over seeds** (:func:`paired_over_seeds`): the seeds are the training
  randomness the claim is about (initialisation and mini-batch order), and
  the two pairings of a seed share both, so the difference is paired and
  the interval is the paired t-test's (``scipy.stats.ttest_rel``). A
  difference needs at least :data:`MIN_SEEDS` seeds; with fewer the verdict
  is ``"too few seeds"``, whatever the interval says.
- **Over test examples** (:func:`paired_over_examples`): for one trained
  network per side, the test set's sampling error, by the percentile
  bootstrap of the mean per-example difference (``scipy.stats.bootstrap``).
- **ECE's chance level** (:func:`ece_chance_level`): the ECE a perfectly
  calibrated model with the same confidences scores on as many examples,
  by simulation; an ECE below its upper quantile cannot be told from
  calibrated.
"""

import dataclasses
import math
from collections.abc import Sequence

import jax
import numpy as np
import scipy.stats

from lossjax.metrics import calibration

CONFIDENCE = 0.95
MIN_SEEDS = 5
# Verdicts: the first two are differences, the others are not.
HIGHER, LOWER, TIE, TOO_FEW = "higher", "lower", "tie", "too few seeds"


@dataclasses.dataclass(frozen=True)
class Interval:
  """An estimate of ``a - b`` (or of one quantity) with its interval.

  Attributes:
    estimate: the mean difference.
    low, high: the confidence interval.
    n: seeds (or examples) it rests on.
    method: the test, in words.
    verdict: :data:`HIGHER` or :data:`LOWER` (``a`` above or below ``b``:
      the interval excludes 0 and there are enough seeds), :data:`TIE` (it
      does not exclude 0) or :data:`TOO_FEW` (fewer seeds than a difference
      needs).
  """

  estimate: float
  low: float
  high: float
  n: int
  method: str
  verdict: str
  confidence: float = CONFIDENCE

  def to_json(self) -> dict:
    return dataclasses.asdict(self)


def _verdict(low: float, high: float, n: int, min_n: int) -> str:
  if n < min_n:
    return TOO_FEW
  if low > 0:
    return HIGHER
  if high < 0:
    return LOWER
  return TIE


def paired_over_seeds(
  a: Sequence[float],
  b: Sequence[float] | None = None,
  *,
  reference: float = 0.0,
  confidence: float = CONFIDENCE,
  min_seeds: int = MIN_SEEDS,
) -> Interval:
  """``a - b`` paired by seed (``b=None``: ``a - reference``), with the
  paired t-test's confidence interval.

  Args:
    a, b: one value per seed, in the same seed order.
    reference: the value ``a`` is compared with when ``b`` is ``None``.
    confidence: the interval's level.
    min_seeds: fewer seeds than this are never a difference.

  Returns:
    An :class:`Interval`; ``low == high == estimate`` when every seed's
    difference is the same (a deterministic result).
  """
  a = np.asarray(a, np.float64)
  diff = a - (reference if b is None else np.asarray(b, np.float64))
  if diff.ndim != 1 or len(diff) == 0 or not np.all(np.isfinite(diff)):
    raise ValueError(
      f"need one finite value per seed on each side, got {diff.tolist()}"
    )
  n = len(diff)
  estimate = float(np.mean(diff))
  if n == 1:  # no spread to measure
    low, high = -math.inf, math.inf
  elif np.all(diff == diff[0]):  # deterministic: no spread at all
    low = high = estimate
  else:
    ci = scipy.stats.ttest_1samp(diff, 0.0).confidence_interval(confidence)
    low, high = float(ci.low), float(ci.high)
  return Interval(
    estimate,
    low,
    high,
    n,
    "paired t-test over seeds (scipy.stats.ttest_1samp of the differences)",
    _verdict(low, high, n, min_seeds),
    confidence,
  )


def paired_over_examples(
  a: np.ndarray,
  b: np.ndarray,
  *,
  confidence: float = CONFIDENCE,
  resamples: int = 2000,
  seed: int = 0,
) -> Interval:
  """The mean of ``a - b`` over test examples (e.g. each side's 0/1
  correctness), with the percentile bootstrap interval over examples."""
  diff = np.asarray(a, np.float64) - np.asarray(b, np.float64)
  result = scipy.stats.bootstrap(
    (diff,),
    np.mean,
    confidence_level=confidence,
    n_resamples=resamples,
    method="percentile",
    rng=np.random.default_rng(seed),
  )
  low, high = map(float, result.confidence_interval)
  return Interval(
    float(np.mean(diff)),
    low,
    high,
    len(diff),
    "percentile bootstrap over test examples (scipy.stats.bootstrap)",
    _verdict(low, high, len(diff), 1),
    confidence,
  )


def ece_chance_level(
  confidences: np.ndarray,
  *,
  bins: int = calibration.NUM_BINS,
  draws: int = 200,
  quantile: float = CONFIDENCE,
  seed: int = 0,
) -> tuple[float, float]:
  """``(mean, quantile)`` of the ECE that a perfectly calibrated model with
  these ``confidences`` scores by chance: each example is right with
  probability its confidence, ``draws`` times."""
  confidences = np.asarray(confidences)
  rng = np.random.default_rng(seed)
  correct = rng.random((draws, len(confidences))) < confidences
  # Binned as every ECE is (calibration.confidence_bins), all draws at once.
  scores = np.asarray(
    jax.vmap(
      lambda right: calibration.bins_ece(
        calibration.confidence_bins(confidences, right, num_bins=bins)
      )
    )(correct)
  )
  return float(np.mean(scores)), float(np.quantile(scores, quantile))
