"""Small command-line helpers shared by the experiment scripts."""

from collections.abc import Callable, Iterable, Sequence

from absl import app


def all_parse(parse: Callable[[str], object], values: Iterable[str]) -> bool:
  """Whether ``parse`` accepts every value (for absl flag validators)."""
  try:
    for value in values:
      parse(value)
  except ValueError:
    return False
  return True


def no_positional_arguments(argv: Sequence[str]) -> None:
  """Rejects positional arguments: every input is a flag."""
  if len(argv) > 1:
    raise app.UsageError(
      f"Unexpected arguments: {' '.join(argv[1:])} (every input is a "
      "--flag; see --help)."
    )
