r"""Are a network's outputs probabilities? Calibration metrics, and temperature.

Pure, ``jit``- and ``vmap``-able functions of predicted probabilities
``p`` (``(n, k)``, rows summing to 1; :meth:`lossjax.Pairing.class_probabilities`
makes them from any pairing's logits) and integer labels ``(n,)``:

- :func:`expected_calibration_error` and :func:`calibration_bins` (Guo et al.,
  ICML 2017): the confidence :math:`\max_j p_j` sorted into equal-width bins
  :math:`((m-1)/M, m/M]`, and :math:`\mathrm{ECE} = \sum_m \frac{|B_m|}{n}
  |\mathrm{acc}(B_m) - \mathrm{conf}(B_m)|`.
- :func:`negative_log_likelihood`, :math:`-\frac1n \sum_i \ln p_{i y_i}`: the
  log-likelihood's cost, softmax + log-likelihood's training objective.
  Each probability is floored at :data:`PROBABILITY_FLOOR` (``1e-6``): a
  pairing whose outputs give the true class a probability of exactly 0 (a
  clipped linear output, a saturated sigmoid) is charged
  :math:`-\ln 10^{-6} = 13.8` for it, one documented number, not the
  dtype's :math:`-\ln(\text{tiny})` (87.3 in float32, 708 in float64),
  and :func:`floored_fraction` counts such examples. Temperature scaling
  reads the same floored probabilities.
- :func:`brier_score`, :math:`\frac1n \sum_i \sum_j (p_{ij} - y_{ij})^2`
  with one-hot :math:`y`: the quadratic cost on probabilities (twice the
  ``softmax_mse`` cost). Both it and the log-likelihood are *proper* scoring
  rules: in expectation each is minimised by the true class probabilities,
  so both reward honest probabilities. They differ in what a confident
  mistake costs: at most 2 for the Brier score, :math:`-\ln p_y`, unbounded,
  for the log-likelihood. That is why the log-likelihood's gradient is large
  where the quadratic cost's vanishes, and why it chases a wrong label.
- :func:`temperature_scale` and :func:`fit_temperature` (Guo et al.): one
  number :math:`T`, fitted on held-out data by minimising the NLL, that
  softens (:math:`T > 1`) or sharpens the probabilities without changing
  any prediction.

Values are checked only where they are concrete (eager calls), as in
:mod:`lossjax.core.losses`: rows that do not sum to 1, negative or non-finite
probabilities, labels out of range and a bin count below 1 raise
``ValueError``; shapes are checked at trace time.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.typing import ArrayLike

from lossjax.core.losses import _concrete

NUM_BINS = 15  # Guo et al.'s choice
# The smallest probability the NLL and temperature scaling read (see above).
PROBABILITY_FLOOR = 1e-6
_SUM_TOLERANCE = 1e-3
# fit_temperature's search range: T from 1/100 to 100.
_LOG_T_RANGE = (float(np.log(1e-2)), float(np.log(1e2)))


class CalibrationBins(NamedTuple):
  """Equal-width confidence bins, the data of a reliability diagram.

  Attributes:
    edges: ``(num_bins + 1,)`` bin edges from 0 to 1.
    counts: examples per bin.
    confidence: mean confidence (largest probability) in each bin (0 where
      the bin is empty).
    accuracy: fraction of each bin's examples whose most probable class is
      the label (0 where the bin is empty).
  """

  edges: jax.Array
  counts: jax.Array
  confidence: jax.Array
  accuracy: jax.Array


def check_probabilities(
  probabilities: ArrayLike, labels: ArrayLike
) -> tuple[jax.Array, jax.Array]:
  """``(probabilities, labels)`` as arrays, checked.

  Raises:
    ValueError: shapes that do not match (always), or (concrete inputs only)
      probabilities that are negative, not finite or whose rows do not sum
      to 1, or labels outside ``[0, k)``.
    TypeError: non-integer labels or non-floating probabilities.
  """
  p = jnp.asarray(probabilities)
  labels = jnp.asarray(labels)
  if p.ndim != 2:
    raise ValueError(
      f"probabilities must be shaped (examples, classes), got {p.shape}."
    )
  if not jnp.issubdtype(p.dtype, jnp.floating):
    raise TypeError(f"probabilities must be floating, got dtype {p.dtype}.")
  if labels.shape != p.shape[:1]:
    raise ValueError(
      f"labels must be shaped ({p.shape[0]},), one per row of the "
      f"probabilities {p.shape}; got {labels.shape}."
    )
  if not jnp.issubdtype(labels.dtype, jnp.integer):
    raise TypeError(f"labels must be integers, got dtype {labels.dtype}.")
  values = _concrete(p)
  if values is not None:
    if not np.all(np.isfinite(values)) or np.any(values < 0):
      raise ValueError(
        "probabilities must be finite and non-negative; found values in "
        f"[{np.nanmin(values)}, {np.nanmax(values)}]."
      )
    sums = values.sum(axis=-1)
    if np.any(np.abs(sums - 1) > _SUM_TOLERANCE):
      raise ValueError(
        "each row of probabilities must sum to 1; found row sums in "
        f"[{sums.min():.4g}, {sums.max():.4g}]. Give a distribution over the "
        "classes, e.g. Pairing.class_probabilities(logits)."
      )
  label_values = _concrete(labels)
  if label_values is not None:
    bad = (label_values < 0) | (label_values >= p.shape[1])
    if bad.any():
      raise ValueError(
        f"labels must lie in [0, {p.shape[1]}); found "
        f"{label_values[bad][:5]} ({int(bad.sum())} out of range)."
      )
  return p, labels


def _check_num_bins(num_bins: int) -> None:
  if not isinstance(num_bins, (int, np.integer)) or num_bins < 1:
    raise ValueError(f"num_bins must be an integer >= 1, got {num_bins!r}.")


def calibration_bins(
  probabilities: ArrayLike, labels: ArrayLike, *, num_bins: int = NUM_BINS
) -> CalibrationBins:
  """The confidence histogram behind :func:`expected_calibration_error`.

  Example ``i`` falls in bin ``m`` (from 0) when its confidence
  :math:`c_i = \\max_j p_{ij}` lies in ``(m / M, (m + 1) / M]``.
  """
  p, labels = check_probabilities(probabilities, labels)
  return confidence_bins(
    jnp.max(p, axis=-1), jnp.argmax(p, axis=-1) == labels, num_bins=num_bins
  )


def confidence_bins(
  confidence: ArrayLike, correct: ArrayLike, *, num_bins: int = NUM_BINS
) -> CalibrationBins:
  """:func:`calibration_bins` from each example's confidence and whether
  its prediction is right (e.g. a simulated calibrated model's,
  :func:`lossjax.metrics.stats.ece_chance_level`)."""
  _check_num_bins(num_bins)
  confidence = jnp.asarray(confidence)
  correct = jnp.asarray(correct).astype(confidence.dtype)
  index = jnp.clip(
    jnp.ceil(confidence * num_bins).astype(jnp.int32) - 1, 0, num_bins - 1
  )
  counts = jnp.zeros(num_bins, confidence.dtype).at[index].add(1.0)
  confidence_sum = (
    jnp.zeros(num_bins, confidence.dtype).at[index].add(confidence)
  )
  correct_sum = jnp.zeros(num_bins, confidence.dtype).at[index].add(correct)
  safe = jnp.maximum(counts, 1.0)
  return CalibrationBins(
    edges=jnp.linspace(0.0, 1.0, num_bins + 1, dtype=confidence.dtype),
    counts=counts,
    confidence=confidence_sum / safe,
    accuracy=correct_sum / safe,
  )


def bins_ece(bins: CalibrationBins) -> jax.Array:
  """The ECE of a confidence histogram: the example-weighted mean gap."""
  gaps = jnp.abs(bins.accuracy - bins.confidence)
  return jnp.sum(bins.counts * gaps) / jnp.sum(bins.counts)


def expected_calibration_error(
  probabilities: ArrayLike, labels: ArrayLike, *, num_bins: int = NUM_BINS
) -> jax.Array:
  r"""Expected calibration error (Guo et al. 2017), a fraction in ``[0, 1]``.

  .. math:: \mathrm{ECE} = \sum_{m=1}^{M} \frac{|B_m|}{n}
     \left|\mathrm{acc}(B_m) - \mathrm{conf}(B_m)\right|

  Args:
    probabilities: ``(n, k)``, rows summing to 1.
    labels: ``(n,)`` integer classes.
    num_bins: ``M`` equal-width confidence bins (>= 1; 15 as Guo et al.).
  """
  return bins_ece(calibration_bins(probabilities, labels, num_bins=num_bins))


def _log_probabilities(p: jax.Array) -> jax.Array:
  # A probability of exactly 0 (a saturated sigmoid, a clipped linear
  # output) is floored at PROBABILITY_FLOOR, the same in every dtype.
  return jnp.log(jnp.maximum(p, PROBABILITY_FLOOR))


def negative_log_likelihood(
  probabilities: ArrayLike, labels: ArrayLike
) -> jax.Array:
  r"""Mean :math:`-\ln \max(p_{i y_i}, 10^{-6})` (:data:`PROBABILITY_FLOOR`:
  a true class given no probability costs 13.8, see the module's notes)."""
  p, labels = check_probabilities(probabilities, labels)
  log_p = _log_probabilities(p)
  return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=-1))


