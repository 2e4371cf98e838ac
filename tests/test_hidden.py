"""Hidden activations: closed forms against jax.grad, the resolver, saturation."""

import chex
import jax
import jax.numpy as jnp
from absl.testing import absltest, parameterized

import lossjax
from lossjax.core import hidden
from tests.x64 import X64TestCase

USER = "experiments.user_pairing:"


class ClosedFormTest(X64TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(*lossjax.HIDDEN_ACTIVATIONS)
  def test_derivative_equals_autodiff(self, name):
    f = lossjax.resolve_hidden_activation(name)
    # Away from relu's kink at 0, where the one-sided derivatives differ.
    z = jnp.concatenate(
      [jnp.linspace(-15.0, -1e-3, 50), jnp.linspace(1e-3, 15.0, 50)]
    )
    expected = jax.vmap(jax.grad(f.fn))(z)
    # atol: autodiff's a (1 - a) and 1 - tanh^2 lose their digits in the
    # tails (values near 1e-13 at |z| = 15), where the closed forms stay
    # accurate; beyond, autodiff rounds to 0 (see the float32 test below).
    chex.assert_trees_all_close(
      self.variant(f.slope)(z), expected, rtol=1e-12, atol=1e-15
    )

  def test_relu_slope_at_zero_is_autodiffs(self):
    relu = lossjax.resolve_hidden_activation("relu")
    self.assertEqual(float(relu.slope(jnp.zeros(()))), 0.0)
    self.assertEqual(float(jax.grad(relu.fn)(0.0)), 0.0)

  def test_no_closed_form_means_forward_mode_autodiff(self):
    softplus = hidden.HiddenActivation(name="softplus", fn=jax.nn.softplus)
    z = jnp.linspace(-5.0, 5.0, 11)
    chex.assert_trees_all_close(
      softplus.slope(z), jax.nn.sigmoid(z), rtol=1e-12
    )

  def test_finite_for_huge_inputs_in_float32(self):
    z = jnp.array([-1e4, -30.0, 0.0, 30.0, 1e4], jnp.float32)
    for name in lossjax.HIDDEN_ACTIVATIONS:
      f = lossjax.resolve_hidden_activation(name)
      self.assertTrue(bool(jnp.all(jnp.isfinite(f(z)))), name)
      self.assertTrue(bool(jnp.all(jnp.isfinite(f.slope(z)))), name)


class SaturationTest(absltest.TestCase):
  def test_what_counts_as_saturated(self):
    cases = {
      "sigmoid": ([0.005, 0.5, 0.995, 0.02], 0.5),
      "tanh": ([-0.995, 0.0, 0.995, 0.5], 0.5),
      "relu": ([0.0, 0.0, 0.0, 2.0], 0.75),
      "identity": ([0.0, 1e6, -1e6, 2.0], 0.0),
    }
    for name, (a, fraction) in cases.items():
      f = lossjax.resolve_hidden_activation(name)
      self.assertAlmostEqual(
        float(f.saturated_fraction(jnp.array(a))), fraction, msg=name
      )


class ResolveTest(absltest.TestCase):
  def test_names_values_and_import_strings(self):
    sigmoid = lossjax.resolve_hidden_activation("sigmoid")
    self.assertIs(lossjax.resolve_hidden_activation(sigmoid), sigmoid)
    plain = lossjax.resolve_hidden_activation(USER + "softplus")
    self.assertEqual(plain.name, USER + "softplus")
    self.assertIsNone(plain.derivative)
    # One value per string, so a compiled loop is reused.
    self.assertIs(lossjax.resolve_hidden_activation(USER + "softplus"), plain)
    leaky = lossjax.resolve_hidden_activation(USER + "leaky_relu")
    self.assertEqual(leaky.name, USER + "leaky_relu")
    self.assertIsNotNone(leaky.derivative)
    self.assertEqual(hidden.hidden_activation_spec(leaky), USER + "leaky_relu")

  def test_bad_inputs_name_the_problem(self):
    for spec, message in (
      ("swish", "Unknown hidden activation 'swish'.*tanh, relu"),
      ("no_such_module:f", "cannot import module 'no_such_module'"),
      (USER + "nothing", "has no attribute 'nothing'"),
      (USER + "__doc__", "is a str, not a HiddenActivation"),
      # Issue 26: found only in the middle of a run, after files were touched.
      ("jax.numpy:sum", "not element-wise: it maps a .2, 3. array to .."),
      ("lossjax:loss", "not an element-wise function of one array"),
    ):
      with self.assertRaisesRegex(ValueError, message):
        lossjax.resolve_hidden_activation(spec)
    with self.assertRaisesRegex(TypeError, "got int"):
      lossjax.resolve_hidden_activation(3)


class ForwardTest(parameterized.TestCase):
  @parameterized.parameters(*lossjax.HIDDEN_ACTIVATIONS)
  def test_forward_applies_the_activation_to_every_hidden_layer(self, name):
    f = lossjax.resolve_hidden_activation(name)
    params = lossjax.init_mlp("normalized", jax.random.key(0), [3, 5, 4, 2])
    x = jax.random.normal(jax.random.key(1), (7, 3))
    zs, activations = lossjax.forward(params, x, activation=name)
    a1 = f(x @ params[0][0] + params[0][1])
    a2 = f(a1 @ params[1][0] + params[1][1])
    chex.assert_trees_all_close(activations[1:], [a1, a2], rtol=1e-6)
    chex.assert_trees_all_close(
      zs[-1], a2 @ params[2][0] + params[2][1], rtol=1e-5
    )


if __name__ == "__main__":
  absltest.main()
