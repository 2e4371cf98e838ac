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
