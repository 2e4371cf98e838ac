"""Exact windowed SGD: the same results as the generic loop, to round-off."""

import dataclasses
import functools
import itertools
from unittest import mock

import chex
import jax
import jax.numpy as jnp
import pytest
from absl.testing import absltest, parameterized

import lossjax
from lossjax.training import windowed
from lossjax.training.classify import RunConfig, order_grid
from lossjax.training.train_state import init_opt_states
from tests.x64 import X64TestCase

# Every built-in pairing and both factories, one configuration each (the
# tests train len(ALL_PAIRINGS) configurations, pairing i % len at rate i).
# rescaled_mse first: its k = 3 triples the rate, and at the top of the
# grid (2.0) its training is chaotic enough to magnify round-off past RTOL.
ALL_PAIRINGS = (
  lossjax.rescaled_mse(k=3, m=5),
  *lossjax.PAIRINGS,
  lossjax.smoothed_nll(0.1),
)
NUM_EXAMPLES, BATCH = 60, 4  # 15 steps: windows of 2 and 7 leave a remainder
RTOL = 1e-10


def toy_problem(depth, num_configs, n_in=5, k=3):
  x_key, y_key, init_key = jax.random.split(jax.random.key(depth), 3)
  x = jax.random.uniform(x_key, (NUM_EXAMPLES, n_in), jnp.float64)
  labels = jax.random.randint(y_key, (NUM_EXAMPLES,), 0, k)
  sizes = [n_in, *[4] * (depth - 1), k]
  params = jax.vmap(
    lambda key: lossjax.init_mlp("normalized", key, sizes, dtype=jnp.float64)
  )(jax.random.split(init_key, num_configs))
  return (x, labels), params


@dataclasses.dataclass(frozen=True)  # hashable: a static eval_fn
class LogitStats:
  """An eval_fn: a recorded metric that depends on every layer."""

  activation: str = "sigmoid"

  def __call__(self, params, data):
    logits = lossjax.mlp_logits(params, data[0], activation=self.activation)
    return {"logit_mean": logits.mean(), "logit_sq": jnp.mean(logits**2)}


def train(
  depth,
  pairing,
  *,
  num_configs,
  weight_decay,
  window,
  epochs=3,
  activation="sigmoid",
  lr_scale=1.0,
):
  data, params = toy_problem(depth, num_configs)
  if isinstance(pairing, tuple):
    index = jnp.arange(num_configs) % len(pairing)
  else:
    index = None
  return lossjax.fit_many(
    params,
    data,
    jax.random.key(7),  # one shared mini-batch order
    data,
    index,
    learning_rates=lr_scale * jnp.linspace(0.5, 2.0, num_configs),
    pairing=pairing,
    epochs=epochs,
    batch_size=BATCH,
    optimizer=lossjax.Optimizer(weight_decay=weight_decay),
    eval_fn=LogitStats(activation),
    window=window,
    hidden_activation=activation,
  )


def assert_same_run(windowed_run, generic_run):
  (params, history), (ref_params, ref_history) = windowed_run, generic_run
  assert (
    set(history)
    == set(ref_history)
    == {
      "cost",
      "grad_norm",
      "bias_grad_norm",
      "logit_mean",
      "logit_sq",
    }
  )
  # Relative agreement; atol only covers values that are 0 up to round-off.
  chex.assert_trees_all_close(params, ref_params, rtol=RTOL, atol=1e-14)
  chex.assert_trees_all_close(history, ref_history, rtol=RTOL, atol=1e-14)


