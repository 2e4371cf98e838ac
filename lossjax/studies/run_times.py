"""How long each study takes: the README's table of commands, from the
``timing.json`` each study writes into its folder (:func:`lossjax.cli.write_timing`).

The table is data (:data:`STUDIES`: the pages, the command and the folder);
the times are read, never typed, so they follow every rerun.
"""

import dataclasses
import json
from pathlib import Path

from lossjax.output import progress, results


@dataclasses.dataclass(frozen=True)
class Study:
  """A row of the table: the pages it answers, its command, its folder."""

  pages: tuple[tuple[str, str], ...]  # (name, path relative to the README)
  command: str
  folder: str  # under the results directory

  def __post_init__(self):
    if f"--workdir=experiments/results/{self.folder}" not in self.command:
      raise ValueError(f"{self.command!r} does not write {self.folder}")


def _study(pages, command: str) -> Study:
  folder = command.split("--workdir=experiments/results/")[1].split()[0]
  return Study(tuple(pages), command, folder)


STUDIES = (
  _study(
    [("slowdown", "docs/studies/slowdown.md")],
    "python -m experiments.slowdown --workdir=experiments/results/slowdown",
  ),
  _study(
    [("book on MNIST", "docs/studies/book_mnist.md")],
    "python -m experiments.mnist --preset=nielsen "
    "--workdir=experiments/results/mnist_nielsen",
  ),
  _study(
    [("gradients", "docs/studies/gradients.md")],
    "python -m experiments.mnist --preset=pairings "
    "--workdir=experiments/results/mnist_pairings",
  ),
  _study(
    [("square loss", "docs/studies/square_loss.md")],
    "python -m experiments.mnist --preset=square_loss "
    "--workdir=experiments/results/mnist_square_loss",
  ),
  _study(
    [
      ("calibration", "docs/studies/calibration.md"),
      ("label noise", "docs/studies/label_noise.md"),
    ],
    "python -m experiments.label_noise --preset=mnist "
    "--workdir=experiments/results/mnist_label_noise",
  ),
  _study(
    [("pair noise", "docs/studies/label_noise.md")],
    "python -m experiments.label_noise --preset=mnist --label_noise_kind=pair "
    "--noise_levels=0.4 --workdir=experiments/results/mnist_label_noise_pair",
  ),
  _study(
    [("multi-label", "docs/studies/multilabel.md")],
    "python -m experiments.mnist --preset=multilabel "
    "--workdir=experiments/results/mnist_multilabel",
  ),
  _study(
    [("hidden activations", "docs/studies/hidden_activations.md")],
    "python -m experiments.mnist --preset=relu "
    "--workdir=experiments/results/mnist_relu_large",
  ),
  _study(
    [("sweeps", "docs/studies/sweeps.md")],
    "python -m experiments.sweep --preset=mlp_mnist "
    "--workdir=experiments/results/sweep_mlp_mnist",
  ),
  _study(
    [("the rest", "docs/studies/more.md")],
    "python -m experiments.report --size=quick "
    "--workdir=experiments/results/report",
  ),
  _study(
    [("benchmark", "docs/benchmark.md")],
    "python -m experiments.benchmark --workdir=experiments/results/benchmark",
  ),
)


def time_text(timing: dict | None) -> str:
  """``timing.json`` in words: the total, then where it went."""
  if timing is None:
    return "not measured"
  parts = [
    f"{name} {progress.duration_text(timing[f'{name}_seconds'])}"
    for name in ("train", "evaluate", "compile")
    if timing.get(f"{name}_seconds", 0) >= 1
  ]
  split = f" ({', '.join(parts)})" if parts else ""
  return progress.duration_text(timing["total_seconds"]) + split


def read_timing(folder: Path) -> dict | None:
  path = folder / progress.TIMING_FILE
  return json.loads(path.read_text()) if path.is_file() else None


def table(root: Path) -> str:
  """The README's table: every study's pages, command and measured time
  (2 CPU cores; read from ``root/<folder>/timing.json``)."""
  cells = (
    [
      ", ".join(f"[{name}]({path})" for name, path in s.pages),
      f"`{s.command}`",
      time_text(read_timing(root / s.folder)),
    ]
    for s in STUDIES
  )
  headers = ["study", "command", "time (where it went)"]
  return "\n".join(results.table_lines(headers, cells)) + "\n"
