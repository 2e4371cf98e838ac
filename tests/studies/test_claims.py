"""Uncertainty as library code, and the README's claims as data (issue 27)."""

import json
import math
import re
from pathlib import Path

import numpy as np
import scipy.stats
from absl.testing import absltest, parameterized

from lossjax.metrics import calibration, stats
from lossjax.studies import claims
from tests import pages

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "experiments" / "results"
README = pages.all_text()  # the front page and docs/


class PairedOverSeedsTest(parameterized.TestCase):
  def test_the_interval_is_the_paired_t_interval(self):
    a = np.array([97.1, 97.4, 96.9, 97.6, 97.0])
    b = np.array([96.0, 96.9, 96.1, 96.2, 96.8])
    d = a - b
    half = scipy.stats.t.ppf(0.975, 4) * d.std(ddof=1) / math.sqrt(5)
    got = stats.paired_over_seeds(a, b)
    self.assertAlmostEqual(got.estimate, d.mean(), places=12)
    self.assertAlmostEqual(got.low, d.mean() - half, places=10)
    self.assertAlmostEqual(got.high, d.mean() + half, places=10)
    self.assertEqual((got.n, got.verdict), (5, stats.HIGHER))
    self.assertEqual(stats.paired_over_seeds(b, a).verdict, stats.LOWER)

  def test_an_interval_that_holds_zero_is_a_tie(self):
    got = stats.paired_over_seeds([1.0, -1.0, 2.0, -2.0, 0.5], [0.0] * 5)
    self.assertLess(got.low, 0)
    self.assertGreater(got.high, 0)
    self.assertEqual(got.verdict, stats.TIE)

  def test_fewer_than_five_seeds_are_never_a_difference(self):
    # The interval of these three seeds excludes 0 by far; three seeds
    # still cannot carry a difference.
    got = stats.paired_over_seeds([10.0, 11.0, 12.0], [0.0, 0.5, 1.0])
    self.assertGreater(got.low, 5)
    self.assertEqual(got.verdict, stats.TOO_FEW)
    one = stats.paired_over_seeds([1.0], [0.0], min_seeds=1)
    self.assertEqual(
      (one.low, one.high, one.verdict), (-math.inf, math.inf, stats.TIE)
    )

  def test_a_deterministic_difference_has_no_spread(self):
    got = stats.paired_over_seeds([2.0] * 5, reference=1.0)
    self.assertEqual((got.low, got.estimate, got.high), (1.0, 1.0, 1.0))
    self.assertEqual(got.verdict, stats.HIGHER)

  def test_missing_values_are_an_error(self):
    with self.assertRaisesRegex(ValueError, "one finite value per seed"):
      stats.paired_over_seeds([1.0, math.nan], [0.0, 0.0])


class OverExamplesAndEceTest(absltest.TestCase):
  def test_bootstrap_over_examples(self):
    rng = np.random.default_rng(0)
    a = rng.random(4000) < 0.9
    b = rng.random(4000) < 0.8
    got = stats.paired_over_examples(a, b)
    d = a.astype(float) - b
    se = d.std(ddof=1) / math.sqrt(len(d))
    self.assertAlmostEqual(got.estimate, d.mean(), places=12)
    self.assertLess(got.low, got.estimate)
    self.assertGreater(got.high, got.estimate)
    self.assertAlmostEqual(got.high - got.low, 2 * 1.96 * se, delta=0.2 * se)
    self.assertEqual(got.verdict, stats.HIGHER)

  def test_confidence_bins_are_the_probabilities_bins(self):
    # The chance level bins its draws as every ECE is binned.
    rng = np.random.default_rng(1)
    logits = rng.normal(size=(500, 10)) * 3
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    labels = rng.integers(0, 10, 500)
    expected = calibration.expected_calibration_error(p, labels)
    got = calibration.bins_ece(
      calibration.confidence_bins(p.max(axis=1), p.argmax(axis=1) == labels)
    )
    self.assertAlmostEqual(float(got), float(expected), places=5)

  def test_chance_level_of_a_calibrated_model(self):
    # Certain and right: no ECE by chance. Confidence 0.5 on n examples:
    # E|mean of n coin flips - 0.5| = sqrt(0.25 / n) sqrt(2 / pi).
    self.assertEqual(stats.ece_chance_level(np.ones(1000)), (0.0, 0.0))
    mean, upper = stats.ece_chance_level(np.full(10_000, 0.5), draws=400)
    self.assertAlmostEqual(
      mean, math.sqrt(0.25 / 10_000 * 2 / math.pi), delta=4e-4
    )
    self.assertGreater(upper, mean)


class ClaimsTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.result = claims.run(
      claims.Config(results=str(RESULTS)), log=lambda _: None
    )

  def test_the_committed_claims_are_the_committed_results(self):
    # A rerun of a study changes its claims: claims.json must follow.
    fresh = {
      "claims": [e.to_json() for e in self.result.evaluated],
      "ece_chance": self.result.ece_chance,
    }
    committed = json.loads((RESULTS / "claims" / "claims.json").read_text())
    self.assertEqual(json.loads(json.dumps(fresh)), committed)
    self.assertEqual(
      (RESULTS / "claims" / "claims.md").read_text(),
      claims.summary(self.result),
    )

  def test_the_readme_states_a_difference_only_where_its_claim_holds(self):
    for e in self.result.evaluated:
      if e.claim.says is None:
        continue
      with self.subTest(e.claim.id):
        if e.holds:
          self.assertIn(e.claim.says, README)
        else:
          self.assertNotIn(
            e.claim.says,
            README,
            f"the README still states {e.claim.id!r}, whose verdict is "
            f"{e.interval.verdict!r}",
          )

  def test_each_finding_words_its_claims_verdicts(self):
    # The findings table's answers: "tie" and "too few seeds" where, and
    # only where, one of the row's claims has that verdict.
    by_id = {e.claim.id: e for e in self.result.evaluated}
    for f in claims.FINDINGS:
      verdicts = {by_id[c].interval.verdict for c in f.claims}
      with self.subTest(f.question):
        self.assertEqual(stats.TOO_FEW in f.answer, stats.TOO_FEW in verdicts)
        self.assertEqual(
          re.search(r"\btie\b", f.answer) is not None, stats.TIE in verdicts
        )

  def test_no_difference_rests_on_fewer_than_five_seeds(self):
    for e in self.result.evaluated:
      if e.interval.verdict in (stats.HIGHER, stats.LOWER):
        self.assertGreaterEqual(e.interval.n, stats.MIN_SEEDS, e.claim.id)

  def test_the_pages_show_the_committed_claims_and_findings(self):
    text = (RESULTS / "claims" / "claims.md").read_text()
    self.assertEqual(pages.block("claims"), text[text.index("| claim") :])
    # The front page's findings table is generated from the claims.
    findings = (RESULTS / "claims" / "findings.md").read_text()
    self.assertEqual(self.result.findings, findings)
    self.assertEqual(pages.block("findings"), findings)
    self.assertIn("<!-- results:findings", pages.read(pages.README))


if __name__ == "__main__":
  absltest.main()
