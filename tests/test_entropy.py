"""The entropy floor of cross-entropy for soft targets."""

import math

import chex
import jax.numpy as jnp
from absl.testing import absltest, parameterized

from lossjax.core import entropy
from tests.x64 import X64TestCase


class EntropyTest(X64TestCase, parameterized.TestCase):
  def test_binary_entropy_values(self):
    chex.assert_trees_all_close(
      entropy.binary_entropy(jnp.array([0.0, 0.5, 1.0, 0.1])),
      jnp.array(
        [0.0, math.log(2), 0.0, -(0.1 * math.log(0.1) + 0.9 * math.log(0.9))]
      ),
      rtol=1e-14,
      atol=1e-15,
    )

  @parameterized.parameters("sigmoid_bce", "softmax_nll")
  def test_minimum_is_the_entropy_at_a_equals_y(self, pairing):
    y = jnp.array([0.05, 0.3, 0.5, 0.8, 0.99])
    a_min, c_min = entropy.minimize_cost(pairing, y, steps=2000)
    chex.assert_trees_all_close(a_min, y, atol=1e-8)
    chex.assert_trees_all_close(c_min, entropy.binary_entropy(y), atol=1e-12)
    # and it is a minimum: nearby outputs cost more.
    for shift in (-1e-3, 1e-3):
      self.assertTrue(
        bool(jnp.all(entropy.bce_of_output(y + shift, y) > c_min))
      )

  def test_soft_target_problem_shapes(self):
    y = jnp.array([0.2, 0.7])
    _, shape, targets = entropy.soft_target_problem("sigmoid_bce", y)
    self.assertEqual(shape, (2, 1))
    _, shape, targets = entropy.soft_target_problem("softmax_nll", y)
    self.assertEqual(shape, (2, 2))
    chex.assert_trees_all_close(targets.sum(-1), jnp.ones(2), rtol=1e-15)


if __name__ == "__main__":
  absltest.main()
