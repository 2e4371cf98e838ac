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

import functools

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.core.hidden import HiddenActivationLike
from lossjax.core.mlp import Params, forward_from_first
from lossjax.training import windowed
from lossjax.training.train_state import (
  EvalFn,
  GradFn,
  Optimizer,
  PairingChoice,
  TrainState,
  epoch_batches,
  epoch_record,
  init_opt_states,
  init_train_state,
  layer_grad_norms,
  per_example_cost,
)

# The loop's internal layout: weights transposed to (n_out, n_in).


def _transpose(leaf: jax.Array) -> jax.Array:
  return leaf.T if leaf.ndim == 2 else leaf


def _swap_layout(params: Params) -> Params:
  return [(w.T, b) for w, b in params]


def _dense_rows(a: jax.Array, w: jax.Array) -> jax.Array:
  """``a w^T`` for weights in the loop's ``(n_out, n_in)`` layout."""
  return jnp.moveaxis(jnp.tensordot(w, a, axes=((1,), (a.ndim - 1,))), 0, -1)


def _logits_from_rows(
  rows: Params, x: jax.Array, activation: HiddenActivationLike
) -> jax.Array:
  (w1, b1), *rest = rows
  zs, _ = forward_from_first(
    _dense_rows(x, w1) + b1, rest, activation=activation, dense=_dense_rows
  )
  return zs[-1]


def _check_batch_size(batch_size: int, num_examples: int) -> None:
  if not 1 <= batch_size <= num_examples:
    raise ValueError(
      f"batch_size must be between 1 and the number of examples "
      f"({num_examples}); got {batch_size}."
    )


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
  hidden_activation: HiddenActivationLike = "sigmoid",
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
    hidden_activation: the hidden layers' activation (a name of
      :data:`lossjax.HIDDEN_ACTIVATIONS`, an import string or a
      :class:`lossjax.HiddenActivation`); the book's sigmoid by default.

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
  _check_batch_size(batch_size, num_examples)
  if isinstance(pairing, tuple) and pairing_index is None:
    raise ValueError("a tuple of pairings needs pairing_index.")
  tx = optimizer.transform()
  eval_fn = eval_fn or (lambda p, d: {})
  per_example = per_example_cost(pairing, pairing_index)

  def rows_cost(rows, xb, tb):
    logits = _logits_from_rows(rows, xb, hidden_activation)
    return jnp.mean(per_example(logits, tb))

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
    key, batches = epoch_batches(state.key, num_examples, batch_size)
    carry, (costs, norms, bias_norms) = jax.lax.scan(
      step, swap_state(state.params, state.opt_state), batches
    )
    params, opt_state = swap_state(*carry)
    record = epoch_record(costs, norms, bias_norms)
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
  "window",
  "hidden_activation",
)

# Measured on 2 CPU cores with the book's [784, 30, 10] network at batch 10
# (README, "Benchmark"): one configuration is slower windowed (its cost is
# per-step work, not weight traffic), four are 1.8x faster. A window of 16
# steps was fastest at 32 and 128 configurations: longer windows make the
# two big products larger but the Gram matrix and the per-step correction
# grow with the window too.
_MIN_CONFIGS_FOR_WINDOW = 4
_WINDOW = 16


def choose_window(num_configs: int, steps: int) -> int:
  """The window :func:`train_epochs_many` uses by default; 0 = generic loop.

  Args:
    num_configs: configurations that share one mini-batch order.
    steps: mini-batch steps per epoch.
  """
  if num_configs < _MIN_CONFIGS_FOR_WINDOW or steps < 2:
    return 0
  return min(_WINDOW, steps)


