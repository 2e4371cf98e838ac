"""Label noise: which labels change, to what, and what the network fits."""

import tempfile
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import lossjax
from lossjax.datasets import data
from lossjax.datasets import label_corruption as label_noise
from lossjax.metrics.evals import ClassificationEval
from lossjax.training.classify import DeviceData
from tests import datasets

LABELS = np.arange(1000) % 10


class CorruptLabelsTest(parameterized.TestCase):
  @parameterized.parameters(0.0, 0.2, 0.6)
  def test_exact_fraction_each_to_another_class(self, fraction):
    noisy = label_noise.corrupt_labels(
      LABELS, fraction=fraction, num_classes=10
    )
    changed = noisy != LABELS
    self.assertEqual(int(changed.sum()), round(fraction * 1000))
    self.assertTrue(np.all((noisy >= 0) & (noisy < 10)))

  def test_symmetric_noise_spreads_over_the_other_classes(self):
    labels = np.zeros(20_000, np.int32)
    noisy = label_noise.corrupt_labels(labels, fraction=0.5, num_classes=10)
    counts = np.bincount(noisy[noisy != 0], minlength=10)[1:]
    self.assertEqual(counts.sum(), 10_000)
    # 9 classes, about 1,111 each (4 standard deviations: 130).
    self.assertLess(np.abs(counts - 10_000 / 9).max(), 130)

  def test_pair_noise_moves_c_to_c_plus_one(self):
    noisy = label_noise.corrupt_labels(
      LABELS, fraction=0.3, num_classes=10, kind="pair"
    )
    changed = noisy != LABELS
    np.testing.assert_array_equal(noisy[changed], (LABELS[changed] + 1) % 10)

  def test_same_seed_same_labels_other_seed_other_labels(self):
    a = label_noise.corrupt_labels(LABELS, fraction=0.4, num_classes=10, seed=3)
    b = label_noise.corrupt_labels(LABELS, fraction=0.4, num_classes=10, seed=3)
    c = label_noise.corrupt_labels(LABELS, fraction=0.4, num_classes=10, seed=4)
    np.testing.assert_array_equal(a, b)
    self.assertFalse(np.array_equal(a, c))

  @parameterized.parameters(1.0, -0.1, float("nan"), 1.5)
  def test_a_fraction_outside_0_1_is_an_error(self, fraction):
    with self.assertRaisesRegex(ValueError, r"must lie in \[0, 1\)"):
      label_noise.corrupt_labels(LABELS, fraction=fraction, num_classes=10)

  def test_other_bad_inputs(self):
    with self.assertRaisesRegex(ValueError, "unknown label-noise kind"):
      label_noise.corrupt_labels(LABELS, fraction=0.1, num_classes=10, kind="x")
    with self.assertRaisesRegex(ValueError, ">= 2 classes"):
      label_noise.corrupt_labels(LABELS * 0, fraction=0.1, num_classes=1)
    with self.assertRaisesRegex(ValueError, r"labels must lie in \[0, 5\)"):
      label_noise.corrupt_labels(LABELS, fraction=0.1, num_classes=5)


class DatasetNoiseTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    datasets.write_idx_dataset(self.tmp, n_train=400, n_test=100)

  def config(self, **changes):
    return data.DataConfig(
      dataset="toy", data_dir=str(self.tmp), validation_size=100, **changes
    )

  def test_training_and_validation_corrupted_test_clean(self):
    clean = self.config().load()
    noisy = self.config(label_noise=0.4, label_noise_seed=7).load()
    np.testing.assert_array_equal(noisy.test.labels, clean.test.labels)
    np.testing.assert_array_equal(noisy.clean_train_labels, clean.train.labels)
    for split in ("train", "validation"):
      wrong = getattr(noisy, split).labels != getattr(clean, split).labels
      self.assertEqual(int(wrong.sum()), round(0.4 * len(wrong)), split)
    np.testing.assert_array_equal(
      noisy.mislabelled(),
      np.flatnonzero(noisy.train.labels != clean.train.labels),
    )
    self.assertIn("40% of training and validation labels", noisy.describe())
    self.assertEqual(clean.mislabelled().size, 0)
    # The noise is fixed by its own seed, not by the run's.
    again = self.config(label_noise=0.4, label_noise_seed=7).load()
    np.testing.assert_array_equal(again.train.labels, noisy.train.labels)

  def test_a_draw_per_training_seed(self):
    config = self.config(label_noise=0.4, label_noise_seed=7)
    per_seed = config.replace(label_noise_per_seed=True)
    self.assertTrue(per_seed.noise_varies_with_seed)
    self.assertFalse(config.noise_varies_with_seed)
    # Without it, every training seed gets the one draw of seed 7.
    np.testing.assert_array_equal(
      config.load(training_seed=3).train.labels, config.load().train.labels
    )
    # With it, training seed s gets the draw of seed 7 + s.
    draws = [per_seed.load(training_seed=s).train.labels for s in (0, 1, 2)]
    np.testing.assert_array_equal(draws[0], config.load().train.labels)
    np.testing.assert_array_equal(
      draws[2], config.replace(label_noise_seed=9).load().train.labels
    )
    self.assertFalse(np.array_equal(draws[0], draws[1]))
    self.assertIn(
      "drawn per training seed: seed 7 + the training seed",
      per_seed.load(training_seed=2).describe(),
    )
    # The summaries' label line is the loaded data's note, for one draw and
    # for a draw per seed.
    for c in (config, per_seed):
      self.assertEqual(c.load(training_seed=2).notes[-1], c.noise_description())
    # Off while there is no noise: it changes nothing, so no fingerprint.
    self.assertEqual(
      self.config().fingerprint(),
      self.config(
        label_noise_per_seed=True, clean_validation=True
      ).fingerprint(),
    )
    self.assertNotEqual(config.fingerprint(), per_seed.fingerprint())

  def test_clean_validation_corrupts_the_training_labels_only(self):
    clean = self.config().load()
    noisy = self.config(label_noise=0.4, clean_validation=True).load()
    np.testing.assert_array_equal(
      noisy.validation.labels, clean.validation.labels
    )
    wrong = noisy.train.labels != clean.train.labels
    self.assertEqual(int(wrong.sum()), round(0.4 * len(wrong)))
    # The training draw is the one without the option.
    np.testing.assert_array_equal(
      noisy.train.labels, self.config(label_noise=0.4).load().train.labels
    )
    self.assertIn("validation and test labels clean", noisy.describe())

  def test_loaded_data_gets_the_configs_options(self):
    # Issue 20: one meaning for a study's dataset=: the data as read, to
    # which every config applies its own sizes, noise and composition.
    source = self.config().load_source()
    self.assertLen(source.train, 300)
    for changes in (
      dict(train_size=120, eval_size=40),
      dict(label_noise=0.4, label_noise_seed=3, train_size=200),
      dict(multilabel=2, eval_size=60),
    ):
      with self.subTest(str(changes)):
        config = self.config(**changes)
        direct, derived = config.load(), config.load(loaded=source)
        self.assertEqual(derived.describe(), direct.describe())
        for split in ("train", "validation", "test"):
          np.testing.assert_array_equal(
            getattr(derived, split).images, getattr(direct, split).images
          )
          np.testing.assert_array_equal(
            getattr(derived, split).labels, getattr(direct, split).labels
          )
    with self.assertRaisesRegex(ValueError, "the config names 'other'"):
      data.DataConfig(dataset="other").load(loaded=source)

  def test_the_config_rejects_bad_noise(self):
    with self.assertRaisesRegex(ValueError, r"label_noise: .*\[0, 1\)"):
      self.config(label_noise=1.0)
    with self.assertRaisesRegex(ValueError, "label_noise_kind"):
      self.config(label_noise_kind="flip")

  def test_device_data_carries_the_mislabelled_examples(self):
    noisy = self.config(label_noise=0.25).load()
    device = DeviceData.from_dataset(noisy)
    x, labels = device.eval["mislabelled"]
    index = noisy.mislabelled()
    chex.assert_trees_all_close(x, noisy.train.images[index])
    np.testing.assert_array_equal(labels[:, 0], noisy.train.labels[index])
    np.testing.assert_array_equal(labels[:, 1], noisy.clean_train_labels[index])
    self.assertNotIn(
      "mislabelled", DeviceData.from_dataset(self.config().load()).eval
    )


class MemorisedTest(absltest.TestCase):
  def test_memorised_is_the_share_predicted_as_the_wrong_label(self):
    # A network whose logits are its input's first 3 coordinates.
    params = [(jnp.eye(4)[:, :3], jnp.zeros(3))]
    x = jnp.array(
      [[5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, 0, 5.0, 0], [5.0, 0, 0, 0]]
    )
    evaluate = ClassificationEval("softmax_nll")
    data_ = {
      "validation": (x, jnp.array([0, 1, 2, 0])),
      "test": (x, jnp.array([0, 1, 2, 1])),
      # Predicted 0, 1, 2, 0; wrong labels 0, 2, 2, 1; clean labels 1, 1, 0, 0.
      "mislabelled": (x, jnp.array([[0, 1], [2, 1], [2, 0], [1, 0]])),
    }
    metrics = evaluate(params, data_)
    chex.assert_trees_all_close(metrics["memorised"], 0.5)
    # Wrong (not the clean label) on examples 0 and 2: 2/4, over k - 1 = 2.
    chex.assert_trees_all_close(metrics["memorised_chance"], 0.25)
    chex.assert_trees_all_close(metrics["test_accuracy"], 0.75)
    for key in ("val_ece", "test_ece", "val_nll", "test_brier"):
      self.assertIn(key, metrics)
    a = jax.nn.softmax(jnp.array([5.0, 0.0, 0.0]))
    chex.assert_trees_all_close(metrics["val_nll"], -jnp.log(a[0]), rtol=1e-5)
    self.assertEqual(lossjax.resolve_pairing("softmax_nll").kind, "multiclass")


if __name__ == "__main__":
  absltest.main()
