"""Per-epoch evaluators: known values, and equal values hash equal."""

import chex
import jax
import jax.numpy as jnp
from absl.testing import absltest

import lossjax
from lossjax.metrics import evals


class HiddenStatsTest(absltest.TestCase):
  def test_values_on_known_activations(self):
    # Zero weights: every hidden unit outputs sigmoid(bias).
    params = [
      (jnp.zeros((3, 4)), jnp.array([-10.0, 0.0, 0.0, 10.0])),
      (jnp.zeros((4, 2)), jnp.zeros(2)),
    ]
    stats = evals.hidden_activation_stats(params, jnp.ones((5, 3)))
    chex.assert_trees_all_close(stats["saturated"], jnp.array([0.5]), atol=1e-6)
    chex.assert_trees_all_close(stats["act_mean"], jnp.array([0.5]), atol=1e-6)
    # Activations ~(0, 1/2, 1/2, 1): standard deviation sqrt(1/8).
    chex.assert_trees_all_close(
      stats["act_std"], jnp.array([0.5**1.5]), atol=1e-4
    )

  def test_needs_a_hidden_layer(self):
    params = lossjax.init_mlp("large", jax.random.key(0), [3, 2])
    with self.assertRaisesRegex(ValueError, "at least one hidden layer"):
      evals.hidden_activation_stats(params, jnp.ones((1, 3)))


class ClassificationEvalTest(absltest.TestCase):
  def test_equal_fields_are_one_static_argument(self):
    a = evals.ClassificationEval("softmax_nll")
    b = evals.ClassificationEval(lossjax.resolve_pairing("softmax_nll"))
    self.assertEqual(a, b)
    self.assertEqual(hash(a), hash(b))
    self.assertNotEqual(a, evals.ClassificationEval("softmax_nll", True))

  def test_metrics_on_a_known_network(self):
    # Weights 0, output biases favour class 1: every example predicts 1.
    params = [(jnp.zeros((2, 3)), jnp.array([0.0, 2.0, 0.0]))]
    x = jnp.ones((4, 2))
    labels = jnp.array([1, 1, 0, 2])
    data = {"validation": (x, labels), "test": (x[:2], labels[:2])}
    metrics = evals.ClassificationEval("softmax_nll")(params, data)
    self.assertAlmostEqual(float(metrics["val_accuracy"]), 0.5)
    self.assertAlmostEqual(float(metrics["test_accuracy"]), 1.0)
    # Every example predicts class 1; classes 0 and 2 are never predicted.
    chex.assert_trees_all_equal(
      metrics["val_predicted_counts"], jnp.array([0, 4, 0])
    )
    chex.assert_trees_all_equal(
      metrics["test_predicted_counts"], jnp.array([0, 2, 0])
    )
    a = jax.nn.softmax(jnp.array([0.0, 2.0, 0.0]))
    chex.assert_trees_all_close(metrics["test_cost"], -jnp.log(a[1]), rtol=1e-6)
    expected_error = jnp.mean(
      jnp.linalg.norm(a - jax.nn.one_hot(labels, 3), axis=-1)
    )
    chex.assert_trees_all_close(
      metrics["output_error"], expected_error, rtol=1e-6
    )

  def test_user_predict_is_used(self):
    lowest = lossjax.Pairing(
      name="lowest",
      activation=lambda z: z,
      cost=lambda z, y: jnp.sum((z - y) ** 2, -1),
      kind="multiclass",
      predict=lambda z: jnp.argmin(z, axis=-1),
    )
    params = [(jnp.zeros((2, 3)), jnp.array([0.0, 2.0, -1.0]))]
    x, labels = jnp.ones((2, 2)), jnp.array([2, 2])
    metrics = evals.ValidationEval(lowest)(params, (x, labels))
    self.assertAlmostEqual(float(metrics["accuracy"]), 1.0)


class NeuronEvalTest(absltest.TestCase):
  def test_output_and_cost(self):
    params = lossjax.neuron_params(2.0, 2.0)
    x, y = jnp.ones((1, 1)), jnp.zeros((1, 1))
    metrics = evals.NeuronEval("sigmoid_bce")(params, (x, y))
    a = jax.nn.sigmoid(4.0)
    chex.assert_trees_all_close(metrics["output"], a, rtol=1e-6)
    chex.assert_trees_all_close(metrics["cost"], -jnp.log1p(-a), rtol=1e-5)


if __name__ == "__main__":
  absltest.main()
