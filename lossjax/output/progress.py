"""What a run tells its user while it trains: absl log lines, process 0 only.

:func:`info` is every study's default ``log``. :class:`Progress` times a
run's epochs and says how long is left: the time XLA spends compiling is
measured by JAX itself (its ``/jax/core/compile/*`` duration events, through
:mod:`jax.monitoring`) and shown apart from the training time, so the first
epoch of a program does not pass for a slow epoch and the estimate of the
time left is not thrown by it.
"""

import contextlib
import dataclasses
import math
import time
from collections.abc import Iterator

import jax
from absl import logging

# JAX's own measurements of a compilation: lowering to MLIR and XLA's
# compile. (Tracing is left out: a jit traced inside another's trace would
# count twice.)
COMPILE_EVENTS = frozenset(
  {
    "/jax/core/compile/jaxpr_to_mlir_module_duration",
    "/jax/core/compile/backend_compile_duration",
  }
)
_compile_seconds = 0.0


def _record(event: str, duration: float, **_) -> None:
  global _compile_seconds
  if event in COMPILE_EVENTS:
    _compile_seconds += duration


jax.monitoring.register_event_duration_secs_listener(_record)


def compile_seconds() -> float:
  """Seconds this process has spent compiling, so far."""
  return _compile_seconds


# Where a run's wall time goes (see :func:`phase`), since the last reset.
PHASES = ("train", "evaluate", "compile", "write")
# Where a study's folder records them (lossjax.cli.write_timing).
TIMING_FILE = "timing.json"
_phase_seconds = dict.fromkeys(PHASES, 0.0)


def reset_phases() -> None:
  """Starts a new account of :func:`phase_seconds` (a run's start)."""
  for name in PHASES:
    _phase_seconds[name] = 0.0


@contextlib.contextmanager
def phase(name: str) -> Iterator[None]:
  """Counts the wall time of the ``with`` block as ``name`` (one of
  :data:`PHASES`), less the compilation inside it, which counts as
  ``"compile"``. The block must wait for its results (``device_get``), or
  JAX's asynchronous dispatch moves the time into whatever waits next.
  Phases do not nest."""
  if name not in PHASES:
    raise ValueError(f"unknown phase {name!r}; choose from {PHASES}.")
  clock, compiled = time.perf_counter(), compile_seconds()
  try:
    yield
  finally:
    compile_part = compile_seconds() - compiled
    wall = time.perf_counter() - clock
    _phase_seconds["compile"] += compile_part
    _phase_seconds[name] += max(0.0, wall - compile_part)


def phase_seconds(total: float) -> dict[str, float]:
  """The account since :func:`reset_phases` of a run that took ``total``
  seconds: ``total_seconds``, one ``<phase>_seconds`` per phase, and
  ``other_seconds`` for the rest (loading data, host-side bookkeeping)."""
  spent = {f"{name}_seconds": round(_phase_seconds[name], 3) for name in PHASES}
  other = total - sum(_phase_seconds.values())
  return {
    "total_seconds": round(total, 3),
    **spent,
    "other_seconds": round(max(0.0, other), 3),
  }


def phases_text(seconds: dict[str, float]) -> str:
  """One log line of :func:`phase_seconds`."""

  def text(value: float) -> str:
    return f"{value:.1f}s" if value < 60 else duration_text(value)

  parts = [f"{name} {text(seconds[f'{name}_seconds'])}" for name in PHASES]
  parts.append(f"other {text(seconds['other_seconds'])}")
  return f"time {text(seconds['total_seconds'])}: " + ", ".join(parts)


def info(message: str) -> None:
  """Logs ``message`` at INFO through absl, on process 0 only (a
  multi-process run would otherwise print everything once per process)."""
  if jax.process_index() == 0:
    logging.info("%s", message)


def duration_text(seconds: float) -> str:
  """``42s``, ``3m05s`` or ``1h02m``."""
  if not math.isfinite(seconds):
    return "?"
  seconds = max(0, round(seconds))
  if seconds < 60:
    return f"{seconds}s"
  if seconds < 3600:
    return f"{seconds // 60}m{seconds % 60:02d}s"
  return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"


@dataclasses.dataclass(frozen=True)
class Step:
  """The timing of one finished unit of work (e.g. an epoch).

  Attributes:
    train_seconds: wall time of the step, less compilation.
    compile_seconds: compilation during the step.
    left_seconds: the estimated time left for the whole run.
  """

  train_seconds: float
  compile_seconds: float
  left_seconds: float

  def text(self) -> str:
    compiled = (
      f", compile {self.compile_seconds:.1f}s"
      if self.compile_seconds >= 0.05
      else ""
    )
    return (
      f"{self.train_seconds:.1f}s{compiled}; about "
      f"{duration_text(self.left_seconds)} left"
    )


class Progress:
  """Times the ``total`` units of work (epochs) of a whole run.

  Call :meth:`start` when a unit begins (e.g. a group about to train, so
  that its set-up counts) and :meth:`done` when ``units`` of work finish.
  The time left is the mean training time per unit so far times the units
  left, plus the mean compile time per :meth:`start` so far times the
  starts left (``starts``: how many the run has in all).
  """

  def __init__(self, total: int, *, starts: int = 1):
    if total < 1 or starts < 1:
      raise ValueError(
        f"need total >= 1 and starts >= 1, got {total}, {starts}"
      )
    self.total, self.starts = total, starts
    self.finished, self.started = 0, 0
    self.train_seconds, self.compiled = 0.0, 0.0
    self._clock, self._compile = time.perf_counter(), compile_seconds()

  def start(self) -> None:
    """A new program starts (it will compile): restarts the clocks."""
    self.started += 1
    self._clock, self._compile = time.perf_counter(), compile_seconds()

  def done(self, units: int = 1) -> Step:
    """``units`` of work finished since the last call (or :meth:`start`)."""
    now, compiled = time.perf_counter(), compile_seconds()
    compile_part = compiled - self._compile
    train_part = max(0.0, now - self._clock - compile_part)
    self._clock, self._compile = now, compiled
    self.finished += units
    self.train_seconds += train_part
    self.compiled += compile_part
    left_units = max(0, self.total - self.finished)
    per_unit = self.train_seconds / max(self.finished, 1)
    per_start = self.compiled / max(self.started, 1)
    left = (
      left_units * per_unit + max(0, self.starts - self.started) * per_start
    )
    return Step(train_part, compile_part, left)
