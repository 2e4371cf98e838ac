"""The sweep study's wrapper: config checks, summary and figures."""

import csv
import tempfile
import warnings
from pathlib import Path
from unittest import mock

from absl.testing import absltest

from lossjax import config as cfg
from lossjax.output import plotting
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
    # Issue 20: the sweep's config.json repeats it (--config=<it>); its
    # sweep.json (with the fingerprint) was refused by --config.
    self.assertEqual(cfg.load_json(sweep.Config, tmp / "config.json"), config)
    again = sweep.run(
      cfg.load_json(sweep.Config, tmp / "config.json"),
      workdir=tmp,
      log=lambda *_: None,
    )
    self.assertEqual(again.chunks_trained, 0)  # the same sweep: all reused

  def test_each_figure_is_laid_out_once(self):
    # Issue 20: plot_curves ran tight_layout and save_figure ran it again,
    # which made matplotlib warn on every sweep.
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    config = sweep.Config(
      task="neuron", init_scales=(0.0, 2.0), lrs=(0.5, 1.0), epochs=10
    )
    result = sweep.run(config, workdir=tmp, log=lambda *_: None)
    real = plotting.plt.Figure.tight_layout
    with (
      mock.patch.object(
        plotting.plt.Figure, "tight_layout", autospec=True, side_effect=real
      ) as tight,
      warnings.catch_warnings(),
    ):
      warnings.simplefilter("error")  # any layout warning fails the test
      sweep.plot_curves(result, tmp / "curves.png")
      sweep.plot_heatmaps(result, result.summary, tmp / "heatmap.png")
    self.assertEqual(tight.call_count, 0)  # each has its own layout engine
    self.assertTrue((tmp / "curves.png").is_file())

  def test_the_curves_count_whole_epochs(self):
    # The curves have a point per epoch; the axis showed 2.5, 7.5.
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    # Four narrow panels per row, as in the MLP sweeps.
    config = sweep.Config(
      task="neuron", init_scales=(2.0,), lrs=(0.1, 0.3, 1.0, 3.0)
    )
    result = sweep.run(
      config.replace(epochs=10), workdir=tmp, log=lambda *_: None
    )
    figures = []
    real = plotting.save_figure
    with mock.patch.object(
      plotting,
      "save_figure",
      side_effect=lambda fig, *a, **k: (
        figures.append(fig) or real(fig, *a, **k)
      ),
    ):
      sweep.plot_curves(result, tmp / "curves.png")
    (figure,) = figures
    ticks = [t for ax in figure.axes for t in ax.get_xticks()]
    self.assertNotEmpty(ticks)
    self.assertEqual(ticks, [round(t) for t in ticks])

  def test_a_workdir_is_required_and_metrics_fit_the_task(self):
    with self.assertRaisesRegex(ValueError, "give one"):
      sweep.run(sweep.Config(task="neuron"))
    with self.assertRaisesRegex(ValueError, "final_accuracy needs --task=mlp"):
      sweep.Config(task="neuron", heatmap_metric="final_accuracy")
    with self.assertRaisesRegex(ValueError, "needs a binary pairing"):
      sweep.Config(task="neuron", pairings=("softmax_nll",))


if __name__ == "__main__":
  absltest.main()