def floored_fraction(probabilities: ArrayLike, labels: ArrayLike) -> jax.Array:
  """The fraction of examples whose true class has a probability below
  :data:`PROBABILITY_FLOOR`: what the NLL charges the floor's 13.8 for."""
  p, labels = check_probabilities(probabilities, labels)
  true = jnp.take_along_axis(p, labels[:, None], axis=-1)[:, 0]
  return jnp.mean(true < PROBABILITY_FLOOR)


def brier_score(probabilities: ArrayLike, labels: ArrayLike) -> jax.Array:
  r"""Mean :math:`\sum_j (p_{ij} - y_{ij})^2` with one-hot targets, in
  ``[0, 2]``: the quadratic cost on probabilities (Brier 1950)."""
  p, labels = check_probabilities(probabilities, labels)
  y = jax.nn.one_hot(labels, p.shape[-1], dtype=p.dtype)
  return jnp.mean(jnp.sum(jnp.square(p - y), axis=-1))


def calibration_metrics(
  probabilities: ArrayLike, labels: ArrayLike, *, num_bins: int = NUM_BINS
) -> dict[str, jax.Array]:
  """``{"ece", "nll", "brier", "floored"}`` of the same probabilities
  (``floored``: :func:`floored_fraction`)."""
  return {
    "ece": expected_calibration_error(probabilities, labels, num_bins=num_bins),
    "nll": negative_log_likelihood(probabilities, labels),
    "brier": brier_score(probabilities, labels),
    "floored": floored_fraction(probabilities, labels),
  }


