r"""Is the cost convex in the weights? Quadratic versus cross-entropy (seed 002).

A logistic model a = sigma(theta x) on a small synthetic data set: the cost as
a function of one weight (1-D) and of two weights (2-D), its curvature from
jax.hessian on a grid, and where the quadratic cost is non-convex. Then the
multiclass case: softmax + log-likelihood against softmax + quadratic, in the
logits and in the weights of a linear softmax model (minimum Hessian
eigenvalue over random points). Runs in float64.

Writes summary.json, convexity_1d.png and convexity_2d.png to --workdir.

Example:
  python -m experiments.convexity --workdir=out/convexity
"""

import dataclasses
from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from experiments import cli
from lossjax import convexity, plotting, results
from lossjax.losses import loss

BINARY = ("sigmoid_mse", "sigmoid_bce")
MULTICLASS = ("softmax_nll", "softmax_mse")


@dataclasses.dataclass(frozen=True)
class ConvexityConfig:
  """Sizes of the study (all defaults run in seconds)."""

  examples: int = 40
  grid_1d: int = 801
  grid_2d: int = 61
  extent: float = 10.0
  random_points: int = 400
  classes: int = 4
  features: int = 3
  seed: int = 0


def binary_data(config: ConvexityConfig, features: int):
  """Inputs ``(n, features)`` and Bernoulli labels from a true logistic model."""
  kx, ky = jax.random.split(jax.random.key(config.seed))
  x = jax.random.normal(kx, (config.examples, features), jnp.float64)
  true_theta = jnp.linspace(2.0, -1.0, features)
  y = jax.random.bernoulli(ky, jax.nn.sigmoid(x @ true_theta)).astype(
    jnp.float64
  )
  return x, y


def run_convexity(config: ConvexityConfig) -> tuple[dict, dict]:
  """Computes every curvature; returns ``(summary, arrays for figures)``."""
  with jax.enable_x64(True):
    return _run(config)


def _run(config):
  summary, arrays = {"dtype": "float64"}, {}
  # 1-D: a = sigma(theta x).
  x1, y1 = binary_data(config, 1)
  thetas = jnp.linspace(-config.extent, config.extent, config.grid_1d)
  arrays["theta"] = np.asarray(thetas)
  for pairing in BINARY:
    cost = lambda t, p=pairing: convexity.logistic_cost(p, t, x1, y1)  # noqa: E731
    points = thetas[:, None]
    arrays[f"cost_1d_{pairing}"] = np.asarray(jax.vmap(cost)(points))
    curvature = np.asarray(convexity.min_hessian_eigenvalue(cost, points))
    arrays[f"curvature_1d_{pairing}"] = curvature
    summary[f"1d_{pairing}"] = {
      "min_second_derivative": float(curvature.min()),
      "theta_at_min": float(thetas[curvature.argmin()]),
      "negative_intervals": convexity.negative_intervals(
        np.asarray(thetas).tolist(), curvature.tolist()
      ),
      "fraction_negative": float((curvature < 0).mean()),
    }
  # 2-D: a = sigma(w1 x1 + w2 x2).
  x2, y2 = binary_data(config, 2)
  axis = jnp.linspace(-config.extent, config.extent, config.grid_2d)
  w1, w2 = jnp.meshgrid(axis, axis, indexing="xy")
  points = jnp.stack([w1.ravel(), w2.ravel()], -1)
  arrays["w_axis"] = np.asarray(axis)
  for pairing in BINARY:
    cost = lambda t, p=pairing: convexity.logistic_cost(p, t, x2, y2)  # noqa: E731
    arrays[f"cost_2d_{pairing}"] = np.asarray(jax.vmap(cost)(points)).reshape(
      w1.shape
    )
    smallest = np.asarray(convexity.min_hessian_eigenvalue(cost, points))
    arrays[f"min_eig_2d_{pairing}"] = smallest.reshape(w1.shape)
    summary[f"2d_{pairing}"] = {
      "min_hessian_eigenvalue": float(smallest.min()),
      "fraction_of_grid_negative": float((smallest < 0).mean()),
    }
  # Multiclass: in the logits, and in the weights of z = x @ w.
  keys = jax.random.split(jax.random.key(config.seed + 1), 4)
  k, d, m = config.classes, config.features, config.random_points
  logits = 4.0 * jax.random.normal(keys[0], (m, k), jnp.float64)
  labels = jax.random.randint(keys[1], (), 0, k)
  x = jax.random.normal(keys[2], (config.examples, d), jnp.float64)
  x_labels = jax.random.randint(keys[3], (config.examples,), 0, k)
  weights = 3.0 * jax.random.normal(keys[0], (m, d, k), jnp.float64)
  for pairing in MULTICLASS:
    in_logits = convexity.min_hessian_eigenvalue(
      lambda z, p=pairing: loss(p, z, labels), logits
    )
    in_weights = convexity.min_hessian_eigenvalue(
      lambda w, p=pairing: convexity.softmax_linear_cost(p, w, x, x_labels),
      weights,
    )
    summary[f"multiclass_{pairing}"] = {
      "min_eigenvalue_in_logits": float(in_logits.min()),
      "fraction_negative_in_logits": float((in_logits < -1e-12).mean()),
      "min_eigenvalue_in_weights": float(in_weights.min()),
      "fraction_negative_in_weights": float((in_weights < -1e-12).mean()),
    }
  summary["settings"] = dataclasses.asdict(config)
  return summary, arrays


