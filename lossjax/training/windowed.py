r"""Exact windowed SGD: the first layer's updates reassociated over a window.

Plain SGD changes the first-layer weights by a rank-``m`` term per step
(``m`` = batch size). A loop that applies them one by one reads and writes
the whole first layer every step, about 2 FLOP per byte: with many
configurations in one ``vmap`` that traffic, not the arithmetic, bounds the
loop. The updates are linear, though, so they can be reassociated exactly.

For one window of ``s`` steps, write ``X`` for the window's ``S = s m``
inputs (step ``t``'s rows ``X_t``), ``W`` for the first layer's weights
``(n_h, n_in)`` at the window's start, ``g_t = dC_t/dz_t`` for the gradient
of step ``t``'s mean cost with respect to the first layer's weighted input
(``m x n_h``), ``eta`` for the learning rate and ``c = 1 - eta lambda`` for
the weight decay factor (``c = 1`` without decay). SGD makes
``W_{t+1} = c W_t - eta g_t^T X_t``, hence

.. math::

  z_t = c^t (X W^\top)_t - \eta \sum_{\tau<t} c^{t-1-\tau}
        (X_t X_\tau^\top) g_\tau + b_t, \qquad
  W_s = c^s W - \eta \sum_t c^{s-1-t} g_t^\top X_t .

Per window the first layer then costs two large matrix products, ``X W^T``
and ``G^T X`` (for every configuration that shares the mini-batch order, as
one product), plus the window's Gram matrix ``K = X X^T`` (computed once
for all of them) and a small correction per step, ``K_t D``, where ``D``
holds the ``g_tau`` seen so far (zero rows for the steps to come, each row
scaled by ``c`` once per step). Everything after the first layer (biases,
later layers, the cost) is stepped as before, by ``jax.value_and_grad`` and
the optax update, so the result is the generic loop's up to round-off:
``tests/test_windowed.py`` checks it to 1e-10 in float64.

The first layer of all ``M`` configurations is held as one matrix of
``M n_h`` rows (configuration-major), so the big products, the correction
and the update each read it in its stored layout.
"""

import functools

import jax
import jax.numpy as jnp
import optax

from lossjax.core.hidden import HiddenActivationLike
from lossjax.core.mlp import Params, forward_from_first
from lossjax.training.train_state import (
  EvalFn,
  GradFn,
  Optimizer,
  PairingChoice,
  TrainState,
  epoch_batches,
  epoch_record,
  layer_grad_norms,
  learning_rate_of,
  per_example_cost,
)


def unsupported_reason(
  optimizer: Optimizer, grad_fn: GradFn | None
) -> str | None:
  """Why the windowed path cannot reproduce a setting, or None if it can."""
  if optimizer.name != "sgd":
    return (
      f"optimizer {optimizer.name!r} is not plain SGD (its update is not "
      "linear in the gradients)"
    )
  if grad_fn is not None:
    return "a custom grad_fn replaces the gradient the window reassociates"
  return None


def _head(params: Params) -> Params:
  # Everything the per-step work updates: the first layer without its
  # weights (None is an empty subtree for jax and optax), then the rest.
  (_, b0), *rest = params
  return [(None, b0), *rest]


def _head_cost(per_example, activation, pre, head, targets):
  """Mean cost from the first layer's weighted input without its bias."""
  zs, _ = forward_from_first(pre + head[0][1], head[1:], activation=activation)
  return jnp.mean(per_example(zs[-1], targets))


