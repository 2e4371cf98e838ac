"""The compiled training loop: one step, vmapped grids, no recompilation."""

import functools

import chex
import jax
import jax.numpy as jnp
import optax
from absl.testing import absltest, parameterized

import lossjax
from tests.x64 import X64TestCase


def toy_data(n=12, n_in=3, k=4, seed=0):
  x_key, y_key = jax.random.split(jax.random.key(seed))
  x = jax.random.uniform(x_key, (n, n_in), jnp.float64)
  labels = jax.random.randint(y_key, (n,), 0, k)
  return x, labels


class FitTest(X64TestCase):
  @parameterized.parameters(*lossjax.PAIRINGS)
  def test_one_full_batch_step_is_sgd_on_backprop(self, pairing):
    x, labels = toy_data()
    params = lossjax.init_mlp(
      "normalized", jax.random.key(1), [3, 5, 4], dtype=jnp.float64
    )
    trained, history = lossjax.fit(
      params,
      (x, labels),
      jax.random.key(0),
      learning_rate=0.7,
      pairing=pairing,
      epochs=1,
    )
    grads = lossjax.backprop(params, x, labels, pairing=pairing)
    expected = jax.tree.map(lambda p, g: p - 0.7 * g, params, grads)
    chex.assert_trees_all_close(trained, expected, rtol=1e-12, atol=1e-14)
    chex.assert_trees_all_close(
      history["cost"],
      lossjax.mean_loss(params, x, labels, pairing=pairing)[None],
      rtol=1e-12,
    )

  def test_history_layout_with_minibatches(self):
    # 10 examples in batches of 3: 3 steps an epoch, the remainder dropped;
    # per-step records average over an epoch, evaluations add epoch 0.
    x, labels = toy_data(n=10)
    params = lossjax.init_mlp(
      "normalized", jax.random.key(1), [3, 4], dtype=jnp.float64
    )
    _, history = lossjax.fit(
      params,
      (x, labels),
      jax.random.key(0),
      (x, labels),
      learning_rate=0.0,
      pairing="softmax_nll",
      epochs=2,
      batch_size=3,
      eval_fn=lambda p, d: {
        "cost_all": lossjax.mean_loss(p, *d, pairing="softmax_nll")
      },
    )
    chex.assert_shape(history["cost"], (2,))
    chex.assert_shape(history["grad_norm"], (2, 1))
    chex.assert_shape(history["cost_all"], (3,))
    # lr = 0: parameters never move, so every evaluation is the same.
    chex.assert_trees_all_close(
      history["cost_all"], jnp.full(3, history["cost_all"][0]), rtol=1e-14
    )

  def test_weight_decay_skips_biases(self):
    params = [(jnp.ones((2, 2)), jnp.ones(2))]
    zero_grads = [(jnp.zeros((2, 2)), jnp.zeros(2))]
    tx = lossjax.Optimizer("sgd", weight_decay=0.1).transform(0.5)
    updates, _ = tx.update(zero_grads, tx.init(params), params)
    new = optax.apply_updates(params, updates)
    chex.assert_trees_all_close(
      new, [(jnp.full((2, 2), 0.95), jnp.ones(2))], rtol=1e-12
    )

  def test_bad_arguments(self):
    x, labels = toy_data()
    params = lossjax.init_mlp("normalized", jax.random.key(1), [3, 4])
    with self.assertRaisesRegex(ValueError, "Unknown optimizer 'rmsprop'"):
      lossjax.Optimizer("rmsprop")
    with self.assertRaisesRegex(ValueError, "batch_size must be between"):
      lossjax.fit(
        params,
        (x, labels),
        jax.random.key(0),
        learning_rate=0.1,
        pairing="softmax_nll",
        epochs=1,
        batch_size=100,
      )
    with self.assertRaisesRegex(ValueError, "Unknown pairing"):
      lossjax.fit(
        params,
        (x, labels),
        jax.random.key(0),
        learning_rate=0.1,
        pairing="tanh_mse",
        epochs=1,
      )


