"""Reliability diagrams: their ECE is the table's, their bins show counts."""

import tempfile
from pathlib import Path

import numpy as np
from absl.testing import absltest

import lossjax
from lossjax.metrics import calibration
from lossjax.studies import calibration_report

# Two seeds' test probabilities for four examples of three classes.
LABELS = np.array([0, 0, 2, 1])
SEED_A = np.array(
  [[0.7, 0.2, 0.1], [0.3, 0.5, 0.2], [0.05, 0.05, 0.9], [0.34, 0.33, 0.33]]
)
# The same confidences, right where seed A is wrong and wrong where it is
# right: in each bin the two seeds' gaps have opposite signs, so pooling
# their bars cancels part of the gap that each seed has.
SEED_B = np.array(
  [[0.2, 0.7, 0.1], [0.5, 0.3, 0.2], [0.9, 0.05, 0.05], [0.33, 0.34, 0.33]]
)


class ReliabilityTest(absltest.TestCase):
  def test_the_diagrams_ece_is_the_mean_over_seeds_as_in_the_table(self):
    # Issue 28: the labels pooled all seeds while the table averages per seed.
    per_seed = [
      calibration.calibration_bins(p, LABELS) for p in (SEED_A, SEED_B)
    ]
    each = [
      float(calibration.expected_calibration_error(p, LABELS))
      for p in (SEED_A, SEED_B)
    ]
    self.assertAlmostEqual(
      calibration_report.mean_seed_ece(per_seed), np.mean(each), places=6
    )
    pooled = float(
      calibration.expected_calibration_error(
        np.concatenate([SEED_A, SEED_B]), np.concatenate([LABELS, LABELS])
      )
    )
    self.assertGreater(abs(pooled - np.mean(each)), 0.01)

  def test_both_figures_are_written(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    pairings = {"softmax_nll": lossjax.resolve_pairing("softmax_nll")}
    runs = {"softmax_nll": [(SEED_A, 1.5), (SEED_B, None)]}
    for name, scaled in (("a.png", False), ("b.png", True)):
      path = calibration_report.plot_reliability(
        runs, LABELS, pairings, tmp / name, scaled=scaled
      )
      self.assertGreater(path.stat().st_size, 10_000)


if __name__ == "__main__":
  absltest.main()
