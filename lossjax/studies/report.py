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
from lossjax import multilabel, results
from lossjax.data import DataConfig
from lossjax.pairings import PAIRINGS, Pairing, resolve_pairing
from lossjax.studies import (
  calibration_report,
  compare,
  convexity,
  entropy_floor,
  label_noise,
  multilabel_report,
  saturation,
  slowdown,
  softmax_temperature,
  sweep,
)
from lossjax.sweep import summary_rows

# Section 10: relu hidden layers under each kind of output, at rates the
# README's --preset=relu study selected on validation (the sigmoid
# network's default rates are too large for relu layers).
RELU_LRS = (
  ("sigmoid_mse", 0.3),
  ("sigmoid_bce", 0.05),
  ("softmax_nll", 0.05),
  ("identity_mse", 0.01),
)
# Sections 11-12: every pairing of the README's label-noise study, each at
# the rate that study selected on clean validation labels.
CALIBRATION_LRS = (
  ("sigmoid_mse", 1.0),
  ("softmax_mse", 1.0),
  ("sigmoid_bce", 0.1),
  ("softmax_nll", 0.3),
  ("smoothed_nll(eps=0.1)", 0.3),
  ("identity_mse", 0.1),
  ("softmax_mae", 1.0),
)
REPORT_NOISE = 0.4
# Section 13: multi-label MNIST at the rates the README's
# --preset=multilabel study selected on validation.
MULTILABEL_LRS = (
  ("sigmoid_bce", 0.3),
  ("softmax_nll", 0.3),
  ("sigmoid_mse", 1.0),
  ("softmax_mse", 1.0),
  ("identity_mse", 0.1),
)
MULTILABEL_SLOTS = 3
# Section 9's pairings beside sigmoid_mse, softmax_nll and identity_mse.
SMOOTHED = "smoothed_nll(eps=0.1)"
RESCALED = "rescaled_mse(k=3,m=5)"


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """How big each study is (presets: quick, full)."""

  data: DataConfig = DataConfig()
  pairings: tuple[Pairing, ...] = cfg.pairings_field(
    ("sigmoid_mse", "sigmoid_bce", "softmax_nll", "softmax_mse"),
    "Pairings of the comparison on data (section 1).",
  )
  hidden_activation: str = cfg.hidden_activation_field()
  student_lrs: tuple = cfg.lrs_field(
    cfg.rate_grid(
      (("sigmoid_mse",), (1.0, 3.0, 10.0)),
      (("softmax_nll", SMOOTHED), (0.1, 0.3, 1.0)),
      (("identity_mse",), (0.01, 0.03, 0.1)),
      ((RESCALED,), (0.003, 0.01, 0.03)),
    ),
    "Section 9: the rate grid of each pairing; the rate with the best "
    "validation accuracy is reported.",
  )
  calibration_lrs: tuple = cfg.lrs_field(
    CALIBRATION_LRS,
    "Sections 11-12: each pairing of the calibration and label-noise study "
    "and its rate (pairing=rate entries).",
    aliases=(),
  )
  multilabel_lrs: tuple = cfg.lrs_field(
    MULTILABEL_LRS,
    "Section 13: each pairing on multi-label data and its rate "
    "(pairing=rate entries).",
    aliases=(),
  )
  mnist_train: int | None = cfg.field(
    10_000, "Comparison: training examples (unset: all).", check=cfg.at_least(1)
  )
  mnist_eval: int | None = cfg.field(
    2_000, "Comparison: validation/test examples.", check=cfg.at_least(1)
  )
  mnist_epochs: int = cfg.epochs_field(3, "Comparison: epochs.")
  mnist_seeds: tuple[int, ...] = cfg.seeds_field((0, 1))
  saturation_depths: tuple[int, ...] = cfg.field(
    (1, 3, 5), "Saturation: depths.", check=cfg.each(cfg.at_least(1))
  )
  saturation_train: int | None = cfg.field(
    5_000, "Saturation: training examples.", check=cfg.at_least(1)
  )
  saturation_eval: int | None = cfg.field(
    1_000, "Saturation: validation/test examples.", check=cfg.at_least(1)
  )
  saturation_epochs: int = cfg.epochs_field(4, "Saturation: epochs.")
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


