"""Per-example costs: autodiff against the BP1 closed forms, optax, stability."""

import functools

import chex
import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl.testing import absltest, parameterized

import lossjax
from tests.x64 import X64TestCase

SHAPES = ((5,), (3, 4), (2, 3, 10))


def random_targets(key, pairing, shape, dtype=jnp.float64):
  """Valid target vectors: any [0, 1] values (binary) or a distribution."""
  if lossjax.resolve_pairing(pairing).kind == "binary":
    return jax.random.uniform(key, shape, dtype)
  return jax.random.dirichlet(key, jnp.ones(shape[-1], dtype), shape[:-1])


class GradientTest(X64TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.product(pairing=lossjax.PAIRINGS, shape=SHAPES)
  def test_autodiff_equals_output_delta(self, pairing, shape):
    z_key, y_key = jax.random.split(jax.random.key(len(shape)))
    z = 3.0 * jax.random.normal(z_key, shape, jnp.float64)
    y = random_targets(y_key, pairing, shape)

    def total_cost(logits):
      return jnp.sum(lossjax.loss(pairing, logits, y))

    expected = self.variant(jax.grad(total_cost))(z)
    actual = self.variant(functools.partial(lossjax.output_delta, pairing))(
      z, y
    )
    chex.assert_shape(actual, shape)
    chex.assert_trees_all_close(actual, expected, rtol=1e-12, atol=1e-14)

  @parameterized.product(pairing=lossjax.PAIRINGS, shape=SHAPES)
  def test_integer_labels_equal_one_hot(self, pairing, shape):
    z = jax.random.normal(jax.random.key(1), shape, jnp.float64)
    labels = jax.random.randint(jax.random.key(2), shape[:-1], 0, shape[-1])
    one_hot = jax.nn.one_hot(labels, shape[-1], dtype=jnp.float64)
    for fn in (lossjax.loss, lossjax.output_delta):
      chex.assert_trees_all_close(
        fn(pairing, z, labels), fn(pairing, z, one_hot), rtol=1e-15
      )
    chex.assert_shape(lossjax.loss(pairing, z, labels), shape[:-1])

  def test_sigmoid_mse_error_carries_the_vanishing_factor(self):
    # The seed's neuron at z = 4, y = 0: delta = a sigma'(z) for the
    # quadratic cost but a for cross-entropy, a factor sigma'(4) apart.
    z, y = jnp.array([4.0]), jnp.array([0.0])
    a = jax.nn.sigmoid(4.0)
    chex.assert_trees_all_close(
      lossjax.output_delta("sigmoid_bce", z, y), jnp.array([a]), rtol=1e-15
    )
    chex.assert_trees_all_close(
      lossjax.output_delta("sigmoid_mse", z, y),
      jnp.array([a * lossjax.sigmoid_prime(4.0)]),
      rtol=1e-15,
    )


class StabilityTest(chex.TestCase):
  """float32, |logits| up to 1e4: every value and gradient stays finite."""

  LOGITS = jnp.array(
    [[1e4, -1e4, 0.0, 5e3], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, -3.0, 2.0]],
    jnp.float32,
  )

  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.product(
    pairing=lossjax.PAIRINGS, label=(0, 1, 3), sign=(1.0, -1.0)
  )
  def test_finite_for_huge_logits(self, pairing, label, sign):
    z = sign * self.LOGITS
    labels = jnp.full((3,), label)
    cost = self.variant(functools.partial(lossjax.loss, pairing))(z, labels)
    grad = self.variant(
      jax.grad(lambda logits: jnp.sum(lossjax.loss(pairing, logits, labels)))
    )(z)
    delta = self.variant(functools.partial(lossjax.output_delta, pairing))(
      z, labels
    )
    chex.assert_tree_all_finite((cost, grad, delta))
    chex.assert_trees_all_close(grad, delta, atol=1e-6)

  def test_huge_logit_values_are_exact(self):
    # Confidently wrong by 1e4 costs 1e4 (BCE) or 2e4 (NLL), not inf.
    z = jnp.array([[-1e4, 1e4]], jnp.float32)
    chex.assert_trees_all_close(
      lossjax.loss("sigmoid_bce", z, jnp.array([[1.0, 0.0]])),
      jnp.array([2e4], jnp.float32),
      rtol=1e-6,
    )
    chex.assert_trees_all_close(
      lossjax.loss("softmax_nll", z, jnp.array([0])),
      jnp.array([2e4], jnp.float32),
      rtol=1e-6,
    )


