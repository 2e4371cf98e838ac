"""The pairing comparison on data, in-process on a small learnable dataset."""

import json
import tempfile
from pathlib import Path
from unittest import mock

import jax
import numpy as np
import pytest
from absl.testing import absltest

from lossjax.datasets import data
from lossjax.datasets.data import DataError
from lossjax.metrics import calibration
from lossjax.output import records
from lossjax.studies import compare, compare_summary
from tests import datasets

USER = "experiments.user_pairing:"


def toy_source(tmp: Path, **changes) -> data.DataConfig:
  idx = tmp / "idx"
  if not idx.exists():
    idx.mkdir()
    datasets.write_idx_dataset(idx, n_train=300, n_test=100)
  return data.DataConfig(
    dataset="toy", data_dir=str(idx), validation_size=50, **changes
  )


class CompareTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))

  def test_run_write_and_load(self):
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("softmax_nll", USER + "softmax_poly1"),
      hidden=((8,),),
      epochs=2,
      seeds=(0, 1),
    )
    workdir = self.tmp / "run"
    result = compare.run(config, workdir=workdir, log=lambda *_: None)
    paths = compare.write(result, workdir)
    self.assertLen(result.rows, 2 * 2 * 3)  # pairings x seeds x (epochs + 1)
    self.assertLen(records.read_jsonl(workdir / "metrics.jsonl"), 12)
    for name in ("summary.md", "accuracy.png", "grad_norm.png", "seeds.png"):
      self.assertIn(workdir / name, paths)
    # Two seeds: the spread table, with each pairing's stall count.
    text = (workdir / "summary.md").read_text()
    self.assertIn("| final: stalled |", text)
    self.assertRegex(text, r"\| softmax_poly1 \| 8 \| 0.5 \| - \| 2 \|")
    self.assertTrue((workdir / "config.json").is_file())
    summary = json.loads((workdir / "summary.json").read_text())
    self.assertEqual(
      [row["pairing"] for row in summary], ["softmax_nll", "softmax_poly1"]
    )
    self.assertTrue(all(row["seeds"] == 2 for row in summary))
    loaded = compare.load(workdir)
    self.assertEqual(loaded.config, config)
    self.assertEqual(loaded.summary, result.summary)

  @pytest.mark.slow  # a whole study: an integration test
  def test_calibration_and_label_noise_outputs(self):
    config = compare.Config(
      data=toy_source(self.tmp, label_noise=0.4),
      pairings=("sigmoid_mse", "softmax_nll"),
      lrs=(("sigmoid_mse", 1.0), ("sigmoid_mse", 3.0), ("softmax_nll", 0.5)),
      hidden=((8,),),
      epochs=2,
      seeds=(0, 1),
    )
    workdir = self.tmp / "noisy"
    result = compare.run(config, workdir=workdir, log=lambda *_: None)
    names = {p.name for p in compare.write(result, workdir)}
    for name in (
      "ece.png",
      "memorised.png",
      "reliability.png",
      "test_probabilities.npz",
    ):
      self.assertIn(name, names)
    for row in result.rows:
      for key in ("val_ece", "test_ece", "val_nll", "test_brier", "memorised"):
        self.assertIsNotNone(row[key], key)
    # Temperatures at the selected and the last epoch of every run (3 x 2).
    self.assertLen(records.read_jsonl(workdir / "temperature.jsonl"), 12)
    summary = json.loads((workdir / "summary.json").read_text())
    selected = [r for r in summary if r["selected"]]
    self.assertLen(selected, 2)
    for row in selected:
      self.assertTrue(any("ece" in k and row[k] is not None for k in row))
      self.assertTrue(any("brier" in k and row[k] is not None for k in row))
    # The summary's ECE and Brier are recomputable from the .npz.
    with np.load(workdir / "test_probabilities.npz") as saved:
      self.assertEqual(saved["probabilities"].shape, (4, 100, 10))
      self.assertEqual(
        list(saved["pairings"]), ["sigmoid_mse"] * 2 + ["softmax_nll"] * 2
      )
      for row in selected:
        mine = saved["pairings"] == row["pairing"]
        self.assertTrue(np.all(saved["lrs"][mine] == row["lr"]))
        p, labels = saved["probabilities"][mine], saved["labels"]
        eces = [calibration.expected_calibration_error(q, labels) for q in p]
        briers = [calibration.brier_score(q, labels) for q in p]
        self.assertAlmostEqual(
          float(np.mean(eces)), row["test_ece_at_best_val_mean"], places=5
        )
        self.assertAlmostEqual(
          float(np.mean(briers)), row["test_brier_at_best_val_mean"], places=5
        )
        scaled = [
          calibration.brier_score(calibration.temperature_scale(q, t), labels)
          for q, t in zip(p, saved["temperatures"][mine], strict=True)
        ]
        self.assertAlmostEqual(
          float(np.mean(scaled)),
          row["test_brier_scaled_at_best_val_mean"],
          places=4,
        )
    text = (workdir / "summary.md").read_text()
    self.assertIn("## Are the outputs probabilities?", text)
    self.assertIn("## What if labels are wrong?", text)
    self.assertIn("40% of training and validation labels corrupted", text)
    # --report_only rebuilds the same summary from the files.
    loaded = compare.load(workdir)
    self.assertEqual(loaded.summary, result.summary)
    self.assertIn(
      "reliability.png", {p.name for p in compare.write(loaded, workdir)}
    )

  @pytest.mark.slow  # a whole study: an integration test
  def test_multilabel_outputs(self):
    # The acceptance command, scaled to the toy data.
    config = compare.Config(
      data=toy_source(self.tmp, multilabel=3),
      pairings=("sigmoid_bce", "softmax_nll"),
      lrs=(0.5,),
      hidden=((16,),),
      epochs=2,
    )
    workdir = self.tmp / "multilabel"
    result = compare.run(config, workdir=workdir, log=lambda *_: None)
    names = {p.name for p in compare.write(result, workdir)}
    self.assertIn("label_count.png", names)
    self.assertIn("multilabel_test.npz", names)
    self.assertNotIn("reliability.png", names)  # calibration needs one label
    # The summary names the file it wrote (it once printed "{TEST_FILE}").
    self.assertIn(
      "`multilabel_test.npz` holds", (workdir / "summary.md").read_text()
    )
    for row in result.rows:
      for key in ("test_exact_set_accuracy", "test_micro_f1", "threshold"):
        self.assertIsNotNone(row[key], key)
    summary = json.loads((workdir / "summary.json").read_text())
    for row in summary:
      for key in (
        "test_exact_set_accuracy_at_best_val_mean",
        "test_micro_f1_at_best_val_mean",
        "test_macro_f1_at_best_val_mean",
        "test_average_precision_at_best_val_mean",
        "threshold_at_best_val_mean",
        "test_exact_set_accuracy_1_labels_at_best_val_mean",
        "test_exact_set_accuracy_3_labels_at_best_val_mean",
      ):
        self.assertIsNotNone(row[key], key)
      self.assertNotIn("test_exact_set_accuracy_4_labels_at_best_val_mean", row)
    with np.load(workdir / "multilabel_test.npz") as saved:
      self.assertEqual(saved["source_indices"].shape, (100, 3))
      self.assertEqual(saved["targets"].shape, (100, 10))
      # The targets are the union of the source labels.
      test_labels = toy_source(self.tmp).load().test.labels
      for index, target in zip(
        saved["source_indices"], saved["targets"], strict=True
      ):
        self.assertEqual(
          set(np.flatnonzero(target)), set(test_labels[index[index >= 0]])
        )
    text = (workdir / "summary.md").read_text()
    self.assertIn("**Exclusive or independent classes?**", text)
    self.assertIn("exact-set % (3 labels)", text)
    loaded = compare.load(workdir)
    self.assertEqual(loaded.summary, result.summary)
    self.assertIn(
      "label_count.png", {p.name for p in compare.write(loaded, workdir)}
    )

  def test_summarised_once_for_every_writer(self):
    # Issue 20: a comparison summarised itself once per group and 2 more
    # times at the end (write, summary and the per-group writes).
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("softmax_nll",),
      hidden=((8,),),
      lrs=(0.1, 0.5),
      epochs=1,
      seeds=(0, 1),
    )
    calls = []
    real = compare_summary.summarize
    with mock.patch.object(
      compare_summary,
      "summarize",
      side_effect=lambda r: calls.append(1) or real(r),
    ):
      workdir = self.tmp / "once"
      result = compare.run(config, workdir=workdir, log=lambda *_: None)
      self.assertEqual(calls, [])  # training summarises nothing
      paths = compare.write(result, workdir)
      compare.summary(result)
    self.assertLen(calls, 1)
    self.assertIn(workdir / "lr_tuning.png", paths)

  def run_killed(self, config, workdir, killed):
    """``compare.run`` with each group trained by ``killed(train_group,
    group, runs, data, **options)``, which raises ``KeyboardInterrupt``
    where the kill comes."""
    real = compare.classify.train_group
    with (
      mock.patch.object(
        compare.classify,
        "train_group",
        side_effect=lambda *args, **options: killed(real, *args, **options),
      ),
      self.assertRaises(KeyboardInterrupt),
    ):
      compare.run(config, workdir=workdir, log=lambda *_: None)

  def test_a_kill_keeps_every_finished_runs_probabilities(self):
    # Without the per-group summaries, what a killed run finished is still
    # on disk: metrics.jsonl, temperature.jsonl and the probabilities. (A
    # group is an architecture, with every pairing: the kill comes in the
    # second architecture's.)
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("sigmoid_mse", "softmax_nll"),
      hidden=((8,), (5,)),
      epochs=1,
    )
    workdir = self.tmp / "killed"
    groups = []

    def second_group_dies(real, group, runs, data, **options):
      groups.append(group)
      if len(groups) == 2:
        raise KeyboardInterrupt
      yield from real(group, runs, data, **options)

    self.run_killed(config, workdir, second_group_dies)
    loaded = compare.load(workdir)
    self.assertEqual({tuple(r["hidden"]) for r in loaded.rows}, {(8,)})
    self.assertEqual(
      {r["pairing"] for r in loaded.rows}, {"sigmoid_mse", "softmax_nll"}
    )
    self.assertEqual(
      {key[:2] for key in loaded.test_probabilities},
      {("sigmoid_mse", (8,)), ("softmax_nll", (8,))},
    )
    names = {p.name for p in compare.write(loaded, workdir)}
    self.assertIn("reliability.png", names)

  def test_the_same_run_after_a_kill_trains_only_what_did_not_finish(self):
    # Issue 26: rerunning the same command after a kill restarted from
    # scratch (and a second kill lost groups that had finished). Killed in
    # the second architecture's group after its first epoch, the rerun reads
    # the first group back, retrains the second, and ends with what an
    # uninterrupted run computes.
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("sigmoid_mse", "softmax_nll"),
      hidden=((8,), (5,)),
      epochs=2,
    )
    whole = compare.run(config, workdir=self.tmp / "whole", log=lambda *_: None)
    workdir = self.tmp / "killed"
    groups = []

    def dies_in_the_second_group(real, group, runs, data, **options):
      groups.append(group)
      epochs = real(group, runs, data, **options)
      if len(groups) == 2:
        yield next(epochs)
        raise KeyboardInterrupt
      yield from epochs

    self.run_killed(config, workdir, dies_in_the_second_group)
    trained, logged = [], []
    real = compare.classify.train_group

    def recording(group, runs, data, **options):
      trained.append(group.hidden)
      return real(group, runs, data, **options)

    with mock.patch.object(
      compare.classify, "train_group", side_effect=recording
    ):
      resumed = compare.run(config, workdir=workdir, log=logged.append)
    self.assertEqual(trained, [(5,)])
    self.assertIn(
      f"sigmoid_mse,softmax_nll hidden=[8]: finished earlier, read back "
      f"from {workdir}",
      logged,
    )

    def key(r):
      return (r["hidden"], r["pairing"], r["lr"], r["seed"], r["epoch"])

    self.assertEqual(sorted(resumed.rows, key=key), sorted(whole.rows, key=key))
    self.assertEqual(
      sorted(records.read_jsonl(workdir / "metrics.jsonl"), key=key),
      sorted(whole.rows, key=key),
    )
    self.assertEqual(
      sorted(resumed.test_probabilities), sorted(whole.test_probabilities)
    )
    self.assertEqual(compare.summary(resumed), compare.summary(whole))

  def test_a_folder_of_another_config_is_not_read_back(self):
    # A library call into a folder of another run starts anew (the command
    # line refuses it before: lossjax.output.run_folder).
    config = compare.Config(
      data=toy_source(self.tmp), pairings=("softmax_nll",), hidden=((5,),)
    )
    workdir = self.tmp / "other"
    compare.run(config.replace(epochs=1), workdir=workdir, log=lambda *_: None)
    self.assertEqual(
      compare.finished_groups(workdir, config, config.groups()), {}
    )
    self.assertTrue(compare.finished(workdir, config.replace(epochs=1)))

  def test_a_network_too_large_for_memory_is_refused_before_writing(self):
    # Issue 26: an Out of memory traceback and a partial folder.
    config = compare.Config(
      data=toy_source(self.tmp), pairings=("softmax_nll",), hidden=((5,),)
    )
    dataset = config.data.load()
    with self.assertRaisesRegex(
      ValueError,
      r"Training 1 networks of layer sizes \[784, 5, 10\] \(3,985 parameters "
      r"each\) together needs about .* GiB of memory, and the device .* has "
      r"about 0\.0 GiB free\. Give narrower or fewer --hidden layers",
    ):
      compare.classify.check_memory(config.groups(), dataset, available=1000)
    compare.classify.check_memory(config.groups(), dataset, available=2**30)
    huge = config.replace(hidden=((100_000, 100_000, 100_000),))
    workdir = self.tmp / "huge"
    with self.assertRaisesRegex(ValueError, "needs about [0-9.]+ GiB"):
      compare.run(huge, workdir=workdir, log=lambda *_: None)
    self.assertFalse(workdir.exists())

  def test_an_interrupted_group_is_unfinished_not_diverged(self):
    # Issue 26: --report_only of a run killed after epoch 0 said
    # "(diverged 1/1)" (epoch 0 has no training cost).
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("softmax_nll",),
      hidden=((8,),),
      epochs=3,
    )
    workdir = self.tmp / "interrupted"

    def dies_after_epoch_0(real, group, runs, data, **options):
      yield next(real(group, runs, data, **options))
      raise KeyboardInterrupt

    self.run_killed(config, workdir, dies_after_epoch_0)
    loaded = compare.load(workdir)
    (row,) = loaded.summary.rows
    self.assertEqual((row.unfinished_seeds, row.diverged_seeds), (1, 0))
    text = compare.summary(loaded)
    self.assertIn("softmax_nll (unfinished 1/1: trained to epoch 0)", text)
    self.assertNotIn("diverged", text)

  def test_non_finite_gradient_norms_are_drawn_as_gaps(self):
    # Issue 20: adam at lr 1e38 records null gradient norms, which crashed
    # plot_grad_norms with a TypeError.
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("sigmoid_mse",),
      lrs=(1e38,),
      optimizer="adam",
      hidden=((8,),),
      epochs=1,
    )
    workdir = self.tmp / "adam"
    result = compare.run(config, workdir=workdir, log=lambda *_: None)
    last = result.rows[-1]
    self.assertIsNone(last["grad_norm"][0])
    paths = compare.write(result, workdir)
    self.assertIn(workdir / "grad_norm.png", paths)
    self.assertIn("(diverged 1/1)", compare.summary(result))

  def test_progress_lines_show_validation_and_time_left(self):
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("softmax_nll",),
      hidden=((8,),),
      epochs=2,
    )
    lines = []
    jax.clear_caches()  # so that this run compiles its programs
    compare.run(config, log=lines.append)
    epochs = [line for line in lines if "] epoch " in line]
    self.assertLen(epochs, 3)
    for line in epochs:
      self.assertIn("val acc", line)
      self.assertNotIn("test acc", line)
      self.assertRegex(line, r"about \d+s left\)$")
    self.assertIn("compile", epochs[1])  # the first training epoch compiles
    self.assertNotIn("compile", epochs[2])  # the second reuses the program

  def test_each_seed_trains_on_its_own_draw_of_label_noise(self):
    # Issue 27: the noise draw varies with the seed. Seed s of a run with
    # --label_noise_per_seed is the run of seed s alone on draw 5 + s.
    noisy = toy_source(self.tmp, label_noise=0.4, label_noise_seed=5)
    config = compare.Config(
      data=noisy.replace(label_noise_per_seed=True),
      pairings=("sigmoid_mse", "softmax_nll"),
      lrs=(("sigmoid_mse", 1.0), ("softmax_nll", 0.3)),
      hidden=((8,),),
      epochs=1,
      seeds=(0, 1),
    )
    # One group per seed (its own data); without the option, one group.
    self.assertEqual(
      [sorted({r.seed for r in runs}) for _, runs in config.groups()],
      [[0], [1]],
    )
    self.assertLen(config.replace(data=noisy).groups(), 1)
    rows = compare.run(config, log=lambda *_: None).rows
    for seed in (0, 1):
      alone = compare.run(
        config.replace(
          data=noisy.replace(label_noise_seed=5 + seed), seeds=(seed,)
        ),
        log=lambda *_: None,
      ).rows
      mine = [r for r in rows if r["seed"] == seed]
      self.assertEqual(
        [(r["pairing"], r["epoch"]) for r in mine],
        [(r["pairing"], r["epoch"]) for r in alone],
      )
      for a, b in zip(mine, alone, strict=True):
        for key in ("val_accuracy", "memorised", "memorised_chance"):
          self.assertAlmostEqual(a[key], b[key], places=6, msg=key)
    # ... and not the run on the first draw (the draws differ).
    shared = compare.run(
      config.replace(data=noisy, seeds=(1,)), log=lambda *_: None
    ).rows
    self.assertNotEqual(
      [r["memorised"] for r in shared],
      [r["memorised"] for r in rows if r["seed"] == 1],
    )

  def test_a_given_dataset_gets_the_configs_sizes(self):
    # Issue 20: compare.run used a given dataset as it was, saturation.run
    # cut its training split; now both apply config.data to the data read.
    from lossjax.studies import saturation

    source = toy_source(self.tmp).load_source()
    data_config = toy_source(self.tmp, train_size=100, eval_size=30)
    compared = compare.run(
      compare.Config(
        data=data_config, pairings=("softmax_nll",), hidden=((8,),), epochs=1
      ),
      log=lambda *_: None,
      dataset=source,
    )
    saturated = saturation.run(
      saturation.Config(
        data=data_config,
        depths=(1,),
        hidden_activations=("sigmoid",),
        inits=("glorot",),
        pairings=("softmax_nll",),
        epochs=1,
      ),
      log=lambda *_: None,
      dataset=source,
    )
    for result in (compared, saturated):
      self.assertIn("100 train, 30 validation, 30 test", result.description)

  @pytest.mark.slow  # a whole study: an integration test
  def test_a_diverged_run_is_data(self):
    config = compare.Config(
      data=toy_source(self.tmp),
      pairings=("softmax_nll",),
      lrs=(1e38,),
      hidden=((8,),),
      epochs=1,
    )
    workdir = self.tmp / "diverged"
    result = compare.run(config, workdir=workdir, log=lambda *_: None)
    paths = compare.write(result, workdir)
    self.assertTrue(all(p.is_file() for p in paths))
    (row,) = json.loads((workdir / "summary.json").read_text())
    self.assertEqual(row["diverged_seeds"], 1)
    self.assertEqual(row["lr"], 1e38)  # a rate is never written as null
    self.assertIn("| softmax_nll (diverged 1/1) |", compare.summary(result))
    self.assertIn("grad_norm.png", {p.name for p in paths})
    # --report_only redraws it from the files alone.
    compare.write(compare.load(workdir), workdir)

  def test_report_only_needs_finished_rows(self):
    config = compare.Config(data=toy_source(self.tmp), epochs=1)
    workdir = self.tmp / "empty"
    workdir.mkdir()
    (workdir / "config.json").write_text(
      json.dumps({"config": config.to_json(), "data": "toy"})
    )
    (workdir / "metrics.jsonl").write_text("")
    with self.assertRaisesRegex(ValueError, "no finished epoch"):
      compare.load(workdir)
    with self.assertRaisesRegex(ValueError, "config.json"):
      compare.load(self.tmp / "nowhere")

  def test_sizes_larger_than_the_data_are_errors(self):
    with self.assertRaisesRegex(
      DataError, "train_size=500 is more than the 250"
    ):
      compare.run(
        compare.Config(data=toy_source(self.tmp, train_size=500), epochs=1),
        log=lambda *_: None,
      )
    with self.assertRaisesRegex(
      DataError, "batch_size=1000 is more than the 250"
    ):
      compare.run(
        compare.Config(data=toy_source(self.tmp), batch_size=1000, epochs=1),
        log=lambda *_: None,
      )


if __name__ == "__main__":
  absltest.main()
