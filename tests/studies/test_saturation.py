"""Saturation in deep networks, in-process on a small dataset."""

import json
import tempfile
from pathlib import Path

import pytest
from absl.testing import absltest

from lossjax.output import plotting, records
from lossjax.studies import saturation
from tests.studies.test_compare import toy_source


class RatioTest(absltest.TestCase):
  def test_a_dead_last_layer_has_no_ratio(self):
    self.assertEqual(saturation.first_over_last(0.5, 0.25), 2.0)
    self.assertIsNone(saturation.first_over_last(0.5, 0.0))
    summary = saturation.summarize(
      [
        {
          "depth": 2,
          "hidden_activation": "relu",
          "init": "large",
          "pairing": "sigmoid_mse",
          "epoch": epoch,
          "test_accuracy": 0.1,
          "bias_grad_norm": [0.3, 0.0, 0.1],
          "saturated": [1.0, 1.0],
          "act_mean": [0.0, 0.0],
        }
        for epoch in (0, 1)
      ]
    )
    self.assertIsNone(summary[0]["epoch1_first_over_last"])
    self.assertIn("| - |", saturation.summary_table(summary))

  def test_a_diverged_run_has_no_values(self):
    # NaN metrics are written as null (results.json_safe).
    rows = [
      {
        "depth": 2,
        "init": "large",
        "pairing": "sigmoid_mse",
        "epoch": epoch,
        "test_accuracy": None,
        "bias_grad_norm": [None, None, None],
        "saturated": [0.5, 0.5],
        "act_mean": [None, None],
      }
      for epoch in (0, 1)
    ]
    (row,) = saturation.summarize(rows)
    self.assertEqual(row["hidden_activation"], "sigmoid")  # older rows
    self.assertIsNone(row["epoch1_first_over_last"])
    self.assertIsNone(row["final_test_accuracy"])
    self.assertEqual(row["final_saturated_last_hidden"], 0.5)


class MissingPointsNoteTest(absltest.TestCase):
  def note(self, curves, **kwargs):
    fig, ax = plotting.plt.subplots()
    self.addCleanup(plotting.plt.close, fig)
    saturation._note_missing(ax, [1, 2, 3], curves, **kwargs)
    return [t.get_text() for t in ax.texts]

  def test_a_panel_says_where_its_curves_stop(self):
    nan = float("nan")
    self.assertEqual(self.note([[1.0, 2.0, 3.0]], zero="zero"), [])
    self.assertEqual(
      self.note([[1.0, 2.0, nan], [1.0, nan, nan]]),
      ["not finite (diverged) from epoch 2"],
    )
    self.assertEqual(
      self.note([[1.0, 0.0, 0.0]], zero="no gradient"),
      ["no gradient from epoch 2"],
    )
    # Without ``zero`` (a linear axis) a 0 is a point like any other.
    self.assertEqual(self.note([[1.0, 0.0, 0.0]]), [])


class SaturationTest(absltest.TestCase):
  @pytest.mark.slow  # a whole study: an integration test
  def test_run_and_outputs(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    config = saturation.Config(
      data=toy_source(tmp, train_size=200),
      depths=(1, 3),
      hidden_activations=("sigmoid", "relu"),
      inits=("large",),
      pairings=("sigmoid_mse", "experiments.user_pairing:softmax_poly1"),
      epochs=1,
    )
    workdir = tmp / "run"
    result = saturation.run(config, workdir=workdir, log=lambda *_: None)
    # depths x activations x inits x pairings x (epochs + 1)
    self.assertLen(result.rows, 2 * 2 * 1 * 2 * 2)
    deep = [r for r in result.rows if r["depth"] == 3]
    self.assertTrue(all(len(r["saturated"]) == 3 for r in deep))
    self.assertLen(records.read_jsonl(workdir / "metrics.jsonl"), 16)
    # summary.json, summary.md and the figures read one summary.
    self.assertIs(result.summary, result.summary)
    self.assertEqual(result.at(3, "relu", "large", "sigmoid_mse")["depth"], 3)
    # A relu unit is saturated when dead (0), so N(0, 1) relu layers have
    # dead units; a sigmoid is never exactly 0.
    relu = [r for r in deep if r["hidden_activation"] == "relu"]
    self.assertGreater(max(r["saturated"][0] for r in relu), 0.0)
    names = {p.name for p in saturation.write(result, workdir)}
    self.assertTrue(
      {
        "grad_ratio.png",
        "layers_depth3_sigmoid.png",
        "layers_depth3_relu.png",
      }
      <= names,
      names,
    )
    saved = json.loads((workdir / "config.json").read_text())
    self.assertEqual(saturation.Config(**saved["config"]), config)
    summary = json.loads((workdir / "summary.json").read_text())
    self.assertEqual(
      {r["pairing"] for r in summary}, {"sigmoid_mse", "softmax_poly1"}
    )

  def test_rejects_unknown_inits(self):
    with self.assertRaisesRegex(ValueError, "inits: 'foo' is not one of"):
      saturation.Config(inits=("foo",))


if __name__ == "__main__":
  absltest.main()