class AgreementTest(X64TestCase):
  """Fast subset; ``SlowAgreementTest`` runs the whole grid."""

  @parameterized.product(weight_decay=(0.0, 0.05), window=(1, 2, 7))
  def test_several_configurations_every_pairing(self, weight_decay, window):
    run = functools.partial(
      train,
      2,
      ALL_PAIRINGS,
      num_configs=len(ALL_PAIRINGS),
      weight_decay=weight_decay,
    )
    assert_same_run(run(window=window), run(window=0))

  def test_one_configuration(self):
    run = functools.partial(
      train, 3, "sigmoid_mse", num_configs=1, weight_decay=0.05
    )
    assert_same_run(run(window=7), run(window=0))

  @parameterized.parameters(
    *lossjax.HIDDEN_ACTIVATIONS, "experiments.user_pairing:softplus"
  )
  def test_every_hidden_activation(self, activation):
    run = functools.partial(
      train,
      3,
      ALL_PAIRINGS,
      num_configs=len(ALL_PAIRINGS),
      weight_decay=0.05,
      activation=activation,
      # Rates the unbounded activations train stably at (a linear network
      # with the square losses diverges from 0.05): a diverging run would
      # compare NaN with NaN, or magnify round-off past any tolerance.
      lr_scale=0.02,
    )
    windowed_run, generic_run = run(window=7), run(window=0)
    chex.assert_tree_all_finite(generic_run)
    assert_same_run(windowed_run, generic_run)
    if activation != "sigmoid":  # and the activation is the one asked for
      sigmoid_run = functools.partial(run, activation="sigmoid")(window=0)
      with self.assertRaises(AssertionError):
        chex.assert_trees_all_close(generic_run[0], sigmoid_run[0], rtol=1e-6)

  def test_the_runs_differ_where_they_should(self):
    # The comparison can fail: a different learning rate breaks it.
    data, params = toy_problem(2, 2)
    kwargs = dict(pairing="softmax_nll", epochs=2, batch_size=BATCH)
    one = lossjax.fit_many(
      params, data, jax.random.key(7), learning_rates=jnp.array([1.0, 1.0]),
      window=2, **kwargs,
    )  # fmt: skip
    other = lossjax.fit_many(
      params, data, jax.random.key(7),
      learning_rates=jnp.array([1.0, 1.0 + 1e-6]), window=0, **kwargs,
    )  # fmt: skip
    with self.assertRaises(AssertionError):
      chex.assert_trees_all_close(one[0], other[0], rtol=RTOL, atol=1e-14)


@pytest.mark.slow
class SlowAgreementTest(X64TestCase):
  """Every pairing, depths 1-3, with and without decay, windows 1, 2, 7, one
  and several configurations."""

  @parameterized.product(
    depth=(1, 2, 3), weight_decay=(0.0, 0.05), window=(1, 2, 7)
  )
  def test_several_configurations(self, depth, weight_decay, window):
    run = functools.partial(
      train,
      depth,
      ALL_PAIRINGS,
      num_configs=len(ALL_PAIRINGS),
      weight_decay=weight_decay,
    )
    assert_same_run(run(window=window), run(window=0))

  @parameterized.parameters(
    *itertools.product(range(len(ALL_PAIRINGS)), (1, 3), (0.0, 0.05))
  )
  def test_one_configuration(self, pairing, depth, weight_decay):
    run = functools.partial(
      train,
      depth,
      ALL_PAIRINGS[pairing],
      num_configs=1,
      weight_decay=weight_decay,
    )
    reference = run(window=0)
    for window in (1, 2, 7):
      assert_same_run(run(window=window), reference)


def _states(num_configs, *, key, optimizer=lossjax.Optimizer(), n_in=5):
  data, params = toy_problem(2, num_configs, n_in=n_in)
  lrs = jnp.linspace(0.5, 2.0, num_configs)
  opt_state = init_opt_states(params, lrs, optimizer=optimizer)
  return data, lossjax.TrainState(params, opt_state, key)


