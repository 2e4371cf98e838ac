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
    self.assertLess(s["1d_sigmoid_mse"]["min_second_derivative"], -0.01)
    self.assertGreater(s["1d_sigmoid_bce"]["min_second_derivative"], 0.0)
    self.assertGreater(s["1d_sigmoid_mse"]["fraction_negative"], 0.5)
    self.assertEqual(s["1d_sigmoid_bce"]["fraction_negative"], 0.0)
    self.assertGreater(
      s["multiclass_softmax_nll"]["min_eigenvalue_in_logits"], -1e-12
    )
    self.assertLess(
      s["multiclass_softmax_mse"]["min_eigenvalue_in_logits"], -0.01
    )
    # The square loss on linear outputs: its Hessian in the logits is I.
    self.assertAlmostEqual(
      s["multiclass_identity_mse"]["min_eigenvalue_in_logits"], 1.0, places=12
    )
    self.assertEqual(s["1d_identity_mse"]["fraction_negative"], 0.0)

  def test_pairings_split_by_kind_and_outputs(self):
    result = convexity.run(
      convexity.Config(
        pairings=(USER + "sigmoid_focal", USER + "softmax_poly1"), **SMALL
      )
    )
    self.assertIn("1d_sigmoid_focal", result.summary)
    self.assertIn("multiclass_softmax_poly1", result.summary)
    self.assertNotIn("1d_softmax_poly1", result.summary)
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    names = {p.name for p in convexity.write(result, tmp)}
    self.assertTrue({"summary.json", "convexity_1d.png"} <= names, names)

  def test_rejects_bad_extents(self):
    with self.assertRaisesRegex(ValueError, "extent"):
      convexity.Config(extent=float("inf"))


if __name__ == "__main__":
  absltest.main()
