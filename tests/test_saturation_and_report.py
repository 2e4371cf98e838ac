"""Saturation statistics, the vanishing gradient, and the one-command report."""

import re
import subprocess
import sys
import tempfile
from pathlib import Path

import chex
import jax
import jax.numpy as jnp
from absl.testing import absltest

import lossjax
from experiments import report, saturation
from lossjax import data
from lossjax.saturation import hidden_activation_stats
from tests import datasets

REPO = Path(__file__).resolve().parents[1]


def toy_dataset(tmp: Path) -> data.Dataset:
  tmp.mkdir(parents=True)
  datasets.write_idx_dataset(tmp, n_train=400, n_test=100)
  return data.load_dataset("toy", data_dir=tmp, validation_size=100)


class HiddenStatsTest(absltest.TestCase):
  def test_values_on_known_activations(self):
    # Zero weights: every hidden unit outputs sigmoid(bias).
    params = [
      (jnp.zeros((3, 4)), jnp.array([-10.0, 0.0, 0.0, 10.0])),
      (jnp.zeros((4, 2)), jnp.zeros(2)),
    ]
    stats = hidden_activation_stats(params, jnp.ones((5, 3)))
    chex.assert_trees_all_close(stats["saturated"], jnp.array([0.5]), atol=1e-6)
    chex.assert_trees_all_close(stats["act_mean"], jnp.array([0.5]), atol=1e-6)
    # Activations ~(0, 1/2, 1/2, 1): standard deviation sqrt(1/8).
    self.assertAlmostEqual(float(stats["act_std"][0]), 0.5**1.5, places=4)

  def test_needs_a_hidden_layer(self):
    params = lossjax.init_mlp("large", jax.random.key(0), [3, 2])
    with self.assertRaisesRegex(ValueError, "at least one hidden layer"):
      hidden_activation_stats(params, jnp.ones((1, 3)))


class SaturationRunTest(absltest.TestCase):
  def test_first_hidden_layer_learns_slower_under_large_init(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    dataset = toy_dataset(tmp / "idx")
    config = saturation.SaturationConfig(
      depths=(4,),
      inits=("large",),
      pairings=("sigmoid_mse", "softmax_nll"),
      epochs=2,
      train_size=None,
      eval_size=None,
    )
    rows = saturation.run_saturation(
      config, tmp / "run", dataset=dataset, log=lambda *_: None
    )
    for entry in saturation.summarize(rows):
      # |dC/db| of hidden layer 1 below that of hidden layer 4 (book ch. 5).
      self.assertLess(
        entry["epoch1_grad_norm_first_hidden"],
        entry["epoch1_grad_norm_last_hidden"],
        entry,
      )
      self.assertBetween(entry["final_saturated_last_hidden"], 0.0, 1.0)
    row = rows[-1]
    self.assertLen(row["saturated"], 4)
    self.assertLen(row["bias_grad_norm"], 5)
    paths = saturation.write_report(tmp / "run", rows, config)
    self.assertTrue(all(p.is_file() for p in paths))
    self.assertTrue((tmp / "run" / "layers_depth4.png").is_file())


class ReportTest(absltest.TestCase):
  def test_report_cites_numbers_from_its_run(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    dataset = toy_dataset(tmp / "idx")
    tiny = report.ReportSize(
      mnist_train=None,
      mnist_eval=None,
      mnist_epochs=1,
      mnist_seeds=(0,),
      saturation_depths=(1, 2),
      saturation_train=None,
      saturation_epochs=1,
      convexity_grid_2d=7,
      convexity_points=5,
    )
    path = report.run_report(
      tiny, tmp / "report", dataset=dataset, log=lambda *_: None
    )
    text = path.read_text()
    sections = re.split(r"\n## ", text)[1:]
    self.assertLen(sections, 8)
    for section in sections:
      self.assertRegex(section, r"\*\*[-0-9.e+]+\*\*", section[:80])
      for image in re.findall(r"\]\(([^)]+\.png)\)", section):
        self.assertTrue((tmp / "report" / image).is_file(), image)
    # The slowdown numbers are the experiment's own.
    self.assertIn("**47** epochs from w = b = 0 but **233**", text)
    self.assertIn("(seed 000)", sections[0])
    self.assertIn("(seed 002)", sections[-1])

  def test_missing_data_is_a_clear_error(self):
    proc = subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.report",
        "--workdir=/tmp/unused",
        "--data_dir=/nonexistent/dir",
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
      timeout=120,
    )
    self.assertEqual(proc.returncode, 2)
    self.assertIn("does not exist", proc.stderr)
    self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  absltest.main()
