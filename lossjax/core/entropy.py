"""The binary-entropy floor of cross-entropy for soft targets (seed 001).

For a target ``y`` in ``(0, 1)``, ``C(a) = -[y ln a + (1 - y) ln(1 - a)]`` is
minimised at ``a = y``, where it equals the binary entropy ``H(y)``: the cost
cannot reach 0 unless ``y`` is 0 or 1.
"""

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.core.losses import loss
from lossjax.core.pairings import Pairing, PairingLike, resolve_pairing


def binary_entropy(y: ArrayLike) -> jax.Array:
  r"""``H(y) = -[y ln y + (1 - y) ln(1 - y)]`` in nats, with ``0 ln 0 = 0``."""
  y = jnp.asarray(y)
  return -(jax.scipy.special.xlogy(y, y) + jax.scipy.special.xlog1py(1 - y, -y))


def bce_of_output(a: ArrayLike, y: ArrayLike) -> jax.Array:
  """Cross-entropy as a function of the output ``a`` (element-wise)."""
  a, y = jnp.asarray(a), jnp.asarray(y)
  return -(jax.scipy.special.xlogy(y, a) + jax.scipy.special.xlog1py(1 - y, -a))


def soft_target_problem(
  pairing: PairingLike, y: ArrayLike
) -> tuple[Pairing, tuple[int, ...], jax.Array]:
  """How a pairing sees a soft binary target ``y``: its logit shape and targets.

  A binary pairing has one output unit with target ``y``; a multiclass one
  has two classes with target ``(y, 1 - y)``. Either way its cross-entropy
  (if it is one) has the floor ``H(y)``.
  """
  p = resolve_pairing(pairing)
  y = jnp.asarray(y)
  if p.kind == "binary":
    return p, (*y.shape, 1), y[..., None]
  return p, (*y.shape, 2), jnp.stack([y, 1 - y], axis=-1)


def minimize_cost(
  pairing: PairingLike,
  y: ArrayLike,
  *,
  steps: int = 500,
  learning_rate: float = 4.0,
):
  """Minimises a pairing's cost over the logits for soft targets ``y``.

  Gradient descent on ``z`` with ``optax.sgd`` from ``z = 0``, for every
  target at once (for ``sigmoid_bce`` the gradient is ``sigma(z) - y``).

  Args:
    pairing: any pairing (see :func:`soft_target_problem`).
    y: soft targets in ``[0, 1]``, any shape.
    steps: gradient steps.
    learning_rate: step size (``sigma' <= 1/4``, so 4 is a Newton-like step
      near ``a = 1/2`` for the sigmoid cross-entropy).

  Returns:
    ``(a_min, c_min)``: the first output's activation at the minimiser, and
    the minimum costs, both shaped like ``y``.
  """
  p, shape, targets = soft_target_problem(pairing, y)
  z = _descend(
    p, targets, jnp.zeros(shape, targets.dtype), steps, learning_rate
  )
  return p.activation(z)[..., 0], loss(p, z, targets)


def _descend(p, targets, z0, steps: int, learning_rate: float) -> jax.Array:
  """``steps`` of ``optax.sgd`` on the logits from ``z0``: the minimiser."""
  tx = optax.sgd(learning_rate)

  def total(z):
    return jnp.sum(loss(p, z, targets))

  def step(carry, _):
    z, state = carry
    updates, state = tx.update(jax.grad(total)(z), state)
    return (optax.apply_updates(z, updates), state), None

  (z, _), _ = jax.lax.scan(step, (z0, tx.init(z0)), length=steps)
  return z


def entropy(p: ArrayLike) -> jax.Array:
  r"""``H(p) = -sum_j p_j ln p_j`` in nats over the last axis, ``0 ln 0 = 0``."""
  p = jnp.asarray(p)
  return -jnp.sum(jax.scipy.special.xlogy(p, p), axis=-1)


def minimize_over_logits(
  pairing: PairingLike,
  labels: ArrayLike,
  num_outputs: int,
  *,
  steps: int = 3000,
  learning_rate: float = 2.0,
) -> jax.Array:
  """The smallest cost gradient descent on free logits finds, per label.

  The logits ``(len(labels), num_outputs)`` start at 0 and follow
  ``optax.sgd``; the cost is :func:`lossjax.loss` of the pairing.
  """
  p = resolve_pairing(pairing)
  labels = jnp.asarray(labels)
  z0 = jnp.zeros((*labels.shape, num_outputs), jnp.result_type(float))
  return loss(p, _descend(p, labels, z0, steps, learning_rate), labels)
