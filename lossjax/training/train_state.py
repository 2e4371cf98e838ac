"""What every training loop carries: the optimiser, the state, the cost.

:class:`Optimizer` names an optax optimiser without its learning rate, and
:class:`TrainState` is one configuration's parameters, optimiser state (the
learning rate lives there) and mini-batch key. :mod:`lossjax.training.train` (the
generic loop) and :mod:`lossjax.training.windowed` (exact windowed SGD) both advance a
``TrainState``.
"""

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.core.losses import loss, loss_by_index
from lossjax.core.mlp import Params
from lossjax.core.pairings import PairingLike, resolve_pairing

OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam")
"""Optimiser names accepted by :class:`Optimizer`."""

_BASE_OPTIMIZERS = {
  "sgd": lambda lr, momentum: optax.sgd(lr),
  "momentum": lambda lr, momentum: optax.sgd(lr, momentum=momentum),
  "adam": lambda lr, momentum: optax.adam(lr),
}

GradFn = Callable[[Params, jax.Array, jax.Array], Params]
EvalFn = Callable[[Params, object], Mapping[str, jax.Array]]


def _weights_only(params: Params) -> list[tuple[bool, bool]]:
  return [(True, False) for _ in params]


@dataclasses.dataclass(frozen=True)
class Optimizer:
  """An optax optimiser by name, without its learning rate (a value).

  Equal settings compare and hash equal, so a compiled loop is reused for
  any ``Optimizer`` with the same fields.

  Attributes:
    name: one of :data:`OPTIMIZERS`.
    weight_decay: L2 decay added to the gradient of the *weights* (not the
      biases), ``g + weight_decay * w``. The book's regularised cost
      ``C0 + lambda/(2n) sum w^2`` corresponds to ``weight_decay = lambda/n``.
    momentum: momentum coefficient for ``"momentum"``.
  """

  name: str = "sgd"
  weight_decay: float = 0.0
  momentum: float = 0.9

  def __post_init__(self):
    if self.name not in OPTIMIZERS:
      raise ValueError(
        f"Unknown optimizer {self.name!r}. Choose one of: "
        f"{', '.join(OPTIMIZERS)}."
      )
    if not self.weight_decay >= 0:
      raise ValueError(f"weight_decay must be >= 0, got {self.weight_decay}.")

  def transform(
    self, learning_rate: ArrayLike = 0.0
  ) -> optax.GradientTransformation:
    """The transformation; its state carries ``learning_rate``.

    ``update`` reads the rate from the state, so the value given here only
    matters for ``init``.
    """

    def build(learning_rate):
      base = _BASE_OPTIMIZERS[self.name](learning_rate, self.momentum)
      if not self.weight_decay:
        return base
      decay = optax.add_decayed_weights(self.weight_decay, mask=_weights_only)
      return optax.chain(decay, base)

    return optax.inject_hyperparams(build)(learning_rate=learning_rate)


def learning_rate_of(opt_state: optax.OptState) -> jax.Array:
  """The learning rate stored in an optimiser state of :class:`Optimizer`."""
  return opt_state.hyperparams["learning_rate"]


class TrainState(NamedTuple):
  """Everything a run needs to continue, in the public layout.

  Attributes:
    params: MLP parameters, a list of ``(w, b)`` with ``w`` ``(n_in, n_out)``.
    opt_state: the optimiser state for ``params`` (same layout), holding the
      learning rate (:func:`learning_rate_of`).
    key: PRNG key of the mini-batch order. A stack of states may share one
      unbatched key (shape ``()``): every configuration then reads the same
      mini-batches, and the first layer of all of them is one matrix product.
  """

  params: Params
  opt_state: optax.OptState
  key: jax.Array


def init_train_state(
  params: Params,
  key: jax.Array,
  *,
  learning_rate: ArrayLike,
  optimizer: Optimizer = Optimizer(),
) -> TrainState:
  """The state before the first epoch."""
  opt_state = optimizer.transform(learning_rate).init(params)
  return TrainState(params, opt_state, key)


def init_opt_states(
  params: Params, learning_rates: jax.Array, *, optimizer: Optimizer
) -> optax.OptState:
  """Optimiser states of stacked configurations.

  The axes of ``learning_rates`` (``(n,)`` or a grid ``(g, n)``) are the
  configuration axes, leading every leaf of ``params``.
  """

  def init(p, lr):
    return optimizer.transform(lr).init(p)

  for _ in range(jnp.ndim(learning_rates)):
    init = jax.vmap(init)
  return init(params, learning_rates)


def epoch_batches(
  key: jax.Array, num_examples: int, batch_size: int
) -> tuple[jax.Array, jax.Array]:
  """``(next key, batch indices (steps, batch_size))`` of one epoch.

  A fresh permutation per epoch, the remainder dropped (a ``scan`` needs
  equal steps). Every loop draws its order here, so the generic and
  windowed loops see the same mini-batches.
  """
  key, epoch_key = jax.random.split(key)
  if batch_size == num_examples:
    order = jnp.arange(num_examples)  # full batch: order is irrelevant
  else:
    order = jax.random.permutation(epoch_key, num_examples)
  steps = num_examples // batch_size
  return key, order[: steps * batch_size].reshape(steps, batch_size)


def epoch_record(
  costs: jax.Array, norms: jax.Array, bias_norms: jax.Array
) -> dict[str, jax.Array]:
  """An epoch's history entry from its per-step records (steps first)."""
  return {
    "cost": costs.mean(axis=0),
    "grad_norm": norms.mean(axis=0),
    "bias_grad_norm": bias_norms.mean(axis=0),
  }


def layer_grad_norms(grads: Params) -> jax.Array:
  """L2 norm of each layer's gradient (weights and bias together), ``(L,)``."""
  return jnp.stack([optax.tree.norm(layer) for layer in grads])


PairingChoice = PairingLike | tuple[PairingLike, ...]


def per_example_cost(pairing: PairingChoice, index) -> Callable:
  """``(logits, targets) -> per-example costs`` of a pairing, or of
  ``pairing[index]`` when ``pairing`` is a tuple."""
  if isinstance(pairing, tuple):
    return functools.partial(loss_by_index, pairing, index)
  return functools.partial(loss, resolve_pairing(pairing))
