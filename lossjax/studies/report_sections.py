"""The sections of report.md: one function per question, each built from
the typed results of the studies that answer it (see
:mod:`lossjax.studies.report`, which runs them)."""

import dataclasses

import lossjax
from lossjax.output import results
from lossjax.studies import (
  calibration_report,
  compare,
  compare_summary,
  convexity,
  entropy_floor,
  label_noise,
  multilabel_report,
  saturation,
  seed_spread,
  slowdown,
  softmax_temperature,
)
from lossjax.training.sharded_sweep import SweepResult


def _fmt(value, digits=3) -> str:
  return results.format_value(value, digits)


def _bold_list(values) -> str:
  return ", ".join("never" if v is None else f"**{v}**" for v in values)


@dataclasses.dataclass(frozen=True)
class BackpropCheck:
  """Largest differences to ``jax.grad`` (float64) over depths and pairings."""

  max_abs_backprop_vs_grad: float
  max_abs_delta_vs_grad: float


def gradients_body(mnist: compare.Result) -> str:
  """The output error of each pairing on data (seed 000)."""
  c = mnist.config
  rows = mnist.summary.rows
  # The pairings with the smallest and the largest initial output error.
  ranked = sorted(rows, key=lambda r: r.output_error_epoch0)
  mse, nll = ranked[0], ranked[-1]
  return f"""Yes. On {mnist.description} (using {c.data.train_size or "all"} training
examples), a [784, 30, 10] network with {c.hidden_activation} hidden units
and N(0, 1) initialisation starts
with a mean output error |dC/dz| as small as **{_fmt(mse.output_error_epoch0)}**
({mse.pairing}) and as large as **{_fmt(nll.output_error_epoch0)}**
({nll.pairing}), {_fmt(nll.output_error_epoch0 / mse.output_error_epoch0)}x
larger: a quadratic cost multiplies a - y by the output's slope. After
{c.epochs} epochs the test accuracy is {_fmt(mse.final_test.mean)}% ±
{_fmt(mse.final_test.std, 2)} ({mse.pairing}, eta {mse.lr:g}) against
{_fmt(nll.final_test.mean)}% ± {_fmt(nll.final_test.std, 2)} ({nll.pairing},
eta {nll.lr:g}), over {len(c.seeds)} seeds.

![output error](mnist/output_error.png)
![accuracy](mnist/accuracy.png)

{compare_summary.summary_table(rows)}
"""


def slowdown_body(neuron: slowdown.Result, book: slowdown.Result) -> str:
  """The single neuron (seed 001, §1-2)."""

  def halve(pairing, w0):
    return neuron.record(pairing, w0)["epochs_to_halve"]

  ratio = halve("sigmoid_mse", 2.0) / halve("sigmoid_mse", 0.0)
  correct_ce = book.record("sigmoid_bce", 2.0)
  return f"""The single neuron (x = 1, y = 0, eta = 0.15) halves its error in
**{halve("sigmoid_mse", 0.0)}** epochs from w = b = 0 but **{halve("sigmoid_mse", 2.0)}**
from w = b = 2 with the quadratic cost
({_fmt(ratio)}x slower, sigma'(4) =
{_fmt(float(lossjax.sigmoid_prime(4.0)))}); with cross-entropy it needs
**{halve("sigmoid_bce", 0.0)}** and **{halve("sigmoid_bce", 2.0)}**. With the book's
cross-entropy rate eta = 0.005 the true gradient leaves the output at
{_fmt(correct_ce["final_output"])} after 300 epochs from w = b = 2: the book's
fast curve needs its widget's dC/da rule.

![slowdown](slowdown/slowdown.png)
"""


def backprop_body(checks: BackpropCheck) -> str:
  """BP1-BP4 and the closed-form output errors against jax.grad."""
  return f"""In float64, over networks of depth 1 to 4 and all four pairings, the largest
difference between the hand-written backpropagation and `jax.grad` was
**{checks.max_abs_backprop_vs_grad:.2e}**, and between the closed-form output
errors (a - y, (a - y) sigma'(z), J^T (a - y)) and `jax.grad` of the cost
**{checks.max_abs_delta_vs_grad:.2e}**.
"""


