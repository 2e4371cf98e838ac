"""One compiled training loop: ``lax.scan`` over epochs and mini-batches.

A configuration is one pytree, :class:`TrainState`: parameters, optimiser
state (which holds the learning rate, via ``optax.inject_hyperparams``) and
the PRNG key of the mini-batch order. :func:`train_epochs` advances one
state; :func:`train_epochs_many` is the same function under ``jit(vmap(...))``
for a stack of states, so a grid of configurations (initial parameters,
learning rates, seeds, even pairings) trains as one compiled program.
Nothing depends on the epoch number at trace time: the loop compiles once
per shape and static setting, never per epoch.

Everything a caller holds uses the public weight layout ``(n_in, n_out)``.
Inside an epoch the loop works on transposed weights ``(n_out, n_in)``: with
many configurations sharing a mini-batch, both products of the first layer
(``W a^T`` forward, ``delta^T x`` for the gradient) then read and write the
stacked weights in their stored layout; with ``(n_in, n_out)`` XLA copied
every stacked weight matrix twice per step (see the README's benchmark
notes). The transposition happens once per epoch, not per step.
"""

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.activations import sigmoid
from lossjax.losses import loss, loss_by_index
from lossjax.mlp import Params
from lossjax.pairings import PairingLike, resolve_pairing

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


def layer_grad_norms(grads: Params) -> jax.Array:
  """L2 norm of each layer's gradient (weights and bias together), ``(L,)``."""
  return jnp.stack([optax.tree.norm(layer) for layer in grads])


# The loop's internal layout: weights transposed to (n_out, n_in).


def _transpose(leaf: jax.Array) -> jax.Array:
  return leaf.T if leaf.ndim == 2 else leaf


def _swap_layout(params: Params) -> Params:
  return [(w.T, b) for w, b in params]


def _logits_from_rows(rows: Params, x: jax.Array) -> jax.Array:
  a = x
  for i, (w, b) in enumerate(rows):
    z = jnp.moveaxis(jnp.tensordot(w, a, axes=((1,), (a.ndim - 1,))), 0, -1)
    z = z + b
    a = sigmoid(z) if i < len(rows) - 1 else z
  return a


PairingChoice = PairingLike | tuple[PairingLike, ...]


def _per_example_cost(pairing: PairingChoice, index) -> Callable:
  if isinstance(pairing, tuple):
    return functools.partial(loss_by_index, pairing, index)
  return functools.partial(loss, resolve_pairing(pairing))


