"""Feed-forward networks on MNIST-family data: does the pairing matter? (seed 000)

Trains MLPs ``[784, hidden..., 10]`` with sigmoid hidden layers (or
``hidden_activation``'s) under each pairing, every (pairing, learning rate,
seed) of an architecture in one vmapped, jit-compiled program (a seed's runs
share a mini-batch order, so they take the windowed loop), and records
per epoch: training cost,
validation and test accuracy, calibration (ECE, NLL, Brier score; see
:mod:`lossjax.metrics.calibration`), the mean output slope (how saturated the
outputs are), the output error ``|dC/dz|``, each layer's gradient norm and,
with label noise, the fraction of mislabelled training examples fitted to
their wrong label (``memorised``). Each run's temperature is fitted on
validation at its selected (best-validation) and last epoch
(``temperature.jsonl``), and the selected runs' test probabilities are saved
(``test_probabilities.npz``). ``metrics.jsonl`` gets one line per
configuration and epoch as each epoch finishes, so an interrupted run keeps
what it finished.
"""

import dataclasses
import functools
import itertools
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from lossjax import config as cfg
from lossjax import config_fields
from lossjax.core.pairings import Pairing
from lossjax.datasets.data import DataConfig, check_batch_size
from lossjax.output import progress, records, results, run_folder
from lossjax.studies import (
  calibration_report,
  compare_figures,
  compare_presets,
  compare_summary,
  multilabel_report,
  seed_spread,
  selected_epochs,
)
from lossjax.studies.compare_figures import setting_key
from lossjax.training import classify
from lossjax.training.train_state import OPTIMIZERS


@dataclasses.dataclass(frozen=True, kw_only=True)
class Config(cfg.Config):
  """Everything one comparison trains (see each field's help)."""

  data: DataConfig = DataConfig()
  pairings: tuple[Pairing, ...] = config_fields.pairings_field(
    ("sigmoid_mse", "sigmoid_bce", "softmax_nll", "softmax_mse")
  )
  hidden: tuple[tuple[int, ...], ...] = config_fields.hidden_field()
  hidden_activation: str = config_fields.hidden_activation_field()
  lrs: tuple = config_fields.lrs_field()
  batch_size: int = cfg.field(10, "Mini-batch size.", check=cfg.at_least(1))
  epochs: int = config_fields.epochs_field(30)
  seeds: tuple[int, ...] = config_fields.seeds_field()
  init: str = config_fields.init_field()
  init_scale: float = cfg.field(
    1.0, "Multiplies every initial weight and bias.", check=cfg.finite
  )
  l2: float = cfg.field(
    0.0,
    "L2 regularisation lambda, as in the book: cost + lambda/(2n) sum w^2 "
    "(weights only).",
    check=cfg.all_of(cfg.finite, cfg.at_least(0)),
  )
  optimizer: str = cfg.field(
    "sgd", "Optax optimiser.", choices=tuple(OPTIMIZERS)
  )
  window: int | None = config_fields.window_field()

  NOT_IN_FINGERPRINT = ("window",)  # equal results up to round-off

  def validate(self):
    config_fields.check_lrs_cover(self.lrs, self.pairings)

  def groups(
    self,
  ) -> list[tuple[classify.GroupConfig, list[classify.RunConfig]]]:
    """One group per architecture (and, on multi-label data, per training
    target: normalised for ``"multiclass"`` pairings), holding every
    pairing, rate and seed: a seed's runs share a mini-batch order, so they
    train together in the windowed loop. Where each seed trains on its own
    draw of label noise (``--label_noise_per_seed``), one group per seed."""
    out = []
    seed_sets = (
      [(s,) for s in self.seeds]
      if self.data.noise_varies_with_seed
      else [tuple(self.seeds)]
    )
    for hidden, pairings, seeds in itertools.product(
      self.hidden, self.pairing_groups(), seed_sets
    ):
      group = classify.GroupConfig(
        pairings=pairings,
        hidden=hidden,
        init=self.init,
        batch_size=self.batch_size,
        epochs=self.epochs,
        optimizer=self.optimizer,
        l2=self.l2,
        window=self.window,
        hidden_activation=self.hidden_activation,
      )
      runs = [
        classify.RunConfig(seed=s, lr=lr, init_scale=self.init_scale, pairing=p)
        for p in pairings
        for lr in config_fields.lrs_for(self.lrs, p)
        for s in seeds
      ]
      out.append((group, runs))
    return out

  def pairing_groups(self) -> list[tuple[Pairing, ...]]:
    """The pairings that train together: all of them, except on multi-label
    data, where ``"multiclass"`` pairings train on other (normalised)
    targets than the rest."""
    if self.data.multilabel is None:
      return [self.pairings]
    split = [
      tuple(p for p in self.pairings if (p.kind == "multiclass") == normalised)
      for normalised in (False, True)
    ]
    return [pairings for pairings in split if pairings]


