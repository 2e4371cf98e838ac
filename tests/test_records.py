"""How records name an architecture, and read the name back."""

from absl.testing import absltest

from lossjax.output import records


class HiddenTextTest(absltest.TestCase):
  def test_round_trip(self):
    for hidden in ((30,), (100, 30), (5, 5, 5)):
      text = records.hidden_text(hidden)
      self.assertEqual(records.hidden_sizes(text), hidden)
    self.assertEqual(records.hidden_text([100, 30]), "100-30")

  def test_a_name_that_is_not_sizes_is_an_error(self):
    with self.assertRaisesRegex(ValueError, "invalid literal"):
      records.hidden_sizes("100x30")


if __name__ == "__main__":
  absltest.main()
