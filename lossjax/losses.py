"""Output-activation/cost pairings: per-example costs and their BP1 closed forms.

Every cost takes *logits* ``z`` (the output layer's weighted input) and is
computed from them directly with the stable primitives of :mod:`jax.nn`
(``log_sigmoid``, ``log_softmax``), never by taking the log of a probability.

Targets may be given as vectors shaped like the logits (one-hot or probability
vectors; any values in ``[0, 1]`` for the sigmoid pairings) or as integer class
labels shaped ``logits.shape[:-1]``.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from lossjax.activations import sigmoid_prime, softmax_jacobian

PAIRINGS: tuple[str, ...] = (
  "sigmoid_mse",
  "sigmoid_bce",
  "softmax_nll",
  "softmax_mse",
)
"""Names of the output-activation/cost pairings, in a fixed order."""

SIGMOID_PAIRINGS = ("sigmoid_mse", "sigmoid_bce")
SOFTMAX_PAIRINGS = ("softmax_nll", "softmax_mse")

# Softmax targets must be probability vectors for the closed form a - y of
# softmax_nll to be the gradient; this is how far from 1 a row sum may be.
_SUM_TOLERANCE = 1e-3


def check_pairing(pairing: str) -> str:
  """Returns ``pairing`` if it names a pairing, else raises ``ValueError``."""
  if pairing not in PAIRINGS:
    raise ValueError(
      f"Unknown pairing {pairing!r}. Choose one of: {', '.join(PAIRINGS)}."
    )
  return pairing


def _is_concrete(x: jax.Array) -> bool:
  return not isinstance(x, jax.core.Tracer)


def target_vectors(
  pairing: str, logits: ArrayLike, targets: ArrayLike
) -> tuple[jax.Array, jax.Array]:
  """Validates inputs and returns ``(logits, y)`` with ``y`` shaped like logits.

  Shape and dtype problems are always reported. Value problems (labels out of
  range, NaN or out-of-``[0, 1]`` targets, softmax targets that do not sum to
  1) are reported whenever the values are concrete, i.e. outside ``jit``;
  under ``jit`` they cannot be inspected without a host round trip.

  Args:
    pairing: one of :data:`PAIRINGS`.
    logits: floating-point array of shape ``(..., k)``.
    targets: array shaped like ``logits``, or integer labels shaped
      ``logits.shape[:-1]`` with values in ``[0, k)``.

  Returns:
    The logits as a ``jax.Array`` and the targets as vectors of the logits'
    dtype and shape.

  Raises:
    ValueError: unknown pairing, mismatched shapes or invalid target values.
    TypeError: non-floating logits, or float targets given as class labels.
  """
  check_pairing(pairing)
  logits = jnp.asarray(logits)
  targets = jnp.asarray(targets)
  if not jnp.issubdtype(logits.dtype, jnp.floating):
    raise TypeError(
      f"logits must be a floating-point array, got dtype {logits.dtype}. "
      "Cast them, e.g. logits.astype(jnp.float32)."
    )
  if logits.ndim == 0:
    raise ValueError(
      "logits must have at least one axis (the output units, last); got a "
      "scalar. For a single output use shape (..., 1)."
    )
  num_classes = logits.shape[-1]
  if targets.shape == logits.shape:
    if _is_concrete(targets):
      _check_target_values(pairing, np.asarray(targets))
    return logits, targets.astype(logits.dtype)
  if targets.shape == logits.shape[:-1]:
    if not jnp.issubdtype(targets.dtype, jnp.integer):
      raise TypeError(
        f"targets of shape {targets.shape} (logits.shape[:-1]) are read as "
        f"class labels and must be integers, got dtype {targets.dtype}. Pass "
        f"probability vectors with the logits' shape {logits.shape} instead."
      )
    if _is_concrete(targets):
      labels = np.asarray(targets)
      bad = (labels < 0) | (labels >= num_classes)
      if bad.any():
        raise ValueError(
          f"Integer labels must lie in [0, {num_classes}) for logits with "
          f"{num_classes} output units; found {labels[bad].ravel()[:5]} "
          f"({int(bad.sum())} out of range)."
        )
    return logits, jax.nn.one_hot(targets, num_classes, dtype=logits.dtype)
  raise ValueError(
    f"targets shape {targets.shape} does not match logits shape "
    f"{logits.shape}: expected {logits.shape} (vectors) or "
    f"{logits.shape[:-1]} (integer labels)."
  )


def _check_target_values(pairing: str, y: np.ndarray) -> None:
  if not np.all(np.isfinite(y)):
    raise ValueError("targets contain NaN or inf; clean the data first.")
  if np.any(y < 0) or np.any(y > 1):
    raise ValueError(
      f"target values must lie in [0, 1]; found range [{y.min()}, {y.max()}]."
    )
  if pairing in SOFTMAX_PAIRINGS:
    sums = y.sum(axis=-1)
    if np.any(np.abs(sums - 1) > _SUM_TOLERANCE):
      raise ValueError(
        f"{pairing} targets must be probability vectors (each row summing to "
        f"1 along the last axis); found row sums in [{sums.min()}, "
        f"{sums.max()}]. Use integer labels or normalise the targets."
      )


def output_activation(pairing: str, logits: ArrayLike) -> jax.Array:
  """The output layer's activation ``a = sigma(z)`` or ``softmax(z)``."""
  if check_pairing(pairing) in SIGMOID_PAIRINGS:
    return jax.nn.sigmoid(logits)
  return jax.nn.softmax(logits, axis=-1)


