"""A study's workdir as one unit: which run it holds, and who writes it.

Every study's command line follows one protocol (:func:`lossjax.cli.main`
applies it; :func:`claimed` is all of it):

- **What the folder holds.** Its ``config.json`` names the run; two configs
  are the same run when their :meth:`lossjax.config.Config.fingerprint`
  agree (every field that changes a result; not where the data was read
  from, nor how the loop is scheduled).
- **The same run resumes.** The study reads back what the folder finished
  (a comparison's groups, the label-noise study's levels, a sweep's chunks)
  and trains the rest; the writers then redraw every summary and figure.
- **A different run is refused**, naming the settings that differ, unless
  ``overwrite``: then the old outputs are moved aside, deleted once the new
  run ends, and moved back if it fails (a bad input found late, a crash).
- **One writer at a time.** An exclusive ``fcntl.flock`` on ``.lock``: a
  second process on the folder is refused while the first runs. The kernel
  drops the lock with its process, so a killed run leaves none behind.
- **Atomic files** (:mod:`lossjax.output.results`, append-and-sync JSON lines in
  :mod:`lossjax.output.records`): a kill at any instant leaves the last complete
  state.

The lock is ``fcntl.flock`` rather than a lock-file library because the
runtime dependencies are kept to the design card's (POSIX systems only).
"""

import contextlib
import dataclasses
import fcntl
import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lossjax import config as config_lib
from lossjax.output import results

LOCK_FILE = ".lock"
RECORD = "config.json"
# Written with or before a run's first result: a folder holding only these
# holds nothing to lose.
NOT_RESULTS = frozenset({RECORD, "timing.json"})
# Where --overwrite moves the old outputs until the new run has ended.
_REPLACED_PREFIX = ".replaced-"


def holds_results(workdir: Path) -> bool:
  """Whether ``workdir`` holds anything of a run beyond its record."""
  if not workdir.is_dir():
    return False
  return any(
    not entry.name.startswith(".") and entry.name not in NOT_RESULTS
    for entry in workdir.iterdir()
  )


def saved_config(workdir: Path, config_type: type) -> Any:
  """The config recorded in ``workdir/config.json`` as a ``config_type``;
  ``ValueError`` saying why when it is not one."""
  saved = results.read_json(workdir / RECORD)
  if isinstance(saved, dict) and "config" in saved:
    saved = saved["config"]
  return config_lib.from_json(config_type, saved)


def differences(old: Any, new: Any) -> list[str]:
  """The fingerprinted settings in which two configs differ, as
  ``name: old value there, new value here`` (nested fields dotted)."""
  old_fields, new_fields = old.identity(), new.identity()
  out = []
  for name in sorted(set(old_fields) | set(new_fields)):
    a, b = old_fields.get(name), new_fields.get(name)
    if a == b:
      continue
    if isinstance(a, dict) and isinstance(b, dict):
      out += [
        f"{name}.{k}: {a.get(k)!r} there, {b.get(k)!r} here"
        for k in sorted(set(a) | set(b))
        if a.get(k) != b.get(k)
      ]
    else:
      out.append(f"{name}: {a!r} there, {b!r} here")
  return out


def check(workdir: Path, config: Any, *, overwrite: bool) -> Path | None:
  """Checks that ``workdir`` is free for ``config``'s run or holds it.

  Returns ``None`` when the folder holds no results, or those of the same
  run (to resume). A folder with another run's results is a ``ValueError``
  naming the settings that differ, unless ``overwrite``: then its outputs
  are moved into a hidden folder inside it, which is returned (delete it
  when the new run ends, or :func:`restore` it).
  """
  if not (workdir / RECORD).is_file() or not holds_results(workdir):
    return None
  try:
    old = saved_config(workdir, type(config))
  except ValueError as e:
    why = [f"its {RECORD} is not a config of this study: {e}"]
  else:
    if old.fingerprint() == config.fingerprint():
      return None
    why = differences(old, config)
  if not overwrite:
    raise ValueError(
      f"--workdir={workdir} holds the results of a different run ("
      + "; ".join(why[:6])
      + (f"; {len(why) - 6} more" if len(why) > 6 else "")
      + "). Give another --workdir, rerun with that run's settings to resume "
      "it, or add --overwrite to replace it."
    )
  return move_aside(workdir)


def move_aside(workdir: Path) -> Path:
  """Moves every output in ``workdir`` (not its hidden files) into a new
  hidden folder there, by renames: a kill leaves each output either in
  place or aside, never half-moved."""
  aside = workdir / f"{_REPLACED_PREFIX}{os.getpid()}-{time.time_ns()}"
  aside.mkdir()
  for entry in workdir.iterdir():
    if not entry.name.startswith("."):
      entry.rename(aside / entry.name)
  return aside


def restore(workdir: Path, aside: Path) -> None:
  """Undoes :func:`move_aside`: what a failed run wrote is removed and the
  old outputs are moved back."""
  for entry in workdir.iterdir():
    if not entry.name.startswith("."):
      _remove(entry)
  for entry in aside.iterdir():
    entry.rename(workdir / entry.name)
  aside.rmdir()


def _remove(path: Path) -> None:
  if path.is_dir() and not path.is_symlink():
    shutil.rmtree(path)
  else:
    path.unlink()


def _remove_stale(workdir: Path) -> None:
  # Outputs an --overwrite moved aside before its process was killed.
  for entry in workdir.glob(f"{_REPLACED_PREFIX}*"):
    _remove(entry)


def _has_outputs(workdir: Path) -> bool:
  return any(not e.name.startswith(".") for e in workdir.iterdir())


@dataclasses.dataclass
class _Lock:
  path: Path
  fd: int

  def release(self, *, remove: bool = False) -> None:
    if remove:
      self.path.unlink(missing_ok=True)
    os.close(self.fd)  # closing drops the flock


def lock(workdir: Path) -> _Lock:
  """An exclusive lock on ``workdir``; ``ValueError`` naming the process
  that holds it if another does."""
  path = workdir / LOCK_FILE
  fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = os.read(fd, 64).decode(errors="replace").strip() or "unknown"
    os.close(fd)
    raise ValueError(
      f"--workdir={workdir} is in use: another run (process {holder}) is "
      "writing to it. Wait for it to finish, or give another --workdir."
    ) from None
  os.ftruncate(fd, 0)
  os.write(fd, str(os.getpid()).encode())
  return _Lock(path, fd)


@contextlib.contextmanager
def claimed(
  workdir: Path, config: Any | None, *, overwrite: bool = False
) -> Iterator[None]:
  """Holds ``workdir`` for one run of ``config`` (the whole protocol above).

  ``config=None``: the run reads the folder's own run (a redraw), so there
  is nothing to compare; the folder is only locked. A folder this creates
  is removed again if the run fails before writing anything into it.
  """
  created = not workdir.exists()
  workdir.mkdir(parents=True, exist_ok=True)
  held = lock(workdir)
  empty = created
  try:
    _remove_stale(workdir)
    aside = (
      None if config is None else check(workdir, config, overwrite=overwrite)
    )
    try:
      yield
    except BaseException as e:
      # A run that failed keeps the old outputs; one interrupted after its
      # first output keeps its own (rerun the same command to resume it).
      if aside is not None and (
        isinstance(e, Exception) or not _has_outputs(workdir)
      ):
        restore(workdir, aside)
      raise
    if aside is not None:
      shutil.rmtree(aside)
    empty = False
  finally:
    empty = empty and not any(e.name != LOCK_FILE for e in workdir.iterdir())
    held.release(remove=empty)
    if empty:
      workdir.rmdir()
