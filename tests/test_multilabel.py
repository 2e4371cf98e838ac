"""Multi-label data from real images, its targets, metrics and evaluation."""

import tempfile
from pathlib import Path

import chex
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import lossjax
from lossjax.datasets import data, multilabel
from lossjax.datasets.data import DataError
from lossjax.metrics import set_metrics
from lossjax.metrics.evals import MultiLabelEval
from tests import datasets


def source(n=40, side=4, seed=0):
  rng = np.random.default_rng(seed)
  # Distinct images: each carries its own index in the first pixel.
  images = rng.uniform(0.1, 1.0, (n, side * side)).astype(np.float32)
  images[:, 0] = np.arange(n) / n
  return images, rng.integers(0, 10, n).astype(np.int32)


def tiles(canvases, slots, side=4):
  """(N, side * side * K) canvases -> (N, K, side * side) slot images."""
  n = len(canvases)
  return (
    canvases.reshape(n, side, slots, side)
    .transpose(0, 2, 1, 3)
    .reshape(n, slots, -1)
  )


class ComposeTest(parameterized.TestCase):
  @parameterized.parameters(1, 2, 3, 5)
  def test_labels_are_the_union_of_the_source_labels(self, slots):
    images, labels = source()
    canvases, targets, index = multilabel.compose(
      images, labels, slots=slots, num_classes=10, num_examples=200, seed=1
    )
    self.assertEqual(canvases.shape, (200, 16 * slots))
    self.assertEqual(index.shape, (200, slots))
    for i in range(200):
      used = index[i][index[i] >= 0]
      self.assertBetween(len(used), 1, slots)
      self.assertLen(set(used), len(used))  # distinct images
      expected = np.zeros(10, np.float32)
      expected[labels[used]] = 1.0
      np.testing.assert_array_equal(targets[i], expected)
      # Each filled slot shows its source image; a blank slot is blank.
      for slot, j in enumerate(index[i]):
        tile = tiles(canvases[i : i + 1], slots)[0, slot]
        np.testing.assert_array_equal(tile, images[j] if j >= 0 else 0.0)

  def test_counts_are_uniform_and_slots_vary(self):
    images, labels = source()
    _, _, index = multilabel.compose(
      images, labels, slots=3, num_classes=10, num_examples=3000, seed=2
    )
    counts = np.bincount((index >= 0).sum(1), minlength=4)[1:]
    self.assertLess(np.abs(counts - 1000).max(), 120)  # 4.5 std
    # A single image is not always in the first slot.
    singles = index[(index >= 0).sum(1) == 1]
    self.assertLen(set(np.argmax(singles >= 0, axis=1)), 3)

  def test_same_seed_same_build_other_seed_other_build(self):
    images, labels = source()
    a = multilabel.compose(images, labels, slots=3, num_classes=10, seed=5)
    b = multilabel.compose(images, labels, slots=3, num_classes=10, seed=5)
    c = multilabel.compose(images, labels, slots=3, num_classes=10, seed=6)
    for x, y in zip(a, b, strict=True):
      np.testing.assert_array_equal(x, y)
    self.assertFalse(np.array_equal(a[2], c[2]))

  def test_bad_options_are_clear_errors(self):
    images, labels = source()
    with self.assertRaisesRegex(ValueError, "at least 1 image"):
      multilabel.compose(images, labels, slots=0, num_classes=10)
    with self.assertRaisesRegex(ValueError, "at most 5 images fit"):
      multilabel.compose(images, labels, slots=6, num_classes=10)
    with self.assertRaisesRegex(ValueError, "one integer label per image"):
      multilabel.compose(images, labels.astype(float), slots=2, num_classes=10)
    with self.assertRaisesRegex(ValueError, "one integer label per image"):
      multilabel.compose(
        images, np.eye(10)[labels], slots=2, num_classes=10
      )  # already multi-label
    with self.assertRaisesRegex(ValueError, "not square"):
      multilabel.compose(images[:, :15], labels, slots=2, num_classes=10)
    with self.assertRaisesRegex(ValueError, "fewer than the 3 slots"):
      multilabel.compose(images[:2], labels[:2], slots=3, num_classes=10)

  def test_softmax_pairings_train_on_the_normalised_set(self):
    y = jnp.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    chex.assert_trees_all_close(
      multilabel.training_targets("multiclass", y),
      jnp.array([[0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]),
    )
    chex.assert_trees_all_close(multilabel.training_targets("binary", y), y)


class DatasetTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    datasets.write_idx_dataset(self.tmp, n_train=120, n_test=60)

  def config(self, **changes):
    return data.DataConfig(
      dataset="toy", data_dir=str(self.tmp), validation_size=40, **changes
    )

  def test_no_example_uses_an_image_of_another_split(self):
    clean = self.config().load()
    composed = self.config(multilabel=3, multilabel_seed=4).load()
    self.assertTrue(composed.multilabel)
    self.assertIn("1 to 3 images per example", composed.describe())
    for name in ("train", "validation", "test"):
      split, own = getattr(composed, name), getattr(clean, name)
      self.assertLen(split, len(own))
      self.assertEqual(split.labels.shape, (len(own), 10))
      index = split.source_indices
      self.assertTrue(np.all(index < len(own)))
      pieces = tiles(split.images, 3, side=28)
      for i in range(len(split)):
        for slot in range(3):
          if index[i, slot] >= 0:  # the pixels are this split's own image
            np.testing.assert_array_equal(
              pieces[i, slot], own.images[index[i, slot]]
            )
    # The test examples' images are none of the training images.
    train_images = {bytes(row) for row in clean.train.images}
    test_tiles = tiles(composed.test.images, 3, side=28)
    used = composed.test.source_indices >= 0
    self.assertFalse(
      any(bytes(t) in train_images for t in test_tiles[used].astype(np.float32))
    )

  def test_bad_configs(self):
    with self.assertRaisesRegex(ValueError, "multilabel: .*at least 1 image"):
      self.config(multilabel=0)
    with self.assertRaisesRegex(ValueError, "multilabel: .*at most 5"):
      self.config(multilabel=6)
    with self.assertRaisesRegex(ValueError, "--label_noise and --multilabel"):
      self.config(multilabel=2, label_noise=0.2)

  def test_a_split_smaller_than_the_slots_is_a_data_error(self):
    with self.assertRaisesRegex(DataError, "fewer than the 3 slots"):
      self.config(multilabel=3, train_size=2).load()


class SetMetricsTest(absltest.TestCase):
  # Three examples, three classes.
  SCORES = jnp.array([[0.9, 0.6, 0.1], [0.2, 0.8, 0.7], [0.4, 0.3, 0.2]])
  TARGETS = jnp.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])

  def test_exact_set_accuracy_and_f1_by_hand(self):
    # At 0.5: {0, 1} right, {1, 2} wrong, {} wrong.
    chex.assert_trees_all_close(
      set_metrics.exact_set_accuracy(self.SCORES, self.TARGETS, 0.5), 1 / 3
    )
    # At 0.35: {0, 1}, {1, 2}, {0}: two right.
    chex.assert_trees_all_close(
      set_metrics.exact_set_accuracy(self.SCORES, self.TARGETS, 0.35), 2 / 3
    )
    micro, macro = set_metrics.f1_scores(self.SCORES, self.TARGETS, 0.5)
    # tp per class (1, 2, 0), fp (0, 0, 1), fn (1, 0, 0).
    chex.assert_trees_all_close(micro, 2 * 3 / (2 * 3 + 1 + 1))
    chex.assert_trees_all_close(macro, (2 / 3 + 1.0 + 0.0) / 3)
    by_count = set_metrics.exact_set_accuracy_by_count(
      self.SCORES, self.TARGETS, 0.35, (1, 2, 3)
    )
    chex.assert_trees_all_close(by_count[:2], jnp.array([0.5, 1.0]))
    self.assertTrue(np.isnan(by_count[2]))

  def test_average_precision_by_hand(self):
    # Class 0: scores 0.9 (+), 0.4 (+), 0.2 (-): AP = (1 + 1) / 2 = 1.
    # Class 1: 0.8 (+), 0.6 (+), 0.3 (-): 1. Class 2: no positive: skipped.
    chex.assert_trees_all_close(
      set_metrics.mean_average_precision(self.SCORES, self.TARGETS), 1.0
    )
    # Class 0 ranked (+, -, +): precisions 1 and 2/3.
    scores = jnp.array([[0.9], [0.5], [0.1]])
    chex.assert_trees_all_close(
      set_metrics.mean_average_precision(scores, jnp.array([[1.0], [0], [1]])),
      (1 + 2 / 3) / 2,
      rtol=1e-6,
    )

  def test_top_k_set_accuracy_by_hand(self):
    # Example 0 (2 labels): top 2 are {0, 1}, right. Example 1 (1 label):
    # top 1 is {1}, right. Example 2 (1 label): top 1 is {0}, right.
    chex.assert_trees_all_close(
      set_metrics.top_k_set_accuracy(self.SCORES, self.TARGETS), 1.0
    )
    # A threshold cannot get all three (best 2/3): the ranking is right,
    # the threshold is what fails.
    best = max(
      float(set_metrics.exact_set_accuracy(self.SCORES, self.TARGETS, t))
      for t in set_metrics.THRESHOLDS
    )
    self.assertAlmostEqual(best, 2 / 3, places=6)
    # Example 1's label moved to class 2 (second highest): a ranking error.
    targets = self.TARGETS.at[1].set(jnp.array([0.0, 0.0, 1.0]))
    chex.assert_trees_all_close(
      set_metrics.top_k_set_accuracy(self.SCORES, targets), 2 / 3
    )
    # Tied scores are not credited: classes 0 and 1 tie, the label is 1.
    chex.assert_trees_all_close(
      set_metrics.top_k_set_accuracy(
        jnp.array([[0.5, 0.5, 0.0]]), jnp.array([[0.0, 1.0, 0.0]])
      ),
      0.0,
    )

  def test_top_k_set_accuracy_is_the_stable_sorts(self):
    # The ranks are counted, not sorted (issue 25: 10x faster); they are a
    # stable descending sort's, ties included (scores on a coarse grid).
    rng = np.random.default_rng(0)
    scores = np.round(rng.uniform(size=(400, 6)) * 4) / 4
    targets = (rng.uniform(size=(400, 6)) > 0.6).astype(np.float32)
    order = np.argsort(-scores, axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    top_k = rank < targets.sum(axis=-1, keepdims=True)
    expected = np.mean(np.all(top_k == (targets > 0.5), axis=-1))
    self.assertGreater(expected, 0.0)
    chex.assert_trees_all_close(
      set_metrics.top_k_set_accuracy(jnp.asarray(scores), targets),
      np.float32(expected),
      rtol=0,
      atol=0,
    )

  def test_choose_threshold(self):
    t = set_metrics.choose_threshold(self.SCORES, self.TARGETS)
    self.assertAlmostEqual(float(t), 0.35, places=6)  # 2/3, the first best


class LabelScoresEvalTest(absltest.TestCase):
  def test_label_scores_by_kind(self):
    z = jnp.array([[2.0, -1.0, 0.5]])
    chex.assert_trees_all_close(
      lossjax.resolve_pairing("sigmoid_bce").label_scores(z),
      lossjax.sigmoid(z),
    )
    chex.assert_trees_all_close(
      lossjax.resolve_pairing("softmax_nll").label_scores(z),
      lossjax.softmax(z),
    )
    chex.assert_trees_all_close(
      lossjax.resolve_pairing("identity_mse").label_scores(z),
      jnp.array([[1.0, 0.0, 0.5]]),
    )

  def test_multilabel_eval(self):
    params = [(jnp.eye(3), jnp.zeros(3))]  # logits = inputs
    x = jnp.array([[5.0, 5.0, -5.0], [-5.0, 5.0, -5.0], [5.0, -5.0, -5.0]])
    y = jnp.array([[1.0, 1.0, 0.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    metrics = MultiLabelEval("sigmoid_bce")(
      params, {"validation": (x, y), "test": (x, y)}
    )
    chex.assert_trees_all_close(metrics["test_exact_set_accuracy"], 1.0)
    chex.assert_trees_all_close(metrics["test_accuracy"], 1.0)
    chex.assert_trees_all_close(metrics["test_micro_f1"], 1.0)
    chex.assert_trees_all_close(metrics["threshold"], 0.05)
    np.testing.assert_array_equal(metrics["test_predicted_counts"], [2, 2, 0])
    by_count = metrics["test_exact_set_accuracy_by_count"]
    chex.assert_trees_all_close(by_count[:2], jnp.array([1.0, 1.0]))
    # The softmax shares its mass: 0.5 each for two labels.
    soft = MultiLabelEval("softmax_nll")(
      params, {"validation": (x, y), "test": (x, y)}
    )
    self.assertLess(float(soft["threshold"]), 0.5)
    self.assertIn("output_error", soft)


if __name__ == "__main__":
  absltest.main()
