"""The one command-line front of every study: flags -> config -> run -> write.

``experiments/<study>.py`` calls :func:`main` with a study module, which
provides ``Config``, ``PRESETS``, ``run(config, workdir=..., log=...)``,
``write(result, workdir)`` and ``summary(result)``. Every bad input (a flag
that does not parse, a value the config rejects, an unusable workdir, data
that cannot be loaded) ends as one ``error: ...`` line on stderr and exit
status 2, before anything is trained or written.
"""

import contextlib
import os
import sys
import time
import types
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import jax
from absl import app, flags

from lossjax import config_flags
from lossjax.datasets.data import DataError
from lossjax.output import progress, results, run_folder


class UsageError(ValueError):
  """A bad input found before anything ran; printed as ``error: ...``."""


def checked_workdir(text: str | None) -> Path:
  """The workdir, if it is or can be made a writable directory; else
  :class:`UsageError`.

  Nothing is created here; :func:`lossjax.output.run_folder.claimed` removes a
  workdir it created when the run fails before writing into it, so a run
  whose other inputs turn out bad (data that does not load) leaves nothing
  behind.
  """
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
  existing = next(
    p for p in (path.absolute(), *path.absolute().parents) if p.exists()
  )
  if not os.access(existing, os.W_OK | os.X_OK):
    raise UsageError(
      f"--workdir={text} cannot be written: {existing} is not writable."
    )
  return path


def run_clock() -> float:
  """The start of a run for :func:`wrote_line`: ``time.time()``, a second
  early, for file systems that keep whole seconds."""
  return time.time() - 1


def written_since(workdir: Path, start: float) -> list[str]:
  """What a run wrote into ``workdir`` since ``start`` (a ``time.time()``):
  each file at the top level, and each folder as ``name/ (k files)``."""
  names = []
  if not workdir.is_dir():
    return names
  for entry in sorted(workdir.iterdir()):
    if entry.name.startswith("."):
      continue
    if entry.is_dir():
      fresh = [
        f
        for f in entry.rglob("*")
        if f.is_file() and f.stat().st_mtime >= start
      ]
      if fresh:
        count = len(fresh)
        names.append(f"{entry.name}/ ({count} file{'s' * (count != 1)})")
    elif entry.stat().st_mtime >= start:
      names.append(entry.name)
  return names


def wrote_line(workdir: Path, start: float) -> str:
  """The final line of a run: every file it wrote."""
  names = written_since(workdir, start)
  return f"wrote {', '.join(names) or 'nothing'} in {workdir}"


def write_timing(workdir: Path, total: float) -> dict[str, float]:
  """``timing.json``: where the run's ``total`` seconds went
  (:func:`lossjax.output.progress.phase_seconds`), also logged as one line.

  A rerun that computed nothing (it read every finished part back: no
  training, no compilation) keeps the ``timing.json`` of the run that did:
  the folder's record says what its results cost, not what reading them
  back did.
  """
  seconds = progress.phase_seconds(total)
  progress.info(progress.phases_text(seconds))
  path = workdir / progress.TIMING_FILE
  if path.is_file() and not (
    seconds["train_seconds"] or seconds["compile_seconds"]
  ):
    progress.info(f"nothing trained: {path.name} keeps the run that trained")
    return seconds
  results.write_json(path, seconds)
  return seconds


def define(study: types.ModuleType) -> None:
  """Defines the study's flags (call under ``if __name__ == "__main__"``),
  and ``--overwrite``.

  They belong to the main module, so the script's ``--help`` lists them.
  """
  config_flags.define_flags(
    study.Config, getattr(study, "PRESETS", None), module_name=sys.argv[0]
  )
  flags.DEFINE_bool(
    "overwrite",
    False,
    "Replace the results of a different run in --workdir instead of "
    "refusing (the same run always resumes).",
    module_name=sys.argv[0],
  )


def fail(message: str) -> None:
  """Prints ``error: message`` and exits with status 2."""
  print(f"error: {message}", file=sys.stderr)
  sys.exit(2)


