"""Calibration metrics against hand computations; probabilities of pairings."""

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import lossjax
from lossjax.metrics import calibration
from tests.x64 import X64TestCase

# Four examples, three classes. Confidences 0.7, 0.5, 0.9, 0.34; predicted
# classes 0, 1, 2, 0; labels make the first and third right.
P = np.array(
  [
    [0.7, 0.2, 0.1],
    [0.3, 0.5, 0.2],
    [0.05, 0.05, 0.9],
    [0.34, 0.33, 0.33],
  ]
)
LABELS = np.array([0, 0, 2, 1])


class MetricsTest(X64TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  def test_ece_by_hand(self):
    # Two bins: (0, .5] holds 0.5 (wrong) and 0.34 (wrong): |0 - 0.42| = 0.42;
    # (.5, 1] holds 0.7 (right) and 0.9 (right): |1 - 0.8| = 0.2.
    ece = self.variant(
      lambda p, y: calibration.expected_calibration_error(p, y, num_bins=2)
    )(P, LABELS)
    chex.assert_trees_all_close(ece, (2 * 0.42 + 2 * 0.2) / 4, rtol=1e-12)
    # One bin: |mean accuracy - mean confidence| = |0.5 - 0.61|.
    one = calibration.expected_calibration_error(P, LABELS, num_bins=1)
    chex.assert_trees_all_close(one, 0.11, rtol=1e-12)

  def test_bins_by_hand(self):
    bins = calibration.calibration_bins(P, LABELS, num_bins=10)
    expected_counts = np.zeros(10)
    expected_counts[[3, 4, 6, 8]] = 1  # 0.34, 0.5 (edge: its own bin), 0.7, 0.9
    chex.assert_trees_all_close(bins.counts, expected_counts, atol=0)
    chex.assert_trees_all_close(
      bins.confidence[np.array([3, 4, 6, 8])], np.array([0.34, 0.5, 0.7, 0.9])
    )
    chex.assert_trees_all_close(
      bins.accuracy[np.array([3, 4, 6, 8])], np.array([0.0, 0.0, 1.0, 1.0])
    )
    chex.assert_trees_all_close(bins.edges, np.linspace(0, 1, 11))

  @chex.variants(with_jit=True, without_jit=True)
  def test_nll_and_brier_by_hand(self):
    nll = self.variant(calibration.negative_log_likelihood)(P, LABELS)
    expected = -np.mean(np.log([0.7, 0.3, 0.9, 0.33]))
    chex.assert_trees_all_close(nll, expected, rtol=1e-12)
    brier = self.variant(calibration.brier_score)(P, LABELS)
    y = np.eye(3)[LABELS]
    chex.assert_trees_all_close(
      brier, np.mean(np.sum((P - y) ** 2, axis=1)), rtol=1e-12
    )

  def test_brier_is_twice_the_softmax_quadratic_cost(self):
    z = jax.random.normal(jax.random.key(0), (6, 4), jnp.float64)
    labels = jnp.array([0, 1, 2, 3, 0, 1])
    brier = calibration.brier_score(jax.nn.softmax(z), labels)
    cost = jnp.mean(lossjax.loss("softmax_mse", z, labels))
    chex.assert_trees_all_close(brier, 2 * cost, rtol=1e-12)

  def test_a_zero_probability_costs_the_documented_floor(self):
    # Issue 27: a true class given probability 0 cost -ln(float32 tiny) =
    # 87.3 (708 in float64), so a pairing's NLL was set by that constant.
    for dtype in (jnp.float32, jnp.float64):
      with self.subTest(str(dtype)):
        p = jnp.array([[1.0, 0.0], [0.5, 0.5]], dtype)
        labels = jnp.array([1, 0])
        nll = calibration.negative_log_likelihood(p, labels)
        expected = (-math.log(calibration.PROBABILITY_FLOOR) + math.log(2)) / 2
        self.assertAlmostEqual(float(nll), expected, places=5)
        self.assertEqual(float(calibration.floored_fraction(p, labels)), 0.5)

  def test_the_temperature_fit_reads_the_floor_not_the_dtype(self):
    # Issue 27: exact zeros drove the fitted temperature (34 where the
    # floored probabilities give about 2.5). Zeros and the floor itself
    # now fit the same temperature.
    rng = np.random.default_rng(0)
    p = rng.dirichlet(np.full(10, 0.3), size=400)
    p[rng.random(p.shape) < 0.3] = 0.0
    p /= p.sum(axis=1, keepdims=True)
    labels = rng.integers(0, 10, 400)
    floored = np.maximum(p, calibration.PROBABILITY_FLOOR)
    chex.assert_trees_all_close(
      calibration.fit_temperature(jnp.asarray(p), labels),
      calibration.fit_temperature(
        jnp.asarray(floored / floored.sum(axis=1, keepdims=True)), labels
      ),
      rtol=1e-3,
    )

  def test_temperature_scaling_of_a_softmax_is_softmax_of_z_over_t(self):
    # Above the probability floor (which the scaling reads as the NLL does).
    z = 1.5 * jax.random.normal(jax.random.key(1), (5, 7), jnp.float64)
    self.assertGreater(
      float(jax.nn.softmax(z).min()), calibration.PROBABILITY_FLOOR
    )
    for t in (0.3, 1.0, 2.5):
      chex.assert_trees_all_close(
        calibration.temperature_scale(jax.nn.softmax(z), t),
        jax.nn.softmax(z / t),
        rtol=1e-10,
      )

  def test_fit_temperature_recovers_the_temperature_of_the_data(self):
    # Labels drawn from softmax(z / 2.5); the network says softmax(z): the
    # NLL-optimal temperature is about 2.5 and scaling shrinks the ECE.
    z_key, y_key = jax.random.split(jax.random.key(2))
    z = 3.0 * jax.random.normal(z_key, (20_000, 10), jnp.float64)
    labels = jax.random.categorical(y_key, z / 2.5)
    p = jax.nn.softmax(z)
    t = jax.jit(calibration.fit_temperature)(p, labels)
    chex.assert_trees_all_close(t, 2.5, rtol=0.05)
    before = calibration.expected_calibration_error(p, labels)
    after = calibration.expected_calibration_error(
      calibration.temperature_scale(p, t), labels
    )
    self.assertGreater(float(before), 0.2)
    self.assertLess(float(after), 0.02)

  def test_scaled_metrics_vmap_over_runs(self):
    z = 3.0 * jax.random.normal(jax.random.key(3), (2, 500, 4), jnp.float64)
    labels = jnp.arange(500) % 4
    p = jax.nn.softmax(z)
    batched = jax.vmap(
      lambda q: calibration.scaled_metrics((q, labels), (q, labels))
    )(p)
    for i in range(2):
      one = calibration.scaled_metrics((p[i], labels), (p[i], labels))
      chex.assert_trees_all_close(
        {k: v[i] for k, v in batched.items()}, one, rtol=1e-8
      )

  def test_bad_inputs_are_clear_errors(self):
    with self.assertRaisesRegex(ValueError, "must sum to 1"):
      calibration.expected_calibration_error(P * 2, LABELS)
    with self.assertRaisesRegex(ValueError, "non-negative"):
      calibration.brier_score(np.array([[1.5, -0.5]]), np.array([0]))
    with self.assertRaisesRegex(ValueError, "num_bins must be an integer >= 1"):
      calibration.expected_calibration_error(P, LABELS, num_bins=0)
    with self.assertRaisesRegex(ValueError, r"labels must lie in \[0, 3\)"):
      calibration.negative_log_likelihood(P, np.array([0, 1, 2, 3]))
    with self.assertRaisesRegex(ValueError, "one per row"):
      calibration.calibration_bins(P, LABELS[:3])
    with self.assertRaisesRegex(TypeError, "integers"):
      calibration.brier_score(P, LABELS.astype(float))


class ClassProbabilitiesTest(parameterized.TestCase):
  @parameterized.parameters(
    *lossjax.PAIRINGS, "smoothed_nll(eps=0.1)", "rescaled_mse(k=3,m=5)"
  )
  def test_every_pairing_gives_a_distribution_even_at_1e4(self, name):
    pairing = lossjax.resolve_pairing(name)
    z = jnp.array(
      [[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, -1e4, -1e4], [0.2, 0.1, 0.9, -0.3]],
      jnp.float32,
    )
    p = pairing.class_probabilities(z)
    self.assertTrue(np.all(np.isfinite(p)))
    self.assertTrue(np.all(p >= 0))
    chex.assert_trees_all_close(jnp.sum(p, -1), jnp.ones(3), rtol=1e-6)
    # The most probable class is the predicted one (where there is one).
    self.assertEqual(int(jnp.argmax(p[2])), int(pairing.predicted_class(z[2])))

  @parameterized.parameters(*lossjax.PAIRINGS)
  def test_the_most_probable_class_is_the_predicted_one(self, name):
    # Issue 27: clipped probabilities tied (two linear outputs above 1, two
    # sigmoids at 1.0 in float32), so calibration's top class was another
    # prediction than the one accuracy counts (rescaled_mse: 89-90% accurate,
    # its saved probabilities' top class right 67-71% of the time).
    pairing = lossjax.resolve_pairing(name)
    z = jnp.concatenate(
      [
        jnp.array([[1.5, 2.0, 0.3, -1.0], [17.0, 20.0, 0.3, 30.0]]),
        40.0 * jax.random.normal(jax.random.key(3), (200, 4)),
      ]
    ).astype(jnp.float32)
    p = pairing.class_probabilities(z)
    predicted = pairing.predicted_class(z)
    np.testing.assert_array_equal(jnp.argmax(p, axis=-1), predicted)
    labels = jax.random.randint(jax.random.key(4), (len(z),), 0, 4)
    bins = calibration.calibration_bins(p, labels)
    self.assertAlmostEqual(
      float(jnp.sum(bins.counts * bins.accuracy) / len(z)),
      float(jnp.mean(predicted == labels)),
      places=6,
    )
    chex.assert_trees_all_close(p.sum(-1), jnp.ones(len(z)), atol=1e-6)

  def test_defaults_by_kind(self):
    z = jnp.array([[2.0, -1.0, 0.5]])
    softmax = lossjax.resolve_pairing("softmax_nll").class_probabilities(z)
    chex.assert_trees_all_close(softmax, jax.nn.softmax(z), rtol=1e-6)
    a = jax.nn.sigmoid(z)
    sigmoid = lossjax.resolve_pairing("sigmoid_bce").class_probabilities(z)
    chex.assert_trees_all_close(sigmoid, a / a.sum(), rtol=1e-6)
    linear = lossjax.resolve_pairing("identity_mse").class_probabilities(
      jnp.array([[1.5, -0.2, 0.5], [-1.0, -2.0, -0.1]])
    )
    # Clipped to [0, 1] then normalised; no positive output: uniform.
    chex.assert_trees_all_close(
      linear, jnp.array([[2 / 3, 0, 1 / 3], [1 / 3, 1 / 3, 1 / 3]]), rtol=1e-6
    )

  def test_a_user_pairing_gets_the_default_or_its_own(self):
    user = lossjax.resolve_pairing("experiments.user_pairing:softmax_poly1")
    self.assertIsNone(user.probabilities)
    z = jnp.array([[0.3, 1.0]])
    chex.assert_trees_all_close(
      user.class_probabilities(z), user.activation(z), rtol=1e-6
    )
    own = lossjax.Pairing(
      name="own",
      activation=jax.nn.sigmoid,
      cost=lambda z, y: jnp.sum((jax.nn.sigmoid(z) - y) ** 2, -1),
      kind="binary",
      probabilities=lambda z: jax.nn.softmax(2 * z),
    )
    chex.assert_trees_all_close(
      own.class_probabilities(z), jax.nn.softmax(2 * z), rtol=1e-6
    )
    with self.assertRaisesRegex(TypeError, "probabilities must be callable"):
      lossjax.Pairing(
        name="bad",
        activation=jax.nn.sigmoid,
        cost=lambda z, y: z,
        kind="binary",
        probabilities=3,
      )


class SoftmaxMaeTest(absltest.TestCase):
  def test_cost_is_twice_one_minus_the_true_class_probability(self):
    z = jax.random.normal(jax.random.key(0), (5, 4))
    labels = jnp.array([0, 1, 2, 3, 1])
    a = jax.nn.softmax(z)
    expected = 2 * (1 - a[jnp.arange(5), labels])
    chex.assert_trees_all_close(
      lossjax.loss("softmax_mae", z, labels), expected, rtol=1e-5
    )
    self.assertLess(lossjax.check_closed_form("softmax_mae"), 1e-12)


if __name__ == "__main__":
  absltest.main()
