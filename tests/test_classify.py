"""MLP classifiers: the training loop against BP1-BP4, seeds in one vmap."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl.testing import absltest, parameterized

import lossjax
from lossjax import classify, data
from tests import datasets


def toy_dataset(n_train=40, n_test=20, seed=0) -> data.Dataset:
  rng = np.random.default_rng(seed)

  def split(n):
    return data.Split(
      rng.uniform(size=(n, 12)).astype(np.float32),
      rng.integers(0, 4, n).astype(np.int32),
    )

  return data.Dataset(
    "toy", 4, split(n_train), split(n_test), split(n_test), "test"
  )


class TrainGroupTest(parameterized.TestCase):
  @parameterized.parameters(*lossjax.PAIRINGS)
  def test_one_step_is_the_manual_backprop_update(self, pairing):
    dataset = toy_dataset()
    device = classify.DeviceData.from_dataset(dataset)
    config = classify.GroupConfig(
      pairing=pairing, hidden=(5,), init="normalized", batch_size=40, epochs=1
    )
    runs = [classify.RunConfig(seed=3, lr=0.8)]
    _, params = classify.init_group(config, runs, device)
    params = jax.tree.map(lambda p: p[0], params)
    x, labels = device.train
    grads = lossjax.backprop(params, x, labels, pairing=pairing)
    expected = jax.tree.map(lambda p, g: p - 0.8 * g, params, grads)
    initial, after = (
      epoch.rows for epoch in classify.train_group(config, runs, device)
    )
    # The loop's epoch-1 validation cost is that of the updated parameters.
    val_x, val_labels = device.eval["validation"]
    chex.assert_trees_all_close(
      after[0]["val_cost"],
      float(lossjax.mean_loss(expected, val_x, val_labels, pairing=pairing)),
      rtol=1e-5,
    )
    chex.assert_trees_all_close(
      after[0]["train_cost"],
      float(lossjax.mean_loss(params, x, labels, pairing=pairing)),
      rtol=1e-5,
    )
    chex.assert_trees_all_close(
      initial[0]["val_cost"],
      float(lossjax.mean_loss(params, val_x, val_labels, pairing=pairing)),
      rtol=1e-5,
    )
    norms = [float(optax.tree.norm(layer)) for layer in grads]
    chex.assert_trees_all_close(after[0]["grad_norm"], norms, rtol=1e-4)

  def test_seeds_together_equal_seeds_alone(self):
    device = classify.DeviceData.from_dataset(toy_dataset())
    config = classify.GroupConfig(
      pairing="softmax_nll", hidden=(6, 5), batch_size=8, epochs=3
    )
    # Two rates per seed, listed rate-major: the loop trains them as a
    # (seed, rate) grid, and must hand back rows and params in this order.
    runs = [
      classify.RunConfig(seed=0, lr=0.5),
      classify.RunConfig(seed=1, lr=0.5, init_scale=2.0),
      classify.RunConfig(seed=0, lr=1.5),
      classify.RunConfig(seed=1, lr=1.5, init_scale=2.0),
    ]
    together = list(classify.train_group(config, runs, device))
    for i, run in enumerate(runs):
      alone = list(classify.train_group(config, [run], device))
      for epoch_together, epoch_alone in zip(together, alone, strict=True):
        chex.assert_trees_all_close(
          {k: v for k, v in epoch_together.rows[i].items() if v is not None},
          {k: v for k, v in epoch_alone.rows[0].items() if v is not None},
          rtol=1e-5,
          atol=1e-7,
        )
        # The yielded parameters are each run's, in run order.
        chex.assert_trees_all_close(
          jax.tree.map(lambda v, i=i: v[i], epoch_together.params),
          jax.tree.map(lambda v: v[0], epoch_alone.params),
          rtol=1e-5,
          atol=1e-6,
        )

  def test_output_slope(self):
    z = jnp.array([[0.0, 4.0], [-4.0, 0.0]])
    chex.assert_trees_all_close(
      jnp.mean(lossjax.activation_slope("sigmoid_mse", z)),
      jnp.mean(lossjax.sigmoid_prime(z)),
      rtol=1e-6,
    )
    a = jax.nn.softmax(z)
    chex.assert_trees_all_close(
      jnp.mean(lossjax.activation_slope("softmax_nll", z)),
      jnp.mean(a * (1 - a)),
      rtol=1e-6,
    )

  def test_bad_configs(self):
    with self.assertRaisesRegex(ValueError, "Unknown pairing"):
      classify.GroupConfig(pairing="relu_mse", hidden=(3,))
    with self.assertRaisesRegex(ValueError, "hidden sizes"):
      classify.GroupConfig(pairing="softmax_nll", hidden=(0,))
    config = classify.GroupConfig(pairing="softmax_nll", hidden=(3,))
    with self.assertRaisesRegex(ValueError, "at least one run"):
      next(classify.train_group(config, [], None))


def optax_norm(tree):
  return jnp.sqrt(
    sum(jnp.sum(jnp.square(leaf)) for leaf in jax.tree.leaves(tree))
  )


class RealDataLearnsTest(absltest.TestCase):
  def test_short_fashion_mnist_run_beats_chance(self):
    directory = datasets.shared_data("fashion-mnist", self)
    dataset = data.load_dataset(
      "fashion_mnist", data_dir=directory, train_size=5000, eval_size=2000
    )
    device = classify.DeviceData.from_dataset(dataset)
    for pairing, lr in (("softmax_nll", 0.5), ("sigmoid_bce", 0.5)):
      config = classify.GroupConfig(
        pairing=pairing,
        hidden=(30,),
        init="normalized",
        batch_size=10,
        epochs=2,
      )
      *_, last = classify.train_group(
        config, [classify.RunConfig(seed=0, lr=lr)], device
      )
      self.assertGreater(last.rows[0]["test_accuracy"], 0.70, pairing)

  def test_mnist_digits_learn(self):
    directory = datasets.shared_data("mnist", self)
    dataset = data.load_dataset(
      "mnist", data_dir=directory, train_size=8000, eval_size=2000
    )
    config = dataclasses.replace(
      classify.GroupConfig(pairing="softmax_nll", hidden=(30,)), epochs=2
    )
    *_, last = classify.train_group(
      config,
      [classify.RunConfig(seed=0, lr=0.5)],
      classify.DeviceData.from_dataset(dataset),
    )
    self.assertGreater(last.rows[0]["test_accuracy"], 0.80)


if __name__ == "__main__":
  absltest.main()
