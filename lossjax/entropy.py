"""The binary-entropy floor of cross-entropy for soft targets (seed 001).

For a target ``y`` in ``(0, 1)``, ``C(a) = -[y ln a + (1 - y) ln(1 - a)]`` is
minimised at ``a = y``, where it equals the binary entropy ``H(y)``: the cost
cannot reach 0 unless ``y`` is 0 or 1.
"""

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.losses import loss


def binary_entropy(y: ArrayLike) -> jax.Array:
  r"""``H(y) = -[y ln y + (1 - y) ln(1 - y)]`` in nats, with ``0 ln 0 = 0``."""
  y = jnp.asarray(y)
  return -(jax.scipy.special.xlogy(y, y) + jax.scipy.special.xlog1py(1 - y, -y))


def bce_of_output(a: ArrayLike, y: ArrayLike) -> jax.Array:
  """Cross-entropy as a function of the output ``a`` (element-wise)."""
  a, y = jnp.asarray(a), jnp.asarray(y)
  return -(jax.scipy.special.xlogy(y, a) + jax.scipy.special.xlog1py(1 - y, -a))


def minimize_bce(y: ArrayLike, *, steps: int = 500, learning_rate: float = 4.0):
  """Minimises the sigmoid cross-entropy over the logit by gradient descent.

  Gradient descent on ``z`` (the gradient is ``sigma(z) - y``) with
  ``optax.sgd``, from ``z = 0``, for every target at once.

  Args:
    y: soft targets, any shape.
    steps: gradient steps.
    learning_rate: step size (``sigma' <= 1/4``, so 4 is a Newton-like step
      near ``a = 1/2``).

  Returns:
    ``(a_min, c_min)``: the minimising outputs and the minimum costs.
  """
  y = jnp.asarray(y)
  tx = optax.sgd(learning_rate)

  def total(z):
    return jnp.sum(loss("sigmoid_bce", z[..., None], y[..., None]))

  def step(carry, _):
    z, state = carry
    updates, state = tx.update(jax.grad(total)(z), state)
    return (optax.apply_updates(z, updates), state), None

  z0 = jnp.zeros_like(y)
  (z, _), _ = jax.lax.scan(step, (z0, tx.init(z0)), length=steps)
  return jax.nn.sigmoid(z), loss("sigmoid_bce", z[..., None], y[..., None])
