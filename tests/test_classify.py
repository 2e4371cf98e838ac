"""MLP classifiers: the training loop against BP1-BP4, seeds in one vmap."""

import dataclasses

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl.testing import absltest, parameterized

import lossjax
from lossjax.datasets import data
from lossjax.training import classify
from tests import datasets
from tests.x64 import X64TestCase


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
      pairings=pairing, hidden=(5,), init="normalized", batch_size=40, epochs=1
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
      pairings="softmax_nll", hidden=(6, 5), batch_size=8, epochs=3
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

  def test_probabilities_are_those_of_the_yielded_parameters(self):
    # Computed in the evaluation's program (one forward pass for both).
    device = classify.DeviceData.from_dataset(toy_dataset())
    config = classify.GroupConfig(
      pairings=("sigmoid_mse", "softmax_nll"), hidden=(5,), epochs=1
    )
    runs = [
      classify.RunConfig(seed=s, lr=0.5, pairing=p)
      for p in config.pairings
      for s in (0, 1)
    ]
    for epoch in classify.train_group(
      config, runs, device, probabilities=("test",)
    ):
      got = epoch.probabilities.of("test", {1, 2})
      self.assertEqual(sorted(got), [1, 2])
      for i in (1, 2):
        params = jax.tree.map(lambda v, i=i: v[i], epoch.params)
        pairing = config.pairing_of(runs[i])
        expected = pairing.class_probabilities(
          lossjax.mlp_logits(params, device.eval["test"][0])
        )
        chex.assert_trees_all_close(got[i], expected, rtol=1e-5, atol=1e-7)
    self.assertIsNone(
      next(classify.train_group(config, runs, device)).probabilities
    )

  def test_a_run_names_a_pairing_of_its_group(self):
    config = classify.GroupConfig(
      pairings=("sigmoid_mse", "softmax_nll"), hidden=(3,)
    )
    self.assertEqual(
      config.pairing_of(classify.RunConfig(0, 0.1, pairing="softmax_nll")).name,
      "softmax_nll",
    )
    with self.assertRaisesRegex(ValueError, "names no pairing"):
      config.pairing_index(classify.RunConfig(0, 0.1))
    with self.assertRaisesRegex(ValueError, "'sigmoid_bce' is not one of"):
      config.pairing_index(classify.RunConfig(0, 0.1, pairing="sigmoid_bce"))
    with self.assertRaisesRegex(ValueError, "must differ"):
      classify.GroupConfig(pairings=("sigmoid_mse", "sigmoid_mse"), hidden=(3,))

  def test_multilabel_groups_share_their_training_targets(self):
    dataset = toy_dataset()
    multi_hot = np.eye(4, dtype=np.float32)[dataset.train.labels]
    device = classify.DeviceData.from_dataset(
      dataclasses.replace(
        dataset, train=data.Split(dataset.train.images, multi_hot)
      )
    )
    config = classify.GroupConfig(
      pairings=("sigmoid_bce", "softmax_nll"), hidden=(3,)
    )
    runs = [classify.RunConfig(0, 0.1, pairing=p) for p in config.pairings]
    with self.assertRaisesRegex(ValueError, "share their training targets"):
      next(classify.train_group(config, runs, device))

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
      classify.GroupConfig(pairings="relu_mse", hidden=(3,))
    with self.assertRaisesRegex(ValueError, "hidden sizes"):
      classify.GroupConfig(pairings="softmax_nll", hidden=(0,))
    config = classify.GroupConfig(pairings="softmax_nll", hidden=(3,))
    with self.assertRaisesRegex(ValueError, "at least one run"):
      next(classify.train_group(config, [], None))


class PairingsTogetherTest(X64TestCase):
  def test_pairings_together_equal_pairings_alone(self):
    # Issue 25: a seed's pairings and rates train as one group (the windowed
    # loop, a tuple of pairings chosen by index); every run's rows and
    # parameters are those of its pairing trained alone, to round-off in
    # float64.
    device = classify.DeviceData.from_dataset(toy_dataset())
    device = dataclasses.replace(
      device,
      train=(device.train[0].astype(jnp.float64), device.train[1]),
      eval={
        split: (x.astype(jnp.float64), y)
        for split, (x, y) in device.eval.items()
      },
    )
    pairings = ("sigmoid_mse", "softmax_nll")
    config = classify.GroupConfig(
      pairings=pairings, hidden=(6,), batch_size=8, epochs=2
    )
    runs = [
      classify.RunConfig(seed=s, lr=lr, pairing=p)
      for p in pairings
      for lr in (0.1, 0.5)
      for s in (0, 1)
    ]
    together = list(classify.train_group(config, runs, device))
    for pairing in pairings:
      alone_config = dataclasses.replace(config, pairings=(pairing,))
      own = [i for i, r in enumerate(runs) if r.pairing == pairing]
      alone = list(
        classify.train_group(alone_config, [runs[i] for i in own], device)
      )
      for epoch_together, epoch_alone in zip(together, alone, strict=True):
        for j, i in enumerate(own):
          chex.assert_trees_all_close(
            epoch_together.rows[i], epoch_alone.rows[j], rtol=1e-10
          )
          chex.assert_trees_all_close(
            jax.tree.map(lambda v, i=i: v[i], epoch_together.params),
            jax.tree.map(lambda v, j=j: v[j], epoch_alone.params),
            rtol=1e-10,
            atol=1e-12,
          )


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
        pairings=pairing,
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
      classify.GroupConfig(pairings="softmax_nll", hidden=(30,)), epochs=2
    )
    *_, last = classify.train_group(
      config,
      [classify.RunConfig(seed=0, lr=0.5)],
      classify.DeviceData.from_dataset(dataset),
    )
    self.assertGreater(last.rows[0]["test_accuracy"], 0.80)


if __name__ == "__main__":
  absltest.main()
