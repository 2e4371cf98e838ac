"""The label-noise study: one comparison per level, resumed level by level."""

import json
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from absl.testing import absltest

from lossjax import config as cfg
from lossjax.studies import compare, label_noise
from tests.studies.test_compare import toy_source


class LabelNoiseStudyTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    self.config = label_noise.Config(
      data=toy_source(self.tmp),
      pairings=("sigmoid_mse", "softmax_nll"),
      lrs=(("sigmoid_mse", 1.0), ("softmax_nll", 0.3), ("softmax_nll", 1.0)),
      hidden=((8,),),
      epochs=2,
      noise_levels=(0.0, 0.4),
    )

  @pytest.mark.slow  # a whole study: an integration test
  def test_run_write_resume(self):
    workdir = self.tmp / "study"
    logged = []
    result = label_noise.run(self.config, workdir=workdir, log=logged.append)
    paths = label_noise.write(result, workdir)
    self.assertEqual(
      {p.name for p in paths}, {"summary.md", "summary.json", "noise.png"}
    )
    for level in ("noise_0", "noise_40"):
      for name in ("summary.md", "reliability.png", "test_probabilities.npz"):
        self.assertTrue((workdir / level / name).is_file(), f"{level}/{name}")
    # Each level's comparison records its own noise; the test labels are clean.
    for noise, level in result.levels.items():
      self.assertEqual(level.config.data.label_noise, noise)
    noisy_rows = result.levels[0.4].rows
    self.assertTrue(all(r["memorised"] is not None for r in noisy_rows))
    self.assertTrue(all("memorised" not in r for r in result.levels[0.0].rows))
    text = (workdir / "summary.md").read_text()
    self.assertIn("## Are the outputs probabilities?", text)
    self.assertIn("## What if labels are wrong?", text)
    self.assertRegex(text, r"\| softmax_nll \| [0-9.]+ / [0-9.]+ \| [0-9.]+ / ")
    rows = json.loads((workdir / "summary.json").read_text())
    self.assertEqual(sorted({r["noise"] for r in rows}), [0.0, 0.4])
    self.assertLen(rows, 4)  # 2 levels x 2 pairings (the selected rate)
    # config.json repeats the study, and a rerun reads every level back.
    self.assertEqual(
      cfg.load_json(label_noise.Config, workdir / "config.json"),
      result.config,
    )
    logged.clear()
    again = label_noise.run(self.config, workdir=workdir, log=logged.append)
    self.assertEqual(
      [line for line in logged if line.startswith("noise")],
      [
        f"noise {n:g}: finished earlier, read back from {workdir / d}"
        for n, d in ((0, "noise_0"), (0.4, "noise_40"))
      ],
    )
    self.assertEqual(label_noise.summary(again), label_noise.summary(result))
    self.assertEqual(
      label_noise.summary(label_noise.load(workdir)),
      label_noise.summary(result),
    )
    # A level with another config is trained again, not reused.
    changed = self.config.replace(epochs=1, noise_levels=(0.4,))
    logged.clear()
    label_noise.run(changed, workdir=workdir, log=logged.append)
    self.assertIn("noise 0.4: training", logged)

  @pytest.mark.slow  # a whole study: an integration test
  def test_the_time_left_counts_every_group_of_every_level(self):
    # The clean level trains one group; a level with noise drawn per seed
    # trains one per seed, so the timer must count 1 + 2 groups here.
    config = self.config.replace(
      data=toy_source(self.tmp, label_noise_per_seed=True), seeds=(0, 1)
    )
    timers, epoch_timer = [], compare.epoch_timer

    def kept_timer(*configs):
      timers.append(epoch_timer(*configs))
      return timers[-1]

    with mock.patch.object(label_noise.compare, "epoch_timer", kept_timer):
      label_noise.run(config, log=lambda *_: None)
    (timer,) = timers
    self.assertEqual((timer.started, timer.starts), (3, 3))
    self.assertEqual((timer.finished, timer.total), (6, 6))

  @pytest.mark.slow  # a whole study: an integration test
  def test_a_level_killed_while_drawing_is_drawn_on_the_rerun(self):
    # Issue 26: killed while drawing one level's figures, the rerun reported
    # that level "finished earlier" and never drew them.
    workdir = self.tmp / "killed"
    real = compare.compare_figures.plot_grad_norms

    def dies_drawing_the_noisy_level(result, path, *args, **kwargs):
      if path.parent.name == "noise_40":
        raise KeyboardInterrupt
      return real(result, path, *args, **kwargs)

    with (
      mock.patch.object(
        compare.compare_figures,
        "plot_grad_norms",
        side_effect=dies_drawing_the_noisy_level,
      ),
      self.assertRaises(KeyboardInterrupt),
    ):
      label_noise.run(self.config, workdir=workdir, log=lambda *_: None)
    self.assertFalse((workdir / "noise_40" / "grad_norm.png").exists())
    logged = []
    label_noise.run(self.config, workdir=workdir, log=logged.append)
    self.assertIn(
      f"noise 0.4: finished earlier, read back from {workdir / 'noise_40'}",
      logged,
    )
    for name in ("grad_norm.png", "summary.md", "summary.json"):
      self.assertTrue((workdir / "noise_40" / name).is_file(), name)

  def test_bad_configs(self):
    with self.assertRaisesRegex(ValueError, "noise_levels: .*more than once"):
      self.config.replace(noise_levels=(0.2, 0.2))
    with self.assertRaisesRegex(ValueError, r"noise_levels: .*\[0, 1\)"):
      self.config.replace(noise_levels=(0.0, 1.0))
    with self.assertRaisesRegex(ValueError, "--noise_levels"):
      self.config.replace(data=toy_source(self.tmp, label_noise=0.2))


if __name__ == "__main__":
  absltest.main()