def write(result: Result, workdir: str | Path) -> list[Path]:
  workdir = Path(workdir)
  return [
    results.write_json(workdir / "config.json", result.config.to_json()),
    results.atomic_write_text(workdir / "report.md", result.text),
  ]


def _fmt(value, digits=3) -> str:
  return results.format_value(value, digits)


def _bold_list(values) -> str:
  return ", ".join("never" if v is None else f"**{v}**" for v in values)


def check_backprop(seed: int = 0) -> dict:
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
  return {
    "max_abs_backprop_vs_grad": worst_backprop,
    "max_abs_delta_vs_grad": worst_delta,
  }


def run(
  config: "Config", *, workdir: Path | None = None, log=print, dataset=None
) -> "Result":
  """Runs every study into ``workdir``/<study>/ and builds report.md's text."""
  if workdir is None:
    raise ValueError("the report writes each study's outputs: give a workdir.")
  workdir = Path(workdir)
  size = config
  config = config.replace(data=config.data.resolved())  # what ran
  dataset = dataset or config.data.load()
  start = time.perf_counter()
  sections = []

  # Seed 001 (and the book's chapter 3): the single neuron.
  log("slowdown ...")
  neuron = slowdown.run(slowdown.Config())
  slowdown.write(neuron, workdir / "slowdown")
  by = {(r["pairing"], r["w0"]): r["epochs_to_halve"] for r in neuron.records}
  book = slowdown.run(slowdown.Config(**slowdown.PRESETS["nielsen_ch3"]))
  (correct_ce,) = slowdown.records_by(
    book.records,
    pairing="sigmoid_bce",
    update_rule=slowdown.UPDATE_GRADIENT,
    w0=2.0,
  )

  # Seed 000: the feed-forward network.
  log("mnist pairings ...")
  mnist_config = compare.Config(
    data=dataclasses.replace(
      config.data, train_size=size.mnist_train, eval_size=size.mnist_eval
    ),
    pairings=config.pairings,
    init="large",
    hidden=((30,),),
    hidden_activation=config.hidden_activation,  # sections 1 and 9
    epochs=size.mnist_epochs,
    seeds=size.mnist_seeds,
  )
  mnist_dataset = dataset.with_train_size(size.mnist_train).with_eval_size(
    size.mnist_eval
  )
  mnist_result = compare.run(
    mnist_config, workdir=workdir / "mnist", log=log, dataset=mnist_dataset
  )
  compare.write(mnist_result, workdir / "mnist")
  mnist_rows = compare.summarize(mnist_result)

  log("backprop check ...")
  checks = check_backprop()

  log("entropy floor, softmax temperature, convexity ...")
  entropy = entropy_floor.run(entropy_floor.Config())
  entropy_floor.write(entropy, workdir / "entropy_floor")
  entropy_summary = entropy.summary
  temperature_result = softmax_temperature.run(softmax_temperature.Config())
  softmax_temperature.write(temperature_result, workdir / "softmax_temperature")
  temperature = temperature_result.summary["pairings"]["softmax_nll"]
  convexity_result = convexity.run(
    convexity.Config(
      grid_2d=size.convexity_grid_2d, random_points=size.convexity_points
    )
  )
  convexity.write(convexity_result, workdir / "convexity")
  convex = convexity_result.summary

  log("saturation ...")
  sat_config = saturation.Config(
    data=dataclasses.replace(
      config.data,
      train_size=size.saturation_train,
      eval_size=size.saturation_eval,
    ),
    depths=size.saturation_depths,
    epochs=size.saturation_epochs,
  )
  sat_result = saturation.run(
    sat_config,
    workdir=workdir / "saturation",
    dataset=dataset.with_eval_size(size.saturation_eval),
    log=log,
  )
  saturation.write(sat_result, workdir / "saturation")
  sat_rows = sat_result.rows
  sat = {
    (r["depth"], r["hidden_activation"], r["init"], r["pairing"]): r
    for r in saturation.summarize(sat_rows)
  }
  deepest = max(size.saturation_depths)

  log("init-scale sweep ...")
  spec = sweep.Config(
    task="neuron",
    pairings=("sigmoid_mse", "sigmoid_bce"),
    init_scales=(0.0, 1.0, 2.0, 3.0),
    lrs=(0.15, 1.0),
    epochs=300,
  )
  sweep_result = sweep.run(
    spec, workdir=workdir / "sweep", overwrite=True, log=lambda _: None
  )
  sweep_rows = {
    (r["pairing"], r["init_scale"], r["lr"]): r["epochs_to_target"]
    for r in summary_rows(sweep_result)
  }
  sweep.write(sweep_result, workdir / "sweep")

  # The pairings with the smallest and the largest initial output error.
  ranked = sorted(mnist_rows, key=lambda r: r["output_error_epoch0"])
  mse, nll = ranked[0], ranked[-1]
  sections.append(f"""## 1. Does softmax + cross-entropy really give different gradients? (seed 000)

Yes. On {dataset.describe()} (using {size.mnist_train or "all"} training
examples), a [784, 30, 10] network with {config.hidden_activation} hidden units
and N(0, 1) initialisation starts
with a mean output error |dC/dz| as small as **{_fmt(mse["output_error_epoch0"])}**
({mse["pairing"]}) and as large as **{_fmt(nll["output_error_epoch0"])}**
({nll["pairing"]}), {_fmt(nll["output_error_epoch0"] / mse["output_error_epoch0"])}x
larger: a quadratic cost multiplies a - y by the output's slope. After
{mnist_config.epochs} epochs the test accuracy is {_fmt(mse["final_test_mean"])}% ±
{_fmt(mse["final_test_std"], 2)} ({mse["pairing"]}, eta {mse["lr"]:g}) against
{_fmt(nll["final_test_mean"])}% ± {_fmt(nll["final_test_std"], 2)} ({nll["pairing"]},
eta {nll["lr"]:g}), over {len(mnist_config.seeds)} seeds.

![output error](mnist/output_error.png)
![accuracy](mnist/accuracy.png)

{compare.summary_table(mnist_rows)}
""")
  sections.append(f"""## 2. Why does the sigmoid neuron with quadratic cost learn slowly? (seed 001, §1-2)

The single neuron (x = 1, y = 0, eta = 0.15) halves its error in
**{by["sigmoid_mse", 0.0]}** epochs from w = b = 0 but **{by["sigmoid_mse", 2.0]}**
from w = b = 2 with the quadratic cost
({_fmt(by["sigmoid_mse", 2.0] / by["sigmoid_mse", 0.0])}x slower, sigma'(4) =
{_fmt(float(lossjax.sigmoid_prime(4.0)))}); with cross-entropy it needs
**{by["sigmoid_bce", 0.0]}** and **{by["sigmoid_bce", 2.0]}**. With the book's
cross-entropy rate eta = 0.005 the true gradient leaves the output at
{_fmt(correct_ce["final_output"])} after 300 epochs from w = b = 2: the book's
fast curve needs its widget's dC/da rule.

![slowdown](slowdown/slowdown.png)
""")
  sections.append(f"""## 3. Are BP1-BP4 and dC/dz = a - y right? (seed 001, BP1-BP4)

In float64, over networks of depth 1 to 4 and all four pairings, the largest
difference between the hand-written backpropagation and `jax.grad` was
**{checks["max_abs_backprop_vs_grad"]:.2e}**, and between the closed-form output
errors (a - y, (a - y) sigma'(z), J^T (a - y)) and `jax.grad` of the cost
**{checks["max_abs_delta_vs_grad"]:.2e}**.
""")
  rows = entropy_summary["rows"]
  sections.append(f"""## 4. Why can the cross-entropy not reach 0 for soft targets? (seed 001, minimum)

For y in (0, 1) the cost -[y ln a + (1-y) ln(1-a)] is minimised at a = y, where
it equals the binary entropy H(y) > 0. Minimising numerically (gradient descent
on the logit) gives {", ".join(f"C_min = {r['min_cost_descent']:.6f} for y = {r['y']:g}" for r in rows[:3])}
...; the largest gap to H(y) is **{entropy_summary["max_abs_error"]:.1e}** and
the largest |argmin a - y| is **{entropy_summary["max_argmin_error"]:.1e}**.

![entropy floor](entropy_floor/entropy_floor.png)
""")
  distinct, tied = (
    temperature["cases"]["distinct"],
    temperature["cases"]["tied"],
  )
  sections.append(f"""## 5. Where does the name softmax come from? (seed 001, §3)

softmax(c z) approaches the argmax indicator as c grows: for z =
{[round(v, 4) for v in distinct["logits"]]} the L1 distance to one-hot is
**{_fmt(distinct["distance_at"]["1"])}** at c = 1, **{_fmt(distinct["distance_at"]["10"])}**
at c = 10 and **{_fmt(distinct["distance_at"]["1e+06"])}** at c = 10^6. With a tie
(z = {[round(v, 4) for v in tied["logits"]]}) the mass splits: {[round(p, 4) for p in tied["probs_at_max_scale"]]}
at c = 10^6. Every value stayed finite in float32: **{distinct["all_finite"] and tied["all_finite"]}**.

![softmax temperature](softmax_temperature/softmax_temperature.png)
""")
  deep_large = sat[deepest, "sigmoid", "large", "sigmoid_mse"]
  deep_glorot = sat[deepest, "sigmoid", "glorot", "softmax_nll"]
  other_activations = [
    a for a in sat_config.hidden_activations if a != "sigmoid"
  ]
  others = "; ".join(
    f"{a}: **{_fmt(sat[deepest, a, 'large', 'sigmoid_mse']['epoch1_first_over_last'])}**"
    f" (dead or saturated units in the last hidden layer at the end: "
    f"{_fmt(sat[deepest, a, 'large', 'sigmoid_mse']['final_saturated_last_hidden'])})"
    for a in other_activations
  )
  sections.append(f"""## 6. Does the slowdown compound in deeper sigmoid networks? (seed 001, §1; Glorot & Bengio 2010)

With {deepest} hidden layers and N(0, 1) initialisation, the first hidden layer
learns slower than the last: the ratio of their |dC/db| in epoch 1 is
**{_fmt(deep_large["epoch1_first_over_last"])}** (quadratic cost); with Glorot
initialisation and softmax outputs it is {_fmt(deep_glorot["epoch1_first_over_last"])}.
The last hidden layer's saturated fraction (< 0.01 or > 0.99) goes from
{_fmt(deep_large["initial_saturated_last_hidden"])} to
{_fmt(deep_large["final_saturated_last_hidden"])} under N(0, 1) + quadratic, and its
mean activation under Glorot + softmax ends at {_fmt(deep_glorot["final_mean_last_hidden"])}.
The cross-entropies cancel sigma' at the output only; BP2 multiplies by the
hidden activation's slope in every layer below. With other hidden
activations (N(0, 1) initialisation, quadratic cost) the same ratio is
{others or "not measured"}.

![per-layer statistics](saturation/layers_depth{deepest}_sigmoid.png)
![gradient ratio](saturation/grad_ratio.png)
""")
  sections.append(f"""## 7. How does the slowdown grow with the initial saturation? (sweep)

Epochs until the neuron's cost falls below {spec.target_cost} at eta = 0.15, from
w = b = 0, 1, 2, 3: quadratic {_bold_list([sweep_rows["sigmoid_mse", s, 0.15] for s in spec.init_scales])},
cross-entropy {_bold_list([sweep_rows["sigmoid_bce", s, 0.15] for s in spec.init_scales])}
(never: not within {spec.epochs} epochs).

![sweep](sweep/heatmap.png)
""")
  c1, c2 = convex["1d_sigmoid_mse"], convex["1d_sigmoid_bce"]
  m1, m2 = convex["multiclass_softmax_nll"], convex["multiclass_softmax_mse"]
  sections.append(f"""## 8. Why log-loss rather than squared error on probabilities? (seed 002)

For a logistic model a = sigma(theta x), the quadratic cost's second derivative
(jax.hessian, float64) reaches **{c1["min_second_derivative"]:.3g}** and is negative
on {c1["fraction_negative"]:.0%} of theta in [-10, 10]
({", ".join(f"[{a:.2f}, {b:.2f}]" for a, b in c1["negative_intervals"])}); the
cross-entropy's minimum is **{c2["min_second_derivative"]:.3g}** (never negative).
With two weights, {convex["2d_sigmoid_mse"]["fraction_of_grid_negative"]:.0%} of the
grid is non-convex for the quadratic cost and
{convex["2d_sigmoid_bce"]["fraction_of_grid_negative"]:.0%} for cross-entropy.
Multiclass: the smallest Hessian eigenvalue of softmax + log-likelihood is
{m1["min_eigenvalue_in_logits"]:.1e} in the logits and
{m1["min_eigenvalue_in_weights"]:.1e} in the weights of a linear model (zero up to
round-off), against {m2["min_eigenvalue_in_logits"]:.3g} and
{m2["min_eigenvalue_in_weights"]:.3g} for softmax + quadratic.

![1-D](convexity/convexity_1d.png)
![2-D](convexity/convexity_2d.png)
""")
  log("is the student right? (square loss on linear outputs) ...")
  student_pairings = tuple(dict.fromkeys(e[0] for e in config.student_lrs))
  student_config = dataclasses.replace(
    mnist_config,
    pairings=student_pairings,
    lrs=config.student_lrs,
    init="normalized",
  )
  student_result = compare.run(
    student_config, workdir=workdir / "student", log=log, dataset=mnist_dataset
  )
  compare.write(student_result, workdir / "student")
  student = [r for r in compare.summarize(student_result) if r["selected"]]
  by_pairing = {r["pairing"]: r for r in student}
  linear = by_pairing.get("identity_mse")
  neuron_linear = slowdown.run(
    slowdown.Config(pairings=("identity_mse",), inits=((2.0, 2.0),))
  ).records[0]
  identity_convex = convex.get("multiclass_identity_mse", {})
  best = max(student, key=lambda r: r["test_at_best_val_mean"] or 0.0)
  sections.append(f"""## 9. Is the student right? Square loss on linear outputs (seed 000; Hui & Belkin 2021)

Partly. With a *sigmoid* output the quadratic cost's error is (a - y) sigma'(z);
with a *linear* output a = z the square loss 1/2 |z - y|^2 has error z - y,
exactly the form of cross-entropy's a - y. The slowdown belongs to the
squashing function in front of the square loss. The single neuron from
w = b = 2 halves its error in **{neuron_linear["epochs_to_halve"]}** epochs with
identity_mse (sigmoid + quadratic: **{by["sigmoid_mse", 2.0]}**), and the square
loss's Hessian in the logits is the identity (smallest eigenvalue
**{_fmt(identity_convex.get("min_eigenvalue_in_logits"))}**): convex, like the
log-likelihood.

On the data of section 1 (normalised initialisation, [784, 30, 10],
{student_config.epochs} epochs, {len(student_config.seeds)} seeds), each pairing
trained at each rate of its grid and the rate with the best validation accuracy
was kept. Test accuracy at the best validation epoch: square loss on linear
outputs **{_fmt(None if linear is None else linear["test_at_best_val_mean"])}%**
(eta {"-" if linear is None else f"{linear['lr']:g}"}), softmax + log-likelihood
**{_fmt(by_pairing.get("softmax_nll", {}).get("test_at_best_val_mean"))}%**, sigmoid
+ quadratic **{_fmt(by_pairing.get("sigmoid_mse", {}).get("test_at_best_val_mean"))}%**;
best: {best["pairing"]}. The README's 30-epoch study on full MNIST
(`--preset=square_loss`), with 5-rate grids and three seeds, is the fuller
answer.

![tuning curves](student/lr_tuning.png)

{compare.summary_table(student)}
""")
  log("relu hidden layers ...")
  relu = {}
  for init in ("large", "normalized"):
    relu_config = dataclasses.replace(
      mnist_config,
      pairings=tuple(name for name, _ in RELU_LRS),
      lrs=RELU_LRS,
      hidden_activation="relu",
      init=init,
    )
    relu_result = compare.run(
      relu_config,
      workdir=workdir / f"relu_{init}",
      log=log,
      dataset=mnist_dataset,
    )
    compare.write(relu_result, workdir / f"relu_{init}")
    relu[init] = {r["pairing"]: r for r in compare.summarize(relu_result)}

  def relu_line(init):
    rows = relu[init]
    return ", ".join(
      f"{name} **{_fmt(rows[name]['final_test_mean'])}**% (output error "
      f"{_fmt(rows[name]['output_error_epoch0'])} -> "
      f"{_fmt(rows[name]['output_error_epoch1'])})"
      for name, _ in RELU_LRS
    )

  sections.append(f"""## 10. Does the pairing still matter when the hidden layers do not saturate? (BP2)

The cross-entropies cancel sigma'(z) in BP1 only; BP2 multiplies by the
hidden activation's slope in every layer below, which a relu does not shrink
(slope 1 where the unit is active). With relu hidden layers ([784, 30, 10],
rates {", ".join(f"{n} {r:g}" for n, r in RELU_LRS)}, {relu_config.epochs} epochs,
{len(relu_config.seeds)} seeds), test accuracy after training and the mean
output error |dC/dz| at epochs 0 -> 1:

- N(0, 1) initialisation (large logits): {relu_line("large")}.
- Normalised initialisation: {relu_line("normalized")}.

The README's 10-epoch study on full MNIST (`--preset=relu`, rates selected on
validation) is the fuller answer.

![relu, N(0, 1)](relu_large/accuracy.png)
![relu, normalised](relu_normalized/accuracy.png)
""")
  log("calibration and label noise ...")
  noise_config = label_noise.Config(
    **{
      f.name: getattr(mnist_config, f.name)
      for f in dataclasses.fields(compare.Config)
    },
  ).replace(
    pairings=tuple(dict.fromkeys(e[0] for e in config.calibration_lrs)),
    lrs=config.calibration_lrs,
    init="normalized",
    noise_levels=(0.0, REPORT_NOISE),
  )
  noise_result = label_noise.run(
    noise_config,
    workdir=workdir / "label_noise",
    log=log,
    dataset=mnist_dataset,
  )
  label_noise.write(noise_result, workdir / "label_noise")
  sections += calibration_sections(noise_result)
  log("multi-label data ...")
  multilabel_config = noise_config.level(0.0).replace(
    data=noise_config.data.replace(multilabel=MULTILABEL_SLOTS),
    pairings=tuple(dict.fromkeys(e[0] for e in config.multilabel_lrs)),
    lrs=config.multilabel_lrs,
  )
  multilabel_result = compare.run(
    multilabel_config,
    workdir=workdir / "multilabel",
    log=log,
    dataset=multilabel.with_multilabel(
      mnist_dataset, slots=MULTILABEL_SLOTS, seed=0
    ),
  )
  compare.write(multilabel_result, workdir / "multilabel")
  sections.append(
    multilabel_section(
      [r for r in compare.summarize(multilabel_result) if r["selected"]],
      {r["pairing"]: r for r in noise_result.selected[0.0]},
    )
  )
  header = (
    "# lossjax report\n\n"
    f"Generated by `python -m experiments.report` in "
    f"{time.perf_counter() - start:.0f} s on {jax.devices()[0].device_kind} "
    f"(jax {jax.__version__}). Every number below was computed in this run.\n\n"
  )
  return Result(config, header + "\n".join(sections))