def temperature_scale(
  probabilities: ArrayLike, temperature: ArrayLike
) -> jax.Array:
  r"""The probabilities at temperature ``T``: :math:`p_j^{1/T} / \sum_k
  p_k^{1/T}`.

  For a softmax output this is exactly :math:`\mathrm{softmax}(z / T)` (Guo
  et al.) wherever the probabilities are above :data:`PROBABILITY_FLOOR`
  (below, it reads the floor, as the NLL and the fit do); written on the
  probabilities it applies to every pairing alike.
  ``T > 1`` softens, ``T < 1`` sharpens; the most probable class never
  changes.
  """
  p = jnp.asarray(probabilities)
  return jax.nn.softmax(_log_probabilities(p) / temperature, axis=-1)


def fit_temperature(
  probabilities: ArrayLike, labels: ArrayLike, *, steps: int = 30
) -> jax.Array:
  """The temperature that minimises the NLL of ``labels`` (Guo et al.).

  Fitted on held-out data (the validation split), then applied to the test
  predictions with :func:`temperature_scale`. L-BFGS (``optax.lbfgs``) on
  ``log T``, from ``T = 1``, for ``steps`` iterations; the result is kept in
  ``[0.01, 100]`` (a network that fits its held-out data perfectly would
  otherwise drive ``T`` to 0).
  """
  p, labels = check_probabilities(probabilities, labels)
  log_p = _log_probabilities(p)

  def nll(log_t):
    scaled = jax.nn.log_softmax(log_p * jnp.exp(-log_t), axis=-1)
    return -jnp.mean(jnp.take_along_axis(scaled, labels[:, None], axis=-1))

  solver = optax.lbfgs()
  value_and_grad = optax.value_and_grad_from_state(nll)

  def step(carry, _):
    log_t, state = carry
    value, grad = value_and_grad(log_t, state=state)
    updates, state = solver.update(
      grad, state, log_t, value=value, grad=grad, value_fn=nll
    )
    return (optax.apply_updates(log_t, updates), state), None

  start = jnp.zeros((), p.dtype)
  (log_t, _), _ = jax.lax.scan(
    step, (start, solver.init(start)), None, length=steps
  )
  log_t = jnp.where(jnp.isfinite(log_t), log_t, 0.0)
  return jnp.exp(jnp.clip(log_t, *_LOG_T_RANGE))


@functools.partial(jax.jit, static_argnames="num_bins")
def scaled_metrics(
  validation: tuple[jax.Array, jax.Array],
  test: tuple[jax.Array, jax.Array],
  *,
  num_bins: int = NUM_BINS,
) -> dict[str, jax.Array]:
  """Temperature fitted on ``validation``, and ``test``'s metrics after it.

  Each argument is ``(probabilities, labels)``. Returns ``temperature``,
  ``ece_scaled``, ``nll_scaled`` and ``brier_scaled``.
  """
  temperature = fit_temperature(*validation)
  test_p, test_labels = test
  scaled = temperature_scale(test_p, temperature)
  metrics = calibration_metrics(scaled, test_labels, num_bins=num_bins)
  return {
    "temperature": temperature,
    **{f"{name}_scaled": value for name, value in metrics.items()},
  }
