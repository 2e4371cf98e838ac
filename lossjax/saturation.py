"""Per-layer activation statistics of sigmoid networks (Glorot & Bengio 2010).

Saturated sigmoid units (activation near 0 or 1) have ``sigma' ~ 0`` and pass
almost no gradient back. These statistics show, layer by layer, how many units
are saturated and how the activations are spread.
"""

import functools

import jax
import jax.numpy as jnp

from lossjax.classify import classification_eval
from lossjax.mlp import Params, forward

# A unit counts as saturated outside [LOW, HIGH].
SATURATION_LOW = 0.01
SATURATION_HIGH = 0.99


def hidden_activation_stats(
  params: Params, x: jax.Array
) -> dict[str, jax.Array]:
  """Mean, standard deviation and saturated fraction of each hidden layer.

  Args:
    params: MLP parameters with at least one hidden layer.
    x: inputs ``(n, n_in)``.

  Returns:
    ``act_mean``, ``act_std`` and ``saturated``, each shaped
    ``(num_hidden_layers,)``, first hidden layer first.
  """
  if len(params) < 2:
    raise ValueError("hidden_activation_stats needs at least one hidden layer.")
  _, activations = forward(params, x)
  hidden = activations[1:]  # activations[0] is the input
  saturated = [
    jnp.mean((a < SATURATION_LOW) | (a > SATURATION_HIGH)) for a in hidden
  ]
  return {
    "act_mean": jnp.stack([jnp.mean(a) for a in hidden]),
    "act_std": jnp.stack([jnp.std(a) for a in hidden]),
    "saturated": jnp.stack(saturated),
  }


@functools.cache
def saturation_eval(pairing: str):
  """:func:`lossjax.classify.classification_eval` plus per-layer statistics
  on the validation inputs (cached per pairing)."""
  classification = classification_eval(pairing)

  def evaluate(params: Params, data) -> dict[str, jax.Array]:
    metrics = classification(params, data)
    metrics.update(hidden_activation_stats(params, data["validation"][0]))
    return metrics

  return evaluate