# Written last by write(): its presence marks a complete set of outputs.
SUMMARY_FILE = "summary.json"

# Named settings (--preset): the README's studies.
PRESETS = compare_presets.PRESETS


@dataclasses.dataclass
class Result(classify.TrainingResult):
  """A comparison's rows, and what calibration needs beyond them.

  Attributes:
    scaled: one row per run and ``at`` (``"selected"``: the run's best
      validation epoch; ``"last"``): the temperature fitted on validation
      and the test ECE, NLL and Brier score after it (``temperature.jsonl``).
    test_probabilities: ``(pairing, hidden, lr, seed)`` -> ``(epoch,
      probabilities (N, classes))`` on the test split at the run's selected
      epoch (``test_probabilities.npz`` keeps the selected rates' runs).
    test_labels: the test split's labels (multi-hot targets for multi-label
      data).
    test_source_indices: multi-label data only: each test example's source
      images (``multilabel_test.npz``).
  """

  scaled: list[dict] = dataclasses.field(default_factory=list)
  test_probabilities: dict = dataclasses.field(default_factory=dict)
  test_labels: np.ndarray | None = None
  test_source_indices: np.ndarray | None = None

  @functools.cached_property
  def summary(self) -> compare_summary.Summary:
    """The comparison summarised
    (:func:`lossjax.studies.compare_summary.summarize`), once: every writer,
    the printed summary and the report read this one. Computed on first use,
    which is after :func:`run` has finished adding rows."""
    return compare_summary.summarize(self)


def run(
  config: Config,
  *,
  workdir: Path | None = None,
  log=progress.info,
  dataset=None,
  timer: progress.Progress | None = None,
) -> Result:
  """Trains every group; streams ``metrics.jsonl`` and tables into ``workdir``.

  ``dataset``: the data already read
  (:meth:`lossjax.datasets.data.DataConfig.load_source`), e.g. once for several
  studies; ``config.data``'s sizes, label noise and multi-label composition
  are applied to it as to data loaded here. ``timer``: the whole run's
  :class:`lossjax.output.progress.Progress` when this comparison is part of a
  larger one (default: this comparison's epochs).
  """
  source = config.data.load_source() if dataset is None else dataset
  dataset = config.data.load(loaded=source)
  check_batch_size(config.batch_size, len(dataset.train))
  groups = config.groups()
  classify.check_memory(groups, dataset)
  log(dataset.describe())

  @functools.lru_cache(maxsize=1)  # groups come seed by seed
  def device_data(seed: int | None) -> classify.DeviceData:
    """A group's data: with label noise drawn per seed, its seed's draw."""
    if seed is None:
      return classify.DeviceData.from_dataset(dataset)
    return classify.DeviceData.from_dataset(
      config.data.load(loaded=source, training_seed=seed)
    )

  def data_of(runs) -> classify.DeviceData:
    return device_data(
      runs[0].seed if config.data.noise_varies_with_seed else None
    )

  result = Result(
    config,
    [],
    dataset.describe(),
    test_labels=np.asarray(dataset.test.labels),
    test_source_indices=dataset.test.source_indices,
  )
  finished = {} if workdir is None else finished_groups(workdir, config, groups)
  if workdir is not None:
    result.write_config(workdir)
    if result.test_source_indices is not None:
      multilabel_report.write_test_examples(
        workdir / multilabel_report.TEST_FILE,
        result.test_source_indices,
        result.test_labels,
      )
  kept = [finished[k] for k in sorted(finished)]
  with (
    records.JsonlWriter.maybe(
      workdir, "metrics.jsonl", keep=[r for g in kept for r in g.rows]
    ) as out,
    records.JsonlWriter.maybe(
      None if dataset.multilabel else workdir,
      "temperature.jsonl",
      keep=[r for g in kept for r in g.scaled],
    ) as scaled_out,
  ):
    timer = timer or epoch_timer(config)
    for index, (group, runs) in enumerate(groups):
      label = (
        f"{','.join(p.name for p in group.pairings)} "
        f"hidden={list(group.hidden)}"
      )
      if index in finished:
        log(f"{label}: finished earlier, read back from {workdir}")
        result.rows += finished[index].rows
        result.scaled += finished[index].scaled
        result.test_probabilities.update(finished[index].test_probabilities)
        continue
      timer.start()
      data = data_of(runs)
      # Calibration reads class labels; multi-label data has label sets.
      tracker = (
        selected_epochs.NoTracker()
        if data.multilabel
        else selected_epochs.SelectedEpochs(group, data)
      )
      splits = () if data.multilabel else selected_epochs.SPLITS
      for epoch in classify.train_group(
        group, runs, data, probabilities=splits
      ):
        rows = [
          {
            "pairing": group.pairing_of(run).name,
            "hidden": list(group.hidden),
            "lr": run.lr,
            "seed": run.seed,
            "init": group.init,
            "init_scale": run.init_scale,
            **row,
          }
          for run, row in zip(runs, epoch.rows, strict=True)
        ]
        out.write(rows)
        result.rows += rows
        with progress.phase("evaluate"):
          tracker.update(epoch)
        step = timer.done(1 if rows[0]["epoch"] > 0 else 0)
        log(progress_line(label, rows, group.epochs, step))
      with progress.phase("evaluate"):
        scaled = tracker.scaled_rows(runs)
      scaled_out.write(scaled)
      result.scaled += scaled
      result.test_probabilities.update(tracker.selected_test(runs))
      if workdir is not None and result.test_probabilities:
        # Every finished run's test probabilities survive a kill (the metrics
        # are streamed already): --report_only redraws everything from them.
        calibration_report.write_probabilities(
          workdir / calibration_report.PROBABILITIES_FILE,
          list(result.test_probabilities),
          result.test_probabilities,
          result.test_labels,
          calibration_report.selected_temperatures(result.scaled),
        )
  return result