def train_epochs(
  states: TrainState,
  data: tuple[jax.Array, jax.Array],
  eval_data: object = None,
  pairing_index: jax.Array | None = None,
  *,
  pairing: PairingChoice,
  epochs: int,
  batch_size: int,
  optimizer: Optimizer,
  eval_fn: EvalFn | None,
  window: int,
  hidden_activation: HiddenActivationLike = "sigmoid",
) -> tuple[TrainState, dict[str, jax.Array]]:
  """``vmap(lossjax.training.train.train_epochs)`` for states sharing one key.

  Same arguments and results as :func:`lossjax.training.train.train_epochs_many`
  with one shared key (``states.key`` of shape ``()``), for plain SGD (see
  :func:`unsupported_reason`); ``window`` is ``s``, the steps per window.
  An epoch's last ``steps % s`` steps form one shorter window.
  """
  x, targets = data
  num_examples, n_in = x.shape
  steps = num_examples // batch_size
  m = batch_size
  (w_first, _), *_ = states.params
  num_configs, _, n_h = w_first.shape
  n_c = num_configs * n_h
  tx = optimizer.transform()
  decays = bool(optimizer.weight_decay)
  eval_fn = eval_fn or (lambda p, d: {})
  index_axis = None if pairing_index is None else 0

  def config_step(pre, head, opt_state, y, index):
    cost_fn = functools.partial(
      _head_cost, per_example_cost(pairing, index), hidden_activation
    )
    cost, (g_pre, g_head) = jax.value_and_grad(cost_fn, argnums=(0, 1))(
      pre, head, y
    )
    updates, opt_state = tx.update(g_head, opt_state, head)
    return optax.apply_updates(head, updates), opt_state, g_pre, cost, g_head

  step_all = jax.vmap(
    config_step,
    in_axes=(1, 0, 0, None, index_axis),
    out_axes=(0, 0, 1, 0, 0),
  )

  def window_fn(carry, indices):
    """One window: ``indices`` is ``(s, m)``, the window's mini-batches."""
    w, head, opt_state = carry  # w: (n_c, n_in), configuration-major rows
    s = indices.shape[0]
    xw = x[indices.reshape(-1)]  # (S, n_in)
    yw = targets[indices]
    gram = xw @ xw.T  # (S, S), shared by every configuration
    gram_rows = gram.reshape(s, m, s * m)
    gram_blocks = gram.reshape(s, m, s, m)[jnp.arange(s), :, jnp.arange(s), :]
    projected = (xw @ w.T).reshape(s, m, n_c)
    # Per column (configuration, unit): learning rate and decay factor.
    eta = jnp.repeat(learning_rate_of(opt_state), n_h)
    c = 1 - eta * optimizer.weight_decay

    def step(carry, inputs):
      head, opt_state, seen, decay = carry
      t, projected_t, gram_t, gram_tt, y = inputs
      pre = decay * projected_t - eta * (gram_t @ seen)
      head, opt_state, g_pre, cost, g_head = step_all(
        pre.reshape(m, num_configs, n_h), head, opt_state, y, pairing_index
      )
      g_flat = g_pre.reshape(m, n_c)
      if decays:
        seen, decay = c * seen, c * decay
      seen = jax.lax.dynamic_update_slice_in_dim(seen, g_flat, t * m, axis=0)
      # |dC/dW^1|^2 = |g^T X_t|^2 = sum_ij (X_t X_t^T)_ij (g g^T)_ij.
      w_sq = jnp.einsum("ij,icu,jcu->c", gram_tt, g_pre, g_pre)
      b_first = g_head[0][1]
      first_norm = jnp.sqrt(w_sq + jnp.sum(b_first**2, axis=-1))
      later = jax.vmap(layer_grad_norms)(g_head[1:]) if g_head[1:] else None
      norms = (
        first_norm[:, None]
        if later is None
        else jnp.concatenate([first_norm[:, None], later], axis=1)
      )
      bias_norms = jnp.stack(
        [jnp.linalg.norm(db, axis=-1) for _, db in g_head], axis=1
      )
      return (head, opt_state, seen, decay), (cost, norms, bias_norms)

    seen = jnp.zeros((s * m, n_c), w.dtype)
    decay = jnp.ones((n_c,), w.dtype)
    (head, opt_state, seen, decay), metrics = jax.lax.scan(
      step,
      (head, opt_state, seen, decay),
      (jnp.arange(s), projected, gram_rows, gram_blocks, yw),
    )
    # seen now holds c^{s-1-t} g_t in the rows of step t.
    w = decay[:, None] * w - (eta[:, None] * seen.T) @ xw
    return (w, head, opt_state), metrics

  def epoch(carry, _):
    w, head, opt_state, key = carry
    key, batches = epoch_batches(key, num_examples, batch_size)
    full, tail = divmod(steps, window)
    state = (w, head, opt_state)
    parts = []
    if full:
      state, metrics = jax.lax.scan(
        window_fn, state, batches[: full * window].reshape(full, window, m)
      )
      parts.append(jax.tree.map(lambda v: v.reshape(-1, *v.shape[2:]), metrics))
    if tail:
      state, metrics = window_fn(state, batches[full * window :])
      parts.append(metrics)
    costs, norms, bias_norms = jax.tree.map(
      lambda *p: jnp.concatenate(p), *parts
    )
    w, head, opt_state = state
    record = epoch_record(costs, norms, bias_norms)
    params = _params(w, head)
    record.update(jax.vmap(eval_fn, in_axes=(0, None))(params, eval_data))
    return (w, head, opt_state, key), record

  # Public (M, n_in, n_h) to configuration-major rows (M n_h, n_in), once.
  w = jnp.swapaxes(w_first, 1, 2).reshape(n_c, n_in)
  carry = (w, _head(states.params), states.opt_state, states.key)
  (w, head, opt_state, key), history = jax.lax.scan(epoch, carry, length=epochs)
  history = jax.tree.map(lambda v: jnp.moveaxis(v, 0, 1), history)
  return TrainState(_params(w, head), opt_state, key), history


def _params(w: jax.Array, head: Params) -> Params:
  """Stacked public parameters from the rows layout and the head."""
  num_configs, n_h = head[0][1].shape
  w_first = jnp.swapaxes(w.reshape(num_configs, n_h, -1), 1, 2)
  return [(w_first, head[0][1]), *head[1:]]
