"""Are the outputs probabilities, and what if the labels are wrong? (issue 17)

One comparison (:mod:`lossjax.studies.compare`) per label-noise level, each
in its own folder ``noise_<percent>`` of the workdir with everything a
comparison writes (calibration per epoch, temperatures, reliability diagrams,
``test_probabilities.npz``, ``memorised`` per epoch). The rates are selected
on each level's own noisy validation labels. A level whose folder already
holds the finished comparison of the same config is read back, not
retrained (a comparison resumes its finished groups), and redrawn if a kill
stopped its drawing, so an interrupted study resumes where it stopped.

The study's summary puts the clean level's calibration (before and after
temperature scaling) beside every level's test accuracy, at the best
validation epoch and at the last, and the fraction of mislabelled training
examples each pairing memorised.
"""

import dataclasses
from pathlib import Path

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.datasets import label_corruption
from lossjax.output import plotting, progress, records, results
from lossjax.studies import (
  calibration_report,
  compare,
  compare_summary,
  seed_spread,
)


def _check_levels(levels: tuple[float, ...]) -> None:
  cfg.nonempty_unique(levels)
  for level in levels:
    label_corruption.check_fraction(level)


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(compare.Config):
  """A comparison's fields, and the noise levels it runs at."""

  noise_levels: tuple[float, ...] = cfg.field(
    (0.0, 0.2, 0.4, 0.6),
    "Fractions of training and validation labels corrupted, one comparison "
    "each (the data flags --label_noise_kind and --label_noise_seed apply "
    "to all).",
    check=_check_levels,
  )

  def validate(self):
    super().validate()
    if self.data.label_noise != 0:
      raise ValueError(
        "--label_noise: this study sets the noise itself; give the levels "
        "with --noise_levels (e.g. --noise_levels=0,0.4)."
      )

  def level(self, noise: float) -> compare.Config:
    """The comparison this study runs at ``noise``."""
    return self.recast(
      compare.Config, data=self.data.replace(label_noise=noise)
    )


_RATES = (
  (("sigmoid_mse", "softmax_mse"), (0.3, 1.0)),
  (("sigmoid_bce",), (0.03, 0.1)),
  (("softmax_nll", "smoothed_nll(eps=0.1)"), (0.1, 0.3)),
  (("identity_mse",), (0.03, 0.1)),
  (("softmax_mae",), (0.3, 1.0)),
)

PRESETS = {
  # Issue 17: MNIST, [784, 100, 10], 30 epochs, 5 seeds (each with its own
  # draw of the noise, so the spread over seeds includes the draw), each
  # pairing on a 2-rate grid: its clean optimum
  # (experiments/results/mnist_square_loss) and the rate below it, which
  # noise may favour; selected on each level's noisy validation labels.
  # (Two rates, not five, keep 4 levels x 7 pairings under an hour on 2 CPU
  # cores.) --label_noise_kind=pair runs the pair-flip noise.
  "mnist": {
    "pairings": [name for names, _ in _RATES for name in names],
    "hidden": [[100]],
    "lrs": config_fields.rate_grid(*_RATES),
    "batch_size": 10,
    "epochs": 30,
    "init": "normalized",
    "seeds": list(range(5)),
    "noise_levels": [0.0, 0.2, 0.4, 0.6],
    "data": {"label_noise_per_seed": True},
  },
}


@dataclasses.dataclass
class Result:
  """Each level's comparison, by noise fraction, in the config's order."""

  config: Config
  levels: dict[float, compare.Result]

  @property
  def selected(self) -> dict[float, list[compare_summary.SummaryRow]]:
    """Per level, the summary rows of the selected rates (each level's
    ``summary``, computed once: the Markdown, the JSON, the figure, the
    level's own files and the report all read it)."""
    return {
      noise: level.summary.selected for noise, level in self.levels.items()
    }


def level_dir(workdir: str | Path, noise: float) -> Path:
  return Path(workdir) / f"noise_{round(100 * noise)}"


