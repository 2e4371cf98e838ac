"""Initialisers: shapes, distributions, the scale multiplier, bad names."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import lossjax

SIZES = [400, 300, 10]


class InitTest(parameterized.TestCase):
  @parameterized.parameters(*lossjax.INITIALIZERS)
  def test_shapes_and_dtype(self, method):
    params = lossjax.init_mlp(method, jax.random.key(0), [5, 4, 3])
    chex.assert_shape(params[0], ((5, 4), (4,)))
    chex.assert_shape(params[1], ((4, 3), (3,)))
    self.assertEqual(
      {leaf.dtype for leaf in jax.tree.leaves(params)}, {jnp.dtype("float32")}
    )

  def test_constant_scale_is_w_equals_b(self):
    params = lossjax.init_mlp("constant", jax.random.key(0), [1, 1], scale=2.0)
    chex.assert_trees_all_equal(
      params, [(jnp.full((1, 1), 2.0), jnp.full((1,), 2.0))]
    )
    chex.assert_trees_all_equal(
      lossjax.constant_init([2, 3], value=0.5),
      [(jnp.full((2, 3), 0.5), jnp.full((3,), 0.5))],
    )

  @parameterized.named_parameters(
    # (name, method, weight std of layer 0, bias std)
    ("normalized", "normalized", 1 / np.sqrt(400), 1.0),
    ("large", "large", 1.0, 1.0),
    ("gaussian", "gaussian", 1.0, 0.0),
    ("glorot", "glorot", np.sqrt(2 / (400 + 300)), 0.0),
    ("he", "he", np.sqrt(2 / 400), 0.0),
  )
  def test_distribution(self, method, w_std, b_std):
    (w, b), _ = lossjax.init_mlp(method, jax.random.key(1), SIZES)
    self.assertAlmostEqual(float(jnp.std(w)), w_std, delta=0.03 * w_std)
    self.assertAlmostEqual(float(jnp.mean(w)), 0.0, delta=0.03 * w_std)
    self.assertAlmostEqual(float(jnp.std(b)), b_std, delta=0.1 * b_std + 1e-9)

  def test_scale_multiplies_weights_and_biases(self):
    base = lossjax.init_mlp("normalized", jax.random.key(2), [4, 3])
    scaled = lossjax.init_mlp(
      "normalized", jax.random.key(2), [4, 3], scale=3.0
    )
    chex.assert_trees_all_close(
      scaled, jax.tree.map(lambda p: 3 * p, base), rtol=1e-6
    )

  def test_scale_can_be_vmapped(self):
    batched = jax.vmap(
      lambda s: lossjax.init_mlp("large", jax.random.key(0), [2, 2], scale=s)
    )(jnp.array([0.0, 1.0]))
    chex.assert_shape(batched[0][0], (2, 2, 2))
    self.assertEqual(float(jnp.abs(batched[0][0][0]).max()), 0.0)

  def test_gaussian_stddev(self):
    ((w, _),) = lossjax.gaussian_init(jax.random.key(3), [500, 400], stddev=0.1)
    self.assertAlmostEqual(float(jnp.std(w)), 0.1, delta=0.003)

  def test_unknown_method(self):
    with self.assertRaisesRegex(ValueError, "Unknown initialiser 'xavier'"):
      lossjax.init_mlp("xavier", jax.random.key(0), [2, 2])

  @parameterized.parameters([[3]], [[3, 0, 2]])
  def test_bad_sizes(self, sizes):
    with self.assertRaisesRegex(ValueError, "layer sizes"):
      lossjax.init_mlp("normalized", jax.random.key(0), sizes)


if __name__ == "__main__":
  absltest.main()