def entropy_body(entropy: entropy_floor.Summary) -> str:
  """The entropy floor of the cross-entropy for soft targets."""
  minima = ", ".join(
    f"C_min = {r.min_cost_descent:.6f} for y = {r.y:g}"
    for r in entropy.rows[:3]
  )
  return f"""For y in (0, 1) the cost -[y ln a + (1-y) ln(1-a)] is minimised at a = y, where
it equals the binary entropy H(y) > 0. Minimising numerically (gradient descent
on the logit) gives {minima}
...; the largest gap to H(y) is **{entropy.max_abs_error:.1e}** and
the largest |argmin a - y| is **{entropy.max_argmin_error:.1e}**.

![entropy floor](entropy_floor/entropy_floor.png)
"""


def temperature_body(temperature: softmax_temperature.Summary) -> str:
  """Softmax as a smooth argmax."""
  cases = temperature.cases["softmax_nll"]
  distinct, tied = cases["distinct"], cases["tied"]
  return f"""softmax(c z) approaches the argmax indicator as c grows: for z =
{[round(v, 4) for v in distinct.logits]} the L1 distance to one-hot is
**{_fmt(distinct.distance_at[1.0])}** at c = 1, **{_fmt(distinct.distance_at[10.0])}**
at c = 10 and **{_fmt(distinct.distance_at[1e6])}** at c = 10^6. With a tie
(z = {[round(v, 4) for v in tied.logits]}) the mass splits: {[round(p, 4) for p in tied.probs_at_max_scale]}
at c = 10^6. Every value stayed finite in float32: **{distinct.all_finite and tied.all_finite}**.

![softmax temperature](softmax_temperature/softmax_temperature.png)
"""


def saturation_body(result: saturation.Result) -> str:
  """The slowdown in deeper sigmoid networks (Glorot & Bengio)."""
  config = result.config
  deepest = max(config.depths)
  deep_large = result.at(deepest, "sigmoid", "large", "sigmoid_mse")
  deep_glorot = result.at(deepest, "sigmoid", "glorot", "softmax_nll")
  others = "; ".join(
    f"{a}: **{_fmt(row['epoch1_first_over_last'])}**"
    f" (dead or saturated units in the last hidden layer at the end: "
    f"{_fmt(row['final_saturated_last_hidden'])})"
    for a in config.hidden_activations
    if a != "sigmoid"
    for row in [result.at(deepest, a, "large", "sigmoid_mse")]
  )
  return f"""With {deepest} hidden layers and N(0, 1) initialisation, the first hidden layer
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
"""


def sweep_body(result: SweepResult) -> str:
  """Epochs to the target over the initial saturation."""
  spec = result.spec

  def epochs(pairing):
    # One seed: each cell's only value.
    return _bold_list(
      [result.epochs_to_target(pairing, s, 0.15)[0] for s in spec.init_scales]
    )

  return f"""Epochs until the neuron's output error {spec.target_text()} at eta = 0.15, from
w = b = 0, 1, 2, 3: quadratic {epochs("sigmoid_mse")},
cross-entropy {epochs("sigmoid_bce")}
(never: not within {spec.epochs} epochs).

![sweep](sweep/heatmap.png)
"""


def convexity_body(convex: convexity.Summary) -> str:
  """Log-loss against squared error on probabilities (seed 002)."""
  c1, c2 = convex.curves["sigmoid_mse"], convex.curves["sigmoid_bce"]
  m1, m2 = convex.multiclass["softmax_nll"], convex.multiclass["softmax_mse"]
  intervals = ", ".join(f"[{a:.2f}, {b:.2f}]" for a, b in c1.negative_intervals)
  return f"""For a logistic model a = sigma(theta x), the quadratic cost's second derivative
(jax.hessian, float64) reaches **{c1.min_second_derivative:.3g}** and is negative
on {c1.fraction_negative:.0%} of theta in [-10, 10]
({intervals}); the
cross-entropy's minimum is **{c2.min_second_derivative:.3g}** (never negative).
With two weights, {convex.surfaces["sigmoid_mse"].fraction_of_grid_negative:.0%} of the
grid is non-convex for the quadratic cost and
{convex.surfaces["sigmoid_bce"].fraction_of_grid_negative:.0%} for cross-entropy.
Multiclass: the smallest Hessian eigenvalue of softmax + log-likelihood is
{m1.min_eigenvalue_in_logits:.1e} in the logits and
{m1.min_eigenvalue_in_weights:.1e} in the weights of a linear model (zero up to
round-off), against {m2.min_eigenvalue_in_logits:.3g} and
{m2.min_eigenvalue_in_weights:.3g} for softmax + quadratic.

![1-D](convexity/convexity_1d.png)
![2-D](convexity/convexity_2d.png)
"""


