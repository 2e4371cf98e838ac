"""The report: every section cites numbers from its own run, tiny and in-process."""

import re
import tempfile
from pathlib import Path

import pytest
from absl.testing import absltest

from lossjax.studies import report
from tests.studies.test_compare import toy_source


class ReportTest(absltest.TestCase):
  @pytest.mark.slow  # about 45 s: it runs every study
  def test_report_cites_numbers_from_its_run(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    config = report.Config(
      data=toy_source(tmp),
      mnist_train=None,
      mnist_eval=None,
      mnist_epochs=1,
      mnist_seeds=(0,),
      saturation_depths=(1, 2),
      saturation_train=None,
      saturation_eval=None,
      saturation_epochs=1,
      convexity_grid_2d=5,
      convexity_points=3,
      # Two pairings each keep sections 11-13 (14 groups by default) quick.
      calibration_lrs=(("sigmoid_mse", 1.0), ("softmax_mae", 1.0)),
      multilabel_lrs=(("sigmoid_bce", 0.3), ("softmax_nll", 0.3)),
    )
    workdir = tmp / "report"
    result = report.run(config, workdir=workdir, log=lambda *_: None)
    paths = report.write(result, workdir)
    text = (workdir / "report.md").read_text()
    self.assertIn(workdir / "report.md", paths)
    sections = re.split(r"\n## ", text)[1:]
    self.assertLen(sections, 13)
    for section in sections:
      self.assertRegex(section, r"\*\*[-0-9.e+]+\*\*", section[:80])
      for image in re.findall(r"\]\(([^)]+\.png)\)", section):
        self.assertTrue((workdir / image).is_file(), image)
    # The slowdown numbers are the study's own.
    self.assertIn("**47** epochs from w = b = 0 but **233**", text)
    self.assertIn("(seed 000)", sections[0])
    self.assertIn("(seed 002)", sections[7])
    self.assertIn("Is the student right?", sections[8])
    self.assertIn("do not saturate? (BP2)", sections[9])
    self.assertIn("Are the outputs probabilities?", sections[10])
    self.assertIn("| softmax_mae | 1 | selected |", sections[10])
    self.assertIn("What if labels are wrong?", sections[11])
    self.assertIn("40% of the training and validation labels", sections[11])
    self.assertIn("Exclusive or independent classes?", sections[12])
    self.assertIn("exact-set % (3 labels)", sections[12])

  def test_needs_a_workdir(self):
    with self.assertRaisesRegex(ValueError, "give a workdir"):
      report.run(report.Config())


if __name__ == "__main__":
  absltest.main()