class FitManyTest(X64TestCase):
  def test_vmapped_grid_equals_one_at_a_time(self):
    x, labels = toy_data()
    scales = jnp.array([0.5, 1.0, 2.0])
    lrs = jnp.array([0.1, 1.0, 3.0])
    keys = jax.random.split(jax.random.key(3), 3)
    params = jax.vmap(
      lambda s: lossjax.init_mlp(
        "normalized", jax.random.key(5), [3, 6, 4], scale=s, dtype=jnp.float64
      )
    )(scales)
    static = dict(pairing="sigmoid_mse", epochs=4, batch_size=4)
    final, history = lossjax.fit_many(
      params, (x, labels), keys, learning_rates=lrs, **static
    )
    for i in range(3):
      one_params = jax.tree.map(lambda p, i=i: p[i], params)
      one_final, one_history = jax.jit(
        functools.partial(lossjax.fit, **static)
      )(one_params, (x, labels), keys[i], learning_rate=lrs[i])
      chex.assert_trees_all_close(
        jax.tree.map(lambda p, i=i: p[i], final), one_final, rtol=1e-12
      )
      chex.assert_trees_all_close(
        history["cost"][i], one_history["cost"], rtol=1e-12
      )

  def test_grid_over_pairings_equals_per_pairing_runs(self):
    x, labels = toy_data()
    m = len(lossjax.PAIRINGS)
    params = jax.vmap(
      lambda k: lossjax.init_mlp("normalized", k, [3, 4], dtype=jnp.float64)
    )(jax.random.split(jax.random.key(0), m))
    lrs = jnp.full(m, 0.5)
    keys = jax.random.split(jax.random.key(1), m)
    user = lossjax.Pairing(
      name="user_nll",
      activation=jax.nn.softmax,
      cost=lambda z, y: -jnp.sum(y * jax.nn.log_softmax(z), -1),
      kind="multiclass",
    )
    pairings = (*lossjax.PAIRINGS, user)
    m = len(pairings)
    params = jax.vmap(
      lambda k: lossjax.init_mlp("normalized", k, [3, 4], dtype=jnp.float64)
    )(jax.random.split(jax.random.key(0), m))
    lrs = jnp.full(m, 0.5)
    keys = jax.random.split(jax.random.key(1), m)
    _, mixed = lossjax.fit_many(
      params,
      (x, labels),
      keys,
      None,
      jnp.arange(m),
      learning_rates=lrs,
      pairing=pairings,
      epochs=3,
      batch_size=6,
    )
    for i, pairing in enumerate(pairings):
      _, alone = lossjax.fit_many(
        params,
        (x, labels),
        keys,
        learning_rates=lrs,
        pairing=pairing,
        epochs=3,
        batch_size=6,
      )
      chex.assert_trees_all_close(
        mixed["cost"][i], alone["cost"][i], rtol=1e-12
      )

  def test_tuple_of_pairings_needs_an_index(self):
    x, labels = toy_data()
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 4])
    with self.assertRaisesRegex(ValueError, "needs pairing_index"):
      lossjax.fit(
        params,
        (x, labels),
        jax.random.key(0),
        learning_rate=0.1,
        pairing=lossjax.PAIRINGS,
        epochs=1,
      )

  def test_state_is_one_layout_with_the_rate_inside(self):
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 5, 4])
    state = lossjax.init_train_state(
      params,
      jax.random.key(1),
      learning_rate=0.25,
      optimizer=lossjax.Optimizer("momentum"),
    )
    x, labels = toy_data()
    state, _ = lossjax.train_epochs(
      state,
      (x, labels),
      pairing="softmax_nll",
      epochs=1,
      batch_size=4,
      optimizer=lossjax.Optimizer("momentum"),
    )
    self.assertEqual(float(lossjax.learning_rate_of(state.opt_state)), 0.25)
    trace = state.opt_state.inner_state[0].trace
    chex.assert_trees_all_equal_shapes(trace, state.params)

  def test_compiles_once_whatever_the_number_of_epochs(self):
    traces = []

    def counting_eval(params, data):
      traces.append(1)  # runs at trace time only
      return {"cost": lossjax.mean_loss(params, *data, pairing="sigmoid_bce")}

    x, labels = toy_data()
    params = jax.vmap(
      lambda k: lossjax.init_mlp("normalized", k, [3, 4], dtype=jnp.float64)
    )(jax.random.split(jax.random.key(0), 2))
    run = functools.partial(
      lossjax.fit_many,
      params,
      (x, labels),
      jax.random.split(jax.random.key(0), 2),
      (x, labels),
      learning_rates=jnp.ones(2),
      pairing="sigmoid_bce",
      eval_fn=counting_eval,
    )
    run(epochs=50)
    per_compile = len(traces)
    run(epochs=50)  # cached: no new trace
    self.assertEqual(len(traces), per_compile)
    run(epochs=3)  # a new static epoch count compiles once more, same cost
    self.assertEqual(len(traces), 2 * per_compile)
    self.assertLessEqual(per_compile, 2)  # initial + the scanned body


if __name__ == "__main__":
  absltest.main()
