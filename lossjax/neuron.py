"""The seed's single sigmoid neuron: one input, one output, ``z = w x + b``.

It is an MLP with no hidden layer (``sizes = [1, 1]``), so everything in
:mod:`lossjax.mlp` and :mod:`lossjax.train` applies to it unchanged.
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from lossjax.activations import sigmoid_prime
from lossjax.losses import SIGMOID_PAIRINGS, output_delta
from lossjax.mlp import Params, mlp_logits


def neuron_params(
  w: ArrayLike, b: ArrayLike, *, dtype: jnp.dtype = jnp.float32
) -> Params:
  """Parameters of one neuron with weight ``w`` and bias ``b`` (scalars)."""
  return [
    (
      jnp.reshape(jnp.asarray(w, dtype), (1, 1)),
      jnp.reshape(jnp.asarray(b, dtype), (1,)),
    )
  ]


def neuron_output(params: Params, x: ArrayLike) -> jax.Array:
  """Output ``a = sigma(w x + b)`` for scalar inputs ``x`` of any shape."""
  x = jnp.asarray(x, params[0][0].dtype)
  return jax.nn.sigmoid(mlp_logits(params, x[..., None])[..., 0])


def dc_da_grads(
  params: Params, x: ArrayLike, targets: ArrayLike, *, pairing: str
) -> Params:
  r"""Parameter "gradients" that use :math:`\partial C/\partial a` as the error.

  The chapter 3 widget of "Neural Networks and Deep Learning" updates its
  cross-entropy neuron with :math:`\partial C/\partial a = (a-y)/(a(1-a))`
  (``1/(1-a)`` for ``y = 0``) in place of the true output error
  :math:`\partial C/\partial z = a - y`. This reproduces that rule, for
  comparison only: it is **not** the gradient of the cost. It divides the
  true BP1 error by :math:`\sigma'(z)` and propagates it through
  :math:`z = w x + b` with ``jax.vjp``.

  Args:
    params: single-neuron (or any MLP) parameters with sigmoid outputs.
    x: inputs, shape ``(n, n_in)``.
    targets: targets for the logits, as for :func:`lossjax.loss`.
    pairing: a sigmoid pairing.

  Returns:
    The update direction, in the structure of ``params``, for the batch mean.
  """
  if pairing not in SIGMOID_PAIRINGS:
    raise ValueError(
      f"dc_da_grads needs a sigmoid pairing ({', '.join(SIGMOID_PAIRINGS)}); "
      f"got {pairing!r}."
    )
  logits, pullback = jax.vjp(lambda p: mlp_logits(p, x), params)
  dc_da = output_delta(pairing, logits, targets) / sigmoid_prime(logits)
  return pullback(dc_da / logits.shape[0])[0]
