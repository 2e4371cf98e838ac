"""Experiment scripts run inside the test process, as a user runs them.

A subprocess per command costs a Python start and a JAX import (seconds
each), and the CLI tests run a hundred or more commands. ``run_script`` runs
``python -m experiments.<script> ARGS`` in this process instead: the script
module executes as ``__main__`` (its flag definitions and ``absl.app.run``
included), with ``sys.argv`` set, standard output and error captured, and
the exit status taken from ``SystemExit``. An exception that escapes is
written to the captured error as the traceback Python would print, with
status 1, so the checks read exactly what a subprocess would have shown.

Between commands the flags a script defined are removed and the parsed
state reset, so each command starts from absl's own flags as a fresh process
does. (A subprocess is still used where the process itself is the subject:
several processes of one sweep, a killed run.)
"""

import contextlib
import io
import os
import runpy
import sys
import traceback
from pathlib import Path
from typing import NamedTuple

from absl import app, flags, logging

REPO = Path(__file__).resolve().parents[1]
app.define_help_flags()  # once per process, as app.run does on first use
_ABSL_FLAGS = frozenset(flags.FLAGS)


class Completed(NamedTuple):
  """What ``subprocess.run(..., capture_output=True, text=True)`` gives."""

  returncode: int
  stdout: str
  stderr: str


def _forget_script_flags() -> None:
  for name in set(flags.FLAGS) - _ABSL_FLAGS:
    delattr(flags.FLAGS, name)
  flags.FLAGS.unparse_flags()


def run_script(script: str, args: list[str]) -> Completed:
  """Runs ``python -m experiments.<script> *args`` in this process."""
  module = f"experiments.{script}"
  out, err = io.StringIO(), io.StringIO()
  handler = logging.get_absl_handler()
  stream = handler.python_handler.stream
  argv, cwd = sys.argv, os.getcwd()
  _forget_script_flags()
  code = 0
  try:
    sys.argv = [str(REPO / "experiments" / f"{script}.py"), *args]
    os.chdir(REPO)
    handler.python_handler.stream = err  # absl's log lines go to stderr
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
      try:
        runpy.run_module(module, run_name="__main__", alter_sys=False)
      except SystemExit as e:
        code = (
          e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        )
        if isinstance(e.code, str):
          print(e.code, file=sys.stderr)
      except BaseException:  # what the interpreter would print, and exit 1
        traceback.print_exc()
        code = 1
  finally:
    handler.python_handler.stream = stream
    sys.argv = argv
    os.chdir(cwd)
    _forget_script_flags()
  return Completed(code, out.getvalue(), err.getvalue())
