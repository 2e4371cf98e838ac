"""One compiled training loop: ``lax.scan`` over epochs and mini-batches.

:func:`fit` trains one configuration and is a pure function of its array
arguments, so :func:`fit_many` runs a whole grid of configurations (initial
parameters, learning rates, seeds, pairings) as one ``vmap`` inside one
``jit``. Nothing in the loop depends on the epoch number at trace time, so it
compiles once per shape and static setting, never per epoch.
"""

import functools
from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.losses import check_pairing, loss, loss_by_index
from lossjax.mlp import Params, logits_from_rows, mlp_logits

OPTIMIZERS: tuple[str, ...] = ("sgd", "momentum", "adam")
"""Optimiser names accepted by :func:`make_optimizer`."""

GradFn = Callable[..., Params]
EvalFn = Callable[[Params, object], Mapping[str, jax.Array]]


def make_optimizer(
  name: str,
  learning_rate: ArrayLike,
  *,
  momentum: float = 0.9,
  weight_decay: float = 0.0,
) -> optax.GradientTransformation:
  """An optax optimiser by name; ``learning_rate`` may be a traced scalar.

  Args:
    name: one of :data:`OPTIMIZERS`.
    learning_rate: step size ``eta``.
    momentum: momentum coefficient for ``"momentum"``.
    weight_decay: L2 decay added to the gradient of the *weights* (not the
      biases), ``g + weight_decay * w``. The book's regularised cost
      ``C0 + lambda/(2n) sum w^2`` corresponds to ``weight_decay = lambda/n``.

  Returns:
    An ``optax.GradientTransformation``.
  """
  if name == "sgd":
    base = optax.sgd(learning_rate)
  elif name == "momentum":
    base = optax.sgd(learning_rate, momentum=momentum)
  elif name == "adam":
    base = optax.adam(learning_rate)
  else:
    raise ValueError(
      f"Unknown optimizer {name!r}. Choose one of: {', '.join(OPTIMIZERS)}."
    )
  if not weight_decay:
    return base
  weights_only = lambda params: [(True, False) for _ in params]  # noqa: E731
  return optax.chain(
    optax.add_decayed_weights(weight_decay, mask=weights_only), base
  )


def batch_cost(
  pairing: str | jax.Array, *, logits_fn: Callable = mlp_logits
) -> Callable[..., jax.Array]:
  """``(params, x, targets) -> mean cost``; ``pairing`` a name or an index.

  ``logits_fn`` maps ``(params, x)`` to logits: :func:`lossjax.mlp_logits`,
  or :func:`lossjax.mlp.logits_from_rows` for the loop's internal layout.
  """
  if isinstance(pairing, str):
    check_pairing(pairing)
    per_example = functools.partial(loss, pairing)
  else:
    per_example = functools.partial(loss_by_index, pairing)
  return lambda params, x, t: jnp.mean(per_example(logits_fn(params, x), t))


def layer_grad_norms(grads: Params) -> jax.Array:
  """L2 norm of each layer's gradient (weights and bias together), ``(L,)``."""
  return jnp.stack([optax.tree.norm(layer) for layer in grads])


def transpose_weights(params: Params) -> Params:
  """Swaps every ``w`` between ``(n_in, n_out)`` and ``(n_out, n_in)``.

  The loop carries weights as ``(n_out, n_in)`` and computes logits with
  :func:`lossjax.mlp.logits_from_rows`. With many configurations sharing one
  mini-batch, both matrix products of the first layer (``W a^T`` forward,
  ``delta^T x`` for the gradient) then read and write the stacked weights in
  their stored layout. Carrying ``(n_in, n_out)`` made XLA copy every
  stacked weight matrix twice per step; see the README's benchmark notes.
  """
  return [(w.T, b) for w, b in params]


class TrainState(NamedTuple):
  """Everything a run needs to continue: parameters, optimiser state, RNG.

  ``opt_state`` belongs to the loop's internal layout (weights transposed,
  see :func:`transpose_weights`); ``params`` is in the public layout.
  """

  params: Params
  opt_state: optax.OptState
  key: jax.Array


def init_train_state(
  params: Params,
  key: jax.Array,
  *,
  optimizer: str = "sgd",
  weight_decay: float = 0.0,
) -> TrainState:
  """The state before the first epoch (optimiser state from ``params``)."""
  # No optax state depends on the learning rate's value, only on the params.
  tx = make_optimizer(optimizer, 0.0, weight_decay=weight_decay)
  return TrainState(params, tx.init(transpose_weights(params)), key)