def main(
  study: types.ModuleType,
  *,
  run: Callable[[Any, Path], Any] | None = None,
  trains: Callable[[], bool] = lambda: True,
  writes: Callable[[], bool] = lambda: True,
) -> Callable[[Sequence[str]], None]:
  """The ``main(argv)`` for ``absl.app.run`` that runs ``study``.

  ``run(config, workdir) -> result`` replaces ``study.run(config,
  workdir=workdir)`` for a script that adds flags of its own (the sweep's
  processes, the comparison's ``--report_only``); a ``ValueError`` it raises
  is a usage error like any other. The workdir is held by
  :func:`lossjax.output.run_folder.claimed` for the whole run: locked, and checked
  to hold no other run's results (``--overwrite`` replaces them) when
  ``trains()``; without training (a redraw) it reads the folder's own run.
  ``writes()``: whether this process writes the workdir (process 0 of a
  multi-process sweep); it writes the outputs, ``timing.json``
  (:func:`write_timing`; only when ``trains()``, so that redrawing a
  finished run keeps the record of its training) and the summary.
  """
  run = run or (lambda config, workdir: study.run(config, workdir=workdir))

  def run_main(argv: Sequence[str]) -> None:
    try:
      run_and_write(argv)
    except KeyboardInterrupt:
      # One line, not Python's traceback of wherever the signal landed.
      print(
        "interrupted; rerun the same command to resume (what finished is "
        f"kept in {flags.FLAGS.workdir})",
        file=sys.stderr,
      )
      sys.exit(130)

  def run_and_write(argv: Sequence[str]) -> None:
    if len(argv) > 1:
      fail(
        f"unexpected arguments: {' '.join(argv[1:])} (every input is a "
        "flag; see --help)."
      )
    start = run_clock()
    clock = time.perf_counter()
    progress.reset_phases()
    try:
      config = config_flags.config_from_flags(
        study.Config, getattr(study, "PRESETS", None)
      )
      workdir = checked_workdir(flags.FLAGS.workdir)
      held = (
        run_folder.claimed(
          workdir,
          config if trains() else None,
          overwrite=flags.FLAGS.overwrite,
        )
        if writes()
        else contextlib.nullcontext()
      )
      with held:
        result = run(config, workdir)
        if not writes() or jax.process_index() != 0:
          return
        with progress.phase("write"):
          study.write(result, workdir)
        if trains():
          write_timing(workdir, time.perf_counter() - clock)
    except (ValueError, DataError) as e:
      fail(str(e))
    print(study.summary(result))
    print(wrote_line(workdir, start))

  return run_main


def parse_flags(argv: Sequence[str]) -> list[str]:
  """absl's flag parsing, with a flag that does not parse as ``error:``."""
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    # absl words a missing --flagfile "ERROR:: Unable to open flagfile".
    fail(f"{str(e).removeprefix('ERROR:: ')} (see --help)")


def start(main_fn: Callable[[Sequence[str]], None]) -> None:
  """``absl.app.run(main_fn)`` with :func:`parse_flags`."""
  app.run(main_fn, flags_parser=parse_flags)


def run(
  study: types.ModuleType,
  *,
  redraw: Callable[[Path], Any] | None = None,
  distributed: bool = False,
) -> None:
  """Defines the flags and runs: the whole body of an experiment script.

  ``redraw(workdir) -> result``: the study can redraw a finished run from
  its folder; adds ``--report_only`` (read, do not train). ``distributed``:
  the study can run as several processes; adds ``--coordinator_address``,
  ``--num_processes`` and ``--process_id`` (process 0 holds and writes the
  workdir; the others only train).
  """
  define(study)
  if redraw is not None:
    flags.DEFINE_bool(
      "report_only",
      False,
      "Do not train: redraw summary.md and the figures from --workdir's "
      "config.json and records (e.g. after an interrupted run).",
      module_name=sys.argv[0],
    )

    def run_or_redraw(config, workdir):
      if flags.FLAGS.report_only:
        return redraw(workdir)
      return study.run(config, workdir=workdir)

    start(
      main(
        study,
        run=run_or_redraw,
        trains=lambda: not flags.FLAGS.report_only,
      )
    )
  elif distributed:
    _define_process_flags()

    def join_and_run(config, workdir):
      _join_processes()
      return study.run(config, workdir=workdir)

    start(
      main(
        study,
        run=join_and_run,
        writes=lambda: flags.FLAGS.process_id == 0,
      )
    )
  else:
    start(main(study))


def _define_process_flags() -> None:
  flags.DEFINE_string(
    "coordinator_address",
    None,
    "host:port of process 0, for jax.distributed.initialize; unset for one "
    "process.",
    module_name=sys.argv[0],
  )
  flags.DEFINE_integer(
    "num_processes",
    1,
    "Number of processes.",
    lower_bound=1,
    module_name=sys.argv[0],
  )
  flags.DEFINE_integer(
    "process_id",
    0,
    "This process's index.",
    lower_bound=0,
    module_name=sys.argv[0],
  )


def _join_processes() -> None:
  """Joins the other processes of a multi-process run (if any)."""
  f = flags.FLAGS
  if f.num_processes == 1:
    return
  if not f.coordinator_address or f.process_id >= f.num_processes:
    raise ValueError(
      "--num_processes > 1 needs --coordinator_address=host:port and a "
      "--process_id below --num_processes."
    )
  jax.config.update("jax_cpu_collectives_implementation", "gloo")
  jax.distributed.initialize(
    f.coordinator_address, f.num_processes, f.process_id
  )
