"""Each report section is one function of the studies' typed results."""

import dataclasses
import re
from unittest import mock

from absl.testing import absltest

from lossjax.studies import (
  convexity,
  entropy_floor,
  report_outline,
  report_sections,
  slowdown,
  softmax_temperature,
)


def bold_numbers(text: str) -> list[float]:
  return [float(v) for v in re.findall(r"\*\*([-0-9.e+]+)\*\*", text)]


class SectionsTest(absltest.TestCase):
  def test_backprop_section_quotes_the_check(self):
    text = report_sections.backprop_body(
      report_sections.BackpropCheck(
        max_abs_backprop_vs_grad=1.5e-16, max_abs_delta_vs_grad=2.5e-16
      )
    )
    self.assertEqual(bold_numbers(text), [1.5e-16, 2.5e-16])

  def test_temperature_section_reads_the_cases(self):
    result = softmax_temperature.run(softmax_temperature.Config(points=5))
    distinct = result.summary.cases["softmax_nll"]["distinct"]
    text = report_sections.temperature_body(result.summary)
    quoted = bold_numbers(text)
    self.assertAlmostEqual(quoted[0], distinct.distance_at[1.0], delta=0.005)
    self.assertAlmostEqual(quoted[2], distinct.distance_at[1e6], delta=0.005)
    self.assertIn("**True**", text)

  def test_entropy_section(self):
    entropy = entropy_floor.run(
      entropy_floor.Config(targets=(0.25, 0.5), smoothing=(), grid=101)
    ).summary
    text = report_sections.entropy_body(entropy)
    self.assertIn(f"**{entropy.max_abs_error:.1e}**", text)
    self.assertIn("for y = 0.25", text)

  def test_convexity_section_from_a_summary(self):
    # The section reads the typed summary: fields, not nested string keys.
    curve = convexity.Curve(
      min_second_derivative=-0.125,
      theta_at_min=2.0,
      negative_intervals=[(1.5, 4.0)],
      fraction_negative=0.25,
    )
    convex = convexity.Summary(
      curves={
        "sigmoid_mse": curve,
        "sigmoid_bce": dataclasses.replace(
          curve, min_second_derivative=0.01, negative_intervals=[]
        ),
      },
      surfaces={
        "sigmoid_mse": convexity.Surface(-0.5, 0.4),
        "sigmoid_bce": convexity.Surface(0.0, 0.0),
      },
      multiclass={
        "softmax_nll": convexity.Multiclass(-1e-17, 0.0, -2e-17, 0.0),
        "softmax_mse": convexity.Multiclass(-0.05, 0.3, -0.02, 0.2),
      },
    )
    text = report_sections.convexity_body(convex)
    self.assertIn("reaches **-0.125** and is negative\non 25% of theta", text)
    self.assertIn("([1.50, 4.00])", text)
    self.assertIn("With two weights, 40% of the", text)
    self.assertIn("against -0.05 and\n-0.02 for softmax + quadratic", text)
    self.assertEqual(
      convex.to_json()["multiclass_softmax_mse"]["fraction_negative_in_logits"],
      0.3,
    )

  def test_slowdown_section_reads_the_records(self):
    neuron = slowdown.run(slowdown.Config())
    book = slowdown.run(slowdown.Config(**slowdown.PRESETS["nielsen_ch3"]))
    text = report_sections.slowdown_body(neuron, book)
    self.assertIn("**47** epochs from w = b = 0 but **233**", text)
    with self.assertRaisesRegex(KeyError, "no identity_mse run from w = 5"):
      neuron.record("identity_mse", 5.0)


class SectionsListTest(absltest.TestCase):
  def test_sections_are_numbered_by_position(self):
    # Issue 29: a section is one entry of report_outline.SECTIONS; its number is its
    # position, and a section that cites another reads that number.
    keys = [s.key for s in report_outline.SECTIONS]
    self.assertLen(set(keys), len(keys))
    sections = (
      report_outline.Section(
        "first", "One?", lambda s, n: f"body {n['second']}\n"
      ),
      report_outline.Section(
        "second", "Two?", lambda s, n: f"see {n['first']}\n"
      ),
    )
    with mock.patch.object(report_outline, "SECTIONS", sections):
      text = report_outline.render(studies=None)
    self.assertEqual(text, "## 1. One?\n\nbody 2\n\n## 2. Two?\n\nsee 1\n")
    with mock.patch.object(report_outline, "SECTIONS", sections[::-1]):
      text = report_outline.render(studies=None)
    self.assertEqual(text, "## 1. Two?\n\nsee 2\n\n## 2. One?\n\nbody 1\n")


if __name__ == "__main__":
  absltest.main()
