r"""Why cross-entropy cannot reach 0 for soft targets: the binary-entropy floor.

For targets y in (0, 1), C(a) = -[y ln a + (1 - y) ln(1 - a)] is smallest at
a = y, where it equals the binary entropy H(y) > 0. This draws C(a) for
several y, finds each minimum numerically (gradient descent on the logit with
optax, and a dense grid as an independent check) and compares it with H(y).
Runs in float64.

Writes summary.json and entropy_floor.png to --workdir.

Example:
  python -m experiments.entropy_floor --workdir=out/entropy_floor
"""

from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from experiments import cli
from lossjax import entropy, plotting, results

DEFAULT_TARGETS = (0.1, 0.25, 0.5, 0.75, 0.9)


def run_entropy_floor(
  targets: Sequence[float] = DEFAULT_TARGETS, *, grid: int = 100_001
) -> tuple[dict, dict]:
  """Minimum cross-entropy for each soft target; ``(summary, arrays)``."""
  targets = [float(y) for y in targets]
  if not targets or not all(0.0 <= y <= 1.0 for y in targets):
    raise ValueError(f"targets must lie in [0, 1], got {targets}.")
  with jax.enable_x64(True):
    y = jnp.asarray(targets, jnp.float64)
    a_min, c_min = entropy.minimize_bce(y)
    floor = entropy.binary_entropy(y)
    a_grid = jnp.linspace(0.0, 1.0, grid)[1:-1]
    curves = entropy.bce_of_output(a_grid[None, :], y[:, None])
    grid_min = curves.min(axis=1)
    grid_argmin = a_grid[curves.argmin(axis=1)]
    rows = [
      {
        "y": targets[i],
        "binary_entropy": float(floor[i]),
        "min_cost_descent": float(c_min[i]),
        "argmin_a_descent": float(a_min[i]),
        "min_cost_grid": float(grid_min[i]),
        "argmin_a_grid": float(grid_argmin[i]),
        "abs_error_descent": float(abs(c_min[i] - floor[i])),
      }
      for i in range(len(targets))
    ]
    arrays = {
      "a": np.asarray(a_grid[:: max(1, grid // 2000)]),
      "curves": np.asarray(curves[:, :: max(1, grid // 2000)]),
      "targets": targets,
      "floor": np.asarray(floor),
    }
  summary = {
    "rows": rows,
    "max_abs_error": max(r["abs_error_descent"] for r in rows),
    "max_argmin_error": max(abs(r["argmin_a_descent"] - r["y"]) for r in rows),
  }
  return summary, arrays


def plot(arrays, path: Path) -> Path:
  plt = plotting.plt
  fig, ax = plt.subplots(figsize=(6.5, 4.2))
  colors = plt.cm.viridis(np.linspace(0, 0.9, len(arrays["targets"])))
  for color, y, curve, h in zip(
    colors, arrays["targets"], arrays["curves"], arrays["floor"], strict=True
  ):
    ax.plot(arrays["a"], curve, color=color, label=f"y={y:g}: H(y)={h:.3f}")
    ax.plot([y], [h], "o", color=color)
  ax.set(
    title="cross-entropy C(a) for soft targets; dots: (y, H(y))",
    xlabel="output a",
    ylabel="C(a)",
    ylim=(0, 3),
  )
  ax.legend(fontsize=8)
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def write_outputs(workdir, summary, arrays) -> list[Path]:
  workdir = Path(workdir)
  return [
    results.write_json(workdir / "summary.json", summary),
    plot(arrays, workdir / "entropy_floor.png"),
  ]


def define_flags() -> None:
  """Command-line flags (defined only when run as a program)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_list(
    "targets", [str(y) for y in DEFAULT_TARGETS], "Soft targets y."
  )
  flags.DEFINE_integer(
    "grid", 100_001, "Grid points in [0, 1] for the check.", lower_bound=3
  )
  flags.mark_flag_as_required("workdir")


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  f = flags.FLAGS
  try:
    summary, arrays = run_entropy_floor(
      [float(y) for y in f.targets], grid=f.grid
    )
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  paths = write_outputs(f.workdir, summary, arrays)
  for row in summary["rows"]:
    print(
      f"y={row['y']:g}: min C = {row['min_cost_descent']:.6f} at a = "
      f"{row['argmin_a_descent']:.6f}; H(y) = {row['binary_entropy']:.6f}"
    )
  print("wrote", ", ".join(map(str, paths)))


if __name__ == "__main__":
  define_flags()
  app.run(main)
