"""The seed's single neuron: one input, one output, ``z = w x + b``.

It is an MLP with no hidden layer (``sizes = [1, 1]``), so everything in
:mod:`lossjax.core.mlp` and :mod:`lossjax.training.train` applies to it unchanged. Any
pairing of kind ``"binary"`` fits it (a softmax over one logit is constant).
"""

import dataclasses

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from lossjax.core.losses import (
  activation_slope,
  output_activation,
  output_delta,
)
from lossjax.core.mlp import Params, mlp_logits
from lossjax.core.pairings import Pairing, PairingLike, resolve_pairing


def single_output_pairing(pairing: PairingLike) -> Pairing:
  """The pairing, if it can drive a single output unit; else ``ValueError``."""
  p = resolve_pairing(pairing)
  if p.kind != "binary":
    raise ValueError(
      f"pairing {p.name!r} is {p.kind}: a single output neuron needs a "
      "binary pairing (independent output units; a softmax of one logit is "
      "constant 1)."
    )
  return p


def check_single_output_pairings(pairings) -> None:
  """A config check: every pairing of ``pairings`` can drive one neuron."""
  for p in pairings:
    try:
      single_output_pairing(p)
    except ValueError as e:
      raise ValueError(f"pairings: {e}") from None


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


def neuron_output(
  params: Params, x: ArrayLike, *, pairing: PairingLike = "sigmoid_mse"
) -> jax.Array:
  """Output ``a = act(w x + b)`` for scalar inputs ``x`` of any shape."""
  p = single_output_pairing(pairing)
  x = jnp.asarray(x, params[0][0].dtype)
  return output_activation(p, mlp_logits(params, x[..., None]))[..., 0]


def dc_da_grads(
  params: Params, x: ArrayLike, targets: ArrayLike, *, pairing: PairingLike
) -> Params:
  r"""Parameter "gradients" that use :math:`\partial C/\partial a` as the error.

  The chapter 3 widget of "Neural Networks and Deep Learning" updates its
  cross-entropy neuron with :math:`\partial C/\partial a = (a-y)/(a(1-a))`
  (``1/(1-a)`` for ``y = 0``) in place of the true output error
  :math:`\partial C/\partial z = a - y`. This reproduces that rule for any
  binary pairing, for comparison only: it is **not** the gradient of the
  cost. It divides the true BP1 error by the activation's slope
  :math:`\partial a/\partial z` and propagates it through
  :math:`z = w x + b` with ``jax.vjp``.

  Args:
    params: single-neuron (or any MLP) parameters.
    x: inputs, shape ``(n, n_in)``.
    targets: targets for the logits, as for :func:`lossjax.loss`.
    pairing: a binary pairing (element-wise output activation).

  Returns:
    The update direction, in the structure of ``params``, for the batch mean.
  """
  p = single_output_pairing(pairing)
  logits, pullback = jax.vjp(lambda q: mlp_logits(q, x), params)
  dc_da = output_delta(p, logits, targets) / activation_slope(p, logits)
  return pullback(dc_da / logits.shape[0])[0]


@dataclasses.dataclass(frozen=True)
class DcDaGrads:
  """:func:`dc_da_grads` for one pairing, as a value for ``grad_fn``."""

  pairing: Pairing

  def __call__(self, params: Params, x: jax.Array, targets: jax.Array):
    return dc_da_grads(params, x, targets, pairing=self.pairing)
