"""The shared command-line helpers."""

from absl import app
from absl.testing import absltest

from experiments import cli


class CliTest(absltest.TestCase):
  def test_all_parse(self):
    self.assertTrue(cli.all_parse(float, ["1", "2.5", "-3e2"]))
    self.assertFalse(cli.all_parse(float, ["1", "x"]))
    self.assertTrue(cli.all_parse(int, []))

  def test_no_positional_arguments(self):
    cli.no_positional_arguments(["prog"])
    with self.assertRaisesRegex(app.UsageError, "Unexpected arguments: a b"):
      cli.no_positional_arguments(["prog", "a", "b"])


if __name__ == "__main__":
  absltest.main()
