"""Curvature of the costs as functions of model parameters (seed 002).

For a logistic model ``a = sigma(theta . x)`` the cross-entropy is convex in
``theta`` (its Hessian is ``mean sigma'(z) x x^T``, positive semi-definite),
while the quadratic cost is not: its curvature turns negative where the
sigmoid saturates. The same holds for a linear softmax model: log-likelihood
is convex in the logits and the weights, softmax + quadratic is not.
Everything here uses ``jax.hessian``; the closed forms are only in the tests.
"""

from collections.abc import Callable

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from lossjax.core.losses import loss
from lossjax.core.pairings import PairingLike


def logistic_cost(
  pairing: PairingLike, theta: ArrayLike, x: ArrayLike, y: ArrayLike
) -> jax.Array:
  """Mean cost of one output ``z = x @ theta`` for binary targets ``y``.

  Args:
    pairing: a binary pairing (``sigmoid_bce`` makes this logistic
      regression).
    theta: weights, shape ``(d,)``.
    x: inputs, shape ``(n, d)``.
    y: targets in ``[0, 1]``, shape ``(n,)``.

  Returns:
    The scalar mean cost.
  """
  logits = (jnp.asarray(x) @ jnp.asarray(theta))[:, None]
  return jnp.mean(loss(pairing, logits, jnp.asarray(y)[:, None]))


def softmax_linear_cost(
  pairing: PairingLike, w: ArrayLike, x: ArrayLike, labels: ArrayLike
) -> jax.Array:
  """Mean cost of the linear multiclass model ``z = x @ w`` (``w``: ``(d, k)``)."""
  return jnp.mean(loss(pairing, jnp.asarray(x) @ jnp.asarray(w), labels))


def min_hessian_eigenvalue(
  cost: Callable[[jax.Array], jax.Array], points: ArrayLike
) -> jax.Array:
  """Smallest eigenvalue of ``jax.hessian(cost)`` at each point.

  Args:
    cost: scalar function of a parameter array.
    points: parameter values stacked on the leading axis, ``(m, ...)``.

  Returns:
    ``(m,)`` smallest eigenvalues (negative means not convex there).
  """

  def smallest(point):
    hessian = jax.hessian(cost)(point)
    size = point.size
    return jnp.linalg.eigvalsh(hessian.reshape(size, size))[0]

  # One compiled program: op by op, each of the Hessian's primitives would
  # compile on its own.
  return jax.jit(jax.vmap(smallest))(jnp.asarray(points))


def negative_intervals(
  grid: ArrayLike, values: ArrayLike
) -> list[tuple[float, float]]:
  """Maximal ``[start, end]`` stretches of ``grid`` where ``values < 0``."""
  intervals, start = [], None
  for point, value in zip(list(grid), list(values), strict=True):
    if value < 0 and start is None:
      start = point
    if value < 0:
      end = point
    if value >= 0 and start is not None:
      intervals.append((float(start), float(end)))
      start = None
  if start is not None:
    intervals.append((float(start), float(end)))
  return intervals