def calibration_sections(result: label_noise.Result) -> list[str]:
  """Sections 11 and 12 from the label-noise study's selected rows."""
  selected = result.selected
  clean = {r["pairing"]: r for r in selected[0.0]}
  noisy = {r["pairing"]: r for r in selected[REPORT_NOISE]}
  c = result.config

  def ece(r, scaled=False):
    key = (
      "test_ece_scaled_at_best_val_mean"
      if scaled
      else ("test_ece_at_best_val_mean")
    )
    return None if r[key] is None else 100 * r[key]

  ranked = sorted(clean.values(), key=lambda r: ece(r) or 0.0)
  after = sorted(clean.values(), key=lambda r: ece(r, True) or 0.0)
  listing = ", ".join(
    f"{r['pairing']} **{_fmt(ece(r), 2)}**% (T = {_fmt(r['temperature_at_best_val_mean'], 2)})"
    for r in ranked
  )
  robust = max(noisy.values(), key=lambda r: r["final_test_mean"] or 0.0)
  memorising = max(
    noisy.values(), key=lambda r: r["final_memorised_mean"] or 0.0
  )
  noise_lines = "\n".join(
    f"- {name}: **{_fmt(r['test_at_best_val_mean'])}**% at the best "
    f"validation epoch, **{_fmt(r['final_test_mean'])}**% at the last "
    f"(clean labels: {_fmt(clean[name]['final_test_mean'])}%); "
    f"memorised **{_fmt(100 * (r['final_memorised_mean'] or 0.0), 2)}**% of "
    "the mislabelled examples"
    for name, r in noisy.items()
  )
  return [
    f"""## 11. Are the outputs probabilities? (seed 001, softmax; Guo et al. 2017)

Each pairing's class probabilities (the softmax; sigmoid or linear outputs
clipped to [0, 1] and normalised), on the test set at the epoch with the best
validation accuracy ({c.epochs} epochs, {len(c.seeds)} seeds, [784, 30, 10],
normalised initialisation). Expected calibration error, lowest first:
{listing}. After temperature scaling (T fitted on validation) the lowest is
{after[0]["pairing"]} at **{_fmt(ece(after[0], True), 2)}**% and the highest
{after[-1]["pairing"]} at **{_fmt(ece(after[-1], True), 2)}**%.
The README's 30-epoch study on full MNIST is the fuller answer.

![reliability](label_noise/noise_0/reliability.png)

{calibration_report.calibration_table(list(clean.values()))}
""",
    f"""## 12. What if labels are wrong? (Ghosh et al. 2017; Zhang & Sabuncu 2018)

With {100 * REPORT_NOISE:g}% of the training and validation labels replaced
by another class (test labels clean), test accuracy:

{noise_lines}

Best at the last epoch: {robust["pairing"]}; most memorised:
{memorising["pairing"]}.

![noise](label_noise/noise.png)
""",
  ]


