"""Each report section is one function of the studies' typed results."""

import re

from absl.testing import absltest

from lossjax.studies import (
  convexity,
  entropy_floor,
  report_sections,
  slowdown,
  softmax_temperature,
)


def bold_numbers(text: str) -> list[float]:
  return [float(v) for v in re.findall(r"\*\*([-0-9.e+]+)\*\*", text)]


class SectionsTest(absltest.TestCase):
  def test_backprop_section_quotes_the_check(self):
    text = report_sections.backprop_section(
      report_sections.BackpropCheck(
        max_abs_backprop_vs_grad=1.5e-16, max_abs_delta_vs_grad=2.5e-16
      )
    )
    self.assertEqual(bold_numbers(text), [1.5e-16, 2.5e-16])

  def test_temperature_section_reads_the_cases(self):
    result = softmax_temperature.run(softmax_temperature.Config(points=5))
    distinct = result.summary.cases["softmax_nll"]["distinct"]
    text = report_sections.temperature_section(result.summary)
    quoted = bold_numbers(text)
    self.assertAlmostEqual(quoted[0], distinct.distance_at[1.0], delta=0.005)
    self.assertAlmostEqual(quoted[2], distinct.distance_at[1e6], delta=0.005)
    self.assertIn("**True**", text)

  def test_entropy_and_convexity_sections(self):
    entropy = entropy_floor.run(entropy_floor.Config(grid=101)).summary
    text = report_sections.entropy_section(entropy)
    self.assertIn(f"**{entropy.max_abs_error:.1e}**", text)
    convex = convexity.run(
      convexity.Config(grid_1d=41, grid_2d=5, random_points=3)
    ).summary
    text = report_sections.convexity_section(convex)
    mse = convex.curves["sigmoid_mse"].min_second_derivative
    self.assertIn(f"**{mse:.3g}**", text)

  def test_slowdown_section_reads_the_records(self):
    neuron = slowdown.run(slowdown.Config())
    book = slowdown.run(slowdown.Config(**slowdown.PRESETS["nielsen_ch3"]))
    text = report_sections.slowdown_section(neuron, book)
    self.assertIn("**47** epochs from w = b = 0 but **233**", text)
    with self.assertRaisesRegex(KeyError, "no identity_mse run from w = 5"):
      neuron.record("identity_mse", 5.0)


if __name__ == "__main__":
  absltest.main()
