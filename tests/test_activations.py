"""Closed-form derivatives against autodiff, and the softmax's limits."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import lossjax
from tests.x64 import X64TestCase


class SigmoidTest(X64TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  def test_sigmoid_prime_equals_grad_of_sigmoid(self):
    z = jnp.linspace(-40.0, 40.0, 801)
    expected = jax.vmap(jax.grad(lossjax.sigmoid))(z)
    actual = self.variant(lossjax.sigmoid_prime)(z)
    # Autodiff differentiates the logistic as a (1 - a), which loses relative
    # precision once a rounds towards 1; absolute agreement stays at 1e-16.
    chex.assert_trees_all_close(actual, expected, rtol=1e-12, atol=1e-15)

  def test_sigmoid_prime_values(self):
    # The seed's numbers: sigma'(0) = 1/4 and sigma'(4) ~ 0.0177.
    chex.assert_trees_all_close(
      lossjax.sigmoid_prime(jnp.array([0.0, 4.0])),
      jnp.array([0.25, np.exp(-4.0) / (1 + np.exp(-4.0)) ** 2]),
      rtol=1e-14,
    )

  def test_sigmoid_prime_keeps_precision_when_saturated(self):
    # a (1 - a) would round to 0 here in float32; sigma(z) sigma(-z) does not.
    z = jnp.array([20.0, 40.0, -40.0], jnp.float32)
    expected = np.exp(-np.abs([20.0, 40.0, 40.0]))
    chex.assert_trees_all_close(
      lossjax.sigmoid_prime(z), expected.astype(np.float32), rtol=1e-5
    )


class SoftmaxTest(X64TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters((3,), (10,))
  def test_jacobian_equals_autodiff(self, k):
    z = jax.random.normal(jax.random.key(k), (4, k), jnp.float64) * 3
    expected = jax.vmap(jax.jacobian(lossjax.softmax))(z)
    actual = self.variant(lossjax.softmax_jacobian)(z)
    chex.assert_shape(actual, (4, k, k))
    chex.assert_trees_all_close(actual, expected, rtol=1e-12, atol=1e-15)

  def test_jacobian_signs(self):
    # Raising z_j raises a_j and lowers every other output.
    jac = lossjax.softmax_jacobian(jnp.array([0.3, -1.2, 2.0, 0.0]))
    diagonal = jnp.diag(jac)
    self.assertTrue(bool(jnp.all(diagonal > 0)))
    self.assertTrue(bool(jnp.all(jac - jnp.diag(diagonal) <= 0)))

  @chex.variants(with_jit=True, without_jit=True)
  def test_scale_is_softmax_of_scaled_logits(self):
    z = jnp.array([[1.0, 2.0, -0.5], [0.0, 0.0, 3.0]])
    scaled = self.variant(functools.partial(lossjax.softmax, scale=2.5))(z)
    chex.assert_trees_all_close(
      scaled, jax.nn.softmax(2.5 * z), rtol=1e-14, atol=0.0
    )
    chex.assert_trees_all_close(
      jnp.sum(scaled, axis=-1), jnp.ones(2), rtol=1e-14
    )

  def test_large_scale_tends_to_argmax_and_splits_ties(self):
    z = jnp.array([[0.1, 0.5, -2.0, 0.49], [1.0, 3.0, 3.0, -1.0]], jnp.float32)
    a = lossjax.softmax(z, scale=1e6)
    self.assertTrue(bool(jnp.all(jnp.isfinite(a))))
    expected = jnp.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.5, 0.5, 0.0]])
    chex.assert_trees_all_close(a, expected, atol=1e-6)
    # At c = 1 the vector is still far from one-hot.
    self.assertLess(float(lossjax.softmax(z, scale=1.0)[0, 1]), 0.5)


if __name__ == "__main__":
  absltest.main()