@dataclasses.dataclass(frozen=True)
class FinishedGroup:
  """What a group that finished in an earlier run of the same config left:
  its rows of ``metrics.jsonl`` and ``temperature.jsonl``, and its runs'
  saved test probabilities."""

  rows: list[dict]
  scaled: list[dict]
  test_probabilities: dict


def finished_groups(
  workdir: Path, config: Config, groups: Sequence[tuple]
) -> dict[int, FinishedGroup]:
  """The groups (by index in ``groups``) that an earlier run of the same
  config (equal :meth:`~lossjax.config.Config.fingerprint`) finished in
  ``workdir``: every run with every epoch. Anything else in the folder is
  retrained (and replaced)."""
  try:
    same = (
      run_folder.saved_config(workdir, Config).fingerprint()
      == config.fingerprint()
    )
  except (OSError, ValueError):
    return {}
  if not same or not (workdir / "metrics.jsonl").is_file():
    return {}
  key = selected_epochs.probability_key
  rows = records.read_jsonl(workdir / "metrics.jsonl")
  by_run = records.group_rows(rows, key)
  scaled_path = workdir / "temperature.jsonl"
  scaled = records.read_jsonl(scaled_path) if scaled_path.is_file() else []
  saved = calibration_report.read_probabilities(
    workdir / calibration_report.PROBABILITIES_FILE
  )
  probabilities = {} if saved is None else saved[0]
  out = {}
  for index, (group, runs) in enumerate(groups):
    keys = [key(selected_epochs.run_key(group, run)) for run in runs]
    epochs = list(range(group.epochs + 1))
    if all([r["epoch"] for r in by_run.get(k, [])] == epochs for k in keys):
      # In the order the files hold them, so a resumed run rewrites them
      # unchanged.
      mine = set(keys)
      out[index] = FinishedGroup(
        rows=[r for r in rows if key(r) in mine],
        scaled=[r for r in scaled if key(r) in mine],
        test_probabilities={
          k: probabilities[k] for k in keys if k in probabilities
        },
      )
  return out


def finished(workdir: Path, config: Config) -> bool:
  """Whether ``workdir`` holds every group of ``config``'s run, finished."""
  groups = config.groups()
  return len(finished_groups(workdir, config, groups)) == len(groups)


def epoch_timer(*configs: Config) -> progress.Progress:
  """A :class:`lossjax.output.progress.Progress` over every epoch of the
  comparisons ``configs`` (one compile per group each)."""
  groups = [group for config in configs for group, _ in config.groups()]
  return progress.Progress(
    max(1, sum(group.epochs for group in groups)), starts=max(1, len(groups))
  )


