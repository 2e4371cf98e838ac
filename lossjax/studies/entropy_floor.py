"""Why cross-entropy cannot reach 0 for soft targets (seed 001).

For a target y in (0, 1), ``C(a) = -[y ln a + (1 - y) ln(1 - a)]`` is
smallest at ``a = y``, where it equals the binary entropy ``H(y) > 0``. For
each pairing this finds the minimum of its cost over the logits (gradient
descent with optax, and a dense grid over the first output as an
independent check) and compares it with ``H(y)``. A binary pairing sees one
output with target y, a multiclass one two classes with target (y, 1 - y).
Runs in float64.
"""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core import entropy
from lossjax.core.losses import loss
from lossjax.core.pairings import Pairing, smoothed_nll
from lossjax.output import plotting, progress, results


def _unit_interval(values: tuple[float, ...]) -> None:
  cfg.nonempty_unique(values)
  if not all(0.0 <= y <= 1.0 for y in values):
    raise ValueError(f"targets must lie in [0, 1], got {values}")


def _open_unit_interval(value: float) -> None:
  if not 0.0 < value < 1.0:
    raise ValueError(f"must lie in (0, 1), got {value}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(("sigmoid_bce",))
  targets: tuple[float, ...] = cfg.field(
    (0.1, 0.25, 0.5, 0.75, 0.9),
    "Soft targets y, in [0, 1].",
    check=_unit_interval,
  )
  grid: int = cfg.field(
    100_001,
    "Grid points in [0, 1] for the independent check.",
    check=cfg.at_least(3),
  )
  smoothing: tuple[float, ...] = cfg.field(
    (0.05, 0.1, 0.2),
    "Label smoothing eps of smoothed_nll(eps): its floor over --classes "
    "classes is the entropy of the smoothed target. Empty: skip.",
    check=cfg.all_of(cfg.unique, cfg.each(_open_unit_interval)),
  )
  classes: int = cfg.field(
    10, "Classes K for the label-smoothing floor.", check=cfg.at_least(2)
  )


PRESETS = {}


@dataclasses.dataclass(frozen=True)
class TargetRow:
  """One pairing's minimum cost for the soft target ``y``: found by gradient
  descent on the logit and on a grid of outputs, against ``H(y)``."""

  pairing: str
  y: float
  binary_entropy: float
  min_cost_descent: float
  argmin_a_descent: float
  min_cost_grid: float
  argmin_a_grid: float
  abs_error_descent: float


@dataclasses.dataclass(frozen=True)
class SmoothingRow:
  """Label smoothing's floor: the entropy of the smoothed one-hot target."""

  pairing: str
  classes: int
  entropy_of_smoothed_target: float
  min_cost_descent: float
  abs_error_descent: float


@dataclasses.dataclass(frozen=True)
class Summary:
  """Every row, and the largest gaps to the entropy floor."""

  label_smoothing: tuple[SmoothingRow, ...]
  rows: tuple[TargetRow, ...]
  max_abs_error: float
  max_argmin_error: float

  def to_json(self) -> dict:
    """``summary.json``."""
    return {
      "label_smoothing": [dataclasses.asdict(r) for r in self.label_smoothing],
      "rows": [dataclasses.asdict(r) for r in self.rows],
      "max_abs_error": self.max_abs_error,
      "max_argmin_error": self.max_argmin_error,
    }


@dataclasses.dataclass
class Result:
  config: Config
  summary: Summary
  arrays: dict


def _grid_costs(pairing: Pairing, a: jax.Array, y: jax.Array) -> jax.Array:
  """Cost for first-output probability ``a`` (rows: targets, columns: a)."""
  logit = jnp.log(a) - jnp.log1p(-a)
  z = logit[None, :, None]
  if pairing.kind == "multiclass":
    z = jnp.concatenate([z, jnp.zeros_like(z)], axis=-1)
  _, _, targets = entropy.soft_target_problem(pairing, y)
  targets = jnp.broadcast_to(targets[:, None, :], (len(y), len(a), z.shape[-1]))
  return loss(pairing, jnp.broadcast_to(z, targets.shape), targets)


def run(
  config: Config, *, workdir: Path | None = None, log=progress.info
) -> Result:
  """Minimum cost of each pairing for each soft target."""
  del workdir, log
  rows, curves = [], {}
  with jax.enable_x64(True):
    y = jnp.asarray(config.targets, jnp.float64)
    floor = entropy.binary_entropy(y)
    a_grid = jnp.linspace(0.0, 1.0, config.grid)[1:-1]
    stride = max(1, config.grid // 2000)
    for p in config.pairings:
      a_min, c_min = entropy.minimize_cost(p, y)
      grid_costs = _grid_costs(p, a_grid, y)
      grid_min = grid_costs.min(axis=1)
      grid_argmin = a_grid[grid_costs.argmin(axis=1)]
      curves[p.name] = np.asarray(grid_costs[:, ::stride])
      for i, target in enumerate(config.targets):
        rows.append(
          TargetRow(
            pairing=p.name,
            y=target,
            binary_entropy=float(floor[i]),
            min_cost_descent=float(c_min[i]),
            argmin_a_descent=float(a_min[i]),
            min_cost_grid=float(grid_min[i]),
            argmin_a_grid=float(grid_argmin[i]),
            abs_error_descent=float(abs(c_min[i] - floor[i])),
          )
        )
    arrays = {
      "a": np.asarray(a_grid[::stride]),
      "curves": curves,
      "floor": np.asarray(floor),
    }
    smoothing_rows = []
    for eps in config.smoothing:
      # One example of class 0: the pairing smooths its one-hot target.
      target = jnp.full(config.classes, eps / config.classes).at[0].add(1 - eps)
      floor_k = float(entropy.entropy(target))
      reached = float(
        entropy.minimize_over_logits(
          smoothed_nll(eps), jnp.array([0]), config.classes
        )[0]
      )
      smoothing_rows.append(
        SmoothingRow(
          pairing=smoothed_nll(eps).name,
          classes=config.classes,
          entropy_of_smoothed_target=floor_k,
          min_cost_descent=reached,
          abs_error_descent=abs(reached - floor_k),
        )
      )
  summary = Summary(
    label_smoothing=tuple(smoothing_rows),
    rows=tuple(rows),
    max_abs_error=max(r.abs_error_descent for r in rows),
    max_argmin_error=max(abs(r.argmin_a_descent - r.y) for r in rows),
  )
  return Result(config, summary, arrays)


def summary(result: Result) -> str:
  lines = ["# Minimum cost for soft targets, against H(y)", ""]
  lines += [
    f"- {r.pairing}, y={r.y:g}: min C = {r.min_cost_descent:.6f} at "
    f"a = {r.argmin_a_descent:.6f}; H(y) = {r.binary_entropy:.6f}"
    for r in result.summary.rows
  ]
  if result.summary.label_smoothing:
    lines += [
      "",
      "Label smoothing: the floor is the entropy of the smoothed target.",
    ]
    lines += [
      f"- {r.pairing}, K={r.classes}: min C = {r.min_cost_descent:.6f}; "
      f"H(smoothed target) = {r.entropy_of_smoothed_target:.6f}"
      for r in result.summary.label_smoothing
    ]
  return "\n".join(lines) + "\n"


def plot(result: Result, path: Path) -> Path:
  plt = plotting.plt
  pairings = result.config.pairings
  fig, axes = plt.subplots(
    1, len(pairings), figsize=(6.5 * len(pairings), 4.2), squeeze=False
  )
  targets = result.config.targets
  colors = plt.cm.viridis(np.linspace(0, 0.9, len(targets)))
  for ax, p in zip(axes[0], pairings, strict=True):
    curves = result.arrays["curves"][p.name]
    for color, y, curve, h in zip(
      colors, targets, curves, result.arrays["floor"], strict=True
    ):
      ax.plot(
        result.arrays["a"], curve, color=color, label=f"y={y:g}: H(y)={h:.3f}"
      )
      ax.plot([y], [h], "o", color=color)
    ax.set(
      title=f"{p.display_label}: C(a) for soft targets; dots: (y, H(y))",
      xlabel="output a",
      ylabel="C(a)",
      ylim=(0, 3),
    )
    ax.legend(fontsize=8)
  return plotting.save_figure(fig, path)


def write(result: Result, workdir: str | Path) -> list[Path]:
  return [
    *results.write_summary(workdir, result.config, result.summary.to_json()),
    plot(result, Path(workdir) / "entropy_floor.png"),
  ]