def student_body(
  student: compare.Result,
  neuron: slowdown.Result,
  neuron_linear: slowdown.Result,
  convex: convexity.Summary,
  *,
  data_section: int,
) -> str:
  """The square loss on linear outputs (Hui & Belkin 2021)."""
  c = student.config
  selected = student.summary.selected
  by_pairing = student.summary.by_pairing()
  linear = by_pairing.get("identity_mse")
  identity = convex.multiclass.get("identity_mse")
  best = max(selected, key=lambda r: r.test_at_best_val.mean or 0.0)

  def at_best_val(name):
    row = by_pairing.get(name)
    return None if row is None else row.test_at_best_val.mean

  return f"""Partly. With a *sigmoid* output the quadratic cost's error is (a - y) sigma'(z);
with a *linear* output a = z the square loss 1/2 |z - y|^2 has error z - y,
exactly the form of cross-entropy's a - y. The slowdown belongs to the
squashing function in front of the square loss. The single neuron from
w = b = 2 halves its error in **{neuron_linear.record("identity_mse", 2.0)["epochs_to_halve"]}** epochs with
identity_mse (sigmoid + quadratic: **{neuron.record("sigmoid_mse", 2.0)["epochs_to_halve"]}**), and the square
loss's Hessian in the logits is the identity (smallest eigenvalue
**{_fmt(None if identity is None else identity.min_eigenvalue_in_logits)}**): convex, like the
log-likelihood.

On the data of section {data_section} (normalised initialisation, [784, 30, 10],
{c.epochs} epochs, {len(c.seeds)} seeds), each pairing
trained at each rate of its grid and the rate with the best validation accuracy
was kept. Test accuracy at the best validation epoch: square loss on linear
outputs **{_fmt(at_best_val("identity_mse"))}%**
(eta {"-" if linear is None else f"{linear.lr:g}"}), softmax + log-likelihood
**{_fmt(at_best_val("softmax_nll"))}%**, sigmoid
+ quadratic **{_fmt(at_best_val("sigmoid_mse"))}%**;
highest mean here: {best.pairing} (a measurement at this size, not a
verdict). The README's 30-epoch study on full MNIST
(`--preset=square_loss`), with 5-rate grids and three seeds, is the fuller
answer.

![tuning curves](student/lr_tuning.png)

{compare_summary.summary_table(selected)}
"""


def relu_body(relu: dict[str, compare.Result]) -> str:
  """Relu hidden layers (BP2), by initialisation."""
  c = relu["large"].config
  rates = c.lrs  # (pairing, rate) entries

  def line(init):
    rows = relu[init].summary.by_pairing()
    return ", ".join(
      f"{name} **{_fmt(rows[name].final_test.mean)}**% (output error "
      f"{_fmt(rows[name].output_error_epoch0)} -> "
      f"{_fmt(rows[name].output_error_epoch1)})"
      for name, _ in rates
    )

  return f"""The cross-entropies cancel sigma'(z) in BP1 only; BP2 multiplies by the
hidden activation's slope in every layer below, which a relu does not shrink
(slope 1 where the unit is active). With relu hidden layers ([784, 30, 10],
rates {", ".join(f"{n} {r:g}" for n, r in rates)}, {c.epochs} epochs,
{len(c.seeds)} seeds), test accuracy after training and the mean
output error |dC/dz| at epochs 0 -> 1:

- N(0, 1) initialisation (large logits): {line("large")}.
- Normalised initialisation: {line("normalized")}.

The README's 10-epoch study on full MNIST (`--preset=relu`, rates selected on
validation) is the fuller answer.

![relu, N(0, 1)](relu_large/accuracy.png)
![relu, normalised](relu_normalized/accuracy.png)
"""


def _clean_and_noisy(result: label_noise.Result) -> tuple[dict, dict, float]:
  """The label-noise study's selected rows by pairing, on clean labels and
  at its noisiest level, and that level."""
  level = max(result.selected)
  selected = result.selected
  clean = {r.pairing: r for r in selected[0.0]}
  return clean, {r.pairing: r for r in selected[level]}, level


