"""The pairing comparison on data, in-process on a small learnable dataset."""

import json
import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax import data, records
from lossjax.data import DataError
from lossjax.studies import compare
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
    self.assertEqual(compare.summarize(loaded), compare.summarize(result))

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
