"""Every study in-process with a tiny config, and each CLI once."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from absl.testing import absltest, parameterized

from lossjax import data
from lossjax.studies import (
  compare,
  convexity,
  entropy_floor,
  saturation,
  slowdown,
  softmax_temperature,
)
from tests import datasets

REPO = Path(__file__).resolve().parents[1]
USER = "experiments.user_pairing:"


class StudiesTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))

  def test_slowdown_reproduces_the_seed(self):
    result = slowdown.run(slowdown.Config())
    by = {(r["pairing"], r["w0"]): r["epochs_to_halve"] for r in result.records}
    self.assertEqual(by["sigmoid_mse", 0.0], 47)
    self.assertEqual(by["sigmoid_mse", 2.0], 233)
    self.assertEqual((by["sigmoid_bce", 0.0], by["sigmoid_bce", 2.0]), (10, 17))
    paths = slowdown.write(result, self.tmp)
    self.assertTrue(all(p.is_file() for p in paths))
    config = json.loads((self.tmp / "config.json").read_text())
    self.assertEqual(slowdown.Config(**config), result.config)

  def test_slowdown_rejects_multiclass_and_bad_rates(self):
    with self.assertRaisesRegex(ValueError, "needs a binary pairing"):
      slowdown.Config(pairings=("softmax_nll",))
    with self.assertRaisesRegex(ValueError, "lrs: must be a positive"):
      slowdown.Config(lrs=(float("inf"),))

  def test_user_pairings_run_through_studies(self):
    result = slowdown.run(
      slowdown.Config(
        pairings=("sigmoid_mse", USER + "sigmoid_focal"), epochs=20
      )
    )
    self.assertIn("sigmoid_focal", {r["pairing"] for r in result.records})
    convex = convexity.run(
      convexity.Config(
        pairings=(USER + "sigmoid_focal", USER + "softmax_smoothed"),
        grid_1d=11,
        grid_2d=5,
        random_points=3,
      )
    )
    self.assertIn("1d_sigmoid_focal", convex.summary)
    self.assertIn("multiclass_softmax_smoothed", convex.summary)

  def test_entropy_floor_and_temperature(self):
    floor = entropy_floor.run(entropy_floor.Config(grid=101))
    self.assertLess(floor.summary["max_abs_error"], 1e-12)
    temp = softmax_temperature.run(softmax_temperature.Config(points=5))
    cases = temp.summary["pairings"]["softmax_nll"]["cases"]
    self.assertEqual(cases["tied"]["probs_at_max_scale"], [0.0, 0.5, 0.5, 0.0])

  def test_compare_and_saturation_on_toy_data(self):
    idx = self.tmp / "idx"
    idx.mkdir()
    datasets.write_idx_dataset(idx, n_train=300, n_test=100)
    source = data.DataConfig(
      dataset="toy", data_dir=str(idx), validation_size=50
    )
    config = compare.Config(
      data=source,
      pairings=("softmax_nll", USER + "softmax_smoothed"),
      hidden=((8,),),
      epochs=2,
      seeds=(0, 1),
    )
    result = compare.run(config, workdir=self.tmp / "c", log=lambda *_: None)
    compare.write(result, self.tmp / "c")
    self.assertLen(result.rows, 2 * 2 * 3)
    self.assertEqual(compare.load(self.tmp / "c").config, config)
    sat = saturation.run(
      saturation.Config(data=source, depths=(2,), inits=("large",), epochs=1),
      log=lambda *_: None,
    )
    self.assertLen(sat.rows[-1]["saturated"], 2)


class CliTest(parameterized.TestCase):
  @parameterized.parameters(
    ("slowdown", "--epochs=5"),
    ("entropy_floor", "--grid=11"),
  )
  def test_smoke(self, study, flag):
    workdir = Path(self.enter_context(tempfile.TemporaryDirectory()))
    proc = subprocess.run(
      [
        sys.executable,
        "-m",
        f"experiments.{study}",
        f"--workdir={workdir}",
        flag,
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
      timeout=120,
    )
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    self.assertTrue((workdir / "config.json").is_file())

  @parameterized.parameters(
    ("--workdir=",), ("--lrs=inf",), ("--inits=0,0",), ("--pairings=nope",)
  )
  def test_bad_input_is_one_error_line_and_writes_nothing(self, flag):
    workdir = Path(self.enter_context(tempfile.TemporaryDirectory())) / "w"
    args = [f"--workdir={workdir}", flag] if "workdir" not in flag else [flag]
    proc = subprocess.run(
      [sys.executable, "-m", "experiments.slowdown", *args],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
      timeout=120,
    )
    self.assertEqual(proc.returncode, 2, proc.stderr)
    self.assertLen(
      [x for x in proc.stderr.splitlines() if x.startswith("error:")], 1
    )
    self.assertNotIn("Traceback", proc.stderr)
    self.assertFalse(workdir.exists() and any(workdir.iterdir()))


if __name__ == "__main__":
  absltest.main()
