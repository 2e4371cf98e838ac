"""Curvature helpers: Hessians against closed forms, eigenvalues, intervals."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest

from lossjax.core import curvature as convexity
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

  def test_softmax_cost_is_the_mean_loss(self):
    x = jax.random.normal(jax.random.key(1), (6, 3), jnp.float64)
    w = jax.random.normal(jax.random.key(2), (3, 4), jnp.float64)
    labels = jnp.array([0, 1, 2, 3, 0, 1])
    expected = -jnp.mean(
      jnp.take_along_axis(jax.nn.log_softmax(x @ w), labels[:, None], 1)
    )
    chex.assert_trees_all_close(
      convexity.softmax_linear_cost("softmax_nll", w, x, labels),
      expected,
      rtol=1e-14,
    )

  def test_min_hessian_eigenvalue_of_a_known_quadratic(self):
    def cost(w):
      return w[0] ** 2 - 3 * w[1] ** 2 + w[0] * w[1]

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


if __name__ == "__main__":
  absltest.main()
