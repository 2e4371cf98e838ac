"""The one command-line front of every study: flags -> config -> run -> write.

``experiments/<study>.py`` calls :func:`main` with a study module, which
provides ``Config``, ``PRESETS``, ``run(config, workdir=..., log=...)``,
``write(result, workdir)`` and ``summary(result)``. Every bad input (a flag
that does not parse, a value the config rejects, an unusable workdir, data
that cannot be loaded) ends as one ``error: ...`` line on stderr and exit
status 2, before anything is trained or written.
"""

import os
import sys
import tempfile
import types
from collections.abc import Callable, Sequence
from pathlib import Path

from absl import app, flags

from lossjax import config as config_lib
from lossjax.data import DataError


class UsageError(ValueError):
  """A bad input found before anything ran; printed as ``error: ...``."""


def checked_workdir(text: str | None) -> Path:
  """The workdir, created and writable, or :class:`UsageError`."""
  if text is None or not str(text).strip():
    raise UsageError(
      "--workdir is empty: give the directory for the results, e.g. "
      "--workdir=out/run."
    )
  path = Path(text).expanduser()
  for parent in (path, *path.parents):
    if parent.exists() and not parent.is_dir():
      raise UsageError(
        f"--workdir={text}: {parent} exists and is not a directory."
      )
  try:
    path.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    raise UsageError(
      f"--workdir={text} cannot be written: {e.strerror or e}."
    ) from None
  return path


def define(study: types.ModuleType) -> None:
  """Defines the study's flags (call under ``if __name__ == "__main__"``)."""
  config_lib.define_flags(study.Config, getattr(study, "PRESETS", None))


def fail(message: str) -> None:
  """Prints ``error: message`` and exits with status 2."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def main(study: types.ModuleType) -> Callable[[Sequence[str]], None]:
  """The ``main(argv)`` for ``absl.app.run`` that runs ``study``."""

  def run_main(argv: Sequence[str]) -> None:
    if len(argv) > 1:
      fail(
        f"unexpected arguments: {' '.join(argv[1:])} (every input is a "
        "flag; see --help)."
      )
    try:
      config = config_lib.config_from_flags(
        study.Config, getattr(study, "PRESETS", None)
      )
      workdir = checked_workdir(flags.FLAGS.workdir)
      result = study.run(config, workdir=workdir)
    except (ValueError, DataError) as e:
      fail(str(e))
    paths = study.write(result, workdir)
    print(study.summary(result))
    print("wrote", ", ".join(os.fspath(p) for p in paths))

  return run_main


def parse_flags(argv: Sequence[str]) -> list[str]:
  """absl's flag parsing, with a flag that does not parse as ``error:``."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"{e} (see --help)")


def start(main_fn: Callable[[Sequence[str]], None]) -> None:
  """``absl.app.run(main_fn)`` with :func:`parse_flags`."""
  app.run(main_fn, flags_parser=parse_flags)


def run(study: types.ModuleType) -> None:
  """Defines the flags and runs: the whole body of an experiment script."""
  define(study)
  start(main(study))
