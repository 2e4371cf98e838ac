"""The README's numbers come from the committed code, not an older version.

Quick studies are rerun and compared with their committed summaries; the
training studies (minutes each) are re-summarised from their committed
per-epoch metrics. The README's result blocks must equal the committed
tables.
"""

import csv
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

import chex
import numpy as np
import pytest
from absl.testing import absltest, parameterized

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.datasets import data
from lossjax.metrics import calibration
from lossjax.output import records, results
from lossjax.studies import (
  benchmark,
  compare,
  convexity,
  entropy_floor,
  label_noise,
  run_times,
  saturation,
  slowdown,
  softmax_temperature,
)
from tests import pages
from tests.test_figures import assert_same_figures

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
README = pages.all_text()  # the front page and docs/


def readme_block(name: str) -> str:
  """A result block, from whichever page (README.md or docs/) has it."""
  return pages.block(name)


def committed(name: str, file: str):
  return json.loads((RESULTS / name / file).read_text())


def table_of(name: str) -> str:
  """A comparison's result block: its summary.md from the first table up to
  its next section (calibration, label noise: a page of their own quotes
  them, and a page's headings are its own)."""
  text = (RESULTS / name / "summary.md").read_text()
  text = text[text.index("| pairing") :]
  end = text.find("\n## ")
  return text if end < 0 else text[: end + 1]


class SlowdownResultsTest(parameterized.TestCase):
  @parameterized.parameters("slowdown", "slowdown_nielsen_ch3")
  def test_committed_run_is_a_fresh_run(self, name):
    # The README's command, replayed from the committed config.json in a
    # process of its own with XLA's default flags (the suite compiles at
    # optimisation level 0, which moves float32 results by round-off), must
    # write the committed records and table bit for bit.
    config = cfg.load_json(slowdown.Config, RESULTS / name / "config.json")
    workdir = Path(self.enter_context(tempfile.TemporaryDirectory()))
    proc = subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.slowdown",
        f"--config={RESULTS / name / 'config.json'}",
        f"--workdir={workdir}",
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
      env={
        **os.environ,
        "XLA_FLAGS": os.environ["LOSSJAX_TEST_DEFAULT_XLA_FLAGS"],
      },
    )
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    self.assertEqual(
      json.loads((workdir / "summary.json").read_text()),
      committed(name, "summary.json"),
    )
    self.assertEqual(readme_block(name), table_of(name))
    self.assertEqual(
      (workdir / "summary.md").read_text(),
      (RESULTS / name / "summary.md").read_text(),
    )
    preset = {
      "slowdown": {},
      "slowdown_nielsen_ch3": slowdown.PRESETS["nielsen_ch3"],
    }
    self.assertEqual(config, slowdown.Config(**preset[name]))
    assert_same_figures(self, workdir, RESULTS / name)


class RecordsReplayTest(absltest.TestCase):
  def test_no_committed_record_names_a_machines_path(self):
    # Issue 29: 16 records held the absolute data path of the machine that
    # ran them; a record now names the data (found by name, checked by md5).
    paths = []
    for path in sorted(RESULTS.rglob("config.json")):
      text = path.read_text()
      if '"data_dir": "' in text or "/work/" in text or "shared/data" in text:
        paths.append(str(path.relative_to(REPO)))
    self.assertEqual(paths, [])

  @pytest.mark.slow  # a subprocess trains one small epoch
  def test_a_committed_record_replays_with_the_data_elsewhere(self):
    # The record's data found in another directory (a copy of the official
    # files under another name), as on another machine.
    source = data.find_offline_copy("mnist")
    if source is None:
      self.skipTest("no offline MNIST ($LOSSJAX_DATA_DIR or ../shared/data)")
    elsewhere = Path(self.enter_context(tempfile.TemporaryDirectory()))
    (elsewhere / "mnist").mkdir()
    for f in source.iterdir():
      (elsewhere / "mnist" / f.name).symlink_to(f.resolve())
    workdir = elsewhere / "replay"
    proc = subprocess.run(
      [
        sys.executable,
        "-m",
        "experiments.mnist",
        f"--config={RESULTS / 'mnist_pairings' / 'config.json'}",
        "--epochs=1",
        "--train_size=500",
        "--eval_size=200",
        "--seeds=0",
        f"--workdir={workdir}",
      ],
      cwd=REPO,
      capture_output=True,
      text=True,
      check=False,
      env={**os.environ, "LOSSJAX_DATA_DIR": str(elsewhere)},
    )
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    replayed = results.read_json(workdir / "config.json")
    self.assertIsNone(replayed["config"]["data"]["data_dir"])
    self.assertIn("500 train", replayed["data"])


