"""The convexity study: quadratic non-convex, cross-entropy convex, any pairing."""

import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import convexity

USER = "experiments.user_pairing:"
SMALL = dict(grid_1d=41, grid_2d=7, random_points=5)


class ConvexityStudyTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.result = convexity.run(convexity.Config(**SMALL))

  def test_quadratic_non_convex_cross_entropy_convex(self):
    s = self.result.summary
    self.assertLess(s.curves["sigmoid_mse"].min_second_derivative, -0.01)
    self.assertGreater(s.curves["sigmoid_bce"].min_second_derivative, 0.0)
    self.assertGreater(s.curves["sigmoid_mse"].fraction_negative, 0.5)
    self.assertEqual(s.curves["sigmoid_bce"].fraction_negative, 0.0)
    self.assertGreater(
      s.multiclass["softmax_nll"].min_eigenvalue_in_logits, -1e-12
    )
    self.assertLess(s.multiclass["softmax_mse"].min_eigenvalue_in_logits, -0.01)
    # The square loss on linear outputs: its Hessian in the logits is I.
    self.assertAlmostEqual(
      s.multiclass["identity_mse"].min_eigenvalue_in_logits, 1.0, places=12
    )
    self.assertEqual(s.curves["identity_mse"].fraction_negative, 0.0)
    # summary.json keeps its keys: 1d_, 2d_ and multiclass_ per pairing.
    self.assertEqual(
      s.to_json()["1d_sigmoid_mse"]["fraction_negative"],
      s.curves["sigmoid_mse"].fraction_negative,
    )

  def test_pairings_split_by_kind_and_outputs(self):
    result = convexity.run(
      convexity.Config(
        pairings=(USER + "sigmoid_focal", USER + "softmax_poly1"), **SMALL
      )
    )
    self.assertIn("sigmoid_focal", result.summary.curves)
    self.assertIn("softmax_poly1", result.summary.multiclass)
    self.assertNotIn("softmax_poly1", result.summary.curves)
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    names = {p.name for p in convexity.write(result, tmp)}
    self.assertTrue({"summary.json", "convexity_1d.png"} <= names, names)

  def test_rejects_bad_extents(self):
    with self.assertRaisesRegex(ValueError, "extent"):
      convexity.Config(extent=float("inf"))


if __name__ == "__main__":
  absltest.main()
