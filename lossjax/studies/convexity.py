"""Is the cost convex in the weights? (seed 002)

Binary pairings: a logistic-style model ``a = act(theta . x)`` on a small
synthetic data set, its cost over one weight (1-D) and two weights (2-D),
and its curvature from ``jax.hessian`` on a grid. Multiclass pairings: the
smallest Hessian eigenvalue in the logits and in the weights of a linear
model ``z = x @ w``, over random points. Runs in float64. Pairings are split
by their ``kind``, so any pairing runs here.
"""

import dataclasses
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core import curvature
from lossjax.core.losses import loss
from lossjax.core.pairings import Pairing
from lossjax.output import plotting, progress, results


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """Sizes of the study (the defaults run in seconds)."""

  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    (
      "sigmoid_mse",
      "sigmoid_bce",
      "softmax_nll",
      "softmax_mse",
      "identity_mse",
    ),
    "Binary ones get the 1-D and 2-D curvature of a logistic-style model; "
    "every pairing gets the Hessian eigenvalues of a K-output layer, in the "
    "logits and in the weights of a linear model.",
  )
  examples: int = cfg.field(
    40, "Examples in the synthetic data.", check=cfg.at_least(2)
  )
  grid_1d: int = cfg.field(
    801, "Points of the 1-D theta grid.", check=cfg.at_least(3)
  )
  grid_2d: int = cfg.field(
    61, "Points per axis of the 2-D grid.", check=cfg.at_least(3)
  )
  extent: float = cfg.field(
    10.0, "Grids span [-extent, extent].", check=cfg.positive
  )
  random_points: int = cfg.field(
    400, "Random points for the multiclass Hessians.", check=cfg.at_least(1)
  )
  classes: int = cfg.field(
    4, "Classes of the multiclass model.", check=cfg.at_least(2)
  )
  features: int = cfg.field(
    3, "Inputs of the multiclass model.", check=cfg.at_least(1)
  )
  seed: int = cfg.field(
    0, "Seed of the data and random points.", check=cfg.at_least(0)
  )

  def binary(self) -> tuple[Pairing, ...]:
    return tuple(p for p in self.pairings if p.kind == "binary")


PRESETS = {}


@dataclasses.dataclass(frozen=True)
class Curve:
  """A logistic model with one weight: the cost's second derivative."""

  min_second_derivative: float
  theta_at_min: float
  negative_intervals: list[tuple[float, float]]
  fraction_negative: float


@dataclasses.dataclass(frozen=True)
class Surface:
  """A logistic model with two weights: the Hessian's smallest eigenvalue
  over the grid."""

  min_hessian_eigenvalue: float
  fraction_of_grid_negative: float


@dataclasses.dataclass(frozen=True)
class Multiclass:
  """K outputs: the smallest Hessian eigenvalue in the logits and in the
  weights of a linear model, and the fraction of points where it is < 0."""

  min_eigenvalue_in_logits: float
  fraction_negative_in_logits: float
  min_eigenvalue_in_weights: float
  fraction_negative_in_weights: float


@dataclasses.dataclass(frozen=True)
class Summary:
  """Each measurement by pairing name (binary pairings only in ``curves``
  and ``surfaces``); all in ``dtype``."""

  curves: dict[str, Curve]
  surfaces: dict[str, Surface]
  multiclass: dict[str, Multiclass]
  dtype: str = "float64"

  def to_json(self) -> dict:
    """``summary.json``: ``1d_<pairing>``, ``2d_<pairing>`` and
    ``multiclass_<pairing>`` entries."""
    return {
      "dtype": self.dtype,
      **{f"1d_{k}": dataclasses.asdict(v) for k, v in self.curves.items()},
      **{f"2d_{k}": dataclasses.asdict(v) for k, v in self.surfaces.items()},
      **{
        f"multiclass_{k}": dataclasses.asdict(v)
        for k, v in self.multiclass.items()
      },
    }


@dataclasses.dataclass
class Result:
  config: Config
  summary: Summary
  arrays: dict


def binary_data(config: Config, features: int):
  """Inputs ``(n, features)`` and Bernoulli labels from a true logistic model."""
  kx, ky = jax.random.split(jax.random.key(config.seed))
  x = jax.random.normal(kx, (config.examples, features), jnp.float64)
  true_theta = jnp.linspace(2.0, -1.0, features)
  y = jax.random.bernoulli(ky, jax.nn.sigmoid(x @ true_theta))
  return x, y.astype(jnp.float64)


def run(
  config: Config, *, workdir: Path | None = None, log=progress.info
) -> Result:
  """Computes every curvature in float64."""
  del workdir, log
  with jax.enable_x64(True):
    summary, arrays = _run(config)
  return Result(config, summary, arrays)