def train_epochs(
  state: TrainState,
  data: tuple[jax.Array, jax.Array],
  eval_data: object = None,
  pairing_index: ArrayLike | None = None,
  *,
  pairing: PairingChoice,
  epochs: int,
  batch_size: int | None = None,
  optimizer: Optimizer = Optimizer(),
  grad_fn: GradFn | None = None,
  eval_fn: EvalFn | None = None,
) -> tuple[TrainState, dict[str, jax.Array]]:
  """Runs ``epochs`` epochs of mini-batch training from ``state``.

  Each epoch visits ``len(x) // batch_size`` mini-batches of a fresh random
  permutation (the remainder is dropped, as a ``scan`` needs equal steps).
  Calling this repeatedly with ``epochs=1`` gives the same result as one call
  with more epochs, so long runs can report and save after every epoch
  without recompiling.

  Args:
    state: from :func:`init_train_state` or a previous call.
    data: ``(x, targets)``: inputs ``(n, n_in)`` and their targets (vectors
      or integer labels).
    eval_data: any pytree of arrays handed to ``eval_fn`` (e.g. a validation
      set). Passing data as an argument, not a closure, keeps it out of the
      compiled program's constants.
    pairing_index: with a tuple of pairings, the position of this
      configuration's pairing (may be traced, for ``vmap`` over pairings).
    pairing: a pairing (name, import string or :class:`lossjax.Pairing`), or
      a tuple of them chosen by ``pairing_index``.
    epochs: number of passes over the data.
    batch_size: examples per step; ``None`` for full-batch descent.
    optimizer: the :class:`Optimizer`; the rate is in ``state.opt_state``.
    grad_fn: ``(params, x, targets) -> grads`` replacing ``jax.grad`` of the
      mean cost (e.g. :func:`lossjax.dc_da_grads`); the cost is still
      recorded. Give a value that compares equal across calls (a module
      function, a ``functools.partial`` of one) to reuse the compilation.
    eval_fn: ``(params, eval_data) -> {name: array}``, evaluated after every
      epoch; the same remark applies.

  Returns:
    ``(state, history)``. ``history`` holds ``cost``, ``grad_norm`` and
    ``bias_grad_norm`` (the mean over the epoch's steps of the mini-batch
    cost, of each layer's gradient norm, and of the norm of each layer's
    bias gradient ``|dC/db^l| = |delta^l|``, the book's per-layer "speed of
    learning"; shapes ``(epochs,)``, ``(epochs, L)``, ``(epochs, L)``) and
    every ``eval_fn`` entry with a leading axis of ``epochs``.
  """
  x, targets = data
  num_examples = x.shape[0]
  batch_size = num_examples if batch_size is None else batch_size
  if not 1 <= batch_size <= num_examples:
    raise ValueError(
      f"batch_size must be between 1 and the number of examples "
      f"({num_examples}); got {batch_size}."
    )
  if isinstance(pairing, tuple) and pairing_index is None:
    raise ValueError("a tuple of pairings needs pairing_index.")
  steps = num_examples // batch_size
  tx = optimizer.transform()
  eval_fn = eval_fn or (lambda p, d: {})
  per_example = _per_example_cost(pairing, pairing_index)

  def rows_cost(rows, xb, tb):
    return jnp.mean(per_example(_logits_from_rows(rows, xb), tb))

  def step(carry, batch_indices):
    rows, opt_state = carry
    xb, tb = x[batch_indices], targets[batch_indices]
    cost, grads = jax.value_and_grad(rows_cost)(rows, xb, tb)
    if grad_fn is not None:
      grads = _swap_layout(grad_fn(_swap_layout(rows), xb, tb))
    updates, opt_state = tx.update(grads, opt_state, rows)
    rows = optax.apply_updates(rows, updates)
    bias_norms = jnp.stack([jnp.linalg.norm(db) for _, db in grads])
    return (rows, opt_state), (cost, layer_grad_norms(grads), bias_norms)

  def swap_state(params, opt_state):
    return (
      _swap_layout(params),
      optax.tree_utils.tree_map_params(tx, _transpose, opt_state),
    )

  def epoch(state, _):
    key, epoch_key = jax.random.split(state.key)
    if batch_size == num_examples:
      order = jnp.arange(num_examples)  # full batch: order is irrelevant
    else:
      order = jax.random.permutation(epoch_key, num_examples)
    batches = order[: steps * batch_size].reshape(steps, batch_size)
    carry, (costs, norms, bias_norms) = jax.lax.scan(
      step, swap_state(state.params, state.opt_state), batches
    )
    params, opt_state = swap_state(*carry)
    record = {
      "cost": costs.mean(),
      "grad_norm": norms.mean(axis=0),
      "bias_grad_norm": bias_norms.mean(axis=0),
    }
    record.update(eval_fn(params, eval_data))
    return TrainState(params, opt_state, key), record

  return jax.lax.scan(epoch, state, length=epochs)