class QuickStudiesResultsTest(absltest.TestCase):
  def test_softmax_temperature(self):
    name = "softmax_temperature"
    config = cfg.load_json(
      softmax_temperature.Config, RESULTS / name / "config.json"
    )
    fresh = softmax_temperature.run(config)
    self.assertEqual(
      json.loads(json.dumps(fresh.summary.to_json())),
      committed(name, "summary.json"),
    )
    self.assert_drawn_as_committed(name, softmax_temperature.write, fresh)

  def assert_drawn_as_committed(self, name, write, result):
    workdir = Path(self.enter_context(tempfile.TemporaryDirectory()))
    write(result, workdir)
    assert_same_figures(self, workdir, RESULTS / name)

  def test_entropy_floor(self):
    name = "entropy_floor"
    config = cfg.load_json(entropy_floor.Config, RESULTS / name / "config.json")
    result = entropy_floor.run(config)
    fresh = result.summary.to_json()
    self.assert_drawn_as_committed(name, entropy_floor.write, result)
    saved = committed(name, "summary.json")
    chex.assert_trees_all_close(
      [r["min_cost_descent"] for r in fresh["rows"]],
      [r["min_cost_descent"] for r in saved["rows"]],
      rtol=1e-12,
    )

  @pytest.mark.slow  # about 15 s: the full-size float64 Hessians
  def test_convexity(self):
    name = "convexity"
    config = cfg.load_json(convexity.Config, RESULTS / name / "config.json")
    result = convexity.run(config)
    self.assert_drawn_as_committed(name, convexity.write, result)
    fresh = json.loads(json.dumps(result.summary.to_json()))
    saved = committed(name, "summary.json")
    self.assertEqual(saved.pop("settings"), config.to_json())
    self.assertEqual(fresh.pop("dtype"), saved.pop("dtype"))
    self.assertEqual(fresh.keys(), saved.keys())
    # Eigenvalues that are zero up to round-off may differ in the last bits.
    chex.assert_trees_all_close(fresh, saved, rtol=1e-9, atol=1e-14)