def _sigmoid_mse(z: jax.Array, y: jax.Array) -> jax.Array:
  return 0.5 * jnp.sum(jnp.square(jax.nn.sigmoid(z) - y), axis=-1)


def _sigmoid_bce(z: jax.Array, y: jax.Array) -> jax.Array:
  # ln(1 - sigma(z)) = ln sigma(-z): both logs stay finite for any finite z.
  return -jnp.sum(
    y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z), axis=-1
  )


def _softmax_nll(z: jax.Array, y: jax.Array) -> jax.Array:
  return -jnp.sum(y * jax.nn.log_softmax(z, axis=-1), axis=-1)


def _softmax_mse(z: jax.Array, y: jax.Array) -> jax.Array:
  return 0.5 * jnp.sum(jnp.square(jax.nn.softmax(z, axis=-1) - y), axis=-1)


_COSTS: dict[str, Callable[[jax.Array, jax.Array], jax.Array]] = {
  "sigmoid_mse": _sigmoid_mse,
  "sigmoid_bce": _sigmoid_bce,
  "softmax_nll": _softmax_nll,
  "softmax_mse": _softmax_mse,
}


def loss(pairing: str, logits: ArrayLike, targets: ArrayLike) -> jax.Array:
  r"""Per-example cost of an output-activation/cost pairing.

  With :math:`a = \mathrm{act}(z)` and targets :math:`y`:

  - ``sigmoid_mse``: :math:`\tfrac12 \sum_j (\sigma(z_j) - y_j)^2`
  - ``sigmoid_bce``: :math:`-\sum_j [y_j \ln\sigma(z_j) + (1-y_j)\ln(1-\sigma(z_j))]`
  - ``softmax_nll``: :math:`-\sum_j y_j \ln \mathrm{softmax}(z)_j`
  - ``softmax_mse``: :math:`\tfrac12 \sum_j (\mathrm{softmax}(z)_j - y_j)^2`

  Args:
    pairing: one of :data:`PAIRINGS`.
    logits: floating-point logits, shape ``(..., k)``.
    targets: vectors shaped like ``logits`` or integer labels shaped
      ``logits.shape[:-1]``.

  Returns:
    The cost of each example, shape ``logits.shape[:-1]``.
  """
  z, y = target_vectors(pairing, logits, targets)
  return _COSTS[pairing](z, y)


def output_delta(
  pairing: str, logits: ArrayLike, targets: ArrayLike
) -> jax.Array:
  r"""Closed-form output error :math:`\delta^L = \partial C / \partial z` (BP1).

  - ``sigmoid_mse``: :math:`(a - y) \odot \sigma'(z)`, the factor that
    vanishes when the output saturates;
  - ``sigmoid_bce`` and ``softmax_nll``: :math:`a - y` (the factor cancels);
  - ``softmax_mse``: :math:`J(z)^\top (a - y)` with the softmax Jacobian
    :math:`J_{jk} = a_j(\delta_{jk} - a_k)`.

  This is the hand derivation; tests check it against ``jax.grad(loss)``.

  Args:
    pairing: one of :data:`PAIRINGS`.
    logits: floating-point logits, shape ``(..., k)``.
    targets: as for :func:`loss`.

  Returns:
    :math:`\partial C_x / \partial z`, same shape as ``logits``.
  """
  z, y = target_vectors(pairing, logits, targets)
  a = output_activation(pairing, z)
  if pairing == "sigmoid_mse":
    return (a - y) * sigmoid_prime(z)
  if pairing == "softmax_mse":
    return jnp.einsum("...jk,...j->...k", softmax_jacobian(z), a - y)
  return a - y


def loss_by_index(
  index: ArrayLike, logits: ArrayLike, targets: ArrayLike
) -> jax.Array:
  """:func:`loss` with the pairing given as an index into :data:`PAIRINGS`.

  The index may be traced, so configurations with different pairings can
  share one ``vmap``. A batched index makes every branch run (``lax.switch``
  becomes a select under ``vmap``); a shared one runs only its own.

  Args:
    index: integer scalar, position of the pairing in :data:`PAIRINGS`.
    logits: as for :func:`loss`.
    targets: as for :func:`loss`.

  Returns:
    Per-example costs, shape ``logits.shape[:-1]``.
  """
  branches = [lambda z, t, p=p: loss(p, z, t) for p in PAIRINGS]
  return jax.lax.switch(index, branches, logits, targets)
