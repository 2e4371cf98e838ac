"""One compiled training loop: ``lax.scan`` over epochs and mini-batches.

:func:`fit` trains one configuration and is a pure function of its array
arguments, so :func:`fit_many` runs a whole grid of configurations (initial
parameters, learning rates, seeds, pairings) as one ``vmap`` inside one
``jit``. Nothing in the loop depends on the epoch number at trace time, so it
compiles once per shape and static setting, never per epoch.
"""

import functools
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import optax
from jax.typing import ArrayLike

from lossjax.losses import check_pairing, loss, loss_by_index
from lossjax.mlp import Params, mlp_logits

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


def batch_cost(pairing: str | jax.Array) -> Callable[..., jax.Array]:
  """``(params, x, targets) -> mean cost``; ``pairing`` a name or an index."""
  if isinstance(pairing, str):
    check_pairing(pairing)
    per_example = functools.partial(loss, pairing)
  else:
    per_example = functools.partial(loss_by_index, pairing)
  return lambda params, x, t: jnp.mean(per_example(mlp_logits(params, x), t))


def layer_grad_norms(grads: Params) -> jax.Array:
  """L2 norm of each layer's gradient (weights and bias together), ``(L,)``."""
  return jnp.stack([optax.tree.norm(layer) for layer in grads])


def fit(
  params: Params,
  x: jax.Array,
  targets: jax.Array,
  learning_rate: ArrayLike,
  key: jax.Array,
  eval_data: object = None,
  *,
  pairing: str | jax.Array,
  epochs: int,
  batch_size: int | None = None,
  optimizer: str = "sgd",
  weight_decay: float = 0.0,
  grad_fn: GradFn | None = None,
  eval_fn: EvalFn | None = None,
) -> tuple[Params, dict[str, jax.Array]]:
  """Trains one configuration with mini-batch gradient descent.

  Each epoch visits ``len(x) // batch_size`` mini-batches of a fresh random
  permutation (the remainder is dropped, as a ``scan`` needs equal steps).

  Args:
    params: initial MLP parameters.
    x: training inputs, shape ``(n, n_in)``.
    targets: training targets (vectors or integer labels) for ``x``.
    learning_rate: step size, may be traced (for ``vmap`` over rates).
    key: PRNG key for the shuffles.
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
    eval_fn: ``(params, eval_data) -> {name: scalar or array}`` evaluated before training
      and after every epoch.

  Returns:
    ``(final_params, history)``. ``history`` holds ``cost`` and
    ``grad_norm`` (mean over the epoch's steps; shape ``(epochs,)`` and
    ``(epochs, L)``) and every ``eval_fn`` entry with a leading axis of
    ``epochs + 1`` (index 0 is the initial state).
  """
  num_examples = x.shape[0]
  batch_size = num_examples if batch_size is None else batch_size
  if not 1 <= batch_size <= num_examples:
    raise ValueError(
      f"batch_size must be between 1 and the number of examples "
      f"({num_examples}); got {batch_size}."
    )
  steps = num_examples // batch_size
  cost_fn = batch_cost(pairing)
  tx = make_optimizer(optimizer, learning_rate, weight_decay=weight_decay)
  eval_fn = eval_fn or (lambda p, d: {})

  def step(carry, batch_indices):
    params, opt_state = carry
    xb, tb = x[batch_indices], targets[batch_indices]
    cost, grads = jax.value_and_grad(cost_fn)(params, xb, tb)
    if grad_fn is not None:
      grads = grad_fn(params, xb, tb)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return (params, opt_state), (cost, layer_grad_norms(grads))

  def epoch(carry, epoch_key):
    if steps == 1 and batch_size == num_examples:
      order = jnp.arange(num_examples)  # full batch: order is irrelevant
    else:
      order = jax.random.permutation(epoch_key, num_examples)
    batches = order[: steps * batch_size].reshape(steps, batch_size)
    carry, (costs, norms) = jax.lax.scan(step, carry, batches)
    record = {"cost": costs.mean(), "grad_norm": norms.mean(axis=0)}
    return carry, {**record, **eval_fn(carry[0], eval_data)}

  initial_eval = eval_fn(params, eval_data)
  (params, _), history = jax.lax.scan(
    epoch, (params, tx.init(params)), jax.random.split(key, epochs)
  )
  for name, value in initial_eval.items():
    history[name] = jnp.concatenate([value[None], history[name]])
  return params, history


_STATIC = (
  "pairing",
  "epochs",
  "batch_size",
  "optimizer",
  "weight_decay",
  "grad_fn",
  "eval_fn",
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
    keys: PRNG keys, shape ``(m, ...)``.
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
  if (pairing is None) == (pairing_ids is None):
    raise ValueError("Give exactly one of `pairing` and `pairing_ids`.")
  if pairing_ids is None:
    pairing_ids = jnp.zeros(learning_rates.shape, jnp.int32)  # unused

  def one(p, lr, k, pid):
    return fit(
      p,
      x,
      targets,
      lr,
      k,
      eval_data,
      pairing=pid if pairing is None else pairing,
      **static,
    )

  return jax.vmap(one)(params, learning_rates, keys, pairing_ids)