def _run(config: Config) -> tuple[Summary, dict]:
  curves, surfaces, multiclass, arrays = {}, {}, {}, {}
  x1, y1 = binary_data(config, 1)
  thetas = jnp.linspace(-config.extent, config.extent, config.grid_1d)
  arrays["theta"] = np.asarray(thetas)
  x2, y2 = binary_data(config, 2)
  axis = jnp.linspace(-config.extent, config.extent, config.grid_2d)
  w1, w2 = jnp.meshgrid(axis, axis, indexing="xy")
  points_2d = jnp.stack([w1.ravel(), w2.ravel()], -1)
  arrays["w_axis"] = np.asarray(axis)
  for p in config.binary():
    cost = lambda t, p=p: curvature.logistic_cost(p, t, x1, y1)  # noqa: E731
    arrays[f"cost_1d_{p.name}"] = np.asarray(jax.vmap(cost)(thetas[:, None]))
    second = np.asarray(curvature.min_hessian_eigenvalue(cost, thetas[:, None]))
    arrays[f"curvature_1d_{p.name}"] = second
    curves[p.name] = Curve(
      min_second_derivative=float(second.min()),
      theta_at_min=float(thetas[second.argmin()]),
      negative_intervals=curvature.negative_intervals(
        np.asarray(thetas).tolist(), second.tolist()
      ),
      fraction_negative=float((second < 0).mean()),
    )
  for p in config.binary():
    cost = lambda t, p=p: curvature.logistic_cost(p, t, x2, y2)  # noqa: E731
    arrays[f"cost_2d_{p.name}"] = np.asarray(jax.vmap(cost)(points_2d)).reshape(
      w1.shape
    )
    smallest = np.asarray(curvature.min_hessian_eigenvalue(cost, points_2d))
    arrays[f"min_eig_2d_{p.name}"] = smallest.reshape(w1.shape)
    surfaces[p.name] = Surface(
      min_hessian_eigenvalue=float(smallest.min()),
      fraction_of_grid_negative=float((smallest < 0).mean()),
    )
  keys = jax.random.split(jax.random.key(config.seed + 1), 4)
  k, d, m = config.classes, config.features, config.random_points
  logits = 4.0 * jax.random.normal(keys[0], (m, k), jnp.float64)
  labels = jax.random.randint(keys[1], (), 0, k)
  x = jax.random.normal(keys[2], (config.examples, d), jnp.float64)
  x_labels = jax.random.randint(keys[3], (config.examples,), 0, k)
  weights = 3.0 * jax.random.normal(keys[0], (m, d, k), jnp.float64)
  for p in config.pairings:  # K outputs: a distribution or K binary units
    in_logits = curvature.min_hessian_eigenvalue(
      lambda z, p=p: loss(p, z, labels), logits
    )
    in_weights = curvature.min_hessian_eigenvalue(
      lambda w, p=p: curvature.softmax_linear_cost(p, w, x, x_labels), weights
    )
    multiclass[p.name] = Multiclass(
      min_eigenvalue_in_logits=float(in_logits.min()),
      fraction_negative_in_logits=float((in_logits < -1e-12).mean()),
      min_eigenvalue_in_weights=float(in_weights.min()),
      fraction_negative_in_weights=float((in_weights < -1e-12).mean()),
    )
  return Summary(curves, surfaces, multiclass), arrays


def summary(result: Result) -> str:
  lines = ["# Convexity (float64)", ""]
  for name, curve in result.summary.curves.items():
    lines.append(
      f"- {name}: min second derivative {curve.min_second_derivative:.3g}, "
      f"negative on {curve.fraction_negative:.0%} of theta"
    )
  for name, m in result.summary.multiclass.items():
    lines.append(
      f"- {name}: min Hessian eigenvalue {m.min_eigenvalue_in_logits:.3g} in "
      f"the logits, {m.min_eigenvalue_in_weights:.3g} in the weights"
    )
  return "\n".join(lines) + "\n"


def plot_1d(result: Result, path: Path) -> Path:
  plt = plotting.plt
  arrays = result.arrays
  fig, (ax_cost, ax_curv) = plt.subplots(1, 2, figsize=(11, 4))
  for p in result.config.binary():
    style = dict(color=p.display_color, label=p.display_label)
    ax_cost.plot(arrays["theta"], arrays[f"cost_1d_{p.name}"], **style)
    ax_curv.plot(arrays["theta"], arrays[f"curvature_1d_{p.name}"], **style)
    for start, end in result.summary.curves[p.name].negative_intervals:
      for ax in (ax_cost, ax_curv):
        ax.axvspan(start, end, color=p.display_color, alpha=0.08)
  ax_curv.axhline(0, color="black", linewidth=0.8)
  ax_cost.set(
    title="mean cost of a = act(theta x)", xlabel="theta", ylabel="cost"
  )
  ax_cost.set_yscale("log")
  ax_curv.set(
    title="second derivative (jax.hessian); shaded where < 0",
    xlabel="theta",
    ylabel="d2 cost / d theta2",
  )
  ax_curv.set_yscale("symlog", linthresh=1e-3)
  ax_cost.legend(fontsize=8)
  return plotting.save_figure(fig, path)


def plot_2d(result: Result, path: Path) -> Path:
  plt = plotting.plt
  binary = result.config.binary()
  fig, axes = plt.subplots(
    1, len(binary), figsize=(5.5 * len(binary), 4.6), squeeze=False
  )
  axis = result.arrays["w_axis"]
  for ax, p in zip(axes[0], binary, strict=True):
    contours = ax.contour(
      axis, axis, result.arrays[f"cost_2d_{p.name}"], levels=15, cmap="viridis"
    )
    ax.clabel(contours, fontsize=6)
    negative = result.arrays[f"min_eig_2d_{p.name}"] < 0
    ax.contourf(
      axis,
      axis,
      negative.astype(float),
      levels=[0.5, 1.5],
      colors=["tab:red"],
      alpha=0.2,
    )
    ax.set(
      title=f"{p.display_label}: {negative.mean():.0%} non-convex",
      xlabel="w1",
      ylabel="w2",
    )
  return plotting.save_figure(fig, path)


def write(result: Result, workdir: str | Path) -> list[Path]:
  workdir = Path(workdir)
  paths = results.write_summary(
    workdir,
    result.config,
    {**result.summary.to_json(), "settings": result.config.to_json()},
  )
  if result.config.binary():
    paths.append(plot_1d(result, workdir / "convexity_1d.png"))
    paths.append(plot_2d(result, workdir / "convexity_2d.png"))
  return paths