def run(
  config: Config,
  *,
  workdir: Path | None = None,
  log=progress.info,
  dataset=None,
) -> Result:
  """Runs (or reads back) one comparison per noise level.

  ``dataset``: the data already read
  (:meth:`lossjax.datasets.data.DataConfig.load_source`), as in
  :func:`lossjax.studies.compare.run`; it is read once and each level
  applies its own label noise to it.
  """
  source = dataset or config.data.load_source()
  clean = config.data.load(loaded=source)
  if workdir is not None:
    results.write_json(
      Path(workdir) / "config.json",
      {"config": config.to_json(), "data": clean.describe()},
    )
  # A level whose groups all finished earlier is read back, not trained.
  finished = {
    noise: workdir is not None
    and compare.finished(level_dir(workdir, noise), config.level(noise))
    for noise in config.noise_levels
  }
  # One timer over the levels to train (a level with noise drawn per seed
  # trains a group per seed, the clean level one group).
  timer = compare.epoch_timer(
    *(config.level(noise) for noise, done in finished.items() if not done)
  )
  levels = {}
  for noise in config.noise_levels:
    sub = None if workdir is None else level_dir(workdir, noise)
    log(
      f"noise {noise:g}: finished earlier, read back from {sub}"
      if finished[noise]
      else f"noise {noise:g}: training"
    )
    levels[noise] = compare.run(
      config.level(noise), workdir=sub, log=log, dataset=source, timer=timer
    )
    if sub is not None and not (
      finished[noise] and (sub / compare.SUMMARY_FILE).is_file()
    ):
      # Drawn here, level by level, so that a kill loses no finished level;
      # a level killed while drawing has no summary yet and is redrawn.
      compare.write(levels[noise], sub)
  return Result(config, {noise: levels[noise] for noise in config.noise_levels})


def _cell(a, b, digits=2) -> str:
  def one(value):
    return "-" if value is None else f"{value:.{digits}f}"

  return f"{one(a)} / {one(b)}"


def _chance(row: compare_summary.SummaryRow) -> str:
  chance = row.calibration.memorised_chance.final.mean
  return "" if chance is None else f" ({100 * chance:.1f})"


def _by_pairing(
  selected: dict[float, list[compare_summary.SummaryRow]],
) -> dict[str, dict[float, compare_summary.SummaryRow]]:
  """Each pairing's selected row at each noise level it has, pairings in
  first-seen order."""
  by_pairing: dict[str, dict] = {}
  for noise, rows in selected.items():
    for r in rows:
      by_pairing.setdefault(r.pairing, {})[noise] = r
  return by_pairing


def noise_table(selected: dict[float, list[compare_summary.SummaryRow]]) -> str:
  """Test accuracy (%) at the best validation epoch / at the last epoch, and
  memorised (%) at the same two epochs, per pairing and noise level."""
  levels = list(selected)
  headers = [
    "pairing",
    *(f"test % at {100 * n:g}% noise" for n in levels),
    *(f"memorised % at {100 * n:g}%" for n in levels),
  ]
  table = []
  for pairing, by_noise in _by_pairing(selected).items():
    accuracy = [
      _cell(by_noise[n].test_at_best_val.mean, by_noise[n].final_test.mean)
      if n in by_noise
      else "-"
      for n in levels
    ]
    memorised = [
      _cell(
        seed_spread.percent(by_noise[n].calibration.memorised.at_best_val.mean),
        seed_spread.percent(by_noise[n].calibration.memorised.final.mean),
        1,
      )
      + _chance(by_noise[n])
      if n in by_noise
      else "-"
      for n in levels
    ]
    table.append([pairing, *accuracy, *memorised])
  return "\n".join(results.table_lines(headers, table)) + "\n"


def rates_table(selected: dict[float, list[compare_summary.SummaryRow]]) -> str:
  """The rate each level selected, per pairing."""
  levels = list(selected)
  table = (
    [
      pairing,
      *(f"{by_noise[n].lr:g}" if n in by_noise else "-" for n in levels),
    ]
    for pairing, by_noise in _by_pairing(selected).items()
  )
  return "\n".join(results.table_lines(_level_headers(levels), table)) + "\n"


def _level_headers(levels) -> list[str]:
  return ["pairing", *(f"{100 * n:g}%" for n in levels)]


def plateau_table(
  selected: dict[float, list[compare_summary.SummaryRow]],
) -> str:
  """Per pairing and level: how many seeds end on the plateau (some class
  rarely or never predicted at the last epoch), out of how many."""
  levels = list(selected)

  def cell(r):
    return f"{len(r.spread.rarely_predicting_seeds_final)}/{r.seeds}"

  table = (
    [pairing, *(cell(by_noise[n]) if n in by_noise else "-" for n in levels)]
    for pairing, by_noise in _by_pairing(selected).items()
  )
  return "\n".join(results.table_lines(_level_headers(levels), table)) + "\n"


