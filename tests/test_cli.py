"""The command-line front: every CLI runs, and every bad input is one error.

The bad-input table runs each experiment once per input, in this process
(:mod:`tests.cli_runner`: the script runs as ``__main__``, as ``python -m``
runs it), and asserts what a user must see: exit status 2, exactly one
``error:`` line, no traceback, and nothing written to the workdir.
"""

import importlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest
from absl import flags as absl_flags
from absl.testing import absltest

from lossjax import cli, config_flags, studies
from lossjax import config as cfg
from lossjax.output import progress
from tests import cli_runner, datasets, holding

REPO = Path(__file__).resolve().parents[1]
# The experiment scripts: one per study, mnist.py for studies/compare.py.
STUDIES = tuple("mnist" if s == "compare" else s for s in studies.STUDIES)


def run_cli(study: str, args: list[str]) -> cli_runner.Completed:
  return cli_runner.run_script(study, args)


def folder_bytes(workdir: Path) -> dict[str, bytes]:
  """Every file of a run folder (not the lock) and its bytes."""
  return {
    str(p.relative_to(workdir)): p.read_bytes()
    for p in sorted(workdir.rglob("*"))
    if p.is_file() and p.name != ".lock"
  }


def defined_flags(study: str) -> set[str]:
  """The flags ``experiments.<study>`` defines (from its --helpfull)."""
  text = run_cli(study, ["--helpfull"]).stdout
  return {"help"} | set(re.findall(r"^\s+--(?:\[no\])?([a-z_]+)", text, re.M))


class CheckedWorkdirTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))

  def test_checks_without_creating(self):
    # The writers create it with the first file: a run that fails before
    # writing anything leaves no empty directory behind.
    path = cli.checked_workdir(str(self.tmp / "a" / "b"))
    self.assertEqual(path, self.tmp / "a" / "b")
    self.assertFalse((self.tmp / "a").exists())

  def test_wrote_line_names_every_file_written_since_the_start(self):
    (self.tmp / "old.json").write_text("{}")
    os.utime(self.tmp / "old.json", (0, 0))
    (self.tmp / "config.json").write_text("{}")
    (self.tmp / "metrics.jsonl").write_text("")
    (self.tmp / "noise_0").mkdir()
    (self.tmp / "noise_0" / "summary.md").write_text("")
    self.assertEqual(
      cli.wrote_line(self.tmp, 1.0),
      f"wrote config.json, metrics.jsonl, noise_0/ (1 file) in {self.tmp}",
    )

  def test_rejects_unusable_workdirs(self):
    file = self.tmp / "file"
    file.write_text("x")
    locked = self.tmp / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    self.addCleanup(locked.chmod, 0o700)
    cases = {
      "": "--workdir is empty",
      "  ": "--workdir is empty",
      str(file): "exists and is not a directory",
      str(file / "sub"): "exists and is not a directory",
    }
    if os.geteuid() != 0:  # root writes anywhere
      cases[str(locked / "sub")] = "cannot be written"
    for text, message in cases.items():
      with self.subTest(text), self.assertRaisesRegex(cli.UsageError, message):
        cli.checked_workdir(text)
    with self.assertRaisesRegex(cli.UsageError, "--workdir is empty"):
      cli.checked_workdir(None)


