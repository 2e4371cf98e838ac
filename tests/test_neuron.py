"""The single neuron and the book widget's dC/da update rule."""

import chex
import jax.numpy as jnp
from absl.testing import absltest

import lossjax
from tests.x64 import X64TestCase


class NeuronTest(X64TestCase):
  def test_output_is_sigmoid_of_wx_plus_b(self):
    params = lossjax.neuron_params(0.6, 0.9, dtype=jnp.float64)
    x = jnp.array([0.0, 1.0, -2.0])
    chex.assert_trees_all_close(
      lossjax.neuron_output(params, x),
      lossjax.sigmoid(0.6 * x + 0.9),
      rtol=1e-15,
    )

  def test_gradient_at_the_seed_start(self):
    # w=b=2, x=1, y=0: dC/dw = dC/db = a sigma'(4) (quadratic) or a (BCE).
    params = lossjax.neuron_params(2.0, 2.0, dtype=jnp.float64)
    x, y = jnp.ones((1, 1)), jnp.zeros((1, 1))
    a = lossjax.sigmoid(4.0)
    for pairing, expected in (
      ("sigmoid_mse", a * lossjax.sigmoid_prime(4.0)),
      ("sigmoid_bce", a),
    ):
      ((dw, db),) = lossjax.backprop(params, x, y, pairing=pairing)
      chex.assert_trees_all_close(
        (dw, db),
        (jnp.full((1, 1), expected), jnp.full((1,), expected)),
        rtol=1e-14,
      )

  def test_widget_rule_is_dc_da(self):
    # The widget's update for the cross-entropy neuron: 1/(1-a) when y=0.
    params = lossjax.neuron_params(2.0, 2.0, dtype=jnp.float64)
    x, y = jnp.full((1, 1), 1.5), jnp.zeros((1, 1))
    a = lossjax.sigmoid(2.0 * 1.5 + 2.0)
    ((dw, db),) = lossjax.dc_da_grads(params, x, y, pairing="sigmoid_bce")
    chex.assert_trees_all_close(
      (dw, db),
      (jnp.full((1, 1), 1.5 / (1 - a)), jnp.full((1,), 1 / (1 - a))),
      rtol=1e-12,
    )

  def test_widget_rule_rejects_softmax(self):
    params = lossjax.neuron_params(0.0, 0.0)
    with self.assertRaisesRegex(ValueError, "needs a binary pairing"):
      lossjax.dc_da_grads(
        params, jnp.ones((1, 1)), jnp.array([0]), pairing="softmax_nll"
      )


if __name__ == "__main__":
  absltest.main()