def train_epochs(
  state: TrainState,
  x: jax.Array,
  targets: jax.Array,
  learning_rate: ArrayLike,
  eval_data: object = None,
  *,
  pairing: str | jax.Array,
  epochs: int,
  batch_size: int | None = None,
  optimizer: str = "sgd",
  weight_decay: float = 0.0,
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
    x: training inputs, shape ``(n, n_in)``.
    targets: training targets (vectors or integer labels) for ``x``.
    learning_rate: step size, may be traced (for ``vmap`` over rates).
    eval_data: any pytree of arrays handed to ``eval_fn`` (e.g. a validation
      set). Passing data as an argument, not a closure, keeps it out of the
      compiled program's constants.
    pairing: a name from :data:`lossjax.PAIRINGS`, or an integer index into
      it (may be traced, for ``vmap`` over pairings).
    epochs: number of passes over the data.
    batch_size: examples per step; ``None`` for full-batch descent.
    optimizer: one of :data:`OPTIMIZERS`.
    weight_decay: see :func:`make_optimizer`.
    grad_fn: ``(params, x, targets) -> grads`` replacing ``jax.grad`` of the
      mean cost (e.g. :func:`lossjax.neuron.dc_da_grads`); the cost is still
      recorded.
    eval_fn: ``(params, eval_data) -> {name: array}``, evaluated after every
      epoch.

  Returns:
    ``(state, history)``. ``history`` holds ``cost``, ``grad_norm`` and
    ``bias_grad_norm`` (the mean over the epoch's steps of the mini-batch
    cost, of each layer's gradient norm, and of the norm of each layer's
    bias gradient ``|dC/db^l| = |delta^l|``, the book's per-layer "speed of
    learning"; shapes ``(epochs,)``, ``(epochs, L)``, ``(epochs, L)``) and
    every ``eval_fn`` entry with a leading axis of ``epochs``.
  """
  num_examples = x.shape[0]
  batch_size = num_examples if batch_size is None else batch_size
  if not 1 <= batch_size <= num_examples:
    raise ValueError(
      f"batch_size must be between 1 and the number of examples "
      f"({num_examples}); got {batch_size}."
    )
  steps = num_examples // batch_size
  tx = make_optimizer(optimizer, learning_rate, weight_decay=weight_decay)
  eval_fn = eval_fn or (lambda p, d: {})

  rows_cost = batch_cost(pairing, logits_fn=logits_from_rows)

  def step(carry, batch_indices):
    rows, opt_state = carry
    xb, tb = x[batch_indices], targets[batch_indices]
    cost, grads = jax.value_and_grad(rows_cost)(rows, xb, tb)
    if grad_fn is not None:
      grads = transpose_weights(grad_fn(transpose_weights(rows), xb, tb))
    updates, opt_state = tx.update(grads, opt_state, rows)
    rows = optax.apply_updates(rows, updates)
    bias_norms = jnp.stack([jnp.linalg.norm(db) for _, db in grads])
    return (rows, opt_state), (cost, layer_grad_norms(grads), bias_norms)

  def epoch(state, _):
    key, epoch_key = jax.random.split(state.key)
    if batch_size == num_examples:
      order = jnp.arange(num_examples)  # full batch: order is irrelevant
    else:
      order = jax.random.permutation(epoch_key, num_examples)
    batches = order[: steps * batch_size].reshape(steps, batch_size)
    (rows, opt_state), (costs, norms, bias_norms) = jax.lax.scan(
      step, (transpose_weights(state.params), state.opt_state), batches
    )
    params = transpose_weights(rows)
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
  x: jax.Array,
  targets: jax.Array,
  learning_rate: ArrayLike,
  key: jax.Array,
  eval_data: object = None,
  *,
  optimizer: str = "sgd",
  weight_decay: float = 0.0,
  eval_fn: EvalFn | None = None,
  **kwargs,
) -> tuple[Params, dict[str, jax.Array]]:
  """Trains one configuration from ``params``: :func:`train_epochs` end to end.

  Args:
    params: initial MLP parameters.
    x: training inputs, shape ``(n, n_in)``.
    targets: training targets for ``x``.
    learning_rate: step size, may be traced.
    key: PRNG key for the shuffles.
    eval_data: handed to ``eval_fn``.
    optimizer: one of :data:`OPTIMIZERS`.
    weight_decay: see :func:`make_optimizer`.
    eval_fn: as for :func:`train_epochs`; also evaluated before training.
    **kwargs: ``pairing``, ``epochs``, ``batch_size``, ``grad_fn`` of
      :func:`train_epochs`.

  Returns:
    ``(final_params, history)``: as :func:`train_epochs`, except that
    ``eval_fn`` entries have ``epochs + 1`` rows, row 0 being the initial
    state.
  """
  state = init_train_state(
    params, key, optimizer=optimizer, weight_decay=weight_decay
  )
  state, history = train_epochs(
    state,
    x,
    targets,
    learning_rate,
    eval_data,
    optimizer=optimizer,
    weight_decay=weight_decay,
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
  "weight_decay",
  "grad_fn",
  "eval_fn",
)


def _vmap_over_configs(
  fn,
  first,
  x,
  targets,
  learning_rates,
  second,
  *,
  eval_data,
  pairing_ids,
  pairing,
  static,
):
  """``vmap`` of ``fn(first, x, targets, lr, second, eval_data, ...)``."""
  if (pairing is None) == (pairing_ids is None):
    raise ValueError("Give exactly one of `pairing` and `pairing_ids`.")
  if pairing_ids is None:
    pairing_ids = jnp.zeros(learning_rates.shape, jnp.int32)  # unused

  def one(a, lr, b, pid):
    chosen = pid if pairing is None else pairing
    return fn(a, x, targets, lr, b, eval_data, pairing=chosen, **static)

  # A single shared key (shape ()) is broadcast, not mapped: every
  # configuration then reads the same mini-batches, so x stays unbatched and
  # XLA computes the first layer of all configurations as one matmul.
  second_axis = None if jnp.ndim(second) == 0 else 0
  return jax.vmap(one, in_axes=(0, 0, second_axis, 0))(
    first, learning_rates, second, pairing_ids
  )


@functools.partial(jax.jit, static_argnames=_STATIC)
def fit_many(
  params: Params,
  x: jax.Array,
  targets: jax.Array,
  learning_rates: jax.Array,
  keys: jax.Array,
  *,
  eval_data: object = None,
  pairing_ids: jax.Array | None = None,
  pairing: str | None = None,
  **static,
) -> tuple[Params, dict[str, jax.Array]]:
  """:func:`fit` for a batch of configurations in one ``vmap``, compiled once.

  Every leaf of ``params``, and ``learning_rates`` and ``keys``, carries a
  leading configuration axis; ``x``, ``targets`` and ``eval_data`` are shared.

  Args:
    params: stacked initial parameters, leaves shaped ``(m, ...)``.
    x: training inputs shared by all configurations.
    targets: training targets shared by all configurations.
    learning_rates: shape ``(m,)``.
    keys: PRNG keys, shape ``(m,)``; or one key (shape ``()``) shared by
      all configurations, which then see the same mini-batch order. Sharing
      it keeps the inputs unbatched, so the first layer of every
      configuration is one matrix product: several times faster for
      small batches.
    eval_data: shared pytree handed to ``eval_fn``.
    pairing_ids: ``(m,)`` indices into :data:`lossjax.PAIRINGS`, for grids
      that mix pairings; give either this or ``pairing``.
    pairing: one pairing name shared by all configurations.
    **static: the remaining keyword arguments of :func:`fit` (``epochs``,
      ``batch_size``, ``optimizer``, ``weight_decay``, ``grad_fn``,
      ``eval_fn``), all static: changing one recompiles.

  Returns:
    ``(final_params, history)`` with a leading configuration axis on every
    leaf.
  """
  return _vmap_over_configs(
    fit,
    params,
    x,
    targets,
    learning_rates,
    keys,
    eval_data=eval_data,
    pairing_ids=pairing_ids,
    pairing=pairing,
    static=static,
  )


@functools.partial(jax.jit, static_argnames=_STATIC)
def train_epochs_many(
  states: TrainState,
  x: jax.Array,
  targets: jax.Array,
  learning_rates: jax.Array,
  *,
  eval_data: object = None,
  pairing_ids: jax.Array | None = None,
  pairing: str | None = None,
  **static,
) -> tuple[TrainState, dict[str, jax.Array]]:
  """:func:`train_epochs` for stacked states, one ``vmap`` compiled once.

  The arguments are those of :func:`fit_many`, with ``states`` (stacked
  :class:`TrainState`, e.g. ``jax.vmap(init_train_state)(params, keys)``) in
  place of ``params`` and ``keys``. Call it once per epoch (``epochs=1``) to
  report and save as training goes: the compiled program is reused.
  """

  def fn(state, xx, tt, lr, _, data, **kw):
    return train_epochs(state, xx, tt, lr, data, **kw)

  return _vmap_over_configs(
    fn,
    states,
    x,
    targets,
    learning_rates,
    learning_rates,
    eval_data=eval_data,
    pairing_ids=pairing_ids,
    pairing=pairing,
    static=static,
  )