class DispatchTest(X64TestCase):
  def test_choose_window(self):
    self.assertEqual(lossjax.choose_window(1, 5000), 0)
    self.assertEqual(lossjax.choose_window(3, 5000), 0)
    self.assertEqual(lossjax.choose_window(32, 5000), 16)
    self.assertEqual(lossjax.choose_window(32, 5), 5)
    self.assertEqual(lossjax.choose_window(32, 1), 0)  # full batch

  def test_the_windowed_loop_runs_when_it_applies(self):
    # n_in=9 is used by no other test, so the call is traced here.
    data, states = _states(4, key=jax.random.key(0), n_in=9)
    train = functools.partial(
      lossjax.train_epochs_many,
      pairing="softmax_nll",
      epochs=1,
      batch_size=BATCH,
    )
    with mock.patch.object(
      windowed, "train_epochs", wraps=windowed.train_epochs
    ) as spy:
      train(states, data)
      self.assertEqual(spy.call_count, 1)
      self.assertEqual(spy.call_args.kwargs["window"], 15)  # = steps
      momentum = lossjax.Optimizer("momentum")
      _, momentum_states = _states(
        4, key=jax.random.key(0), optimizer=momentum, n_in=9
      )
      train(momentum_states, data, optimizer=momentum)
      train(states, data, window=0)
      self.assertEqual(spy.call_count, 1)

  @parameterized.parameters(
    (lossjax.Optimizer("momentum"), None, "not plain SGD"),
    (lossjax.Optimizer("adam"), None, "not plain SGD"),
    (lossjax.Optimizer(), lossjax.dc_da_grads, "grad_fn"),
  )
  def test_a_forced_window_that_cannot_apply_is_an_error(
    self, optimizer, grad_fn, message
  ):
    data, states = _states(2, key=jax.random.key(0), optimizer=optimizer)
    with self.assertRaisesRegex(ValueError, message):
      lossjax.train_epochs_many(
        states,
        data,
        pairing="softmax_nll",
        epochs=1,
        batch_size=BATCH,
        optimizer=optimizer,
        grad_fn=grad_fn,
        window=4,
      )

  def test_negative_window_and_bad_key_shapes_are_errors(self):
    data, states = _states(2, key=jax.random.key(0))
    train = functools.partial(
      lossjax.train_epochs_many,
      pairing="softmax_nll",
      epochs=1,
      batch_size=BATCH,
    )
    with self.assertRaisesRegex(ValueError, "window must be >= 0"):
      train(states, data, window=-1)
    keys = jax.random.split(jax.random.key(0), (2, 2))
    with self.assertRaisesRegex(ValueError, "configuration axes"):
      train(states._replace(key=keys), data)

  def test_a_grid_of_orders_equals_each_order_alone(self):
    keys = jax.random.split(jax.random.key(3), 2)
    data, flat = _states(8, key=None)
    grid = jax.tree.map(lambda v: v.reshape(2, 4, *v.shape[1:]), flat)
    train = functools.partial(
      lossjax.train_epochs_many,
      pairing="sigmoid_bce",
      epochs=2,
      batch_size=BATCH,
    )
    states, history = train(grid._replace(key=keys), data)
    for row in range(2):
      alone = jax.tree.map(lambda v, r=row: v[r], grid)
      ref_states, ref_history = train(alone._replace(key=keys[row]), data)
      chex.assert_trees_all_close(
        jax.tree.map(lambda v, r=row: v[r], states.params),
        ref_states.params,
        rtol=1e-12,
      )
      chex.assert_trees_all_close(
        jax.tree.map(lambda v, r=row: v[r], history), ref_history, rtol=1e-12
      )

  def test_own_orders_with_a_forced_window_equal_the_generic_loop(self):
    keys = jax.random.split(jax.random.key(3), 3)
    data, states = _states(3, key=keys)
    train = functools.partial(
      lossjax.train_epochs_many,
      states,
      data,
      pairing="softmax_mse",
      epochs=2,
      batch_size=BATCH,
    )
    (states, history), (ref_states, ref_history) = (
      train(window=2),
      train(window=0),
    )
    chex.assert_trees_all_close(states.params, ref_states.params, rtol=RTOL)
    chex.assert_trees_all_close(history, ref_history, rtol=RTOL)


class OrderGridTest(absltest.TestCase):
  def test_runs_that_share_a_seed_share_a_row(self):
    runs = [RunConfig(seed=s, lr=lr) for lr in (0.1, 0.3) for s in (5, 6)]
    self.assertEqual(order_grid(runs).tolist(), [[0, 2], [1, 3]])

  def test_unequal_seed_counts_give_one_row_per_run(self):
    runs = [RunConfig(seed=0, lr=0.1), RunConfig(0, 0.3), RunConfig(1, 0.1)]
    self.assertEqual(order_grid(runs).tolist(), [[0], [1], [2]])


if __name__ == "__main__":
  absltest.main()