class NonFiniteLogitsTest(chex.TestCase):
  """Issue 11, item 5: finite wherever the cost's value is finite."""

  # Squashed outputs: -inf on a zero-target unit has a finite cost. (A linear
  # output's square loss at z = -inf is +inf: infinite, not NaN.)
  @chex.variants(with_jit=True, without_jit=True)
  @parameterized.parameters(
    "sigmoid_mse", "sigmoid_bce", "softmax_nll", "softmax_mse"
  )
  def test_minus_inf_on_zero_targets_costs_its_limit(self, pairing):
    inf = jnp.inf
    z = jnp.array([[-inf, 0.0, -1.0], [2.0, -inf, -inf]], jnp.float32)
    limit = jnp.array([[-1e30, 0.0, -1.0], [2.0, -1e30, -1e30]], jnp.float32)
    labels = jnp.array([1, 0])
    loss = self.variant(functools.partial(lossjax.loss, pairing))
    delta = self.variant(functools.partial(lossjax.output_delta, pairing))
    chex.assert_tree_all_finite((loss(z, labels), delta(z, labels)))
    chex.assert_trees_all_close(loss(z, labels), loss(limit, labels), rtol=1e-6)
    grad = jax.grad(lambda z: jnp.sum(lossjax.loss(pairing, z, labels)))(z)
    chex.assert_trees_all_close(grad, delta(z, labels), atol=1e-6)

  def test_the_issue_examples(self):
    inf = jnp.inf
    self.assertTrue(
      jnp.isfinite(
        lossjax.loss(
          "softmax_nll", jnp.array([[-inf, 0, -1.0]]), jnp.array([1])
        )
      )
    )
    self.assertTrue(
      jnp.isfinite(
        lossjax.loss(
          "sigmoid_bce", jnp.array([[-inf, 2.0]]), jnp.array([[0.0, 1.0]])
        )
      )
    )

  def test_linear_output_at_minus_inf_costs_inf(self):
    z = jnp.array([[-jnp.inf, 0.0, 1.0]])
    self.assertEqual(
      float(lossjax.loss("identity_mse", z, jnp.array([1]))[0]), jnp.inf
    )

  @parameterized.parameters(*lossjax.PAIRINGS)
  def test_nan_logits_give_nan(self, pairing):
    z = jnp.array([[jnp.nan, 0.0, 1.0]])
    self.assertTrue(
      bool(jnp.isnan(lossjax.loss(pairing, z, jnp.array([1])))[0])
    )


class OptaxAgreementTest(X64TestCase):
  def setUp(self):
    super().setUp()
    keys = jax.random.split(jax.random.key(7), 3)
    self.z = 4.0 * jax.random.normal(keys[0], (6, 5), jnp.float64)
    self.labels = jax.random.randint(keys[1], (6,), 0, 5)
    self.one_hot = jax.nn.one_hot(self.labels, 5, dtype=jnp.float64)
    self.soft = jax.random.uniform(keys[2], (6, 5), jnp.float64)

  def test_sigmoid_bce(self):
    expected = optax.sigmoid_binary_cross_entropy(self.z, self.soft).sum(-1)
    chex.assert_trees_all_close(
      lossjax.loss("sigmoid_bce", self.z, self.soft), expected, rtol=1e-12
    )

  def test_softmax_nll(self):
    chex.assert_trees_all_close(
      lossjax.loss("softmax_nll", self.z, self.one_hot),
      optax.softmax_cross_entropy(self.z, self.one_hot),
      rtol=1e-12,
      atol=1e-14,
    )
    chex.assert_trees_all_close(
      lossjax.loss("softmax_nll", self.z, self.labels),
      optax.softmax_cross_entropy_with_integer_labels(self.z, self.labels),
      rtol=1e-12,
      atol=1e-14,
    )

  def test_quadratic_costs(self):
    chex.assert_trees_all_close(
      lossjax.loss("sigmoid_mse", self.z, self.soft),
      optax.l2_loss(jax.nn.sigmoid(self.z), self.soft).sum(-1),
      rtol=1e-12,
    )
    chex.assert_trees_all_close(
      lossjax.loss("softmax_mse", self.z, self.labels),
      optax.l2_loss(jax.nn.softmax(self.z), self.one_hot).sum(-1),
      rtol=1e-12,
    )


