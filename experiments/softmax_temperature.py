r"""Where the name softmax comes from: softmax(c z) tends to argmax as c grows.

For given logits, computes softmax(c z) in float32 for c from 0.1 to 1e6 (log
spaced) and its distance to the limit: the one-hot vector of argmax z, or,
with tied maxima, the vector that splits the mass equally among them. Checks
that nothing is NaN or inf even at c = 1e6.

Writes summary.json and softmax_temperature.png to --workdir.

Example:
  python -m experiments.softmax_temperature --workdir=out/softmax
"""

from collections.abc import Sequence
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
from absl import app, flags

from experiments import cli
from lossjax import plotting, results
from lossjax.activations import softmax

DEFAULT_LOGITS = {
  "distinct": (1.0, 2.0, 0.5, 1.9),
  "tied": (1.0, 3.0, 3.0, -1.0),
}
SHOWN_SCALES = (0.1, 1.0, 10.0, 1e6)


def argmax_limit(z: np.ndarray) -> np.ndarray:
  """The c -> inf limit of softmax(c z): mass split equally among the maxima."""
  winners = (z == z.max()).astype(np.float64)
  return winners / winners.sum()


def run_softmax_temperature(
  logits: dict[str, Sequence[float]] = DEFAULT_LOGITS,
  *,
  min_scale: float = 0.1,
  max_scale: float = 1e6,
  points: int = 71,
) -> tuple[dict, dict]:
  """Distances to the limit for every scale; ``(summary, arrays)``."""
  if not 0 < min_scale < max_scale:
    raise ValueError("need 0 < min_scale < max_scale.")
  scales = np.logspace(np.log10(min_scale), np.log10(max_scale), points)
  scales = np.unique(np.concatenate([scales, SHOWN_SCALES]))
  summary = {"scales": [float(min_scale), float(max_scale)], "cases": {}}
  arrays = {"scales": scales}
  batched = jax.jit(
    jax.vmap(lambda c, z: softmax(z, scale=c), in_axes=(0, None))
  )
  for name, values in logits.items():
    z = np.asarray(values, np.float32)
    a = np.asarray(batched(jnp.asarray(scales, jnp.float32), jnp.asarray(z)))
    limit = argmax_limit(z)
    distance = np.abs(a - limit).sum(axis=-1)  # L1 (total variation x 2)
    arrays[name] = {"probs": a, "distance": distance, "logits": z}
    summary["cases"][name] = {
      "logits": [float(f"{v:g}") for v in z],
      "limit": limit.tolist(),
      "all_finite": bool(np.isfinite(a).all()),
      "distance_at": {
        f"{c:g}": float(distance[scales == c][0]) for c in SHOWN_SCALES
      },
      "probs_at_max_scale": a[-1].tolist(),
      "first_scale_within_1e-3": (
        float(scales[np.argmax(distance < 1e-3)])
        if (distance < 1e-3).any()
        else None
      ),
    }
  return summary, arrays


def plot(arrays, path: Path) -> Path:
  plt = plotting.plt
  cases = [k for k in arrays if k != "scales"]
  fig, axes = plt.subplots(1, 1 + len(cases), figsize=(5 + 4.5 * len(cases), 4))
  scales = arrays["scales"]
  for name in cases:
    distance = np.maximum(arrays[name]["distance"], 1e-12)
    axes[0].loglog(
      scales,
      distance,
      label=f"{name} [{', '.join(f'{v:g}' for v in arrays[name]['logits'])}]",
    )
  axes[0].set(
    title="|softmax(c z) - argmax limit|_1",
    xlabel="scale c",
    ylabel="L1 distance",
  )
  axes[0].legend(fontsize=8)
  for ax, name in zip(axes[1:], cases, strict=True):
    width = 0.8 / len(SHOWN_SCALES)
    k = len(arrays[name]["logits"])
    for i, c in enumerate(SHOWN_SCALES):
      probs = arrays[name]["probs"][scales == c][0]
      ax.bar(np.arange(k) + i * width, probs, width, label=f"c={c:g}")
    ax.set_xticks(
      np.arange(k) + 0.4 - width / 2,
      [f"z={v:g}" for v in arrays[name]["logits"]],
    )
    ax.set(title=f"{name}: softmax(c z)", ylabel="probability", ylim=(0, 1.05))
    ax.legend(fontsize=8)
  fig.tight_layout()
  return plotting.save_figure(fig, path)


def write_outputs(workdir, summary, arrays) -> list[Path]:
  workdir = Path(workdir)
  return [
    results.write_json(workdir / "summary.json", summary),
    plot(arrays, workdir / "softmax_temperature.png"),
  ]


def _parse_logits(text: str) -> tuple[float, ...]:
  return tuple(float(v) for v in text.split(":"))


def define_flags() -> None:
  """Command-line flags (defined only when run as a program)."""
  flags.DEFINE_string("workdir", None, "Directory for the results (created).")
  flags.DEFINE_list(
    "logits",
    [":".join(map(str, v)) for v in DEFAULT_LOGITS.values()],
    "Logit vectors, each with values joined by ':', e.g. 1:2:0.5,1:3:3:-1.",
  )
  flags.DEFINE_float("min_scale", 0.1, "Smallest c.", lower_bound=1e-9)
  flags.DEFINE_float("max_scale", 1e6, "Largest c.", lower_bound=1e-9)
  flags.DEFINE_integer("points", 71, "Scales, log-spaced.", lower_bound=2)
  flags.register_validator(
    "logits",
    lambda v: bool(v) and all(_valid(x) for x in v),
    "--logits entries must be numbers joined by ':' (at least two each)",
  )
  flags.mark_flag_as_required("workdir")


def _valid(text: str) -> bool:
  try:
    return len(_parse_logits(text)) >= 2
  except ValueError:
    return False


def main(argv: Sequence[str]) -> None:
  cli.no_positional_arguments(argv)
  f = flags.FLAGS
  logits = dict(DEFAULT_LOGITS)
  if f["logits"].present:
    logits = {}
    for text in f.logits:
      values = _parse_logits(text)
      kind = "tied" if values.count(max(values)) > 1 else "distinct"
      logits[f"{kind} {len(logits) + 1}"] = values
  try:
    summary, arrays = run_softmax_temperature(
      logits, min_scale=f.min_scale, max_scale=f.max_scale, points=f.points
    )
  except ValueError as e:
    raise app.UsageError(str(e)) from None
  paths = write_outputs(f.workdir, summary, arrays)
  for name, case in summary["cases"].items():
    print(
      name, "distance at c:", case["distance_at"], "finite:", case["all_finite"]
    )
  print("wrote", ", ".join(map(str, paths)))


if __name__ == "__main__":
  define_flags()
  app.run(main)
