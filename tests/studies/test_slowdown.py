"""The single-neuron study: the seed's numbers, any binary pairing, outputs."""

import json
import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import slowdown

USER = "experiments.user_pairing:"


class SlowdownTest(absltest.TestCase):
  def test_reproduces_the_seed(self):
    result = slowdown.run(slowdown.Config())
    by = {(r["pairing"], r["w0"]): r for r in result.records}
    self.assertEqual(by["sigmoid_mse", 0.0]["epochs_to_halve"], 47)
    self.assertEqual(by["sigmoid_mse", 2.0]["epochs_to_halve"], 233)
    self.assertEqual(by["sigmoid_bce", 0.0]["epochs_to_halve"], 10)
    self.assertEqual(by["sigmoid_bce", 2.0]["epochs_to_halve"], 17)
    self.assertAlmostEqual(by["sigmoid_mse", 2.0]["sigma_prime_z0"], 0.0177, 4)
    # Issue 9: a linear output has no slope factor and halves its error fast.
    self.assertLessEqual(by["identity_mse", 2.0]["epochs_to_halve"], 5)
    self.assertEqual(by["identity_mse", 2.0]["sigma_prime_z0"], 1.0)
    self.assertAlmostEqual(by["sigmoid_mse", 0.0]["sigma_prime_z0"], 0.25, 6)

  def test_book_preset_trains_the_widget_rule_too(self):
    result = slowdown.run(slowdown.Config(**slowdown.PRESETS["nielsen_ch3"]))
    rules = {(r["pairing"], r["update_rule"]) for r in result.records}
    self.assertIn(("sigmoid_bce", slowdown.UPDATE_WIDGET), rules)
    self.assertLen(result.records, 2 * 3)

  def test_writes_outputs_and_a_config_that_repeats_the_run(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    config = slowdown.Config(
      pairings=("sigmoid_mse", USER + "sigmoid_focal"), epochs=20
    )
    result = slowdown.run(config)
    self.assertIn("sigmoid_focal", {r["pairing"] for r in result.records})
    paths = slowdown.write(result, tmp)
    self.assertTrue(all(p.is_file() and p.stat().st_size for p in paths))
    saved = json.loads((tmp / "config.json").read_text())
    self.assertEqual(saved["pairings"][1], USER + "sigmoid_focal")
    self.assertEqual(slowdown.Config(**saved), config)
    self.assertIn("| sigmoid_focal |", (tmp / "summary.md").read_text())

  def test_rejects_bad_configs(self):
    for change, message in (
      (dict(pairings=("softmax_nll",)), "needs a binary pairing"),
      (dict(lrs=(float("inf"),)), "lrs: must be a positive"),
      (
        dict(widget_rule=("sigmoid_bce",), pairings=("sigmoid_mse",)),
        "not in pairings",
      ),
      (dict(y=1.5), r"must lie in \[0, 1\]"),
      (dict(inits=((0.0, 0.0), (0.0, 0.0))), "more than once"),
    ):
      with self.subTest(message), self.assertRaisesRegex(ValueError, message):
        slowdown.Config(**change)

  def test_epochs_to_halve(self):
    self.assertEqual(slowdown.epochs_to_halve([0.8, 0.5, 0.4, 0.1], 0.0), 2)
    self.assertIsNone(slowdown.epochs_to_halve([0.8, 0.7], 0.0))


if __name__ == "__main__":
  absltest.main()
