"""A multilayer perceptron with sigmoid hidden layers, and BP1-BP4 by hand.

Parameters are a list of ``(w, b)`` pairs, one per layer, with ``w`` shaped
``(n_in, n_out)`` and ``b`` shaped ``(n_out,)``, so a layer computes
``z = a_prev @ w + b``. Hidden layers apply the sigmoid; the last layer returns
logits, and the pairing (see :mod:`lossjax.losses`) decides the output
activation and the cost.

:func:`backprop` is the textbook algorithm written out; it is here to be
checked against ``jax.grad``, which is what training uses.
"""

import jax
import jax.numpy as jnp
from jax.typing import ArrayLike

from lossjax.activations import sigmoid, sigmoid_prime
from lossjax.losses import loss, output_delta
from lossjax.pairings import PairingLike

Params = list[tuple[jax.Array, jax.Array]]


def layer_sizes(params: Params) -> list[int]:
  """``[n_in, hidden..., n_out]`` of an MLP, checking the shapes chain."""
  if not params:
    raise ValueError("params is empty: an MLP needs at least one (w, b) layer.")
  sizes = [params[0][0].shape[0]]
  for i, (w, b) in enumerate(params):
    if w.ndim != 2 or b.shape != (w.shape[1],) or w.shape[0] != sizes[-1]:
      raise ValueError(
        f"layer {i}: w {w.shape} and b {b.shape} do not chain: expected w of "
        f"shape ({sizes[-1]}, n_out) and b of shape (n_out,)."
      )
    sizes.append(w.shape[1])
  return sizes


def _check_input(params: Params, x: jax.Array) -> None:
  n_in = layer_sizes(params)[0]
  if x.ndim == 0 or x.shape[-1] != n_in:
    raise ValueError(
      f"x has shape {x.shape} but the first layer expects {n_in} inputs on the "
      "last axis."
    )


def forward(
  params: Params, x: ArrayLike
) -> tuple[list[jax.Array], list[jax.Array]]:
  """Runs the network, keeping what backprop needs.

  Args:
    params: list of ``(w, b)``.
    x: inputs, shape ``(..., n_in)``.

  Returns:
    ``(zs, activations)``: the weighted input ``z^l`` of every layer
    (``zs[-1]`` are the logits) and the activations ``a^0 = x, a^1, ...,
    a^{L-1}`` that feed each layer.
  """
  x = jnp.asarray(x)
  _check_input(params, x)
  activations = [x]
  zs = []
  for i, (w, b) in enumerate(params):
    z = activations[-1] @ w + b
    zs.append(z)
    if i < len(params) - 1:
      activations.append(sigmoid(z))
  return zs, activations


def mlp_logits(params: Params, x: ArrayLike) -> jax.Array:
  """Logits ``z^L`` of the MLP for inputs ``x`` of shape ``(..., n_in)``."""
  zs, _ = forward(params, x)
  return zs[-1]


def mean_loss(
  params: Params, x: ArrayLike, targets: ArrayLike, *, pairing: PairingLike
) -> jax.Array:
  """Batch-mean cost ``C = 1/n sum_x C_x`` of the MLP (a scalar)."""
  return jnp.mean(loss(pairing, mlp_logits(params, x), targets))


def backprop(
  params: Params, x: ArrayLike, targets: ArrayLike, *, pairing: PairingLike
) -> Params:
  r"""Gradient of the batch-mean cost by the four backpropagation equations.

  - BP1: :math:`\delta^L = \partial C_x / \partial z^L` (:func:`output_delta`)
  - BP2: :math:`\delta^l = (\delta^{l+1} W^{l+1\top}) \odot \sigma'(z^l)`
  - BP3: :math:`\partial C / \partial b^l = \frac1n \sum_x \delta^l`
  - BP4: :math:`\partial C / \partial W^l = \frac1n \sum_x a^{l-1\top}\delta^l`

  (``W`` is stored ``(n_in, n_out)``, hence the transposes relative to the
  book's ``(n_out, n_in)`` convention.)

  Args:
    params: list of ``(w, b)``.
    x: inputs, shape ``(..., n_in)``; all leading axes are examples.
    targets: as for :func:`lossjax.loss`, for the logits of ``x``.
    pairing: a built-in name, import string or :class:`lossjax.Pairing`.

  Returns:
    Gradients in the structure of ``params``: a list of ``(dw, db)``.
  """
  zs, activations = forward(params, x)
  if zs[-1].size == 0:
    raise ValueError(
      f"x of shape {jnp.shape(x)} holds no examples; backprop averages over "
      "examples, so give at least one."
    )
  n_out = zs[-1].shape[-1]
  delta = output_delta(pairing, zs[-1], targets).reshape(-1, n_out)
  num_examples = delta.shape[0]
  grads = []
  for layer in reversed(range(len(params))):
    a_prev = activations[layer].reshape(num_examples, -1)
    grads.append((a_prev.T @ delta / num_examples, delta.mean(axis=0)))
    if layer > 0:
      w = params[layer][0]
      z_prev = zs[layer - 1].reshape(num_examples, -1)
      delta = (delta @ w.T) * sigmoid_prime(z_prev)
  return grads[::-1]
