"""Two pairings defined outside lossjax: they run through every study.

  python -m experiments.slowdown --workdir=out/focal \
      --pairings=sigmoid_mse,experiments.user_pairing:sigmoid_focal
"""

import jax
import jax.numpy as jnp

import lossjax


def focal(z, y, gamma=2.0):  # Lin et al. 2017; no closed form: jax.grad
  p_true = jnp.where(y > 0.5, jax.nn.sigmoid(z), jax.nn.sigmoid(-z))
  log_p = y * jax.nn.log_sigmoid(z) + (1 - y) * jax.nn.log_sigmoid(-z)
  return -jnp.sum((1 - p_true) ** gamma * log_p, axis=-1)


def smoothed_nll(z, y, eps=0.1):  # label smoothing, delta = a - y_smoothed
  target = (1 - eps) * y + eps / y.shape[-1]
  return -jnp.sum(target * jax.nn.log_softmax(z), axis=-1)


def smoothed_delta(z, y, eps=0.1):
  return jax.nn.softmax(z) - ((1 - eps) * y + eps / y.shape[-1])


sigmoid_focal = lossjax.Pairing(
  name="sigmoid_focal",
  activation=jax.nn.sigmoid,
  cost=focal,
  kind="binary",
  default_lr=0.5,
)
softmax_smoothed = lossjax.Pairing(
  name="softmax_smoothed",
  activation=jax.nn.softmax,
  cost=smoothed_nll,
  delta=smoothed_delta,
  kind="multiclass",
  default_lr=0.5,
)
