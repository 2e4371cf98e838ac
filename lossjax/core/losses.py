"""Per-example costs and output errors of any pairing, with input validation.

Every function takes a pairing as a built-in name, an import string or a
:class:`lossjax.Pairing` (see :mod:`lossjax.core.pairings`), logits ``z`` (the
output layer's weighted input) and targets given either as vectors shaped
like the logits or as integer class labels shaped ``logits.shape[:-1]``
(converted to one-hot vectors before the pairing's ``cost`` or ``delta``
sees them).

Validation happens in two places, by design:

- **Shapes and dtypes** are checked at trace time, so they raise the same
  error eagerly, under ``jit`` and under ``vmap``.
- **Values** (labels out of range, NaN or out-of-``[0, 1]`` targets,
  multiclass targets that do not sum to 1) are checked only when the
  targets are concrete, i.e. in eager calls. Under ``jit`` or ``vmap`` the
  values are not available without a host round trip, and no check runs:
  an out-of-range integer label becomes an all-zero target row (so
  ``softmax_nll`` costs 0) and a target outside ``[0, 1]`` is used as given.
  Check data where it enters (:mod:`lossjax.datasets.data` does for datasets), or
  call the function eagerly once. ``tests/test_losses.py`` pins both
  behaviours.
"""

import functools
from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from lossjax.core.pairings import Pairing, PairingLike, resolve_pairing

# Multiclass targets must be probability vectors for a - y to be the
# gradient of the log-likelihood; this is how far from 1 a row sum may be.
_SUM_TOLERANCE = 1e-3


def _concrete(x: jax.Array) -> np.ndarray | None:
  """``x`` as a NumPy array, or ``None`` when it is traced (jit, vmap)."""
  try:
    return np.asarray(x)
  except (
    jax.errors.TracerArrayConversionError,
    jax.errors.ConcretizationTypeError,
  ):
    return None


def target_vectors(
  pairing: PairingLike, logits: ArrayLike, targets: ArrayLike
) -> tuple[jax.Array, jax.Array]:
  """Validates inputs and returns ``(logits, y)`` with ``y`` shaped like logits.

  Args:
    pairing: a built-in name, import string or :class:`lossjax.Pairing`.
    logits: floating-point array of shape ``(..., k)``.
    targets: array shaped like ``logits``, or integer labels shaped
      ``logits.shape[:-1]`` with values in ``[0, k)``.

  Returns:
    The logits as a ``jax.Array`` and the targets as vectors of the logits'
    dtype and shape.

  Raises:
    ValueError: unknown pairing, mismatched shapes, or (eager calls only, see
      the module docstring) invalid target values.
    TypeError: non-floating logits, or float targets given as class labels.
  """
  p = resolve_pairing(pairing)
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
    values = _concrete(targets)
    if values is not None:
      _check_target_values(p, values)
    return logits, targets.astype(logits.dtype)
  if targets.shape == logits.shape[:-1]:
    if not jnp.issubdtype(targets.dtype, jnp.integer):
      raise TypeError(
        f"targets of shape {targets.shape} (logits.shape[:-1]) are read as "
        f"class labels and must be integers, got dtype {targets.dtype}. Pass "
        f"probability vectors with the logits' shape {logits.shape} instead."
      )
    labels = _concrete(targets)
    if labels is not None:
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


def _check_target_values(pairing: Pairing, y: np.ndarray) -> None:
  if not np.all(np.isfinite(y)):
    raise ValueError("targets contain NaN or inf; clean the data first.")
  if np.any(y < 0) or np.any(y > 1):
    raise ValueError(
      f"target values must lie in [0, 1]; found range [{y.min()}, {y.max()}]."
    )
  if pairing.kind == "multiclass":
    sums = y.sum(axis=-1)
    if np.any(np.abs(sums - 1) > _SUM_TOLERANCE):
      raise ValueError(
        f"{pairing.name} is a multiclass pairing: its targets must be "
        "probability vectors (each row summing to 1 along the last axis); "
        f"found row sums in [{sums.min()}, {sums.max()}]. Use integer labels "
        "or normalise the targets."
      )


def output_activation(pairing: PairingLike, logits: ArrayLike) -> jax.Array:
  """The output layer's activation ``a`` of the pairing, e.g. ``sigma(z)``."""
  return resolve_pairing(pairing).activation(jnp.asarray(logits))


def activation_slope(pairing: PairingLike, logits: ArrayLike) -> jax.Array:
  r"""Diagonal of the activation's Jacobian, :math:`\partial a_j/\partial z_j`.

  How unsaturated the output units are: ``sigma'(z)`` for sigmoid outputs,
  ``a_j (1 - a_j)`` for softmax, 1 for a linear output. Computed with
  ``jax.jvp`` (element-wise activations of binary pairings) or the full
  Jacobian (multiclass), so it holds for any pairing.
  """
  p = resolve_pairing(pairing)
  z = jnp.asarray(logits)
  if p.kind == "binary":
    return jax.jvp(p.activation, (z,), (jnp.ones_like(z),))[1]
  k = z.shape[-1]
  flat = z.reshape(-1, k)
  jacobians = jax.vmap(jax.jacfwd(p.activation))(flat)
  return jnp.diagonal(jacobians, axis1=-2, axis2=-1).reshape(z.shape)


