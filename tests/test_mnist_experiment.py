"""experiments.mnist end to end on small IDX data, and its error handling."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from absl.testing import absltest

from experiments import mnist
from lossjax import records
from tests import datasets

REPO = Path(__file__).resolve().parents[1]


class MnistExperimentTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    self.data_dir = self.tmp / "idx"
    self.data_dir.mkdir()
    datasets.write_idx_dataset(self.data_dir, n_train=300, n_test=100)

  def test_run_writes_every_output(self):
    workdir = self.tmp / "run"
    config = mnist.MnistConfig(
      dataset="toy",
      data_dir=str(self.data_dir),
      hidden=((8,), (4, 4)),
      epochs=3,
      seeds=(0, 1),
      validation_size=50,
      batch_size=10,
      pairings=("sigmoid_bce", "softmax_nll"),
    )
    rows = mnist.run_mnist(config, workdir, log=lambda *_: None)
    # 2 pairings x 2 architectures x 2 seeds x (epochs + 1).
    self.assertLen(rows, 2 * 2 * 2 * 4)
    self.assertEqual(records.read_jsonl(workdir / "metrics.jsonl"), rows)
    row = rows[-1]
    for key in (
      "pairing",
      "hidden",
      "lr",
      "seed",
      "epoch",
      "train_cost",
      "val_accuracy",
      "test_accuracy",
      "output_slope",
      "output_error",
      "grad_norm",
    ):
      self.assertIn(key, row)
    self.assertLen(row["grad_norm"], 3)  # [784, 4, 4, 10]: three layers
    summary = json.loads((workdir / "summary.json").read_text())
    self.assertLen(summary, 4)
    # The toy data is learnable: every pairing of the wider net ends well
    # above chance (10%); the narrow deep net may still be slow under MSE.
    for entry in summary:
      floor = 50 if entry["hidden"] == "8" else 10
      self.assertGreater(entry["final_test_mean"], floor, entry)
    for name in (
      "config.json",
      "summary.md",
      "accuracy.png",
      "output_error.png",
      "saturation.png",
      "grad_norm.png",
    ):
      self.assertTrue((workdir / name).is_file(), name)
    self.assertIn("| softmax_nll | 4-4 |", (workdir / "summary.md").read_text())
    # The saved configuration round-trips, and the report can be redrawn.
    self.assertEqual(mnist.config_from_json(workdir / "config.json"), config)
    (workdir / "accuracy.png").unlink()
    mnist.report_only(workdir)
    self.assertTrue((workdir / "accuracy.png").is_file())

  def _cli(self, *args):
    return subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.mnist",
        f"--workdir={self.tmp}/w",
        *args,
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
      timeout=300,
    )

  def test_cli_run_and_progress(self):
    proc = self._cli(
      f"--data_dir={self.data_dir}",
      "--dataset=toy",
      "--epochs=2",
      "--pairings=sigmoid_mse,softmax_nll",
      "--lr=3,0.5",
      "--hidden=8",
      "--validation_size=50",
    )
    self.assertEqual(proc.returncode, 0, proc.stderr)
    self.assertIn("[softmax_nll hidden=[8]] epoch 2/2", proc.stdout)
    self.assertIn("| sigmoid_mse | 8 | 3 |", proc.stdout)

  def test_cli_data_errors_are_one_paragraph(self):
    corrupt = self.tmp / "corrupt"
    corrupt.mkdir()
    datasets.write_idx_dataset(corrupt)
    path = corrupt / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:300])
    for data_dir, message in (
      (self.tmp / "missing", "does not exist"),
      (corrupt, "damaged or truncated"),
    ):
      proc = self._cli(f"--data_dir={data_dir}")
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)
      error_lines = [
        line for line in proc.stderr.splitlines() if line.startswith("error:")
      ]
      self.assertLen(error_lines, 1)

  def test_cli_flag_errors(self):
    for args, message in (
      (["--lr=1,2,3", "--pairings=sigmoid_mse,sigmoid_bce"], "3 values for 2"),
      (["--hidden=30x0"], "--hidden must be"),
      (["--preset=nielsen", "--epochs=2"], "sets --epochs"),
      (["--init=xavier"], "--init"),
    ):
      proc = self._cli(f"--data_dir={self.data_dir}", *args)
      self.assertNotEqual(proc.returncode, 0, args)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  absltest.main()