def calibration_body(result: label_noise.Result) -> str:
  """Calibration of the label-noise study's selected runs on clean labels."""
  clean, _, _ = _clean_and_noisy(result)
  c = result.config

  def ece(r, scaled=False):
    over = r.calibration.test_ece_scaled if scaled else r.calibration.test_ece
    return seed_spread.percent(over.at_best_val.mean)

  ranked = sorted(clean.values(), key=lambda r: ece(r) or 0.0)
  after = sorted(clean.values(), key=lambda r: ece(r, True) or 0.0)
  listing = ", ".join(
    f"{r.pairing} **{_fmt(ece(r), 2)}**% "
    f"(T = {_fmt(r.calibration.temperature.at_best_val.mean, 2)})"
    for r in ranked
  )
  return f"""Each pairing's class probabilities (the softmax; sigmoid or linear outputs
clipped to [0, 1] and normalised), on the test set at the epoch with the best
validation accuracy ({c.epochs} epochs, {len(c.seeds)} seeds, [784, 30, 10],
normalised initialisation). Expected calibration error, lowest first:
{listing}. After temperature scaling (T fitted on validation) the lowest is
{after[0].pairing} at **{_fmt(ece(after[0], True), 2)}**% and the highest
{after[-1].pairing} at **{_fmt(ece(after[-1], True), 2)}**%.
The README's 30-epoch study on full MNIST is the fuller answer.

![reliability](label_noise/noise_0/reliability.png)

{calibration_report.calibration_table(list(clean.values()))}
"""


def noise_body(result: label_noise.Result) -> str:
  """Test accuracy and memorisation at the label-noise study's noisy level."""
  clean, noisy, level = _clean_and_noisy(result)
  robust = max(noisy.values(), key=lambda r: r.final_test.mean or 0.0)
  memorising = max(
    noisy.values(), key=lambda r: r.calibration.memorised.final.mean or 0.0
  )
  noise_lines = "\n".join(
    f"- {name}: **{_fmt(r.test_at_best_val.mean)}**% at the best "
    f"validation epoch, **{_fmt(r.final_test.mean)}**% at the last "
    f"(clean labels: {_fmt(clean[name].final_test.mean)}%); "
    f"memorised **{_fmt(100 * (r.calibration.memorised.final.mean or 0.0), 2)}**% of "
    "the mislabelled examples"
    for name, r in noisy.items()
  )
  return f"""With {100 * level:g}% of the training and validation labels replaced
by another class (test labels clean), test accuracy:

{noise_lines}

Highest mean at the last epoch here: {robust.pairing}; most memorised:
{memorising.pairing} (measurements at this size, not verdicts).

![noise](label_noise/noise.png)
"""


def multilabel_body(
  multilabel: compare.Result,
  single_label: compare.Result,
  *,
  single_label_section: int,
) -> str:
  """The multi-label comparison's selected rates beside ``single_label``,
  the same pairings' comparison on single-label data (the section
  ``single_label_section``)."""
  rows = multilabel.summary.selected
  single = single_label.summary.by_pairing()

  def pct(over):
    return _fmt(
      None if over is None else seed_spread.percent(over.at_best_val.mean), 3
    )

  def single_label_accuracy(name):
    row = single.get(name)
    return None if row is None else row.test_at_best_val.mean

  lines = "\n".join(
    f"- {r.pairing}: exact-set **{pct(r.multilabel.test_exact_set_accuracy)}**%"
    f" (1 / 2 / 3 labels: "
    + " / ".join(
      pct(r.multilabel.by_label_count.accuracy.get(c)) for c in (1, 2, 3)
    )
    + f"), threshold {_fmt(r.multilabel.threshold.at_best_val.mean, 2)}, "
    f"mean AP {_fmt(r.multilabel.test_average_precision.at_best_val.mean)}; "
    f"single-label accuracy {_fmt(single_label_accuracy(r.pairing))}%"
    for r in rows
  )
  best = max(
    rows,
    key=lambda r: r.multilabel.test_exact_set_accuracy.at_best_val.mean or 0.0,
  )
  return f"""Softmax is for mutually exclusive classes, sigmoid + cross-entropy for
inputs that carry several labels. On multi-label data (1 to
{multilabel.config.data.multilabel} digits side by side, the target the set of their classes,
each pairing's threshold chosen on validation), test exact-set accuracy at
the best validation epoch, against the same pairing's accuracy on the
single-label data of section {single_label_section}:

{lines}

Highest mean on multi-label data here: {best.pairing} (a measurement at
this size, not a verdict). The README's 30-epoch study on
full MNIST (`--preset=multilabel`) is the fuller answer.

![accuracy by number of labels](multilabel/label_count.png)

{multilabel_report.table(rows)}
"""
