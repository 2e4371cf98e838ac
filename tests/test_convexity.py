"""Curvature: quadratic cost non-convex somewhere, cross-entropy never."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

from experiments import convexity as experiment
from lossjax import convexity
from tests.x64 import X64TestCase


class CurvatureTest(X64TestCase):
  def test_hessian_matches_the_closed_form_for_cross_entropy(self):
    # d2/dtheta2 of mean BCE(sigma(x theta), y) = mean sigma'(z) x x^T.
    x = jax.random.normal(jax.random.key(0), (30, 2), jnp.float64)
    y = (x[:, 0] > 0).astype(jnp.float64)
    theta = jnp.array([0.7, -1.3])
    hessian = jax.hessian(
      lambda t: convexity.logistic_cost("sigmoid_bce", t, x, y)
    )(theta)
    s = jax.nn.sigmoid(x @ theta)
    closed = (x * (s * (1 - s))[:, None]).T @ x / len(x)
    chex.assert_trees_all_close(hessian, closed, rtol=1e-12, atol=1e-15)

  def test_min_hessian_eigenvalue_of_a_known_quadratic(self):
    cost = lambda w: w[0] ** 2 - 3 * w[1] ** 2 + w[0] * w[1]  # noqa: E731
    smallest = convexity.min_hessian_eigenvalue(cost, jnp.zeros((2, 2)))
    expected = np.linalg.eigvalsh(np.array([[2.0, 1.0], [1.0, -6.0]]))[0]
    chex.assert_trees_all_close(smallest, jnp.full(2, expected), rtol=1e-12)

  def test_negative_intervals(self):
    grid = [0, 1, 2, 3, 4, 5, 6]
    values = [1, -1, -2, 3, -1, 0, -5]
    self.assertEqual(
      convexity.negative_intervals(grid, values), [(1, 2), (4, 4), (6, 6)]
    )
    self.assertEqual(convexity.negative_intervals([0, 1], [0, 1]), [])


class ConvexityExperimentTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    config = experiment.ConvexityConfig(
      grid_1d=201, grid_2d=21, random_points=50
    )
    cls.summary, cls.arrays = experiment.run_convexity(config)

  def test_quadratic_is_non_convex_somewhere(self):
    for key in ("1d_sigmoid_mse",):
      self.assertLess(self.summary[key]["min_second_derivative"], -1e-3)
      self.assertNotEmpty(self.summary[key]["negative_intervals"])
    self.assertGreater(
      self.summary["2d_sigmoid_mse"]["fraction_of_grid_negative"], 0.1
    )

  def test_cross_entropy_is_convex_everywhere_on_the_grid(self):
    self.assertGreaterEqual(
      self.summary["1d_sigmoid_bce"]["min_second_derivative"], 0.0
    )
    self.assertEqual(self.summary["1d_sigmoid_bce"]["negative_intervals"], [])
    self.assertGreaterEqual(
      self.summary["2d_sigmoid_bce"]["min_hessian_eigenvalue"], 0.0
    )

  def test_multiclass(self):
    nll = self.summary["multiclass_softmax_nll"]
    mse = self.summary["multiclass_softmax_mse"]
    # Zero eigenvalue (shifting all logits) up to float64 round-off.
    self.assertGreater(nll["min_eigenvalue_in_logits"], -1e-12)
    self.assertGreater(nll["min_eigenvalue_in_weights"], -1e-12)
    self.assertLess(mse["min_eigenvalue_in_logits"], -1e-3)
    self.assertLess(mse["min_eigenvalue_in_weights"], -1e-3)

  def test_outputs(self):
    import tempfile
    from pathlib import Path

    workdir = Path(self.enter_context(tempfile.TemporaryDirectory()))
    paths = experiment.write_outputs(workdir, self.summary, self.arrays)
    self.assertLen(paths, 3)
    for path in paths:
      self.assertGreater(path.stat().st_size, 100)


if __name__ == "__main__":
  absltest.main()
