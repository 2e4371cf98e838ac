"""The benchmark runs tiny, and its record and table agree."""

import json
import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import benchmark


class BenchmarkTest(absltest.TestCase):
  def test_tiny_run(self):
    config = benchmark.Config(
      examples=200, numpy_examples=20, models=(2,), torch=False
    )
    record = benchmark.run(config, log=lambda *_: None)
    names = [row["name"] for row in record["rows"]]
    self.assertEqual(names[0], "(a) numpy, per-example backprop (network2.py)")
    self.assertIn("(d) lossjax vmap, 2 models", names)
    for row in record["rows"]:
      self.assertGreater(row["seconds_per_model_epoch"], 0)
      self.assertGreater(row["speedup_vs_numpy"], 0)
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    (path,) = benchmark.write(record, tmp)
    saved = json.loads(path.read_text())
    self.assertEqual(saved["table"], benchmark.summary(record))
    self.assertIn("| (d) lossjax vmap, 2 models | 2 |", saved["table"])

  def test_rejects_bad_model_counts(self):
    for models in ((0,), (-1,), ()):
      with self.subTest(models), self.assertRaisesRegex(ValueError, "models"):
        benchmark.Config(models=models)


if __name__ == "__main__":
  absltest.main()
