"""Another process holding a run folder's lock, for the concurrency tests."""

import subprocess
import sys
from pathlib import Path


def hold_folder(workdir: Path) -> subprocess.Popen:
  """A second process that holds ``workdir``'s lock
  (:func:`lossjax.output.run_folder.lock`) until its stdin is closed."""
  holder = subprocess.Popen(
    [
      sys.executable,
      "-c",
      "import sys; from pathlib import Path; from lossjax.output import run_folder; "
      f"run_folder.lock(Path({str(workdir)!r})); print('locked', flush=True); "
      "sys.stdin.read()",
    ],
    stdin=subprocess.PIPE,
    stdout=subprocess.PIPE,
    text=True,
  )
  if holder.stdout.readline().strip() != "locked":
    holder.kill()
    raise RuntimeError(f"the holding process did not lock {workdir}")
  return holder


def release(holder: subprocess.Popen) -> None:
  holder.stdin.close()
  holder.wait(timeout=30)
