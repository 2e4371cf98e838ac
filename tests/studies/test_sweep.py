"""The sweep study's wrapper: config checks, summary and figures."""

import csv
import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import sweep


class SweepStudyTest(absltest.TestCase):
  def test_neuron_sweep_with_a_user_pairing(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    config = sweep.Config(
      task="neuron",
      pairings=("sigmoid_mse", "experiments.user_pairing:sigmoid_focal"),
      init_scales=(0.0, 2.0),
      lrs=(0.5,),
      epochs=30,
    )
    result = sweep.run(config, workdir=tmp, log=lambda *_: None)
    paths = sweep.write(result, tmp)
    self.assertIn("chunks trained", sweep.summary(result))
    with (tmp / "summary.csv").open() as f:
      rows = list(csv.DictReader(f))
    self.assertEqual(
      {r["pairing"] for r in rows}, {"sigmoid_mse", "sigmoid_focal"}
    )
    self.assertLen(rows, 2 * 2)
    self.assertTrue({"heatmap.png", "curves.png"} <= {p.name for p in paths})

  def test_a_workdir_is_required_and_metrics_fit_the_task(self):
    with self.assertRaisesRegex(ValueError, "give one"):
      sweep.run(sweep.Config(task="neuron"))
    with self.assertRaisesRegex(ValueError, "final_accuracy needs --task=mlp"):
      sweep.Config(task="neuron", heatmap_metric="final_accuracy")
    with self.assertRaisesRegex(ValueError, "needs a binary pairing"):
      sweep.Config(task="neuron", pairings=("softmax_nll",))


if __name__ == "__main__":
  absltest.main()