class LossByIndexTest(chex.TestCase):
  @chex.variants(with_jit=True, without_jit=True)
  def test_matches_named_loss_and_vmaps_over_pairings(self):
    z = jax.random.normal(jax.random.key(0), (4, 3))
    labels = jnp.array([0, 2, 1, 1])
    fn = self.variant(
      functools.partial(lossjax.loss_by_index, lossjax.PAIRINGS)
    )
    for index, pairing in enumerate(lossjax.PAIRINGS):
      chex.assert_trees_all_close(
        fn(index, z, labels), lossjax.loss(pairing, z, labels), rtol=1e-6
      )
    batched = jax.vmap(
      functools.partial(lossjax.loss_by_index, lossjax.PAIRINGS),
      in_axes=(0, None, None),
    )
    stacked = batched(jnp.arange(len(lossjax.PAIRINGS)), z, labels)
    chex.assert_shape(stacked, (len(lossjax.PAIRINGS), 4))
    chex.assert_trees_all_close(
      stacked[1], lossjax.loss("sigmoid_bce", z, labels), rtol=1e-6
    )


class JitDifferenceTest(parameterized.TestCase):
  """Value checks run eagerly only (documented in lossjax.core.losses)."""

  def test_out_of_range_label_raises_eagerly_and_is_zero_target_under_jit(self):
    z = jnp.zeros((1, 3))
    with self.assertRaisesRegex(ValueError, r"must lie in \[0, 3\)"):
      lossjax.loss("softmax_nll", z, jnp.array([7]))
    traced = jax.jit(lambda z, t: lossjax.loss("softmax_nll", z, t))
    chex.assert_trees_all_close(traced(z, jnp.array([7])), jnp.zeros(1))

  def test_shape_errors_raise_under_jit_too(self):
    traced = jax.jit(lambda z, t: lossjax.loss("softmax_nll", z, t))
    with self.assertRaisesRegex(ValueError, "does not match logits shape"):
      traced(jnp.zeros((2, 3)), jnp.zeros((3,), jnp.int32))


class BadInputTest(parameterized.TestCase):
  Z = jnp.zeros((2, 3), jnp.float32)

  @parameterized.parameters(lossjax.loss, lossjax.output_delta)
  def test_unknown_pairing(self, fn):
    with self.assertRaisesRegex(ValueError, "Unknown pairing 'softmax_bce'"):
      fn("softmax_bce", self.Z, jnp.array([0, 1]))

  @parameterized.parameters(lossjax.loss, lossjax.output_delta)
  def test_shape_mismatch(self, fn):
    with self.assertRaisesRegex(ValueError, r"targets shape \(2, 4\)"):
      fn("sigmoid_bce", self.Z, jnp.zeros((2, 4)))
    with self.assertRaisesRegex(ValueError, r"targets shape \(3,\)"):
      fn("softmax_nll", self.Z, jnp.array([0, 1, 2]))

  @parameterized.parameters(3, -1)
  def test_labels_out_of_range(self, label):
    with self.assertRaisesRegex(ValueError, r"must lie in \[0, 3\)"):
      lossjax.loss("softmax_nll", self.Z, jnp.array([0, label]))

  def test_non_float_logits(self):
    with self.assertRaisesRegex(TypeError, "floating-point.*int32"):
      lossjax.loss(
        "sigmoid_mse", jnp.zeros((2, 3), jnp.int32), jnp.zeros((2, 3))
      )

  def test_scalar_logits(self):
    with self.assertRaisesRegex(ValueError, "at least one axis"):
      lossjax.loss("sigmoid_mse", jnp.float32(0.0), jnp.float32(0.0))

  def test_float_labels(self):
    with self.assertRaisesRegex(TypeError, "class labels and must be integers"):
      lossjax.loss("softmax_nll", self.Z, jnp.array([0.0, 1.0]))

  @parameterized.parameters(np.nan, 1.5, -0.2)
  def test_target_values_outside_unit_interval(self, bad):
    targets = jnp.array([[0.0, 0.5, 1.0], [bad, 0.0, 0.0]])
    with self.assertRaisesRegex(ValueError, "NaN|must lie in \\[0, 1\\]"):
      lossjax.loss("sigmoid_bce", self.Z, targets)

  def test_softmax_targets_must_be_distributions(self):
    with self.assertRaisesRegex(ValueError, "probability vectors"):
      lossjax.loss("softmax_nll", self.Z, jnp.full((2, 3), 0.5))
    # The same soft targets are fine for sigmoid outputs.
    chex.assert_tree_all_finite(
      lossjax.loss("sigmoid_bce", self.Z, jnp.full((2, 3), 0.5))
    )


if __name__ == "__main__":
  absltest.main()