def plot_1d(arrays, summary, path: Path) -> Path:
  plt = plotting.plt
  fig, (ax_cost, ax_curv) = plt.subplots(1, 2, figsize=(11, 4))
  theta = arrays["theta"]
  for pairing in BINARY:
    color = plotting.PAIRING_COLORS[pairing]
    label = plotting.PAIRING_LABELS[pairing]
    ax_cost.plot(theta, arrays[f"cost_1d_{pairing}"], color=color, label=label)
    ax_curv.plot(
      theta, arrays[f"curvature_1d_{pairing}"], color=color, label=label
    )
  for start, end in summary["1d_sigmoid_mse"]["negative_intervals"]:
    for ax in (ax_cost, ax_curv):
      ax.axvspan(start, end, color="tab:red", alpha=0.08)
  ax_curv.axhline(0, color="black", linewidth=0.8)
  ax_cost.set(
    title="mean cost of a = sigma(theta x)", xlabel="theta", ylabel="cost"
  )
  ax_cost.set_yscale("log")
  ax_curv.set(
    title="second derivative (jax.hessian); shaded: quadratic < 0",
    xlabel="theta",
    ylabel="d2 cost / d theta2",
  )
  ax_curv.set_yscale("symlog", linthresh=1e-3)
  ax_cost.legend(fontsize=8)
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def plot_2d(arrays, path: Path) -> Path:
  plt = plotting.plt
  fig, axes = plt.subplots(1, 2, figsize=(11, 4.6))
  axis = arrays["w_axis"]
  for ax, pairing in zip(axes, BINARY, strict=True):
    cost = arrays[f"cost_2d_{pairing}"]
    contours = ax.contour(axis, axis, cost, levels=15, cmap="viridis")
    ax.clabel(contours, fontsize=6)
    negative = arrays[f"min_eig_2d_{pairing}"] < 0
    ax.contourf(
      axis,
      axis,
      negative.astype(float),
      levels=[0.5, 1.5],
      colors=["tab:red"],
      alpha=0.2,
    )
    ax.set(
      title=f"{plotting.PAIRING_LABELS[pairing]}: {negative.mean():.0%} non-convex",
      xlabel="w1",
      ylabel="w2",
    )
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def write_outputs(workdir, summary, arrays) -> list[Path]:
  workdir = Path(workdir)
  return [
    results.write_json(workdir / "summary.json", summary),
    plot_1d(arrays, summary, workdir / "convexity_1d.png"),
    plot_2d(arrays, workdir / "convexity_2d.png"),
  ]


def define_flags() -> None:
  """Command-line flags (defined only when run as a program)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_integer(
    "examples", 40, "Examples in the synthetic data.", lower_bound=2
  )
  flags.DEFINE_integer(
    "grid_1d", 801, "Points of the 1-D theta grid.", lower_bound=3
  )
  flags.DEFINE_integer(
    "grid_2d", 61, "Points per axis of the 2-D grid.", lower_bound=3
  )
  flags.DEFINE_float(
    "extent", 10.0, "Grids span [-extent, extent].", lower_bound=0.1
  )
  flags.DEFINE_integer(
    "random_points",
    400,
    "Random points for the multiclass Hessians.",
    lower_bound=1,
  )
  flags.DEFINE_integer("seed", 0, "Seed of the data and random points.")
  flags.mark_flag_as_required("workdir")


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  f = flags.FLAGS
  config = ConvexityConfig(
    examples=f.examples,
    grid_1d=f.grid_1d,
    grid_2d=f.grid_2d,
    extent=f.extent,
    random_points=f.random_points,
    seed=f.seed,
  )
  summary, arrays = run_convexity(config)
  paths = write_outputs(f.workdir, summary, arrays)
  for key in ("1d_sigmoid_mse", "1d_sigmoid_bce"):
    print(key, "min second derivative", summary[key]["min_second_derivative"])
  print("wrote", ", ".join(map(str, paths)))


if __name__ == "__main__":
  define_flags()
  app.run(main)
