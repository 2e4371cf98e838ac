"""Pairings and hidden activations defined outside lossjax. Every study runs
them by import string, e.g.
--pairings=sigmoid_mse,experiments.user_pairing:sigmoid_focal or
--hidden_activation=experiments.user_pairing:softplus"""

import jax
import jax.numpy as jnp
from jax.nn import log_sigmoid, log_softmax, sigmoid, softmax

from lossjax import HiddenActivation, Pairing


def focal(z, y, gamma=2.0):  # Lin et al. 2017; no closed form, so jax.grad
  log_p = y * log_sigmoid(z) + (1 - y) * log_sigmoid(-z)
  return -jnp.sum((1 - jnp.exp(log_p)) ** gamma * log_p, axis=-1)


def poly1(z, y, eps=1.0):  # Leng et al. 2022: cross-entropy + eps (1 - p_y)
  p_y = jnp.sum(y * softmax(z), axis=-1)
  return -jnp.sum(y * log_softmax(z), axis=-1) + eps * (1 - p_y)


def poly1_delta(z, y, eps=1.0):  # dC/dz = a - y + eps a (p_y - y)
  a = softmax(z)
  return a - y + eps * a * (jnp.sum(y * a, axis=-1, keepdims=True) - y)


# fmt: off
sigmoid_focal = Pairing(name="sigmoid_focal", activation=sigmoid, cost=focal, kind="binary", default_lr=0.5)
softmax_poly1 = Pairing(name="softmax_poly1", activation=softmax, cost=poly1, delta=poly1_delta, kind="multiclass", default_lr=0.5)
# fmt: on


# Hidden activations of your own (``--hidden_activation=MODULE:NAME``): a plain
# element-wise function (its derivative then comes from jax) or a
# HiddenActivation with a closed-form derivative for lossjax.backprop.
softplus = jax.nn.softplus
leaky_relu = HiddenActivation(
  name="leaky_relu",
  fn=lambda z: jnp.where(z > 0, z, 0.01 * z),
  derivative=lambda z: jnp.where(z > 0, 1.0, 0.01),
  saturated=lambda a: jnp.zeros(jnp.shape(a), bool),
)
