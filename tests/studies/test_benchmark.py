"""The benchmark runs tiny, and its record and table agree."""

import importlib.util
import json
import tempfile
import unittest
from pathlib import Path
from unittest import mock

import pytest
from absl.testing import absltest

from lossjax import config as cfg
from lossjax.studies import benchmark, peers, study_speed
from lossjax.training import classify

HAS_TORCH = importlib.util.find_spec("torch") is not None


class BenchmarkTest(absltest.TestCase):
  @pytest.mark.slow  # a whole study: an integration test
  def test_tiny_run(self):
    config = benchmark.Config(
      examples=200,
      numpy_examples=20,
      models=(1, 4),
      window=3,
      torch=False,
      studies=(),
    )
    record = benchmark.run(config, log=lambda *_: None)
    names = [row["name"] for row in record["rows"]]
    self.assertEqual(
      names,
      [
        "(a) numpy, per-example backprop (network2.py)",
        "(c) lossjax generic, 1 model (default)",
        "(d) lossjax windowed (window 3), 1 model",
        "(c) lossjax generic, 4 models",
        "(d) lossjax windowed (window 3), 4 models (default)",
        "(e) compute limit at the measured matmul rate",
      ],
    )
    for row in record["rows"]:
      self.assertGreater(row["seconds_per_model_epoch"], 0)
      self.assertGreater(row["speedup_vs_numpy"], 0)
    # Same start, same batches: the loops differ by float32 round-off only.
    differences = record["float32_difference_after_one_epoch"]
    self.assertEqual(
      set(differences), {"sigmoid_bce, 1 model", "sigmoid_bce, 4 models"}
    )
    for d in differences.values():
      self.assertGreater(d["largest_parameter"], 0.1)
      for key in ("windowed_vs_generic", "generic_vs_float64"):
        self.assertLess(d[key], 1e-5)
      self.assertGreater(d["generic_vs_float64"], 0)  # float32 is not exact
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    config_path, path = benchmark.write(record, tmp)
    saved = json.loads(path.read_text())
    # config.json repeats the run (issue 20: the benchmark wrote none).
    self.assertEqual(cfg.load_json(benchmark.Config, config_path), config)
    self.assertEqual(saved["table"], benchmark.summary(record))
    self.assertIn("| (c) lossjax generic, 4 models | 4 |", saved["table"])
    self.assertIn("| sigmoid_bce, 4 models | ", saved["table"])

  @pytest.mark.slow  # a whole study: an integration test
  def test_a_study_row_sets_the_study_beside_its_loop(self):
    source = study_speed.synthetic_mnist(160, validation=40, test=40)
    row = study_speed.measure("nielsen", source, epochs=2, log=lambda _: None)
    # 2 pairings x 3 seeds, one group per architecture ([30] and [100]).
    self.assertEqual((row.models, row.groups), (12, 2))
    self.assertGreater(row.loop_seconds_per_epoch, 0)
    # The study trains the same loop and evaluates around it.
    self.assertGreater(row.study_seconds_per_epoch, 0)
    self.assertEqual(row.to_json()["ratio"], row.ratio)
    # Its time per epoch is the epochs after the first (the steady state).
    self.assertLen(row.study_seconds_by_epoch, 2)
    self.assertEqual(row.study_seconds_per_epoch, row.study_seconds_by_epoch[1])
    record = {
      "date": "d",
      "cpu": "c",
      "device": "cpu",
      "jax": "j",
      "matmul_gflops": 1.0,
      "training_gflop_per_model_epoch": 1.0,
      "rows": [],
      "study_rows": [row.to_json()],
    }
    self.assertRegex(
      benchmark.summary(record), r"\| nielsen \| 12 \| 2 \| [0-9.e+-]+ \| "
    )
    with self.assertRaisesRegex(ValueError, "unknown study 'nope'"):
      study_speed.study_config("nope", epochs=1)
    with self.assertRaisesRegex(ValueError, "studies: 'nope' is not one of"):
      benchmark.Config(studies=("nielsen", "nope"))
    with self.assertRaisesRegex(ValueError, "more than once"):
      benchmark.Config(studies=("nielsen", "nielsen"))

  def test_the_loop_is_timed_over_the_epochs_asked_for(self):
    source = study_speed.synthetic_mnist(160, validation=40, test=40)
    config = study_speed.study_config("nielsen", epochs=3)
    calls = []

    def epoch(loop, states):  # no training: count the epochs
      calls.append(loop)
      return states, {}

    with mock.patch.object(classify.GroupLoop, "epoch", epoch):
      study_speed.loop_seconds_per_epoch(config, source, epochs=3)
    # Each group: one epoch that compiles, then the 3 timed.
    self.assertLen(calls, 4 * len(config.groups()))
    with self.assertRaisesRegex(ValueError, "epochs is 0"):
      study_speed.loop_seconds_per_epoch(config, source, epochs=0)

  def test_the_label_noise_row_trains_the_studys_groups(self):
    # The study draws the noise once per seed, one group per seed; the row
    # replaced the preset's data options and timed one group of all seeds.
    config = study_speed.study_config("label_noise", epochs=1)
    self.assertEqual(config.data.label_noise, 0.2)
    self.assertTrue(config.data.label_noise_per_seed)
    self.assertLen(config.groups(), 3)

  def test_rejects_bad_model_counts(self):
    for models in ((0,), (-1,), ()):
      with self.subTest(models), self.assertRaisesRegex(ValueError, "models"):
        benchmark.Config(models=models)

  def test_flop_count_of_the_books_network(self):
    # Forward 2(784*30 + 30*10), weight gradients as much again, and the
    # backward pass into the hidden layer 2*30*10.
    self.assertEqual(
      benchmark.training_flops_per_example((784, 30, 10)),
      2 * 2 * (784 * 30 + 30 * 10) + 2 * 30 * 10,
    )


@unittest.skipUnless(
  HAS_TORCH, "PyTorch is not installed (pip install -e '.[bench]')"
)
class TorchRowsTest(absltest.TestCase):
  def test_torch_rows_time_an_epoch(self):
    x, labels = peers.synthetic_data(40)
    eager = peers.time_torch(x, labels, examples=20)
    vmapped = peers.time_torch_vmap(x, labels, examples=20, models=3)
    self.assertGreater(eager, 0)
    self.assertGreater(vmapped, 0)


if __name__ == "__main__":
  absltest.main()
