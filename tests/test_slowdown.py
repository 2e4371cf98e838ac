"""The seed's single-neuron experiment, run at full size (it takes seconds)."""

import json
import subprocess
import sys
import tempfile
from pathlib import Path

from absl.testing import absltest

from experiments import slowdown

REPO = Path(__file__).resolve().parents[1]


def by_start(records, pairing, rule=slowdown.UPDATE_GRADIENT):
  return {
    (r["w0"], r["b0"]): r
    for r in records
    if r["pairing"] == pairing and r["update_rule"] == rule
  }


class SlowdownTest(absltest.TestCase):
  def test_quadratic_crawls_from_saturation_cross_entropy_does_not(self):
    records, curves = slowdown.run_slowdown(slowdown.SlowdownConfig())
    self.assertLen(records, 4)
    self.assertLen(curves, 4 * 301)
    mse = by_start(records, "sigmoid_mse")
    bce = by_start(records, "sigmoid_bce")
    for runs in (mse, bce):
      for record in runs.values():
        self.assertIsNotNone(record["epochs_to_halve"], record)
    mse_ratio = mse[2, 2]["epochs_to_halve"] / mse[0, 0]["epochs_to_halve"]
    bce_ratio = bce[2, 2]["epochs_to_halve"] / bce[0, 0]["epochs_to_halve"]
    self.assertGreaterEqual(mse_ratio, 4.0)
    self.assertLess(bce_ratio, 2.0)
    for start in ((0, 0), (2, 2)):
      self.assertLess(
        bce[start]["epochs_to_halve"], mse[start]["epochs_to_halve"]
      )
    self.assertAlmostEqual(mse[2, 2]["sigma_prime_z0"], 0.0177, places=4)

  def test_book_preset_needs_the_widget_rule(self):
    # At eta = 0.005 the true cross-entropy gradient cannot reproduce the
    # book's fast curves from w=b=2; the widget's dC/da rule does.
    records, _ = slowdown.run_slowdown(slowdown.nielsen_ch3_config())
    correct = by_start(records, "sigmoid_bce")[2, 2]
    widget = by_start(records, "sigmoid_bce", slowdown.UPDATE_WIDGET)[2, 2]
    self.assertIsNone(correct["epochs_to_halve"])
    self.assertGreater(correct["final_output"], 0.5)
    self.assertLess(widget["epochs_to_halve"], 100)
    self.assertLess(widget["final_output"], 0.1)

  def test_epochs_to_halve(self):
    self.assertEqual(slowdown.epochs_to_halve([0.8, 0.6, 0.4, 0.1], 0.0), 2)
    self.assertIsNone(slowdown.epochs_to_halve([0.8, 0.7], 0.0))
    self.assertEqual(slowdown.epochs_to_halve([0.2, 0.6, 0.9], 1.0), 1)

  def test_config_rejects_softmax_and_bad_values(self):
    with self.assertRaisesRegex(ValueError, "softmax of one logit"):
      slowdown.SlowdownConfig(learning_rates={"softmax_nll": (0.1,)})
    with self.assertRaisesRegex(ValueError, "must be > 0"):
      slowdown.SlowdownConfig(learning_rates={"sigmoid_mse": (0.0,)})
    with self.assertRaisesRegex(ValueError, "target y"):
      slowdown.SlowdownConfig(y=2.0)

  def test_command_line_writes_every_output(self):
    workdir = Path(self.enter_context(tempfile.TemporaryDirectory()))
    proc = subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.slowdown",
        f"--workdir={workdir}",
        "--epochs=40",
        "--inits=0,1:2",
        "--lr=0.15,0.5",
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
    )
    self.assertEqual(proc.returncode, 0, proc.stderr)
    summary = json.loads((workdir / "summary.json").read_text())
    self.assertLen(summary, 2 * 2 * 2)
    required = {
      "pairing",
      "w0",
      "b0",
      "lr",
      "epochs",
      "final_output",
      "final_loss",
      "epochs_to_halve",
    }
    for record in summary:
      self.assertContainsSubset(required, record)
    self.assertIn(
      {"w0": 1.0, "b0": 2.0}, [{"w0": r["w0"], "b0": r["b0"]} for r in summary]
    )
    self.assertIn("| sigmoid_bce |", (workdir / "summary.md").read_text())
    png = (workdir / "slowdown.png").read_bytes()
    self.assertTrue(png.startswith(b"\x89PNG"))
    self.assertEqual(
      len((workdir / "curves.csv").read_text().splitlines()), 1 + 8 * 41
    )

  def test_command_line_errors_are_clear(self):
    cases = {
      ("--inits=0,abc",): "each --inits entry must be a number",
      ("--pairings=softmax_nll",): "cannot use softmax",
      ("--preset=nielsen_ch3", "--lr=1"): "sets --lr",
    }
    for args, message in cases.items():
      proc = subprocess.run(
        [
          sys.executable,
          "-m",
          "experiments.slowdown",
          "--workdir=/tmp/x",
          *args,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
      )
      self.assertNotEqual(proc.returncode, 0)
      self.assertIn(message, proc.stderr)
      self.assertNotIn("Traceback", proc.stderr)


if __name__ == "__main__":
  absltest.main()
