"""One report that answers the seed questions, from every study's results.

Runs each study into ``workdir/<study>/`` and builds ``report.md``, one
section per question in seed order, each with a figure and numbers computed
in this run, taken from the studies' result objects.
"""

import dataclasses
import functools
import time
from pathlib import Path

import jax
import jax.numpy as jnp

import lossjax
from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core.pairings import PAIRINGS, Pairing, resolve_pairing
from lossjax.datasets.data import DataConfig
from lossjax.output import progress, results
from lossjax.studies import (
  compare,
  convexity,
  entropy_floor,
  label_noise,
  saturation,
  slowdown,
  softmax_temperature,
  sweep,
)
from lossjax.studies.report_outline import Studies, render
from lossjax.studies.report_sections import BackpropCheck

# The rates the report trains at, each where the README's study of the same
# question selected it on validation (the studies' presets hold grids; these
# are their selections). Calibration and label noise: every pairing of the
# label-noise study, at the rate it selected on clean validation labels.
CALIBRATION_LRS = (
  ("sigmoid_mse", 1.0),
  ("softmax_mse", 1.0),
  ("sigmoid_bce", 0.1),
  ("softmax_nll", 0.3),
  ("smoothed_nll(eps=0.1)", 0.3),
  ("identity_mse", 0.1),
  ("softmax_mae", 1.0),
)
# Multi-label MNIST: the rates --preset=multilabel selected.
MULTILABEL_LRS = (
  ("sigmoid_bce", 0.3),
  ("softmax_nll", 0.3),
  ("sigmoid_mse", 1.0),
  ("softmax_mse", 1.0),
  ("identity_mse", 0.1),
)
# Relu hidden layers under each kind of output: the rates --preset=relu
# selected (the sigmoid network's default rates are too large for relu).
RELU_LRS = (
  ("sigmoid_mse", 0.3),
  ("sigmoid_bce", 0.05),
  ("softmax_nll", 0.05),
  ("identity_mse", 0.01),
)
# The label-noise level the report trains beside clean labels.
REPORT_NOISE = 0.4
# Multi-label data: up to this many digits side by side per example.
MULTILABEL_SLOTS = 3
# The student's pairings beside sigmoid_mse, softmax_nll and identity_mse.
SMOOTHED = "smoothed_nll(eps=0.1)"
RESCALED = "rescaled_mse(k=3,m=5)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """How big each study is (presets: quick, full)."""

  data: DataConfig = DataConfig()
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    ("sigmoid_mse", "sigmoid_bce", "softmax_nll", "softmax_mse"),
    "Pairings of the comparison on data (the gradients section).",
  )
  hidden_activation: str = config_fields.hidden_activation_field()
  student_lrs: tuple = config_fields.lrs_field(
    config_fields.rate_grid(
      (("sigmoid_mse",), (1.0, 3.0, 10.0)),
      (("softmax_nll", SMOOTHED), (0.1, 0.3, 1.0)),
      (("identity_mse",), (0.01, 0.03, 0.1)),
      ((RESCALED,), (0.003, 0.01, 0.03)),
    ),
    "The student's section: the rate grid of each pairing; the rate with "
    "the best validation accuracy is reported.",
  )
  calibration_lrs: tuple = config_fields.lrs_field(
    CALIBRATION_LRS,
    "The calibration and label-noise sections: each pairing and its rate "
    "(pairing=rate entries).",
    aliases=(),
  )
  multilabel_lrs: tuple = config_fields.lrs_field(
    MULTILABEL_LRS,
    "The multi-label section: each pairing and its rate (pairing=rate "
    "entries).",
    aliases=(),
  )
  mnist_train: int | None = cfg.field(
    10_000, "Comparison: training examples (unset: all).", check=cfg.at_least(1)
  )
  mnist_eval: int | None = cfg.field(
    2_000, "Comparison: validation/test examples.", check=cfg.at_least(1)
  )
  mnist_epochs: int = config_fields.epochs_field(3, "Comparison: epochs.")
  mnist_seeds: tuple[int, ...] = config_fields.seeds_field((0, 1))
  saturation_depths: tuple[int, ...] = cfg.field(
    (1, 3, 5),
    "Saturation: depths.",
    check=cfg.all_of(cfg.unique, cfg.each(cfg.at_least(1))),
  )
  saturation_train: int | None = cfg.field(
    5_000, "Saturation: training examples.", check=cfg.at_least(1)
  )
  saturation_eval: int | None = cfg.field(
    1_000, "Saturation: validation/test examples.", check=cfg.at_least(1)
  )
  saturation_epochs: int = config_fields.epochs_field(4, "Saturation: epochs.")
  convexity_grid_2d: int = cfg.field(
    31, "Convexity: 2-D grid points per axis.", check=cfg.at_least(3)
  )
  convexity_points: int = cfg.field(
    100, "Convexity: random points.", check=cfg.at_least(1)
  )

  def validate(self):
    for name in ("student_lrs", "calibration_lrs", "multilabel_lrs"):
      for entry in getattr(self, name):
        if not isinstance(entry, tuple):
          raise ValueError(
            f"--{name}: give each rate as pairing=rate (e.g. "
            f"softmax_nll=0.3); {entry:g} names no pairing."
          )
        try:
          resolve_pairing(entry[0])
        except ValueError as e:
          raise ValueError(f"--{name}: {e}") from None


PRESETS = {
  "quick": {},
  "full": {
    "mnist_train": None,
    "mnist_eval": None,
    "mnist_epochs": 10,
    "mnist_seeds": [0, 1, 2],
    "saturation_depths": [1, 2, 3, 4, 5],
    "saturation_train": 20_000,
    "saturation_epochs": 10,
    "convexity_grid_2d": 61,
    "convexity_points": 400,
  },
}


@dataclasses.dataclass
class Result:
  config: Config
  text: str


def summary(result: Result) -> str:
  return result.text.split("\n## ", 1)[0]


def write_config(config: "Config", workdir: Path) -> Path:
  """``config.json``: the config, which ``--config`` repeats."""
  return results.write_json(
    Path(workdir) / "config.json", {"config": config.to_json()}
  )


def write(result: Result, workdir: str | Path) -> list[Path]:
  workdir = Path(workdir)
  return [
    write_config(result.config, workdir),
    results.atomic_write_text(workdir / "report.md", result.text),
  ]


def check_backprop(seed: int = 0) -> BackpropCheck:
  """Largest |backprop - jax.grad| and |output_delta - jax.grad| (float64)."""
  with jax.enable_x64(True):
    worst_backprop = worst_delta = 0.0
    key = jax.random.key(seed)
    for depth, sizes in enumerate(
      ([6, 4], [6, 5, 4], [6, 7, 5, 4], [6, 3, 8, 5, 4]), 1
    ):
      for pairing in PAIRINGS:
        keys = jax.random.split(jax.random.fold_in(key, depth), 3)
        params = lossjax.init_mlp("large", keys[0], sizes, dtype=jnp.float64)
        x = jax.random.normal(keys[1], (16, sizes[0]), jnp.float64)
        labels = jax.random.randint(keys[2], (16,), 0, sizes[-1])
        auto = jax.grad(functools.partial(lossjax.mean_loss, pairing=pairing))(
          params, x, labels
        )
        hand = lossjax.backprop(params, x, labels, pairing=pairing)
        diffs = jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)), hand, auto)
        worst_backprop = max(worst_backprop, float(max(jax.tree.leaves(diffs))))
        z = lossjax.mlp_logits(params, x)
        grad_z = jax.grad(
          lambda z, p=pairing, t=labels: lossjax.loss(p, z, t).sum()
        )(z)
        delta = lossjax.output_delta(pairing, z, labels)
        worst_delta = max(worst_delta, float(jnp.max(jnp.abs(grad_z - delta))))
  return BackpropCheck(worst_backprop, worst_delta)


def run_studies(
  config: Config, workdir: Path, source, log=progress.info
) -> Studies:
  """Runs every study into ``workdir/<study>/`` and writes its outputs.

  ``source``: the data, read once (:meth:`DataConfig.load_source`); each
  study applies its own sizes, noise and composition to it.
  """

  def compared(name: str, study_config: compare.Config) -> compare.Result:
    result = compare.run(
      study_config, workdir=workdir / name, log=log, dataset=source
    )
    compare.write(result, workdir / name)
    return result

  def computed(module, study_config, name: str):
    result = module.run(study_config)
    module.write(result, workdir / name)
    return result

  log("slowdown ...")
  neuron = computed(slowdown, slowdown.Config(), "slowdown")
  book = slowdown.run(slowdown.Config(**slowdown.PRESETS["nielsen_ch3"]))
  neuron_linear = slowdown.run(
    slowdown.Config(pairings=("identity_mse",), inits=((2.0, 2.0),))
  )
  log("mnist pairings ...")
  mnist_config = compare.Config(
    data=config.data.replace(
      train_size=config.mnist_train, eval_size=config.mnist_eval
    ),
    pairings=config.pairings,
    init="large",
    hidden=((30,),),
    hidden_activation=config.hidden_activation,  # also the student's
    epochs=config.mnist_epochs,
    seeds=config.mnist_seeds,
  )
  mnist = compared("mnist", mnist_config)
  log("backprop check ...")
  backprop = check_backprop()
  log("entropy floor, softmax temperature, convexity ...")
  entropy = computed(entropy_floor, entropy_floor.Config(), "entropy_floor")
  temperature = computed(
    softmax_temperature, softmax_temperature.Config(), "softmax_temperature"
  )
  convex = computed(
    convexity,
    convexity.Config(
      grid_2d=config.convexity_grid_2d, random_points=config.convexity_points
    ),
    "convexity",
  )
  log("saturation ...")
  saturated = saturation.run(
    saturation.Config(
      data=config.data.replace(
        train_size=config.saturation_train, eval_size=config.saturation_eval
      ),
      depths=config.saturation_depths,
      epochs=config.saturation_epochs,
    ),
    workdir=workdir / "saturation",
    dataset=source,
    log=log,
  )
  saturation.write(saturated, workdir / "saturation")
  log("init-scale sweep ...")
  swept = sweep.run(
    sweep.Config(
      task="neuron",
      pairings=("sigmoid_mse", "sigmoid_bce"),
      init_scales=(0.0, 1.0, 2.0, 3.0),
      lrs=(0.15, 1.0),
      epochs=300,
    ),
    workdir=workdir / "sweep",
    overwrite=True,
    log=lambda _: None,
  )
  sweep.write(swept, workdir / "sweep")
  log("is the student right? (square loss on linear outputs) ...")
  student = compared(
    "student",
    mnist_config.replace(
      pairings=tuple(dict.fromkeys(e[0] for e in config.student_lrs)),
      lrs=config.student_lrs,
      init="normalized",
    ),
  )
  log("relu hidden layers ...")
  relu = {
    init: compared(
      f"relu_{init}",
      mnist_config.replace(
        pairings=tuple(name for name, _ in RELU_LRS),
        lrs=RELU_LRS,
        hidden_activation="relu",
        init=init,
      ),
    )
    for init in ("large", "normalized")
  }
  log("calibration and label noise ...")
  noise_config = mnist_config.recast(
    label_noise.Config,
    pairings=tuple(dict.fromkeys(e[0] for e in config.calibration_lrs)),
    lrs=config.calibration_lrs,
    init="normalized",
    noise_levels=(0.0, REPORT_NOISE),
  )
  noise = label_noise.run(
    noise_config, workdir=workdir / "label_noise", log=log, dataset=source
  )
  label_noise.write(noise, workdir / "label_noise")
  log("multi-label data ...")
  multilabel_result = compared(
    "multilabel",
    noise_config.level(0.0).replace(
      data=noise_config.data.replace(multilabel=MULTILABEL_SLOTS),
      pairings=tuple(dict.fromkeys(e[0] for e in config.multilabel_lrs)),
      lrs=config.multilabel_lrs,
    ),
  )
  return Studies(
    mnist=mnist,
    neuron=neuron,
    book=book,
    neuron_linear=neuron_linear,
    backprop=backprop,
    entropy=entropy,
    temperature=temperature,
    convexity=convex,
    saturation=saturated,
    sweep=swept,
    student=student,
    relu=relu,
    noise=noise,
    multilabel=multilabel_result,
  )


def run(
  config: "Config",
  *,
  workdir: Path | None = None,
  log=progress.info,
  dataset=None,
) -> "Result":
  """Runs every study into ``workdir``/<study>/ and builds report.md's text.

  ``dataset``: the data already read (:meth:`DataConfig.load_source`), as
  for every data study.
  """
  if workdir is None:
    raise ValueError("the report writes each study's outputs: give a workdir.")
  workdir = Path(workdir)
  source = dataset or config.data.load_source()
  # First, so that a folder the report was killed in says which report it
  # holds (a rerun resumes it; lossjax.output.run_folder).
  write_config(config, workdir)
  start = time.perf_counter()
  studies = run_studies(config, workdir, source, log)
  header = (
    "# lossjax report\n\n"
    f"Generated by `python -m experiments.report` in "
    f"{time.perf_counter() - start:.0f} s on {jax.devices()[0].device_kind} "
    f"(jax {jax.__version__}). Every number below was computed in this run.\n\n"
    "**A smoke configuration.** This report runs every study at the size its "
    f"config gives (MNIST sections: {config.mnist_train} training examples, "
    f"{config.mnist_epochs} epochs, {len(config.mnist_seeds)} seeds), to show "
    "in minutes that each question's pipeline works end to end. At that size "
    'its numbers are measurements, not verdicts: a "highest mean" here is '
    "not a ranking. The studies on the project's pages, and the claims that "
    "carry their verdicts (docs/claims.md), answer the questions.\n\n"
  )
  return Result(config, header + render(studies))
