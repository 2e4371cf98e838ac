"""Spread over seeds and stalled runs, on hand-made per-epoch rows."""

import tempfile
import types
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import over_seeds, seed_spread


def seed_rows(
  seed, accuracies, *, never=(), setting=("sigmoid_mse", [30], 3.0)
):
  """Per-epoch rows of one seed: epoch 0 then one row per accuracy."""
  pairing, hidden, lr = setting
  counts = [0 if k in never else 100 for k in range(10)]
  return [
    {
      "pairing": pairing,
      "hidden": hidden,
      "lr": lr,
      "seed": seed,
      "epoch": epoch,
      "test_accuracy": accuracy,
      "output_error": 0.1 / (epoch + 1),
      "output_slope": 0.01,
      "val_predicted_counts": counts,
      "test_predicted_counts": counts,
    }
    for epoch, accuracy in enumerate([0.1, *accuracies])
  ]


class SpreadTest(absltest.TestCase):
  def test_statistics_ignore_missing_values(self):
    stats = seed_spread.spread([95.0, None, 93.0, 97.0, float("nan")])
    self.assertEqual(
      stats,
      {"median": 95.0, "min": 93.0, "max": 97.0, "mean": 95.0, "std": 2.0},
    )
    self.assertEqual(seed_spread.spread([None]), dict.fromkeys(stats))

  def test_stalled_is_more_than_the_margin_below_the_best(self):
    margin = seed_spread.STALL_MARGIN
    values = [95.0, 95.0 - margin, 95.0 - margin - 0.01, None]
    self.assertEqual(seed_spread.stalled(values), [False, False, True, True])
    self.assertEqual(seed_spread.stalled([None, None]), [True, True])

  def test_seed_outcome(self):
    outcome = seed_spread.seed_outcome(
      seed_rows(3, [0.80, 0.86, 0.86, 0.85], never=(4, 9))
    )
    self.assertEqual(outcome["seed"], 3)
    self.assertAlmostEqual(outcome["final"], 85.0)
    self.assertAlmostEqual(outcome["best"], 86.0)
    self.assertEqual(outcome["best_epoch"], 2)  # the first of the tie
    self.assertEqual(outcome["rarely_predicted"], [(4, 0), (9, 0)])

  def test_rows_without_prediction_counts_say_so(self):
    rows = seed_rows(0, [0.9])
    for r in rows:
      del r["test_predicted_counts"]
    self.assertIsNone(seed_spread.seed_outcome(rows)["rarely_predicted"])

  def test_rarely_predicted_is_below_a_fifth_of_an_even_share(self):
    # 1000 examples, an even share is 100: 19 is rare, 20 is not.
    counts = [19, 20, 0, 961] + [0] * 6
    self.assertEqual(
      seed_spread.rarely_predicted(counts),
      [(0, 19), (2, 0), (4, 0), (5, 0), (6, 0), (7, 0), (8, 0), (9, 0)],
    )


class StalledCasesTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.setting = ("sigmoid_mse", [30], 3.0)
    rows = (
      seed_rows(0, [0.94, 0.95])
      + seed_rows(1, [0.80, 0.85], never=(7,))
      + seed_rows(2, [0.95, 0.96])
      + seed_rows(3, [0.94, 0.94])
    )
    self.by_setting = {("sigmoid_mse", (30,), 3.0): rows}
    self.outcomes = [
      seed_spread.seed_outcome([r for r in rows if r["seed"] == s])
      for s in range(4)
    ]

  def test_spread_of_the_outcomes(self):
    spread = seed_spread.Spread.of(self.outcomes)
    self.assertEqual(spread.stalled_final, 1)
    self.assertEqual(spread.stalled_seeds_final, [1])
    self.assertAlmostEqual(spread.final_test.median, 94.5)
    self.assertAlmostEqual(spread.final_test.min, 85.0)
    self.assertAlmostEqual(spread.best_test.max, 96.0)
    # summary.json's keys for the same values.
    keys = over_seeds.flat_json(spread)
    self.assertEqual(keys["stalled_final"], 1)
    self.assertAlmostEqual(keys["final_test_median"], 94.5)
    self.assertAlmostEqual(keys["best_test_max"], 96.0)

  def test_a_stalled_run_beside_the_median_healthy_seed(self):
    (case,) = seed_spread.stalled_cases(self.by_setting)
    self.assertEqual([run["seed"] for run in case["stalled"]], [1])
    self.assertEqual(case["stalled"][0]["rarely_predicted"], [(7, 0)])
    # Healthy finals 95, 96, 94: the median is seed 0's 95.
    self.assertEqual(case["healthy"]["seed"], 0)
    text = seed_spread.stalled_text([case])
    self.assertIn("| 1 (stalled) | 85.00 | 85.00 | 7 (0) |", text)
    self.assertIn("| 0 (healthy) | 95.00 | 95.00 | none |", text)

  def test_a_dip_at_the_end_is_stalled_at_the_final_epoch_only(self):
    dipped = seed_rows(4, [0.95, 0.96, 0.80])
    rows = self.by_setting["sigmoid_mse", (30,), 3.0] + dipped
    outcomes = [*self.outcomes, seed_spread.seed_outcome(dipped)]
    spread = seed_spread.Spread.of(outcomes)
    self.assertEqual(spread.stalled_seeds_final, [1, 4])
    self.assertEqual(spread.stalled_seeds_best, [1])
    (case,) = seed_spread.stalled_cases({("sigmoid_mse", (30,), 3.0): rows})
    self.assertEqual([run["seed"] for run in case["stalled"]], [1])

  def test_no_stall_no_case(self):
    healthy = {
      key: [r for r in rows if r["seed"] != 1]
      for key, rows in self.by_setting.items()
    }
    self.assertEqual(seed_spread.stalled_cases(healthy), [])
    self.assertIn("No run stalled", seed_spread.stalled_text([]))

  def test_figures_are_written(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    book = {key: 95.42 for key in self.by_setting}
    seeds = seed_spread.plot_seed_curves(self.by_setting, book, tmp / "s.png")
    cases = seed_spread.stalled_cases(self.by_setting)
    inside = seed_spread.plot_stalled(cases, tmp / "stalled.png")
    self.assertGreater(seeds.stat().st_size, 1000)
    self.assertGreater(inside.stat().st_size, 1000)


class SpreadTableTest(absltest.TestCase):
  def test_book_beside_the_statistics(self):
    row = types.SimpleNamespace(
      pairing="sigmoid_mse",
      hidden="30",
      lr=3.0,
      seeds=4,
      book_test_accuracy=95.42,
      final_test=over_seeds.MeanStd(92.5, 4.8),
      best_test=over_seeds.MeanStd(93.0, 4.9),
      spread=seed_spread.Spread(
        rarely_predicting_seeds_final=[],
        final_test=over_seeds.Range(94.5, 85.0, 96.0),
        stalled_final=1,
        stalled_seeds_final=[1],
        best_test=over_seeds.Range(95.0, 85.0, 96.0),
        stalled_best=1,
        stalled_seeds_best=[1],
      ),
    )
    table = seed_spread.spread_table([row])
    self.assertIn(
      "| sigmoid_mse | 30 | 3 | 95.42 | 4 | 94.50 [85.00, 96.00] | "
      "92.50 ± 4.80 | 1/4 | 95.00 [85.00, 96.00] | 93.00 ± 4.90 | 1/4 |",
      table,
    )


if __name__ == "__main__":
  absltest.main()
