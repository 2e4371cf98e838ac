"""The open pairing registry: values, resolution, the closed-form check."""

import re
import sys
import types
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl.testing import absltest, parameterized

import lossjax
from lossjax.core import pairing as pairing_value
from lossjax.core import pairings

REPO = Path(__file__).resolve().parents[1]


def _cost(z, y):
  return jnp.sum(jnp.square(z - y), axis=-1)


class PairingValueTest(parameterized.TestCase):
  def test_keywords_and_defaults(self):
    p = lossjax.Pairing(
      name="sq", activation=lambda z: z, cost=_cost, kind="binary"
    )
    self.assertIsNone(p.delta)
    self.assertEqual(p.display_label, "sq")
    self.assertIn(p.display_color, pairing_value._SPARE_COLORS)
    self.assertEqual(hash(p), hash(p))
    self.assertEqual(int(p.predicted_class(jnp.array([0.1, 3.0, -2.0]))), 1)

  @parameterized.named_parameters(
    ("empty_name", dict(name=" "), "non-empty name"),
    ("bad_kind", dict(kind="ordinal"), "kind must be one of"),
    ("cost_not_callable", dict(cost=3), "cost must be callable"),
    ("delta_not_callable", dict(delta="a - y"), "delta must be callable"),
    ("bad_lr", dict(default_lr=float("inf")), "default_lr must be"),
    ("zero_lr", dict(default_lr=0.0), "default_lr must be"),
  )
  def test_rejects_bad_fields(self, change, message):
    fields = dict(name="sq", activation=lambda z: z, cost=_cost, kind="binary")
    with self.assertRaisesRegex((ValueError, TypeError), message):
      lossjax.Pairing(**{**fields, **change})

  def test_custom_predict(self):
    p = lossjax.Pairing(
      name="lowest",
      activation=lambda z: z,
      cost=_cost,
      kind="multiclass",
      predict=lambda z: jnp.argmin(z, axis=-1),
    )
    self.assertEqual(int(p.predicted_class(jnp.array([0.1, 3.0, -2.0]))), 2)


class ResolveTest(absltest.TestCase):
  def test_every_form_resolves_to_the_value(self):
    self.assertEqual(
      lossjax.PAIRINGS[:4],
      ("sigmoid_mse", "sigmoid_bce", "softmax_nll", "softmax_mse"),
    )
    for name in lossjax.PAIRINGS:
      p = lossjax.resolve_pairing(name)
      self.assertIs(lossjax.resolve_pairing(p), p)
      self.assertEqual(pairings.pairing_spec(p), name)
    spec = "experiments.user_pairing:softmax_poly1"
    user = lossjax.resolve_pairing(spec)
    self.assertEqual(user.name, "softmax_poly1")
    self.assertEqual(pairings.pairing_spec(user), spec)

  def test_errors_name_the_problem(self):
    module = types.ModuleType("lossjax_test_fake_module")
    module.not_a_pairing = 3
    sys.modules[module.__name__] = module
    self.addCleanup(sys.modules.pop, module.__name__)
    cases = {
      "sigmoid_mes": "Unknown pairing 'sigmoid_mes'. Choose one of: sigmoid_mse",
      "no_such_module_xyz:p": "cannot import module 'no_such_module_xyz'",
      "experiments.user_pairing:nope": "has no attribute 'nope'",
      "lossjax_test_fake_module:not_a_pairing": "is a int, not a lossjax.Pairing",
      ":p": "must look like 'package.module:attribute'",
    }
    for spec, message in cases.items():
      with (
        self.subTest(spec),
        self.assertRaisesRegex(ValueError, re.escape(message)),
      ):
        lossjax.resolve_pairing(spec)
    with self.assertRaisesRegex(TypeError, "got int"):
      lossjax.resolve_pairing(3)


class CheckClosedFormTest(parameterized.TestCase):
  @parameterized.parameters(*lossjax.PAIRINGS)
  def test_builtins_match_autodiff(self, name):
    self.assertLess(lossjax.check_closed_form(name), 1e-13)

  def test_user_closed_form_matches_autodiff(self):
    poly1 = "experiments.user_pairing:softmax_poly1"
    self.assertLess(lossjax.check_closed_form(poly1, num_outputs=10), 1e-13)

  def test_a_wrong_derivation_is_reported(self):
    # The classic mistake: sigmoid + quadratic with the error a - y.
    wrong = lossjax.Pairing(
      name="wrong",
      activation=jax.nn.sigmoid,
      cost=pairings.SIGMOID_MSE.cost,
      delta=lambda z, y: jax.nn.sigmoid(z) - y,
      kind="binary",
    )
    self.assertGreater(lossjax.check_closed_form(wrong), 0.1)

  def test_needs_a_delta_of_the_right_shape(self):
    no_delta = lossjax.Pairing(
      name="nd", activation=jax.nn.sigmoid, cost=_cost, kind="binary"
    )
    with self.assertRaisesRegex(ValueError, "has no closed-form delta"):
      lossjax.check_closed_form(no_delta)
    bad_shape = lossjax.Pairing(
      name="bs",
      activation=jax.nn.sigmoid,
      cost=_cost,
      delta=lambda z, y: jnp.sum(z, axis=-1),
      kind="binary",
    )
    with self.assertRaisesRegex(ValueError, "delta returned shape"):
      lossjax.check_closed_form(bad_shape)