class CliTest(absltest.TestCase):
  @classmethod
  def setUpClass(cls):
    super().setUpClass()
    cls.tmp = Path(tempfile.mkdtemp())
    cls.idx = cls.tmp / "idx"
    cls.idx.mkdir()
    datasets.write_idx_dataset(cls.idx, n_train=300, n_test=100)
    cls.test_only = cls.tmp / "t10k"
    cls.test_only.mkdir()
    datasets.write_idx_dataset(cls.test_only, n_test=200, splits=("t10k",))
    cls.file = cls.tmp / "a_file"
    cls.file.write_text("not a directory")
    # --config files of the wrong shape (issue 26: tracebacks, exit 1).
    cls.bad_configs = {
      "list": "[1, 2]",
      "null": "null",
      "no_config_record": '{"foo": 1}',
      "data_null": '{"config": {"data": null}}',
      "data_unknown_key": '{"config": {"data": {"nope": 1}}}',
    }
    for name, text in cls.bad_configs.items():
      (cls.tmp / f"{name}.json").write_text(text)

  @classmethod
  def tearDownClass(cls):
    shutil.rmtree(cls.tmp, ignore_errors=True)
    super().tearDownClass()

  def bad_inputs(
    self, common_for, *, with_specific=True
  ) -> list[tuple[str, list[str]]]:
    """(study, flags) pairs; each must fail before anything is written.

    The inputs every CLI shares (workdir, pairings, config, flags) are
    tried on the studies in ``common_for``; each study's own on it.
    """
    toy = [f"--data_dir={self.idx}", "--dataset=toy"]
    common = [
      ["--workdir="],
      [f"--workdir={self.file}"],
      [f"--workdir={self.file}/sub"],
      ["--pairings=nope"],
      ["--pairings=experiments.user_pairing:missing"],
      ["--pairings=sigmoid_mse,sigmoid_mse"],
      [f"--config={self.tmp}/missing.json"],
      ["positional"],
      ["--no_such_flag=1"],
      [f"--flagfile={self.tmp}/missing.flags"],
      *([f"--config={self.tmp}/{name}.json"] for name in self.bad_configs),
    ]
    specific = {
      "slowdown": [
        ["--lrs=inf"],
        ["--inits=0,0"],
        ["--epochs=0"],
        ["--y=2"],
        ["--widget_rule=sigmoid_bce,sigmoid_bce"],
      ],
      "mnist": [
        ["--seeds=0,0", *toy],
        ["--lr=nan", *toy],
        ["--lr=1e39", *toy],
        ["--batch_size=0", *toy],
        ["--init_scale=nan", *toy],
        ["--train_size=0", *toy],
        ["--train_size=500", *toy],
        ["--validation_size=300", *toy],
        ["--data_dir=/nonexistent/dir"],
        [f"--data_dir={self.test_only}", "--dataset=toy"],
        ["--hidden=0", *toy],
        ["--optimizer=adamw", *toy],
        ["--label_noise=1", *toy],
        ["--label_noise=-0.2", *toy],
        ["--label_noise_kind=flip", *toy],
        ["--multilabel=0", *toy],
        ["--multilabel=6", *toy],
        ["--multilabel=2", "--label_noise=0.2", *toy],
        ["--lrs=0.1,0.1", *toy],
        ["--lrs=sigmoid_mse=1,sigmoid_mse=1", *toy],
        ["--hidden_activation=jax.numpy:sum", *toy],
        ["--hidden_activation=lossjax:loss", *toy],
        ["--hidden=100000x100000x100000", *toy],
      ],
      "label_noise": [
        ["--noise_levels=0,1", *toy],
        ["--noise_levels=0.2,0.2", *toy],
        ["--hidden=100000x100000x100000", *toy],
        ["--label_noise=0.2", *toy],
        ["--data_dir=/nonexistent/dir"],
      ],
      "sweep": [
        ["--task=neuron", "--seeds=--1"],
        ["--task=neuron", "--lrs=0"],
        ["--task=neuron", "--init_scales=nan"],
        ["--task=neuron", "--pairings=softmax_nll"],
        ["--task=mlp", "--data_dir=/nonexistent/dir"],
        ["--task=neuron", "--heatmap_metric=final_accuracy"],
      ],
      "convexity": [["--extent=inf"], ["--examples=0"], ["--grid_1d=1"]],
      "softmax_temperature": [
        ["--max_scale=inf"],
        ["--points=1"],
        ["--logits=1:2,1:2"],
      ],
      "entropy_floor": [
        ["--targets=1.5"],
        ["--grid=1"],
        ["--smoothing=0.1,0.1"],
      ],
      "saturation": [
        ["--inits=foo", *toy],
        ["--depths=0", *toy],
        ["--width=100000", "--depths=3", *toy],
        ["--data_dir=/nonexistent/dir"],
        [f"--data_dir={self.test_only}", "--dataset=toy"],
      ],
      "benchmark": [
        ["--models=0"],
        ["--models=-1"],
        ["--examples=0"],
        ["--studies=nope"],
        ["--study_epochs=0"],
      ],
      "claims": [
        ["--confidence=1"],
        ["--min_seeds=1"],
        ["--results=/nonexistent/dir"],
      ],
      "report": [
        ["--size=nope"],
        ["--saturation_depths=1,1"],
        ["--data_dir=/nonexistent/dir"],
        ["--calibration_lrs=0.3"],
        ["--multilabel_lrs=nope=0.3"],
      ],
    }
    return [
      (study, flags)
      for study in STUDIES
      for flags in (common if study in common_for else [])
      + (specific[study] if with_specific else [])
    ]

  def test_a_sample_of_bad_inputs(self):
    # One input of each kind; the slow tests below try the whole table.
    toy = [f"--data_dir={self.idx}", "--dataset=toy"]
    self.check_bad_inputs(
      [
        ("slowdown", ["--workdir="]),
        ("slowdown", [f"--workdir={self.file}/sub"]),
        ("slowdown", ["--lrs=inf"]),
        ("mnist", ["--seeds=0,0", *toy]),
        ("mnist", ["--train_size=500", "--validation_size=50", *toy]),
        ("mnist", ["--data_dir=/nonexistent/dir"]),
        ("sweep", ["--task=neuron", "--pairings=softmax_nll"]),
        ("benchmark", ["--models=0"]),
        ("report", ["--size=nope"]),
        ("saturation", ["--no_such_flag=1"]),
        ("saturation", [f"--flagfile={self.tmp}/missing.flags"]),
        ("benchmark", ["--torch=maybe"]),
        ("mnist", ["--lrs=0.1,0.1", *toy]),
        ("mnist", ["--hidden_activation=lossjax:loss", *toy]),
        ("mnist", ["--hidden=100000x100000x100000", *toy]),
        ("mnist", [f"--config={self.tmp}/data_null.json"]),
        ("slowdown", [f"--config={self.tmp}/list.json"]),
      ]
    )

  def test_ctrl_c_is_one_line_and_exit_130(self):
    # Issue 26: a 57-93-line KeyboardInterrupt traceback. The activation
    # raises KeyboardInterrupt where Ctrl-C would.
    toy = [f"--data_dir={self.idx}", "--dataset=toy", "--validation_size=50"]
    workdir = self.tmp / "interrupted"
    proc = run_cli(
      "mnist",
      [
        f"--workdir={workdir}",
        *toy,
        "--hidden_activation=tests.interrupting:ctrl_c",
      ],
    )
    self.assertEqual(proc.returncode, 130, proc.stderr[-2000:])
    self.assertNotIn("Traceback", proc.stderr)
    lines = [x for x in proc.stderr.splitlines() if x.startswith("interrupted")]
    self.assertEqual(
      lines,
      [
        "interrupted; rerun the same command to resume (what finished is "
        f"kept in {workdir})"
      ],
    )

  def finished_comparison(self, name: str, *flags: str) -> tuple[Path, list]:
    workdir = self.tmp / name
    toy = [f"--data_dir={self.idx}", "--dataset=toy", "--validation_size=50"]
    command = [f"--workdir={workdir}", *toy, "--epochs=1", *flags]
    proc = run_cli("mnist", command)
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    return workdir, command

  @pytest.mark.slow  # a whole study: an integration test
  def test_a_finished_run_survives_every_other_command_into_its_folder(self):
    # Issue 26: a different comparison into a finished folder replaced its
    # config.json and truncated metrics.jsonl; a bad input found late
    # (--hidden_activation=jax.numpy:sum) emptied it. Now each is one error
    # line, naming what differs, and every byte stays.
    workdir, command = self.finished_comparison("finished", "--seeds=0,1")
    before = folder_bytes(workdir)
    for flags, message in (
      (["--epochs=2"], r"different run \(epochs: 1 there, 2 here\)"),
      (["--seeds=0"], r"different run \(seeds: \[0, 1\] there, \[0\] here\)"),
      (["--pairings=softmax_nll"], "different run"),
      (["--hidden_activation=jax.numpy:sum"], "hidden_activation"),
      # Found after --overwrite moved the old run aside: it is moved back.
      (
        ["--hidden=100000x100000x100000", "--overwrite"],
        "needs about [0-9.]+ GiB",
      ),
      (["--train_size=100000", "--overwrite"], "train_size=100000"),
    ):
      with self.subTest(flags):
        proc = run_cli("mnist", [*command, *flags])
        errors = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
        self.assertEqual(proc.returncode, 2, proc.stderr[-2000:])
        self.assertLen(errors, 1)
        self.assertRegex(errors[0], message)
        self.assertEqual(folder_bytes(workdir), before)

  @pytest.mark.slow  # a whole study: an integration test
  def test_overwrite_replaces_a_different_run_entirely(self):
    # Issue 26: the old summary.md, figures and probabilities stayed beside
    # the new config. Two seeds draw seeds.png; the new one-seed run does not.
    workdir, command = self.finished_comparison("replaced", "--seeds=0,1")
    self.assertTrue((workdir / "seeds.png").is_file())
    proc = run_cli("mnist", [*command, "--seeds=0", "--overwrite"])
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    self.assertFalse((workdir / "seeds.png").exists())
    saved = json.loads((workdir / "config.json").read_text())["config"]
    self.assertEqual(saved["seeds"], [0])
    self.assertEqual(
      {r["seed"] for r in map(json.loads, (workdir / "metrics.jsonl").open())},
      {0},
    )
    self.assertEqual(list(workdir.glob(".replaced-*")), [])

  @pytest.mark.slow  # a whole study: an integration test
  def test_the_same_command_again_reads_the_finished_run_back(self):
    workdir, command = self.finished_comparison("again")
    before = json.loads((workdir / "summary.json").read_text())
    timing = (workdir / progress.TIMING_FILE).read_text()
    self.assertGreater(json.loads(timing)["train_seconds"], 0)
    proc = run_cli("mnist", command)
    self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
    # Nothing trained: the finished group was read back, and timing.json
    # still records the run that trained it (issue 25).
    self.assertEqual((workdir / progress.TIMING_FILE).read_text(), timing)
    self.assertEqual(json.loads((workdir / "summary.json").read_text()), before)

  @pytest.mark.slow  # a whole study: an integration test
  def test_a_second_process_on_the_folder_is_refused(self):
    # Issue 26: two runs in one folder both exited 0, one's results lost and
    # metrics.jsonl holding JSON fragments; two different sweeps a second
    # apart both "trained". While a process holds the folder, every other
    # command into it is one error line and changes nothing.
    workdir, command = self.finished_comparison("busy")
    before = folder_bytes(workdir)
    holder = holding.hold_folder(workdir)
    try:
      for study, flags in (
        ("mnist", command),
        ("mnist", [*command, "--epochs=2", "--overwrite"]),
        ("sweep", [f"--workdir={workdir}", "--task=neuron", "--epochs=2"]),
      ):
        with self.subTest(study):
          proc = run_cli(study, flags)
          self.assertEqual(proc.returncode, 2, proc.stderr[-2000:])
          self.assertIn(
            f"error: --workdir={workdir} is in use: another run (process "
            f"{holder.pid})",
            proc.stderr,
          )
          self.assertEqual(folder_bytes(workdir), before)
    finally:
      holding.release(holder)

  @pytest.mark.slow
  def test_every_bad_input_is_one_error_line_and_writes_nothing(self):
    # The shared inputs on one study without and one with data, and every
    # study's own; the next test tries the shared ones on every CLI.
    self.check_bad_inputs(self.bad_inputs(("slowdown", "mnist")))

  @pytest.mark.slow
  def test_shared_bad_inputs_on_every_cli(self):
    self.check_bad_inputs(self.bad_inputs(STUDIES, with_specific=False))

  def check_bad_inputs(self, cases):

    def attempt(case):
      study, flags = case
      workdir = Path(tempfile.mkdtemp(dir=self.tmp)) / "w"
      if not any(f.startswith("--workdir") for f in flags):
        flags = [f"--workdir={workdir}", *flags]
      return case, workdir, run_cli(study, flags)

    studies = sorted({study for study, _ in cases})
    outcomes = [attempt(case) for case in cases]
    helps = {study: defined_flags(study) for study in studies}
    failures = []
    for (study, flags), workdir, proc in outcomes:
      errors = [x for x in proc.stderr.splitlines() if x.startswith("error:")]
      # An error points somewhere: every --flag it names exists.
      named = set(re.findall(r"--([a-z_]+)", " ".join(errors)))
      if named - helps[study] - {"no_such_flag"}:
        failures.append(f"{study}: {errors} names {named - helps[study]}")
      # Nothing written, not even the directory (issue 20: a run that failed
      # loading data left an empty --workdir behind).
      written = (
        sorted(p.name for p in workdir.rglob("*")) + ["(the workdir)"]
        if workdir.exists()
        else []
      )
      if (
        proc.returncode != 2
        or len(errors) != 1
        or "Traceback" in proc.stderr
        or "ERROR::" in proc.stderr  # absl's wording of a bad --flagfile
        or written
      ):
        failures.append(
          f"{study} {' '.join(flags)}: exit {proc.returncode}, "
          f"{len(errors)} error lines, wrote {written}\n"
          f"{proc.stderr[-600:]}"
        )
    self.assertEqual(failures, [], "\n\n".join(failures))
    self.assertFalse(
      (REPO / "config.json").exists(), "a run wrote into the repository root"
    )

  def smoke_runs(self) -> dict[str, list[str]]:
    """A tiny run of every CLI, and a file it must write."""
    toy = [f"--data_dir={self.idx}", "--dataset=toy", "--validation_size=50"]
    return {
      "slowdown": (["--epochs=5"], "slowdown.png"),
      "mnist": (
        [
          *toy,
          "--epochs=1",
          "--hidden=8",
          "--pairings=sigmoid_mse,softmax_nll",
          "--hidden_activation=experiments.user_pairing:softplus",
        ],
        "accuracy.png",
      ),
      "label_noise": (
        [
          *toy,
          "--epochs=1",
          "--hidden=8",
          "--pairings=sigmoid_mse,softmax_nll",
          "--noise_levels=0,0.4",
        ],
        "noise_40/reliability.png",
      ),
      "sweep": (
        ["--task=neuron", "--epochs=5", "--init_scales=0,2", "--lrs=0.5"],
        "summary.csv",
      ),
      "convexity": (
        ["--grid_1d=11", "--grid_2d=5", "--random_points=3"],
        "convexity_1d.png",
      ),
      "softmax_temperature": (["--points=5"], "softmax_temperature.png"),
      "entropy_floor": (["--grid=11"], "entropy_floor.png"),
      "saturation": (
        [
          *toy,
          "--depths=1,2",
          "--epochs=1",
          "--train_size=200",
          "--eval_size=50",
        ],
        "summary.md",
      ),
      "benchmark": (
        [
          "--examples=200",
          "--numpy_examples=20",
          "--models=1,2",
          "--torch=false",
          "--studies=",
        ],
        "benchmark.json",
      ),
      "report": (
        [
          *toy,
          "--mnist_train=200",
          "--mnist_epochs=1",
          "--mnist_seeds=0",
          "--saturation_depths=1,2",
          "--saturation_train=200",
          "--saturation_eval=50",
          "--mnist_eval=50",
          "--saturation_epochs=1",
          "--convexity_grid_2d=5",
          "--convexity_points=3",
          "--calibration_lrs=sigmoid_mse=1,softmax_nll=0.3",
          "--multilabel_lrs=sigmoid_bce=0.3,softmax_nll=0.3",
        ],
        "report.md",
      ),
      "claims": ([], "claims.md"),
    }

  def test_help_lists_the_scripts_flags(self):
    # Issue 20: --help printed the docstring and no flag.
    text = run_cli("mnist", ["--help"]).stdout
    for flag in (
      "pairings",
      "lrs",
      "hidden",
      "epochs",
      "workdir",
      "dataset",
      "data_dir",
      "train_size",
      "label_noise",
      "multilabel",
      "report_only",
    ):
      self.assertRegex(text, rf"\n\s+--(\[no\])?{flag}:", flag)
    self.assertNotIn("--helpfull:", text)  # absl's own flags stay in --helpfull

  @pytest.mark.slow
  def test_every_scripts_help_lists_every_config_flag(self):
    def helped(study):
      return study, run_cli(study, ["--help"]).stdout

    texts = dict(map(helped, STUDIES))
    for study, text in texts.items():
      module = importlib.import_module(
        "lossjax.studies." + ("compare" if study == "mnist" else study)
      )
      for path, _, _ in config_flags._flat_fields(module.Config):
        with self.subTest(f"{study} --{path[-1]}"):
          self.assertRegex(text, rf"\n\s+--(\[no\])?{path[-1]}:")

  @pytest.mark.slow  # the in-process test is tests/studies/test_compare.py
  def test_a_diverging_run_draws_every_figure_and_exits_0(self):
    # Issue 20: non-finite gradient norms crashed plot_grad_norms.
    workdir = Path(tempfile.mkdtemp(dir=self.tmp))
    proc = run_cli(
      "mnist",
      [
        f"--workdir={workdir}",
        f"--data_dir={self.idx}",
        "--dataset=toy",
        "--validation_size=50",
        "--epochs=1",
        "--hidden=8",
        "--pairings=sigmoid_mse",
        "--lr=1e38",
        "--optimizer=adam",
      ],
    )
    self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
    for name in ("grad_norm.png", "accuracy.png", "summary.md"):
      self.assertTrue((workdir / name).is_file(), name)
    self.assertIn("(diverged 1/1)", (workdir / "summary.md").read_text())
    self.assertIn("grad_norm.png", proc.stdout.splitlines()[-1])

  @pytest.mark.slow  # about 80 s: nine processes, the report among them
  def test_every_cli_runs_and_writes_its_outputs(self):
    runs = self.smoke_runs()
    self.assertCountEqual(runs, STUDIES)

    def attempt(study):
      flags, _ = runs[study]
      workdir = Path(tempfile.mkdtemp(dir=self.tmp))
      return study, workdir, run_cli(study, [f"--workdir={workdir}", *flags])

    outcomes = [attempt(study) for study in STUDIES]
    for study, workdir, proc in outcomes:
      with self.subTest(study):
        self.assertEqual(proc.returncode, 0, proc.stderr[-3000:])
        self.assertTrue((workdir / runs[study][1]).is_file(), proc.stdout)
        # The last line names every file, config.json among them (issue 20).
        last = proc.stdout.strip().splitlines()[-1]
        self.assertTrue(last.startswith("wrote "), last)
        top_level = sorted(
          p.name
          for p in workdir.iterdir()
          if p.is_file() and not p.name.startswith(".")
        )
        self.assertIn("config.json", top_level)
        # Where the run's time went (issue 25), for every study.
        timing = json.loads((workdir / "timing.json").read_text())
        self.assertEqual(
          set(timing),
          {
            f"{name}_seconds"
            for name in ("total", "train", "evaluate", "compile", "write")
            + ("other",)
          },
        )
        self.assertGreater(timing["total_seconds"], 0)
        for name in top_level:
          self.assertIn(name, last)
        # Progress goes through absl logging (stderr), not print.
        self.assertNotIn("] epoch ", proc.stdout)
        # The config.json repeats the run: it is the config the flags built.
        module = importlib.import_module(
          "lossjax.studies." + ("compare" if study == "mnist" else study)
        )
        values = absl_flags.FlagValues()
        config_flags.define_flags(
          module.Config, module.PRESETS, flag_values=values
        )
        values(["prog", f"--workdir={workdir}", *runs[study][0]])
        asked = config_flags.config_from_flags(
          module.Config, module.PRESETS, flag_values=values
        )
        saved = cfg.load_json(module.Config, workdir / "config.json")
        self.assertEqual(saved, asked)