def _shared_order(
  states,
  data,
  eval_data,
  pairing_index,
  *,
  pairing,
  epochs,
  batch_size=None,
  optimizer=Optimizer(),
  grad_fn=None,
  eval_fn=None,
  window=None,
  hidden_activation="sigmoid",
):
  """Configurations along one leading axis, sharing one key."""
  num_examples = data[0].shape[0]
  batch_size = batch_size or num_examples
  _check_batch_size(batch_size, num_examples)
  num_configs = _config_shape(states)[0]
  steps = num_examples // batch_size
  reason = windowed.unsupported_reason(optimizer, grad_fn)
  if window is None:
    window = 0 if reason else choose_window(num_configs, steps)
  elif window and reason:
    raise ValueError(
      f"window={window} needs plain SGD: {reason}. Use window=None (the "
      "library chooses) or window=0 (the generic loop)."
    )
  if window < 0:
    raise ValueError(f"window must be >= 0 or None, got {window}.")
  if window == 0:
    one = functools.partial(
      train_epochs,
      pairing=pairing,
      epochs=epochs,
      batch_size=batch_size,
      optimizer=optimizer,
      grad_fn=grad_fn,
      eval_fn=eval_fn,
      hidden_activation=hidden_activation,
    )
    axes = TrainState(0, 0, None)
    index_axis = None if pairing_index is None else 0
    return jax.vmap(
      one, in_axes=(axes, None, None, index_axis), out_axes=(axes, 0)
    )(states, data, eval_data, pairing_index)
  return windowed.train_epochs(
    states,
    data,
    eval_data,
    pairing_index,
    pairing=pairing,
    epochs=epochs,
    batch_size=batch_size,
    optimizer=optimizer,
    eval_fn=eval_fn,
    window=min(window, steps),
    hidden_activation=hidden_activation,
  )


def _config_shape(states: TrainState) -> tuple[int, ...]:
  """The configuration axes of stacked states: those of the first layer's
  bias, a vector per configuration."""
  (_, bias), *_ = states.params
  return jnp.shape(bias)[:-1]


def _config_axes(states: TrainState) -> tuple[int, int]:
  """(configuration axes, order axes) of stacked states, checked."""
  config_axes = len(_config_shape(states))
  order_axes = jnp.ndim(states.key)
  if config_axes not in (1, 2) or order_axes not in (
    config_axes - 1,
    config_axes,
  ):
    raise ValueError(
      f"stacked states need one or two configuration axes and a key with "
      f"one axis fewer (shared order) or as many; got {config_axes} "
      f"configuration axes and a key of shape {jnp.shape(states.key)}."
    )
  return config_axes, order_axes


@functools.partial(jax.jit, static_argnames=_STATIC)
def train_epochs_many(
  states: TrainState,
  data: tuple[jax.Array, jax.Array],
  eval_data: object = None,
  pairing_index: jax.Array | None = None,
  **static,
) -> tuple[TrainState, dict[str, jax.Array]]:
  """:func:`train_epochs` over stacked states, as one compiled program.

  The result is ``vmap(train_epochs)``'s (up to round-off). Every leaf of
  ``states`` carries the configuration axes, ``(n,)`` or a grid ``(g, n)``;
  ``data`` and ``eval_data`` are shared; ``pairing_index`` has the
  configuration axes when ``pairing`` is a tuple. The key says which
  configurations share a mini-batch order:

  - shape ``()`` with states ``(n, ...)``: all of them;
  - shape ``(n,)`` with states ``(n, ...)``: none, each has its own;
  - shape ``(g,)`` with states ``(g, n, ...)``: the ``n`` of each row.

  Configurations that share an order and train with plain SGD (with or
  without weight decay, no ``grad_fn``) run the exact windowed loop of
  :mod:`lossjax.training.windowed`, several times faster with many configurations:
  their first layers then cost a few large matrix products per window
  instead of a rank-``batch_size`` update per step.

  Call it once per epoch (``epochs=1``) to report and save as training goes:
  the compiled program is reused.

  Args:
    states: stacked :class:`TrainState`.
    data: ``(x, targets)``.
    eval_data: handed to ``eval_fn``.
    pairing_index: positions in a tuple ``pairing``.
    **static: ``pairing``, ``epochs``, ``batch_size``, ``optimizer``,
      ``grad_fn``, ``eval_fn``, ``hidden_activation`` of
      :func:`train_epochs`, and ``window``: the
      steps per window of the windowed loop; ``None`` (default) lets
      :func:`choose_window` decide, ``0`` forces the generic loop, and a
      window with another optimiser or a ``grad_fn`` is a ``ValueError``.
      Changing one recompiles.

  Returns:
    ``(states, history)``; history leaves have the configuration axes, then
    the epoch axis.
  """
  config_axes, order_axes = _config_axes(states)
  shared = functools.partial(_shared_order, **static)
  if order_axes == config_axes:  # one order per configuration
    shared = _with_unit_axis(shared)
  for _ in range(order_axes):
    shared = jax.vmap(shared, in_axes=(0, None, None, 0))
  return shared(states, data, eval_data, pairing_index)