class TrainingResultsTest(parameterized.TestCase):
  """Training takes minutes, so the committed metrics are re-summarised."""

  @parameterized.parameters(
    "mnist_pairings",
    "mnist_nielsen",
    "mnist_square_loss",
    "mnist_relu_large",
    "mnist_relu_normalized",
    "mnist_multilabel",
    "fashion_mnist_pairings",
    "fashion_mnist_nielsen",
    "fashion_mnist_square_loss",
  )
  def test_comparison_summary_follows_from_its_metrics(self, name):
    result = compare.load(RESULTS / name)
    c = result.config
    runs = (
      len(c.seeds)
      * len(c.hidden)
      * sum(len(config_fields.lrs_for(c.lrs, p)) for p in c.pairings)
    )
    self.assertLen(result.rows, runs * (c.epochs + 1))
    self.assertEqual(result.summary.to_json(), committed(name, "summary.json"))
    self.assertEqual(
      compare.summary(result), (RESULTS / name / "summary.md").read_text()
    )
    self.assertEqual(readme_block(name), table_of(name))
    self.assertTrue((RESULTS / name / "accuracy.png").is_file())
    # One selected rate per (pairing, architecture), chosen on validation.
    summary = committed(name, "summary.json")
    groups = {(r["pairing"], r["hidden"]) for r in summary}
    selected = [(r["pairing"], r["hidden"]) for r in summary if r["selected"]]
    self.assertCountEqual(selected, groups)

  @parameterized.parameters(
    ("mnist_pairings", "pairings", {}),
    ("mnist_nielsen", "nielsen", {}),
    ("mnist_square_loss", "square_loss", {}),
    ("mnist_relu_large", "relu", {}),
    ("mnist_relu_normalized", "relu", {"init": "normalized"}),
    ("mnist_multilabel", "multilabel", {}),
    ("fashion_mnist_pairings", "pairings", {}),
    ("fashion_mnist_nielsen", "nielsen", {"seeds": (0,)}),
    ("fashion_mnist_square_loss", "square_loss", {"seeds": (0, 1, 2)}),
  )
  def test_the_readme_command_repeats_the_run(self, name, preset, flags):
    # The README runs each study as --preset=<preset> (plus --dataset for
    # Fashion-MNIST); the committed config is that preset's.
    saved = cfg.from_json(
      compare.Config, committed(name, "config.json")["config"]
    )
    expected = compare.Config(
      **{**compare.PRESETS[preset], **flags, "data": saved.data}
    )
    self.assertEqual(saved, expected)
    # Found by the dataset's name, as the README's command finds it.
    self.assertIsNone(saved.data.data_dir)
    expected_name = "fashion_mnist" if name.startswith("fashion") else "mnist"
    self.assertEqual(saved.data.dataset, expected_name)

  def test_the_books_table_is_on_full_mnist_with_ten_seeds(self):
    saved = results.read_json(RESULTS / "mnist_nielsen" / "config.json")
    self.assertEqual(
      cfg.from_json(compare.Config, saved["config"]),
      compare.Config(data=data.DataConfig(), **compare.PRESETS["nielsen"]),
    )
    self.assertIn("50000 train, 10000 validation, 10000 test", saved["data"])
    summary = committed("mnist_nielsen", "summary.json")
    self.assertEqual(
      sorted(r["book_test_accuracy"] for r in summary),
      [95.42, 95.49, 96.59, 96.82],
    )
    for row in summary:
      self.assertEqual(row["seeds"], 10)
      self.assertLen(row["stalled_seeds_final"], row["stalled_final"])
    table = (RESULTS / "mnist_nielsen" / "summary.md").read_text()
    self.assertIn("final: stalled", table)
    for figure in ("seeds.png", "stalled.png"):
      self.assertTrue((RESULTS / "mnist_nielsen" / figure).is_file())

  def test_label_noise_study_follows_from_its_levels(self):
    workdir = RESULTS / "mnist_label_noise"
    result = label_noise.load(workdir)
    self.assertEqual(
      result.config,
      label_noise.Config(
        **{**label_noise.PRESETS["mnist"], "data": result.config.data}
      ),
    )
    self.assertEqual(
      label_noise.summary(result), (workdir / "summary.md").read_text()
    )
    self.assertEqual(
      label_noise.summary_rows(result),
      committed("mnist_label_noise", "summary.json"),
    )
    for noise, level in result.levels.items():
      c = level.config
      runs = len(c.seeds) * sum(
        len(config_fields.lrs_for(c.lrs, p)) for p in c.pairings
      )
      self.assertLen(level.rows, runs * (c.epochs + 1))
      self.assertEqual(c.data.label_noise, noise)
      sub = label_noise.level_dir(workdir, noise)
      self.assertEqual(compare.summary(level), (sub / "summary.md").read_text())
    # The README's two sections quote the study's two parts.
    text = (workdir / "summary.md").read_text()
    calibration_part, noise_part = text.split("## What if labels are wrong?")
    self.assertEqual(
      readme_block("mnist_label_noise_calibration"),
      calibration_part[calibration_part.index("| pairing") :].rstrip() + "\n",
    )
    self.assertEqual(
      readme_block("mnist_label_noise_noise"),
      noise_part[noise_part.index("| pairing") :],
    )
    # The clean level's ECE and Brier follow from its committed probabilities.
    clean = compare.load(label_noise.level_dir(workdir, 0.0))
    labels = clean.test_labels
    for row in clean.summary.rows:
      if not row.selected:
        continue
      probabilities = [
        p
        for key, (_, p) in clean.test_probabilities.items()
        if (key[0], key[2]) == (row.pairing, row.lr)
      ]
      seeds = len(clean.config.seeds)
      self.assertLen(probabilities, seeds)
      for metric, fn in (
        ("test_ece", calibration.expected_calibration_error),
        ("test_brier", calibration.brier_score),
      ):
        chex.assert_trees_all_close(
          sum(float(fn(p, labels)) for p in probabilities) / seeds,
          getattr(row.calibration, metric).at_best_val.mean,
          rtol=1e-5,
        )

  def test_pair_noise_study_follows_from_its_level(self):
    # Issue 27: the label-noise study with pair-flip noise (c -> c + 1).
    workdir = RESULTS / "mnist_label_noise_pair"
    result = label_noise.load(workdir)
    self.assertEqual(result.config.data.label_noise_kind, "pair")
    self.assertEqual(
      result.config,
      label_noise.Config(
        **{
          **label_noise.PRESETS["mnist"],
          "noise_levels": (0.4,),
          "data": result.config.data,
        }
      ),
    )
    text = label_noise.summary(result)
    self.assertEqual(text, (workdir / "summary.md").read_text())
    self.assertEqual(
      label_noise.summary_rows(result),
      committed("mnist_label_noise_pair", "summary.json"),
    )
    noise_part = text.split("## What if labels are wrong?")[1]
    self.assertEqual(
      readme_block("mnist_label_noise_pair_noise"),
      noise_part[noise_part.index("| pairing") :],
    )

  def test_every_saved_probability_file_gives_the_reported_accuracy(self):
    # Issue 27: one prediction, one probability. Run by run, the accuracy
    # recomputed from the committed test probabilities (their most probable
    # class) is the accuracy the study recorded at that epoch.
    files = sorted(RESULTS.rglob("test_probabilities.npz"))
    self.assertNotEmpty(files)
    for path in files:
      rows = {
        (r["pairing"], tuple(r["hidden"]), r["lr"], r["seed"], r["epoch"]): r
        for r in records.read_jsonl(path.parent / "metrics.jsonl")
      }
      probabilities, labels = compare.calibration_report.read_probabilities(
        path
      )
      for key, (epoch, p) in probabilities.items():
        with self.subTest(f"{path.parent.relative_to(RESULTS)} {key}"):
          recomputed = float(np.mean(np.argmax(p, axis=1) == labels))
          self.assertAlmostEqual(
            recomputed, rows[(*key, epoch)]["test_accuracy"], places=6
          )

  def test_multilabel_study_supports_the_readme(self):
    rows = {
      r["pairing"]: r
      for r in committed("mnist_multilabel", "summary.json")
      if r["selected"]
    }
    independent = ("sigmoid_bce", "sigmoid_mse", "identity_mse")
    softmax = ("softmax_nll", "softmax_mse")

    def worst_and_best(names, key):
      values = [rows[n][key] for n in names]
      return min(values), max(values)

    for key, gap in (
      ("test_exact_set_accuracy_at_best_val_mean", 0.10),
      ("test_exact_set_accuracy_3_labels_at_best_val_mean", 0.18),
    ):
      lowest_independent, _ = worst_and_best(independent, key)
      _, best_softmax = worst_and_best(softmax, key)
      self.assertGreater(lowest_independent - best_softmax, gap, key)
    with np.load(RESULTS / "mnist_multilabel" / "multilabel_test.npz") as saved:
      self.assertEqual(saved["source_indices"].shape, (10_000, 3))
      self.assertEqual(saved["targets"].shape, (10_000, 10))

  def test_saturation_summary_follows_from_its_metrics(self):
    workdir = RESULTS / "saturation"
    rows = records.read_jsonl(workdir / "metrics.jsonl")
    summary = committed("saturation", "summary.json")
    self.assertEqual(saturation.summarize(rows), summary)
    self.assertLen(
      summary, 5 * 3 * 2 * 2
    )  # depths, activations, inits, pairings
    # The README: in sigmoid networks the first hidden layer learns slower at
    # every depth >= 2; in tanh networks the ratio is near 1.
    for row in summary:
      if row["depth"] >= 2 and row["hidden_activation"] == "sigmoid":
        self.assertLess(row["epoch1_first_over_last"], 1.0, row)
    tanh = [
      r["epoch1_first_over_last"]
      for r in summary
      if r["depth"] >= 2 and r["hidden_activation"] == "tanh"
    ]
    self.assertLen([v for v in tanh if 0.8 < v < 1.4], len(tanh) - 1)

  def test_neuron_sweep_shows_the_slowdown(self):
    with (RESULTS / "sweep_neuron" / "summary.csv").open() as f:
      rows = {
        (r["pairing"], float(r["init_scale"]), float(r["lr"])): r
        for r in csv.DictReader(f)
      }
    self.assertLen(rows, 2 * 9 * 6)
    epochs = {
      key: int(r["epochs_to_target"]) if r["epochs_to_target"] else None
      for key, r in rows.items()
    }
    # The README's sentence: at eta = 0.3, 118 / 234 / never for the
    # quadratic cost from w=b=0 / 2 / 2.5, and 17 to 31 epochs for
    # cross-entropy.
    self.assertEqual(epochs["sigmoid_mse", 0.0, 0.3], 118)
    self.assertEqual(epochs["sigmoid_mse", 2.0, 0.3], 234)
    self.assertIsNone(epochs["sigmoid_mse", 2.5, 0.3])
    self.assertEqual(epochs["sigmoid_bce", 0.0, 0.3], 17)
    self.assertEqual(epochs["sigmoid_bce", 4.0, 0.3], 31)
    # Issue 28: on one quantity (|a - y|) cross-entropy is at least as fast
    # as the quadratic cost at every rate where both get there.
    both = 0
    for (pairing, scale, lr), count in epochs.items():
      if pairing == "sigmoid_mse" and count is not None:
        quicker = epochs["sigmoid_bce", scale, lr]
        self.assertIsNotNone(quicker, (scale, lr))
        self.assertLessEqual(quicker, count, (scale, lr))
        both += 1
    self.assertGreater(both, 10)

  def test_benchmark_table_is_the_committed_one(self):
    record = committed("benchmark", "benchmark.json")
    self.assertEqual(readme_block("benchmark"), record["table"])
    self.assertEqual(benchmark.summary(record), record["table"])
    self.assertGreater(record["matmul_gflops"], 0)

  def test_the_run_times_are_read_from_every_studys_folder(self):
    # Issue 25: the README's run times come from the studies' records.
    table = run_times.table(RESULTS)
    self.assertEqual((RESULTS / "claims" / "run_times.md").read_text(), table)
    self.assertEqual(readme_block("run_times"), table)
    self.assertNotIn("not measured", table)

  def test_report_is_linked_and_present(self):
    self.assertIn("experiments/results/report/report.md)", README)
    text = (RESULTS / "report" / "report.md").read_text()
    self.assertLen(re.findall(r"\n## ", text), 13)


if __name__ == "__main__":
  absltest.main()
