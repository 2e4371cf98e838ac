"""Summary fields over seeds: their values and the JSON keys they become."""

import dataclasses

from absl.testing import absltest

from lossjax.studies import compare_summary, over_seeds, seed_spread
from lossjax.studies.over_seeds import MeanStd, OverSeeds, Range


@dataclasses.dataclass(frozen=True)
class _Inner:
  temperature: OverSeeds
  chance: float | None


@dataclasses.dataclass(frozen=True)
class _Row:
  pairing: str
  accuracy: MeanStd
  spread: Range
  inner: _Inner | None = over_seeds.part(default=None)
  missing: _Inner | None = over_seeds.part(default=None)


class MeanStdTest(absltest.TestCase):
  def test_of_the_present_values(self):
    self.assertEqual(MeanStd.of([1.0, None, 3.0]), MeanStd(2.0, 2.0**0.5))
    self.assertEqual(MeanStd.of([None]), MeanStd(None, None))
    self.assertEqual(MeanStd.of([4.0]), MeanStd(4.0, 0.0))

  def test_text_is_a_table_cell(self):
    self.assertEqual(MeanStd(97.314, 0.125).text(), "97.31 ± 0.12")
    self.assertEqual(MeanStd().text(), "-")

  def test_over_seeds_at_best_val_and_final(self):
    over = OverSeeds.of([1.0, 3.0], [5.0, 5.0])
    self.assertEqual(over.at_best_val.mean, 2.0)
    self.assertEqual(over.final, MeanStd(5.0, 0.0))


class FlatJsonTest(absltest.TestCase):
  def test_each_kind_of_field_by_one_rule(self):
    row = _Row(
      pairing="softmax_nll",
      accuracy=MeanStd(97.0, 0.1),
      spread=Range(97.0, 96.8, 97.2),
      inner=_Inner(OverSeeds(MeanStd(1.1, 0.0), MeanStd(1.3, 0.2)), None),
    )
    self.assertEqual(
      over_seeds.flat_json(row),
      {
        "pairing": "softmax_nll",
        "accuracy_mean": 97.0,
        "accuracy_std": 0.1,
        "spread_median": 97.0,
        "spread_min": 96.8,
        "spread_max": 97.2,
        # A part adds its fields unprefixed; a missing part adds nothing.
        "temperature_at_best_val_mean": 1.1,
        "temperature_at_best_val_std": 0.0,
        "final_temperature_mean": 1.3,
        "final_temperature_std": 0.2,
        "chance": None,
      },
    )

  def test_a_summary_rows_json(self):
    spread = seed_spread.Spread(
      rarely_predicting_seeds_final=[],
      final_test=Range(97.0, 96.9, 97.1),
      stalled_final=0,
      stalled_seeds_final=[],
      best_test=Range(97.2, 97.1, 97.3),
      stalled_best=0,
      stalled_seeds_best=[],
    )
    row = compare_summary.SummaryRow(
      pairing="softmax_nll",
      hidden="[30]",
      lr=0.5,
      seeds=2,
      epochs=3,
      diverged_seeds=0,
      output_error_epoch0=0.9,
      output_error_epoch1=0.3,
      book_test_accuracy=None,
      unfinished_seeds=0,
      final_test=MeanStd(97.0, 0.1),
      best_test=MeanStd(97.2, 0.1),
      test_at_best_val=MeanStd(97.1, 0.1),
      best_val=MeanStd(97.4, 0.1),
      spread=spread,
    )
    keys = row.to_json()
    self.assertEqual(keys["final_test_mean"], 97.0)
    self.assertEqual(keys["best_test_median"], 97.2)
    self.assertEqual(keys["test_at_best_val_std"], 0.1)
    self.assertIs(keys["selected"], False)
    # No calibration part: no calibration keys; finished: no
    # unfinished_seeds key (only an interrupted run's rows carry it).
    self.assertNotIn("test_ece_at_best_val_mean", keys)
    self.assertNotIn("unfinished_seeds", keys)
    self.assertLen(keys, 29)
    unfinished = dataclasses.replace(row, unfinished_seeds=1).to_json()
    self.assertEqual(unfinished["unfinished_seeds"], 1)


if __name__ == "__main__":
  absltest.main()
