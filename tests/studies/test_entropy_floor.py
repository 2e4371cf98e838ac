"""The entropy-floor study: minimum cross-entropy equals H(y) at a = y."""

import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import entropy_floor


class EntropyFloorTest(absltest.TestCase):
  def test_floor_for_binary_and_multiclass(self):
    result = entropy_floor.run(
      entropy_floor.Config(pairings=("sigmoid_bce", "softmax_nll"), grid=101)
    )
    self.assertLess(result.summary.max_abs_error, 1e-10)
    self.assertLess(result.summary.max_argmin_error, 1e-6)
    self.assertEqual(
      {r.pairing for r in result.summary.rows},
      {"sigmoid_bce", "softmax_nll"},
    )
    smoothing = result.summary.label_smoothing
    self.assertLen(smoothing, 3)
    for row in smoothing:  # the K-class floor of label smoothing
      self.assertLess(row.abs_error_descent, 1e-10, row)
      self.assertGreater(row.entropy_of_smoothed_target, 0.1, row)
    self.assertIn("smoothed_nll(eps=0.1), K=10", entropy_floor.summary(result))
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    names = {p.name for p in entropy_floor.write(result, tmp)}
    self.assertIn("entropy_floor.png", names)

  def test_rejects_targets_outside_the_unit_interval(self):
    with self.assertRaisesRegex(ValueError, "targets"):
      entropy_floor.Config(targets=(1.5,))


if __name__ == "__main__":
  absltest.main()
