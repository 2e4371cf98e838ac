"""softmax(c z) tends to the (tie-shared) one-hot argmax as c grows."""

import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.studies import softmax_temperature


class SoftmaxTemperatureTest(absltest.TestCase):
  def test_limit_and_stability(self):
    result = softmax_temperature.run(softmax_temperature.Config(points=5))
    cases = result.summary.cases["softmax_nll"]
    self.assertEqual(cases["tied"].probs_at_max_scale, (0.0, 0.5, 0.5, 0.0))
    for name, case in cases.items():
      self.assertTrue(case.all_finite, name)
      self.assertLess(case.distance_at[1e6], 1e-3, name)
    saved = result.summary.to_json()["pairings"]["softmax_nll"]["cases"]
    self.assertEqual(
      saved["tied"]["distance_at"]["1e+06"], cases["tied"].distance_at[1e6]
    )
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    names = {p.name for p in softmax_temperature.write(result, tmp)}
    self.assertIn("softmax_temperature.png", names)

  def test_rejects_bad_scales(self):
    with self.assertRaisesRegex(ValueError, "max_scale"):
      softmax_temperature.Config(max_scale=float("inf"))
    with self.assertRaisesRegex(ValueError, "scale"):
      softmax_temperature.Config(min_scale=10.0, max_scale=1.0)


if __name__ == "__main__":
  absltest.main()
