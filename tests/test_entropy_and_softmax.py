"""The entropy floor of cross-entropy and the softmax temperature limit."""

import math

import chex
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

from experiments import entropy_floor, softmax_temperature
from lossjax import entropy
from tests.x64 import X64TestCase


class EntropyTest(X64TestCase):
  def test_binary_entropy_values(self):
    chex.assert_trees_all_close(
      entropy.binary_entropy(jnp.array([0.0, 0.5, 1.0, 0.1])),
      jnp.array(
        [0.0, math.log(2), 0.0, -(0.1 * math.log(0.1) + 0.9 * math.log(0.9))]
      ),
      rtol=1e-14,
      atol=1e-15,
    )

  def test_minimum_is_the_binary_entropy_at_a_equals_y(self):
    y = jnp.array([0.05, 0.3, 0.5, 0.8, 0.99])
    a_min, c_min = entropy.minimize_bce(y)
    chex.assert_trees_all_close(a_min, y, atol=1e-10)
    chex.assert_trees_all_close(c_min, entropy.binary_entropy(y), atol=1e-12)
    # and it is a minimum: nearby outputs cost more.
    for shift in (-1e-3, 1e-3):
      self.assertTrue(
        bool(jnp.all(entropy.bce_of_output(y + shift, y) > c_min))
      )

  def test_experiment(self):
    summary, _ = entropy_floor.run_entropy_floor((0.1, 0.5, 0.9), grid=10_001)
    self.assertLess(summary["max_abs_error"], 1e-10)
    for row in summary["rows"]:
      self.assertGreater(row["min_cost_descent"], 0.3)  # the floor is > 0
      self.assertAlmostEqual(row["argmin_a_grid"], row["y"], places=3)
    with self.assertRaisesRegex(ValueError, r"targets must lie in \[0, 1\]"):
      entropy_floor.run_entropy_floor((0.5, 1.5))


class SoftmaxTemperatureTest(parameterized.TestCase):
  def test_limit_and_stability(self):
    summary, arrays = softmax_temperature.run_softmax_temperature(points=15)
    distinct, tied = summary["cases"]["distinct"], summary["cases"]["tied"]
    self.assertTrue(distinct["all_finite"] and tied["all_finite"])
    self.assertLess(distinct["distance_at"]["1e+06"], 1e-6)
    self.assertGreater(distinct["distance_at"]["1"], 0.5)
    np.testing.assert_allclose(
      tied["probs_at_max_scale"], [0, 0.5, 0.5, 0], atol=1e-6
    )
    # The distance to the limit shrinks as c grows (past the smallest c).
    distance = arrays["distinct"]["distance"]
    self.assertTrue(np.all(np.diff(distance) <= 1e-7))

  def test_argmax_limit(self):
    np.testing.assert_array_equal(
      softmax_temperature.argmax_limit(np.array([1.0, 5.0, 5.0, 5.0])),
      [0, 1 / 3, 1 / 3, 1 / 3],
    )

  def test_bad_scales(self):
    with self.assertRaisesRegex(ValueError, "min_scale < max_scale"):
      softmax_temperature.run_softmax_temperature(min_scale=10.0, max_scale=1.0)


if __name__ == "__main__":
  absltest.main()