def summary(result: Result) -> str:
  """summary.md: the clean level's calibration, then every level's accuracy
  and memorisation."""
  c = result.config
  selected = result.selected
  clean = selected.get(0.0)
  parts = [
    f"# {c.data.dataset}: calibration and label noise\n",
    f"Hidden {', '.join(records.hidden_text(h) for h in c.hidden)}, init "
    f"`{c.init}`, batch {c.batch_size}, {c.epochs} epochs, seeds "
    f"{', '.join(map(str, c.seeds))}; "
    + label_corruption.noise_scheme(
      c.data.label_noise_kind,
      c.data.label_noise_seed,
      per_seed=c.data.label_noise_per_seed,
      clean_validation=c.data.clean_validation,
    )
    + ". Each level is a comparison in `noise_<percent>/`, its rate and "
    f"epoch selected on its own {'clean' if c.data.clean_validation else 'noisy'} "
    "validation set.\n",
  ]
  if clean is not None:
    parts += [
      "## Are the outputs probabilities?\n",
      "Clean labels. Test set, mean over seeds, at the selected epoch (best "
      "validation accuracy) and at the last; ECE in %, NLL in nats, Brier in "
      "[0, 2]; T: the temperature fitted on validation; *after T*: at that "
      "temperature. Reliability diagrams: `noise_0/reliability.png`.\n",
      calibration_report.calibration_table(clean),
    ]
  parts += [
    "\n## What if labels are wrong?\n",
    "Test accuracy (%) on clean test labels, *at the best validation epoch / "
    "at the last epoch*, mean over seeds; *memorised*: the share (%) of "
    "mislabelled training examples the network assigns to their wrong label, "
    "at the same two epochs, and in brackets its chance level at the last "
    "epoch (the network's error rate on those examples over k - 1: what its "
    "errors would put on the wrong label if they ignored it).\n",
    noise_table(selected),
    "\nSeeds that end on a plateau (some class predicted for fewer than "
    f"{seed_spread.RARE_SHARE:.0%} of an even share of the test examples at "
    "the last epoch): a mean over seeds of two regimes describes neither.\n",
    plateau_table(selected),
    "\nRate selected at each noise level (on "
    f"{'clean' if c.data.clean_validation else 'noisy'} validation):\n",
    rates_table(selected),
  ]
  return "\n".join(parts)


def summary_rows(result: Result) -> list[dict]:
  """summary.json: the selected rows of every level, with ``noise``."""
  return [
    {"noise": n, **r.to_json()}
    for n, rows in result.selected.items()
    for r in rows
  ]


def plot_noise(result: Result, path: Path) -> Path:
  """Test accuracy (best validation epoch, last epoch) and memorisation
  (last epoch) against the noise level, one line per pairing."""
  plt = plotting.plt
  pairings = {p.name: p for p in result.config.pairings}
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.8), layout="constrained")
  panels = (
    (
      lambda r: r.test_at_best_val.mean,
      "test accuracy (%) at best validation epoch",
    ),
    (lambda r: r.final_test.mean, "test accuracy (%) at the last epoch"),
    (
      lambda r: seed_spread.percent(r.calibration.memorised.final.mean),
      "mislabelled examples memorised (%), last",
    ),
  )
  by_pairing = _by_pairing(result.selected)
  for ax, (value, title) in zip(axes, panels, strict=True):
    for name, by_noise in by_pairing.items():
      points = [
        (100 * noise, value(r))
        for noise, r in by_noise.items()
        if value(r) is not None
      ]
      if not points:
        continue
      ax.plot(
        *zip(*points, strict=True),
        marker="o",
        color=pairings[name].display_color,
        label=pairings[name].display_label,
      )
    ax.set(title=title, xlabel="label noise (%)")
  # Off the data: one legend below the panels.
  handles, labels = axes[0].get_legend_handles_labels()
  fig.legend(handles, labels, fontsize=8, loc="outside lower center", ncol=4)
  fig.suptitle(
    f"{result.config.data.label_noise_kind} label noise, mean over "
    f"{len(result.config.seeds)} seeds, each level's rate selected on its "
    "validation labels"
  )
  return plotting.save_figure(fig, path)


def write(result: Result, workdir: str | Path) -> list[Path]:
  """summary.md, summary.json and noise.png (each level wrote its own)."""
  workdir = Path(workdir)
  return [
    results.write_json(workdir / "summary.json", summary_rows(result)),
    results.atomic_write_text(workdir / "summary.md", summary(result)),
    plot_noise(result, workdir / "noise.png"),
  ]


def load(workdir: str | Path) -> Result:
  """The study in ``workdir``, from its config.json and level folders."""
  workdir = Path(workdir)
  if not (workdir / "config.json").is_file():
    raise ValueError(
      f"{workdir / 'config.json'} not found: not a study workdir."
    )
  config = cfg.load_json(Config, workdir / "config.json")
  return Result(
    config,
    {n: compare.load(level_dir(workdir, n)) for n in config.noise_levels},
  )