class NoNameBranchesTest(absltest.TestCase):
  """Acceptance of the registry: nothing outside it compares pairing names."""

  PATTERN = re.compile(
    r"""(==|!=|\bin)\s*\(?\s*["'](sigmoid|softmax|identity)_\w+["']"""
    r"""|["'](sigmoid|softmax|identity)_\w+["']\s*(==|!=|\bin\b)"""
    r"""|[A-Z]+_PAIRINGS\b"""
  )

  def test_no_line_compares_a_pairing_name(self):
    offenders = []
    for folder in ("lossjax", "experiments"):
      for path in sorted((REPO / folder).rglob("*.py")):
        if path.name == "pairings.py" and folder == "lossjax":
          continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
          if self.PATTERN.search(line) and "BUILTIN_PAIRINGS" not in line:
            offenders.append(
              f"{path.relative_to(REPO)}:{number}: {line.strip()}"
            )
    self.assertEqual(offenders, [])

  def test_the_pattern_catches_a_branch(self):
    self.assertRegex('  if name == "sigmoid_mse":', self.PATTERN)
    self.assertRegex("  if p in SIGMOID_PAIRINGS:", self.PATTERN)


class SquareLossOnLinearOutputsTest(parameterized.TestCase):
  """Issue 9's pairings against their formulas, in float64."""

  def setUp(self):
    super().setUp()
    jax.config.update("jax_enable_x64", True)
    self.addCleanup(jax.config.update, "jax_enable_x64", False)
    self.z = jax.random.normal(jax.random.key(0), (6, 10), jnp.float64) * 3
    self.labels = jnp.array([0, 3, 9, 1, 1, 5])
    self.y = jax.nn.one_hot(self.labels, 10, dtype=jnp.float64)

  def close(self, a, b):
    np.testing.assert_allclose(
      np.asarray(a), np.asarray(b), rtol=1e-13, atol=1e-13
    )

  def test_identity_mse(self):
    self.close(
      lossjax.loss("identity_mse", self.z, self.labels),
      0.5 * jnp.sum((self.z - self.y) ** 2, -1),
    )
    self.close(
      lossjax.output_delta("identity_mse", self.z, self.labels), self.z - self.y
    )
    self.assertEqual(lossjax.resolve_pairing("identity_mse").kind, "binary")
    one = jnp.array([[4.0]], jnp.float64)  # one output unit, like the neuron
    self.close(
      lossjax.loss("identity_mse", one, jnp.zeros((1, 1))), jnp.array([8.0])
    )

  def test_rescaled_mse(self):
    pairing = lossjax.rescaled_mse(k=3, m=5)
    zc = self.z[jnp.arange(6), self.labels]
    by_class = 0.5 * (3 * (zc - 5) ** 2 + jnp.sum(self.z**2, -1) - zc**2)
    self.close(lossjax.loss(pairing, self.z, self.labels), by_class)
    soft = jax.random.uniform(jax.random.key(1), (6, 10), jnp.float64)
    vector = 0.5 * jnp.sum(
      3 * soft * (self.z - 5) ** 2 + (1 - soft) * self.z**2, -1
    )
    self.close(lossjax.loss(pairing, self.z, soft), vector)
    self.assertLess(lossjax.check_closed_form(pairing), 1e-12)
    unit = lossjax.rescaled_mse(k=1, m=1)
    self.close(
      lossjax.loss(unit, self.z, self.labels),
      lossjax.loss("identity_mse", self.z, self.labels),
    )
    self.assertIs(lossjax.resolve_pairing("rescaled_mse(k=3,m=5)"), pairing)

  def test_smoothed_nll(self):
    pairing = lossjax.smoothed_nll(0.1)
    smoothed = 0.9 * self.y + 0.01
    self.close(
      lossjax.loss(pairing, self.z, self.labels),
      -jnp.sum(smoothed * jax.nn.log_softmax(self.z), -1),
    )
    self.close(
      lossjax.output_delta(pairing, self.z, self.labels),
      jax.nn.softmax(self.z) - smoothed,
    )
    self.assertLess(lossjax.check_closed_form(pairing, num_outputs=10), 1e-13)
    self.assertIs(lossjax.resolve_pairing("smoothed_nll(eps=0.1)"), pairing)
    self.assertIs(lossjax.resolve_pairing("smoothed_nll(0.1)"), pairing)

  @parameterized.parameters(
    ("smoothed_nll(eps=1.5)", "eps must lie in"),
    ("rescaled_mse(k=0,m=1)", "k must be positive"),
    ("rescaled_mse(k=1)", "missing 1 required keyword-only argument: 'm'"),
    ("smoothed_nll(eps=x)", "'x' is not a number"),
    ("cubic_mse(k=1)", "Pairings with parameters: rescaled_mse"),
  )
  def test_bad_parameters(self, spec, message):
    with self.assertRaisesRegex(ValueError, re.escape(message)):
      lossjax.resolve_pairing(spec)


class ColoursTest(absltest.TestCase):
  """Issue 28: a pairing keeps one colour in every figure, and no two of the
  pairings a study names share one (linear + quadratic and the rescaled loss
  were both purple)."""

  def test_every_named_pairing_has_its_own_colour(self):
    named = [
      *lossjax.PAIRINGS,
      "rescaled_mse(k=3,m=5)",
      "smoothed_nll(eps=0.1)",
    ]
    colours = [lossjax.resolve_pairing(n).display_color for n in named]
    self.assertLen(
      set(colours), len(colours), dict(zip(named, colours, strict=True))
    )
    spare = set(pairing_value._SPARE_COLORS)
    self.assertEqual(spare & set(colours), set())


if __name__ == "__main__":
  absltest.main()