def multilabel_section(rows: list[dict], single: dict[str, dict]) -> str:
  """Section 13: ``rows``, the multi-label comparison's selected rows;
  ``single``, the same pairings' selected rows on single-label data."""

  def pct(r, key):
    value = r.get(key)
    return _fmt(None if value is None else 100 * value, 3)

  lines = "\n".join(
    f"- {r['pairing']}: exact-set **{pct(r, 'test_exact_set_accuracy_at_best_val_mean')}**%"
    f" (1 / 2 / 3 labels: "
    + " / ".join(
      pct(r, f"test_exact_set_accuracy_{c}_labels_at_best_val_mean")
      for c in (1, 2, 3)
    )
    + f"), threshold {_fmt(r['threshold_at_best_val_mean'], 2)}, mean AP "
    f"{_fmt(r['test_average_precision_at_best_val_mean'])}; single-label "
    f"accuracy {_fmt((single.get(r['pairing']) or {}).get('test_at_best_val_mean'))}%"
    for r in rows
  )
  best = max(
    rows, key=lambda r: r["test_exact_set_accuracy_at_best_val_mean"] or 0.0
  )
  return f"""## 13. Exclusive or independent classes? (seed 001's guideline; seed 002)

Softmax is for mutually exclusive classes, sigmoid + cross-entropy for
inputs that carry several labels. On multi-label data (1 to
{MULTILABEL_SLOTS} digits side by side, the target the set of their classes,
each pairing's threshold chosen on validation), test exact-set accuracy at
the best validation epoch, against the same pairing's accuracy on the
single-label data of section 11:

{lines}

Best on multi-label data: {best["pairing"]}. The README's 30-epoch study on
full MNIST (`--preset=multilabel`) is the fuller answer.

![accuracy by number of labels](multilabel/label_count.png)

{multilabel_report.table(rows)}
"""