def progress_line(
  label: str, rows: Sequence[dict], epochs: int, step: progress.Step
) -> str:
  """One epoch of a group: training cost and the *validation* accuracy
  (what selects rates and epochs; the test set plays no part), mean over
  the group's runs, then the time (compilation apart) and the time left."""
  accuracy, _ = records.mean_and_spread([r["val_accuracy"] for r in rows])
  cost, _ = records.mean_and_spread([r["train_cost"] for r in rows])
  cost_text = "-" if cost is None else f"{cost:.4f}"
  acc_text = "-" if accuracy is None else f"{100 * accuracy:.2f}%"
  return (
    f"[{label}] epoch {rows[0]['epoch']}/{epochs}  train cost {cost_text}  "
    f"val acc {acc_text}  ({step.text()})"
  )


def summary(result: Result) -> str:
  """summary.md (and what the command line prints), from ``result.summary``
  (:func:`lossjax.studies.compare_summary.markdown`)."""
  return compare_summary.markdown(result)


def write(result: Result, workdir: str | Path) -> list[Path]:
  """The calibration or multi-label files, the figures, summary.md and
  summary.json, all from ``result.summary``.

  ``summary.json`` comes last: a folder that holds it holds every output
  (a resumed study redraws a folder without it).
  """
  workdir = Path(workdir)
  digest = result.summary
  paths = []
  pairings = {p.name: p for p in result.config.pairings}
  paths += calibration_report.write_outputs(
    result.test_probabilities,
    result.scaled,
    result.test_labels,
    digest.rows,
    pairings,
    workdir,
  )
  if result.test_source_indices is not None:
    paths.append(
      multilabel_report.write_test_examples(
        workdir / multilabel_report.TEST_FILE,
        result.test_source_indices,
        result.test_labels,
      )
    )
  for metric, ylabel, name, options in compare_figures.FIGURES:
    if not any(r.get(metric) is not None for r in digest.chosen):
      continue  # e.g. memorised, without label noise
    path = workdir / f"{name}.png"
    paths.append(
      compare_figures.plot_metric(
        result, metric, ylabel, path, rows=digest.chosen, **options
      )
    )
  paths.append(
    compare_figures.plot_grad_norms(
      result, workdir / "grad_norm.png", digest.chosen
    )
  )
  if len(result.config.seeds) > 1:
    by_setting = records.group_rows(digest.chosen, setting_key)
    book = {
      key: compare_summary.book_reference(result.config, *key)
      for key in by_setting
    }
    paths.append(
      seed_spread.plot_seed_curves(
        by_setting,
        book,
        workdir / "seeds.png",
        colors={p.name: p.display_color for p in result.config.pairings},
      )
    )
    if digest.cases:
      paths.append(
        seed_spread.plot_stalled(digest.cases, workdir / "stalled.png")
      )
  if compare_summary.grid_note(digest.rows):
    paths.append(
      compare_figures.plot_lr_tuning(
        result,
        digest.rows,
        workdir / "lr_tuning.png",
        compare_summary.seed_runs(result),
      )
    )
  if multilabel_report.counts_of(digest.selected):
    paths.append(
      multilabel_report.plot_label_counts(
        digest.selected, pairings, workdir / "label_count.png"
      )
    )
  paths.append(
    results.atomic_write_text(workdir / "summary.md", summary(result))
  )
  paths.append(results.write_json(workdir / SUMMARY_FILE, digest.to_json()))
  return paths


def load(workdir: str | Path) -> Result:
  """The result of an earlier run, from its config.json and metrics.jsonl."""
  workdir = Path(workdir)
  for name in ("config.json", "metrics.jsonl"):
    if not (workdir / name).is_file():
      raise ValueError(
        f"{workdir / name} not found: it is not the workdir of a run."
      )
  saved = results.read_json(workdir / "config.json")
  config = cfg.from_json(Config, saved["config"])
  rows = records.read_jsonl(workdir / "metrics.jsonl")
  if not rows:
    raise ValueError(
      f"{workdir / 'metrics.jsonl'} holds no finished epoch: nothing to "
      "report. Run the study (without --report_only) first."
    )
  result = Result(config, rows, saved["data"])
  if (workdir / "temperature.jsonl").is_file():
    result.scaled = records.read_jsonl(workdir / "temperature.jsonl")
  saved_probabilities = calibration_report.read_probabilities(
    workdir / calibration_report.PROBABILITIES_FILE
  )
  if saved_probabilities is not None:
    result.test_probabilities, result.test_labels = saved_probabilities
  saved_examples = multilabel_report.read_test_examples(
    workdir / multilabel_report.TEST_FILE
  )
  if saved_examples is not None:
    result.test_source_indices, result.test_labels = saved_examples
  return result