def fit(
  params: Params,
  data: tuple[jax.Array, jax.Array],
  key: jax.Array,
  eval_data: object = None,
  pairing_index: ArrayLike | None = None,
  *,
  learning_rate: ArrayLike,
  optimizer: Optimizer = Optimizer(),
  eval_fn: EvalFn | None = None,
  **kwargs,
) -> tuple[Params, dict[str, jax.Array]]:
  """Trains one configuration from ``params``: :func:`train_epochs` end to end.

  Args:
    params: initial MLP parameters.
    data: ``(x, targets)``.
    key: PRNG key for the shuffles.
    eval_data: handed to ``eval_fn``.
    pairing_index: as for :func:`train_epochs`.
    learning_rate: step size, may be traced.
    optimizer: the :class:`Optimizer`.
    eval_fn: as for :func:`train_epochs`; also evaluated before training.
    **kwargs: ``pairing``, ``epochs``, ``batch_size``, ``grad_fn`` of
      :func:`train_epochs`.

  Returns:
    ``(final_params, history)``: as :func:`train_epochs`, except that
    ``eval_fn`` entries have ``epochs + 1`` rows, row 0 being the initial
    state.
  """
  state = init_train_state(
    params, key, learning_rate=learning_rate, optimizer=optimizer
  )
  state, history = train_epochs(
    state,
    data,
    eval_data,
    pairing_index,
    optimizer=optimizer,
    eval_fn=eval_fn,
    **kwargs,
  )
  if eval_fn is not None:
    for name, value in eval_fn(params, eval_data).items():
      history[name] = jnp.concatenate([value[None], history[name]])
  return state.params, history


_STATIC = (
  "pairing",
  "epochs",
  "batch_size",
  "optimizer",
  "grad_fn",
  "eval_fn",
)


def _key_axis(key: jax.Array) -> int | None:
  # One shared key (shape ()) is broadcast, not mapped: the configurations
  # then read the same mini-batches, so x stays unbatched under vmap.
  return None if jnp.ndim(key) == 0 else 0


@functools.partial(jax.jit, static_argnames=_STATIC)
def train_epochs_many(
  states: TrainState,
  data: tuple[jax.Array, jax.Array],
  eval_data: object = None,
  pairing_index: jax.Array | None = None,
  **static,
) -> tuple[TrainState, dict[str, jax.Array]]:
  """:func:`train_epochs` over stacked states: ``jit(vmap(train_epochs))``.

  Every leaf of ``states`` carries a leading configuration axis, except a
  shared key (see :class:`TrainState`); ``data`` and ``eval_data`` are shared.
  ``pairing_index`` is ``(m,)`` when ``pairing`` is a tuple. Call it once per
  epoch (``epochs=1``) to report and save as training goes: the compiled
  program is reused.
  """
  axes = TrainState(0, 0, _key_axis(states.key))
  one = functools.partial(train_epochs, **static)
  index_axis = None if pairing_index is None else 0
  return jax.vmap(
    one, in_axes=(axes, None, None, index_axis), out_axes=(axes, 0)
  )(states, data, eval_data, pairing_index)


@functools.partial(jax.jit, static_argnames=(*_STATIC,))
def fit_many(
  params: Params,
  data: tuple[jax.Array, jax.Array],
  keys: jax.Array,
  eval_data: object = None,
  pairing_index: jax.Array | None = None,
  *,
  learning_rates: jax.Array,
  **static,
) -> tuple[Params, dict[str, jax.Array]]:
  """:func:`fit` for a batch of configurations: ``jit(vmap(fit))``.

  Args:
    params: stacked initial parameters, leaves shaped ``(m, ...)``.
    data: ``(x, targets)`` shared by all configurations.
    keys: PRNG keys ``(m,)``, or one key (shape ``()``) shared by all
      configurations, which then see the same mini-batch order (several
      times faster for small batches: the first layer of every
      configuration is one matrix product).
    eval_data: shared pytree handed to ``eval_fn``.
    pairing_index: ``(m,)`` positions in a tuple ``pairing``.
    learning_rates: shape ``(m,)``.
    **static: ``pairing``, ``epochs``, ``batch_size``, ``optimizer``,
      ``grad_fn``, ``eval_fn``; changing one recompiles.

  Returns:
    ``(final_params, history)`` with a leading configuration axis.
  """
  one = functools.partial(fit, **static)
  index_axis = None if pairing_index is None else 0

  def run(p, key, lr, index):
    return one(p, data, key, eval_data, index, learning_rate=lr)

  return jax.vmap(run, in_axes=(0, _key_axis(keys), 0, index_axis))(
    params, keys, learning_rates, pairing_index
  )