def _checked_cost(p: Pairing, z: jax.Array, y: jax.Array) -> jax.Array:
  cost = p.cost(z, y)
  if cost.shape != z.shape[:-1]:
    raise ValueError(
      f"pairing {p.name!r}: cost returned shape {cost.shape} for logits "
      f"{z.shape}; it must return one value per example, shape "
      f"{z.shape[:-1]} (sum over the last axis)."
    )
  return cost


def loss(
  pairing: PairingLike, logits: ArrayLike, targets: ArrayLike
) -> jax.Array:
  r"""Per-example cost of an output-activation/cost pairing.

  With :math:`a = \mathrm{act}(z)` and targets :math:`y`, the built-ins are

  - ``sigmoid_mse``: :math:`\tfrac12 \sum_j (\sigma(z_j) - y_j)^2`
  - ``sigmoid_bce``: :math:`-\sum_j [y_j \ln\sigma(z_j) + (1-y_j)\ln(1-\sigma(z_j))]`
  - ``softmax_nll``: :math:`-\sum_j y_j \ln \mathrm{softmax}(z)_j`
  - ``softmax_mse``: :math:`\tfrac12 \sum_j (\mathrm{softmax}(z)_j - y_j)^2`

  Args:
    pairing: a built-in name, import string or :class:`lossjax.Pairing`.
    logits: floating-point logits, shape ``(..., k)``.
    targets: vectors shaped like ``logits`` or integer labels shaped
      ``logits.shape[:-1]``.

  Non-finite logits: the built-ins' costs are finite wherever their value
  is, including a logit of ``-inf`` on a unit or class whose target is 0
  (it costs its limit); NaN logits give NaN.

  Returns:
    The cost of each example, shape ``logits.shape[:-1]``.

  Raises:
    ValueError: eagerly, for labels out of range or targets outside
      ``[0, 1]`` (or multiclass targets not summing to 1). Under ``jit`` or
      ``vmap`` these value checks do not run (see the module docstring).
  """
  p = resolve_pairing(pairing)
  z, y = target_vectors(p, logits, targets)
  return _checked_cost(p, z, y)


def output_delta(
  pairing: PairingLike, logits: ArrayLike, targets: ArrayLike
) -> jax.Array:
  r"""Output error :math:`\delta^L = \partial C_x / \partial z` (BP1).

  The pairing's closed-form ``delta`` when it has one, else ``jax.grad`` of
  its cost. The built-ins' closed forms:

  - ``sigmoid_mse``: :math:`(a - y) \odot \sigma'(z)`, the factor that
    vanishes when the output saturates;
  - ``sigmoid_bce`` and ``softmax_nll``: :math:`a - y` (the factor cancels);
  - ``softmax_mse``: :math:`J(z)^\top (a - y)` with the softmax Jacobian
    :math:`J_{jk} = a_j(\delta_{jk} - a_k)`.

  The tests check every closed form against ``jax.grad(loss)``
  (:func:`lossjax.check_closed_form` does it for any pairing).

  Args:
    pairing: a built-in name, import string or :class:`lossjax.Pairing`.
    logits: floating-point logits, shape ``(..., k)``.
    targets: as for :func:`loss`.

  Returns:
    :math:`\partial C_x / \partial z`, same shape as ``logits``.
  """
  p = resolve_pairing(pairing)
  z, y = target_vectors(p, logits, targets)
  if p.delta is not None:
    return p.delta(z, y)
  return jax.grad(lambda logits: jnp.sum(_checked_cost(p, logits, y)))(z)


def loss_by_index(
  pairings: Sequence[PairingLike],
  index: ArrayLike,
  logits: ArrayLike,
  targets: ArrayLike,
) -> jax.Array:
  """:func:`loss` of ``pairings[index]``, with ``index`` possibly traced.

  Lets configurations with different pairings share one ``vmap``. A batched
  index makes every branch run (``lax.switch`` becomes a select under
  ``vmap``); a shared one runs only its own.

  Args:
    pairings: the candidate pairings (names, import strings or values).
    index: integer scalar, position in ``pairings``.
    logits: as for :func:`loss`.
    targets: as for :func:`loss`.

  Returns:
    Per-example costs, shape ``logits.shape[:-1]``.
  """
  branches = [functools.partial(loss, resolve_pairing(p)) for p in pairings]
  return jax.lax.switch(index, branches, logits, targets)
