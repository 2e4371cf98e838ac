"""The README's numbers come from the committed code, not an older version."""

import json
import re
from pathlib import Path

from absl.testing import absltest, parameterized

from experiments import slowdown

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"
CONFIGS = {
  "slowdown": slowdown.SlowdownConfig(),
  "slowdown_nielsen_ch3": slowdown.nielsen_ch3_config(),
}


def readme_block(name: str) -> str:
  text = (REPO / "README.md").read_text()
  match = re.search(
    rf"<!-- results:{name} .*?-->\n(.*?)<!-- /results:{name} -->", text, re.S
  )
  if not match:
    raise AssertionError(f"README has no results block for {name}")
  return match.group(1)


class ResultsAreCurrentTest(parameterized.TestCase):
  @parameterized.parameters(*CONFIGS)
  def test_committed_summary_matches_a_fresh_run(self, name):
    records, _ = slowdown.run_slowdown(CONFIGS[name])
    committed = json.loads((RESULTS / name / "summary.json").read_text())
    self.assertLen(committed, len(records))
    for fresh, old in zip(records, committed, strict=True):
      self.assertEqual(fresh["epochs_to_halve"], old["epochs_to_halve"])
      self.assertAlmostEqual(fresh["final_output"], old["final_output"], 5)

  @parameterized.parameters(*CONFIGS)
  def test_readme_table_is_the_committed_table(self, name):
    table = (RESULTS / name / "summary.md").read_text()
    table = table[table.index("| pairing") :]
    self.assertEqual(readme_block(name), table)
    self.assertTrue((RESULTS / name / "slowdown.png").is_file())


if __name__ == "__main__":
  absltest.main()


MNIST_RESULTS = (
  "fashion_mnist_pairings",
  "mnist_t10k_nielsen",
  "fashion_mnist_nielsen",
)


class MnistResultsAreCurrentTest(parameterized.TestCase):
  """The MNIST runs take minutes, so their committed metrics are re-summarised."""

  @parameterized.parameters(*MNIST_RESULTS)
  def test_summary_follows_from_committed_metrics(self, name):
    from experiments import mnist
    from lossjax import records

    workdir = RESULTS / name
    config = mnist.config_from_json(workdir / "config.json")
    reference = mnist.NIELSEN_REFERENCE if config.preset == "nielsen" else None
    rows = records.read_jsonl(workdir / "metrics.jsonl")
    epochs_per_run = config.epochs + 1
    runs = len(config.seeds) * len(config.pairings) * len(config.hidden)
    self.assertLen(rows, runs * epochs_per_run)
    fresh = mnist.summarize(rows, reference)
    committed = json.loads((workdir / "summary.json").read_text())
    self.assertEqual(fresh, committed)

  @parameterized.parameters(*MNIST_RESULTS)
  def test_readme_table_is_the_committed_table(self, name):
    table = (RESULTS / name / "summary.md").read_text()
    self.assertEqual(readme_block(name), table[table.index("| pairing") :])
    self.assertTrue((RESULTS / name / "accuracy.png").is_file())


class SweepAndBenchmarkResultsTest(absltest.TestCase):
  def test_readme_benchmark_table_is_the_committed_one(self):
    record = json.loads((RESULTS / "benchmark" / "benchmark.json").read_text())
    self.assertEqual(readme_block("benchmark"), record["table"])
    names = [row["name"] for row in record["rows"]]
    self.assertIn("(d) lossjax vmap, 32 models", names)
    for row in record["rows"]:
      for key in (
        "name",
        "models",
        "seconds_per_model_epoch",
        "speedup_vs_numpy",
        "fraction_of_matmul_peak",
      ):
        self.assertIn(key, row)
    self.assertGreater(record["matmul_gflops"], 0)

  def test_neuron_sweep_summary_shows_the_slowdown(self):
    import csv

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
    # The README's sentence: at eta = 0.3, 14 / 130 / never for the quadratic
    # cost from w=b=0 / 2 / 3, and 35 to 50 epochs for cross-entropy.
    self.assertEqual(epochs["sigmoid_mse", 0.0, 0.3], 14)
    self.assertEqual(epochs["sigmoid_mse", 2.0, 0.3], 130)
    self.assertIsNone(epochs["sigmoid_mse", 3.0, 0.3])
    self.assertEqual(epochs["sigmoid_bce", 0.0, 0.3], 35)
    self.assertEqual(epochs["sigmoid_bce", 4.0, 0.3], 50)


class RemainingQuestionsResultsTest(absltest.TestCase):
  """Committed summaries of the quick experiments equal a fresh run."""

  def test_softmax_temperature(self):
    from experiments import softmax_temperature

    fresh, _ = softmax_temperature.run_softmax_temperature()
    committed = json.loads(
      (RESULTS / "softmax_temperature" / "summary.json").read_text()
    )
    self.assertEqual(json.loads(json.dumps(fresh)), committed)

  def test_entropy_floor(self):
    from experiments import entropy_floor

    fresh, _ = entropy_floor.run_entropy_floor()
    committed = json.loads(
      (RESULTS / "entropy_floor" / "summary.json").read_text()
    )
    for a, b in zip(fresh["rows"], committed["rows"], strict=True):
      self.assertAlmostEqual(a["min_cost_descent"], b["min_cost_descent"], 12)

  def test_saturation_summary_follows_from_committed_metrics(self):
    from experiments import saturation
    from lossjax import records

    workdir = RESULTS / "saturation"
    fresh = saturation.summarize(records.read_jsonl(workdir / "metrics.jsonl"))
    committed = json.loads((workdir / "summary.json").read_text())
    self.assertEqual(fresh, committed)
    self.assertLen(committed, 5 * 2 * 2)
    # The README: the first hidden layer learns slower at every depth >= 2.
    for row in committed:
      if row["depth"] >= 2:
        self.assertLess(row["epoch1_first_over_last"], 1.0, row)

  def test_report_is_linked_and_present(self):
    report = RESULTS / "report" / "report.md"
    self.assertIn(
      "(experiments/results/report/report.md)", (REPO / "README.md").read_text()
    )
    self.assertLen(re.findall(r"\n## ", report.read_text()), 8)
