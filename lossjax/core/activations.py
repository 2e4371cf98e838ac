"""Output activations and their closed-form derivatives.

The derivatives here are the textbook closed forms (``sigma' = sigma (1 - sigma)``
and the softmax Jacobian ``a_j (delta_jk - a_k)``). They exist so that the hand
written backpropagation in :mod:`lossjax.core.mlp` can be checked against
``jax.grad``; training itself always uses autodiff.
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike


def sigmoid(z: ArrayLike) -> jax.Array:
  r"""The logistic function, element-wise.

  .. math:: \sigma(z) = \frac{1}{1 + e^{-z}}

  Args:
    z: weighted inputs (logits) of any shape.

  Returns:
    ``sigma(z)``, same shape as ``z``, in ``[0, 1]``.
  """
  return jax.nn.sigmoid(z)


def sigmoid_prime(z: ArrayLike) -> jax.Array:
  r"""Derivative of the logistic function, element-wise.

  .. math:: \sigma'(z) = \sigma(z)\,(1 - \sigma(z)) = \sigma(z)\,\sigma(-z)

  The product ``sigma(z) * sigma(-z)`` is used instead of ``a * (1 - a)``
  because ``1 - a`` loses every significant digit once ``a`` rounds to 1
  (``z`` above ~17 in float32), while ``sigma(-z)`` stays accurate.

  Args:
    z: weighted inputs of any shape.

  Returns:
    ``sigma'(z)``, same shape as ``z``, in ``[0, 1/4]``.
  """
  return jax.nn.sigmoid(z) * jax.nn.sigmoid(-jnp.asarray(z))


@jax.custom_jvp
def output_sigmoid(z: ArrayLike) -> jax.Array:
  """:func:`sigmoid` whose derivative is :func:`sigmoid_prime`.

  The output activation of the sigmoid pairings. ``jax.nn.sigmoid``
  differentiates to ``a (1 - a)``, which cancels to 0 once ``a`` rounds to
  1; here ``jax.jvp`` (and so :func:`lossjax.activation_slope` and the book
  widget's ``dC/da``) gets the accurate ``sigma(z) sigma(-z)``. Costs and
  hidden layers use ``jax.nn.sigmoid``; training never differentiates this.
  """
  return jax.nn.sigmoid(z)


@output_sigmoid.defjvp
def _output_sigmoid_jvp(primals, tangents):
  (z,), (dz,) = primals, tangents
  return jax.nn.sigmoid(z), sigmoid_prime(z) * dz


def softmax(z: ArrayLike, *, scale: ArrayLike = 1.0) -> jax.Array:
  r"""Softmax of scaled logits along the last axis.

  .. math:: a_j(c) = \frac{e^{c z_j}}{\sum_k e^{c z_k}}

  ``scale`` is the ``c`` of the "where does the name softmax come from"
  argument: as ``c -> inf`` the output tends to the one-hot vector of
  ``argmax z`` (ties share the mass equally). The maximum is subtracted before
  exponentiating (inside :func:`jax.nn.softmax`), so the result is finite for
  any finite ``c * z``.

  Args:
    z: logits with classes on the last axis, shape ``(..., k)``.
    scale: the positive constant ``c`` (a scalar or broadcastable array).

  Returns:
    Probability vectors, same shape as ``z``.
  """
  return jax.nn.softmax(jnp.asarray(scale) * jnp.asarray(z), axis=-1)


def softmax_jacobian(z: ArrayLike) -> jax.Array:
  r"""Closed-form Jacobian of :func:`softmax` (``scale=1``).

  .. math:: J_{jk} = \frac{\partial a_j}{\partial z_k} = a_j (\delta_{jk} - a_k)

  Args:
    z: logits, shape ``(..., k)``.

  Returns:
    Jacobians, shape ``(..., k, k)``, indexed ``[..., j, k]``.
  """
  a = softmax(z)
  eye = jnp.eye(a.shape[-1], dtype=a.dtype)
  return a[..., :, None] * (eye - a[..., None, :])