def _with_unit_axis(fn):
  """``fn`` of stacked states, called on one unstacked configuration."""

  def one(state, data, eval_data, pairing_index):
    expand = functools.partial(jax.tree.map, lambda v: v[None])
    state = TrainState(expand(state.params), expand(state.opt_state), state.key)
    index = None if pairing_index is None else pairing_index[None]
    state, history = fn(state, data, eval_data, index)
    squeeze = functools.partial(jax.tree.map, lambda v: v[0])
    return (
      TrainState(squeeze(state.params), squeeze(state.opt_state), state.key),
      squeeze(history),
    )

  return one


@functools.partial(jax.jit, static_argnames=_STATIC)
def fit_many(
  params: Params,
  data: tuple[jax.Array, jax.Array],
  keys: jax.Array,
  eval_data: object = None,
  pairing_index: jax.Array | None = None,
  *,
  learning_rates: jax.Array,
  optimizer: Optimizer = Optimizer(),
  eval_fn: EvalFn | None = None,
  **static,
) -> tuple[Params, dict[str, jax.Array]]:
  """:func:`fit` for stacked configurations, as one compiled program.

  Args:
    params: stacked initial parameters, leaves shaped ``(n, ...)`` or
      ``(g, n, ...)``.
    data: ``(x, targets)`` shared by all configurations.
    keys: PRNG keys of the mini-batch orders (see :func:`train_epochs_many`):
      ``(n,)``, one key (shape ``()``) shared by all configurations, or
      ``(g,)`` for a grid. Configurations that share an order train several
      times faster (see :mod:`lossjax.training.windowed`).
    eval_data: shared pytree handed to ``eval_fn``.
    pairing_index: positions in a tuple ``pairing``, shaped like
      ``learning_rates``.
    learning_rates: ``(n,)`` or ``(g, n)``: the configuration axes.
    optimizer: the :class:`Optimizer`.
    eval_fn: as for :func:`fit`.
    **static: ``pairing``, ``epochs``, ``batch_size``, ``grad_fn``,
      ``window``, ``hidden_activation`` of :func:`train_epochs_many`;
      changing one recompiles.

  Returns:
    ``(final_params, history)`` with the configuration axes first.
  """
  axes = jnp.ndim(learning_rates)
  opt_state = init_opt_states(params, learning_rates, optimizer=optimizer)
  states = TrainState(params, opt_state, keys)
  states, history = train_epochs_many(
    states,
    data,
    eval_data,
    pairing_index,
    optimizer=optimizer,
    eval_fn=eval_fn,
    **static,
  )
  if eval_fn is not None:

    def evaluate(p):
      return eval_fn(p, eval_data)

    for _ in range(axes):
      evaluate = jax.vmap(evaluate)
    for name, value in evaluate(params).items():
      history[name] = jnp.concatenate(
        [jnp.expand_dims(value, axes), history[name]], axis=axes
      )
  return states.params, history
