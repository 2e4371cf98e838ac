"""The config system: coercion and checks once, flags from fields, JSON."""

import dataclasses
import json
import math
import tempfile
from pathlib import Path

from absl import flags
from absl.testing import absltest, parameterized

import lossjax
from lossjax import config as cfg
from lossjax import config_fields, config_flags, studies
from lossjax.datasets.data import DataConfig
from lossjax.studies import compare as compare_study
from lossjax.studies import label_noise


@dataclasses.dataclass(frozen=True, kw_only=True)
class Toy(cfg.Config):
  """A config with one field of each kind the studies use."""

  data: DataConfig = DataConfig(dataset="toy", validation_size=5)
  pairings: tuple[lossjax.Pairing, ...] = config_fields.pairings_field(
    ("sigmoid_mse",)
  )
  seeds: tuple[int, ...] = config_fields.seeds_field()
  lrs: tuple = config_fields.lrs_field()
  hidden: tuple[tuple[int, ...], ...] = config_fields.hidden_field()
  epochs: int = config_fields.epochs_field(2)
  scale: float = cfg.field(1.0, "A positive number.", check=cfg.positive)
  note: str | None = cfg.field(None, "Optional text.")

  def validate(self):
    config_fields.check_lrs_cover(self.lrs, self.pairings)


PRESETS = {
  "big": {"epochs": 9, "hidden": [[100], [100, 30]]},
  "nested": {"data": {"dataset": "other", "eval_size": 20}, "epochs": 3},
}


def parse(argv, presets=PRESETS, cls=Toy):
  """``cls`` from flags ``argv``; absl's own parse errors as ValueError."""
  values = flags.FlagValues()
  config_flags.define_flags(cls, presets, flag_values=values)
  try:
    values(["prog", *argv])
  except flags.Error as e:
    raise ValueError(str(e)) from None
  return config_flags.config_from_flags(cls, presets, flag_values=values)


def study_modules():
  import importlib

  return {
    name: importlib.import_module(f"lossjax.studies.{name}")
    for name in studies.STUDIES
  }


class ConfigTest(parameterized.TestCase):
  def test_coerces_json_values(self):
    toy = Toy(
      pairings=["sigmoid_bce", "experiments.user_pairing:sigmoid_focal"],
      seeds=[3, 1],
      lrs=[0.5, ["sigmoid_bce", 2]],
      hidden=[[30], [100, 30]],
      data={"dataset": "toy", "validation_size": 7},
    )
    self.assertEqual(
      [p.name for p in toy.pairings], ["sigmoid_bce", "sigmoid_focal"]
    )
    self.assertEqual(toy.seeds, (3, 1))
    self.assertEqual(toy.lrs, (0.5, ("sigmoid_bce", 2.0)))
    self.assertEqual(toy.hidden, ((30,), (100, 30)))
    self.assertEqual(toy.data.validation_size, 7)
    self.assertEqual(config_fields.lrs_for(toy.lrs, toy.pairings[0]), (2.0,))
    self.assertEqual(config_fields.lrs_for(toy.lrs, toy.pairings[1]), (0.5,))

  def test_json_round_trip(self):
    toy = Toy(
      pairings=("experiments.user_pairing:softmax_poly1",), lrs=(0.1,), note="x"
    )
    text = json.dumps(toy.to_json())
    self.assertEqual(cfg.from_json(Toy, json.loads(text)), toy)
    with self.assertRaisesRegex(ValueError, "Toy has no field.*colour"):
      cfg.from_json(Toy, {"colour": 1})

  @parameterized.named_parameters(
    ("duplicate_seed", dict(seeds=(0, 0)), "seeds: lists 0 more than once"),
    ("negative_seed", dict(seeds=(-1,)), r"seed -1 is outside \[0, 2\*\*32\)"),
    ("no_seed", dict(seeds=()), "seeds: is empty"),
    ("inf_scale", dict(scale=math.inf), "scale: must be a positive finite"),
    ("nan_lr", dict(lrs=(math.nan,)), "lrs: must be a positive finite"),
    ("zero_lr", dict(lrs=(0.0,)), "lrs: must be a positive finite"),
    ("stray_lr", dict(lrs=(("softmax_nll", 1.0),)), "not in pairings"),
    ("dup_pairing", dict(pairings=("sigmoid_mse",) * 2), "more than once"),
    ("unknown_pairing", dict(pairings=("x",)), "Unknown pairing 'x'"),
    ("zero_epochs", dict(epochs=0), "epochs: must be >= 1"),
    ("string_epochs", dict(epochs="3"), "epochs: expected int"),
    (
      "bad_data",
      dict(data={"validation_size": -1}),
      "validation_size: must be >= 0",
    ),
    # Issue 26: a rate listed twice trained the same runs twice.
    ("dup_lr", dict(lrs=(0.1, 0.1)), "lrs: lists 0.1 more than once"),
    (
      "dup_named_lr",
      dict(lrs=(("sigmoid_mse", 1.0), ("sigmoid_mse", 1.0))),
      "lists sigmoid_mse=1 more than once",
    ),
    # Issue 26: AttributeError / TypeError tracebacks.
    (
      "data_null",
      dict(data=None),
      "data: a DataConfig is a record of its fields",
    ),
    ("data_unknown", dict(data={"nope": 1}), "data: DataConfig has no field"),
  )
  def test_rejects_with_the_field_name(self, change, message):
    with self.assertRaisesRegex(ValueError, message):
      Toy(**change)

  def test_a_config_file_of_the_wrong_shape_is_a_value_error(self):
    tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    for text, message in (
      ("[1, 2]", "is a record of its fields .* got list"),
      ("null", "got NoneType"),
      ('{"config": 3}', "got int 3"),
      ('{"foo": 1}', "has no field.s. foo"),
      ('{"config": {"data": null}}', "data: a DataConfig is a record"),
    ):
      path = tmp / "bad.json"
      path.write_text(text)
      with self.subTest(text), self.assertRaisesRegex(ValueError, message):
        cfg.load_json(Toy, path)

  def test_no_learning_rate_names_the_pairing(self):
    custom = lossjax.Pairing(
      name="mine",
      activation=lambda z: z,
      cost=lambda z, y: ((z - y) ** 2).sum(-1),
      kind="binary",
    )
    with self.assertRaisesRegex(
      ValueError, "no learning rate for pairing 'mine'"
    ):
      Toy(pairings=(custom,))

  def test_recast_keeps_the_shared_fields_and_applies_the_changes(self):
    compare = compare_study.Config(epochs=3, seeds=(4, 5), init="normalized")
    noise = compare.recast(
      label_noise.Config, epochs=2, noise_levels=(0.0, 0.5)
    )
    self.assertIsInstance(noise, label_noise.Config)
    self.assertEqual((noise.seeds, noise.init), ((4, 5), "normalized"))
    self.assertEqual((noise.epochs, noise.noise_levels), (2, (0.0, 0.5)))
    # Back: the level's comparison, which has no noise_levels.
    back = noise.recast(compare_study.Config)
    self.assertEqual(type(back), compare_study.Config)
    self.assertEqual(back, compare.replace(epochs=2))
    with self.assertRaisesRegex(ValueError, "epochs"):
      compare.recast(label_noise.Config, epochs=0)


class FlagsTest(parameterized.TestCase):
  def test_defaults_preset_config_and_flags_in_that_order(self):
    self.assertEqual(parse([]), Toy())
    self.assertEqual(parse(["--preset=big"]).epochs, 9)
    self.assertEqual(parse(["--preset=big", "--epochs=4"]).epochs, 4)
    self.assertEqual(parse(["--preset=big"]).hidden, ((100,), (100, 30)))
    nested = parse(["--preset=nested", "--eval_size=30"])
    self.assertEqual(nested.data.dataset, "other")
    self.assertEqual(nested.data.eval_size, 30)
    self.assertEqual(nested.data.validation_size, 5)  # Toy's own default
    with tempfile.TemporaryDirectory() as tmp:
      saved = Toy(epochs=5, lrs=(("sigmoid_mse", 0.2),), scale=3.0)
      path = Path(tmp) / "config.json"
      path.write_text(json.dumps({"config": saved.to_json()}))
      self.assertEqual(parse([f"--config={path}"]), saved)
      self.assertEqual(parse([f"--config={path}", "--scale=2"]).scale, 2.0)

  def test_text_forms(self):
    toy = parse(
      [
        "--pairings=sigmoid_mse,sigmoid_bce",
        "--lr=sigmoid_mse=3,0.5",
        "--hidden=30,100x30",
        "--seeds=0,1,2",
        "--validation_size=9",
        "--note=none",
      ]
    )
    self.assertEqual(toy.lrs, (("sigmoid_mse", 3.0), 0.5))
    self.assertEqual(toy.hidden, ((30,), (100, 30)))
    self.assertEqual(toy.seeds, (0, 1, 2))
    self.assertEqual(toy.data.validation_size, 9)
    self.assertIsNone(toy.note)

  @parameterized.parameters(
    ("--epochs=three", "--epochs=three: invalid literal for int"),
    ("--seeds=--1", "--seeds=--1: '--1' is not an integer"),
    ("--seeds=0,0", "--seeds: lists 0 more than once"),
    ("--lrs=inf", "--lrs: must be a positive finite number, got inf"),
    ("--hidden=0", "hidden sizes must be >= 1"),
    ("--scale=nan", "--scale: must be a positive finite number, got nan"),
    ("--pairings=nope", "Unknown pairing 'nope'"),
  )
  def test_errors_name_the_flag(self, flag, message):
    with self.assertRaisesRegex(ValueError, message):
      parse([flag])

  def test_every_flag_has_help(self):
    values = flags.FlagValues()
    config_flags.define_flags(Toy, PRESETS, flag_values=values)
    for name in (
      "pairings",
      "seeds",
      "lrs",
      "hidden",
      "epochs",
      "dataset",
      "data_dir",
      "workdir",
      "config",
      "preset",
    ):
      self.assertGreater(len(values[name].help), 10, name)
    self.assertIn("big: --epochs=9 --hidden=100,100x30", values["preset"].help)


class StudyPresetsTest(parameterized.TestCase):
  """Every preset of every study builds a valid config through the flags."""

  def test_every_preset(self):
    import importlib

    built = 0
    for name in studies.STUDIES:
      study = importlib.import_module(f"lossjax.studies.{name}")
      for preset in study.PRESETS or {}:
        with self.subTest(f"{name} --preset={preset}"):
          values = flags.FlagValues()
          config_flags.define_flags(
            study.Config, study.PRESETS, flag_values=values
          )
          values(["prog", f"--preset={preset}"])
          config = config_flags.config_from_flags(
            study.Config, study.PRESETS, flag_values=values
          )
          self.assertIsInstance(config, study.Config)
          built += 1
    self.assertGreaterEqual(built, 5)


class ListFlagsTest(absltest.TestCase):
  """Issue 26: every list flag rejects a value given twice, in every study
  (--lrs=0.1,0.1 trained the same configuration twice in one study and was
  refused in another; --smoothing, --logits, --saturation_depths and
  --widget_rule took repeats)."""

  # A list that is one value: the sizes of one architecture (100x30x30).
  ONE_VALUE = {("sweep", "hidden")}

  def test_every_list_field_rejects_a_repeat(self):
    import importlib
    import typing

    def configs():
      for name in studies.STUDIES:
        yield name, importlib.import_module(f"lossjax.studies.{name}").Config
      yield "data", DataConfig

    checked = []
    for name, config_type in configs():
      hints = typing.get_type_hints(config_type)
      for f in dataclasses.fields(config_type):
        if typing.get_origin(hints[f.name]) is not tuple:
          continue
        if (name, f.name) in self.ONE_VALUE:
          continue
        default = f.default if f.default is not dataclasses.MISSING else ()
        first = default[0] if default else "sigmoid_mse"  # widget_rule
        values = {f.name: (first, first)}
        if f.name == "widget_rule":
          values["pairings"] = ("sigmoid_mse",)
        with self.subTest(f"{name}.{f.name}"):
          with self.assertRaisesRegex(
            ValueError, f"{f.name}: .*more than once"
          ):
            config_type(**values)
          checked.append(f"{name}.{f.name}")
    self.assertGreaterEqual(len(checked), 25)


class ShownTextTest(parameterized.TestCase):
  """What --help shows can be pasted back (issue 20)."""

  def test_every_shown_default_parses_back_to_the_default(self):
    # The default --help shows for each flag, given back as that flag, must
    # build the study's default config (before: --inits showed '0,0,2,2').
    for name, study in study_modules().items():
      with self.subTest(name):
        values = flags.FlagValues()
        config_flags.define_flags(
          study.Config, study.PRESETS, flag_values=values
        )
        argv = []
        for flag_name, flag in values._flags().items():
          if flag_name != flag.name or flag.default_as_str is None:
            continue  # an alias, or no default (--workdir, --preset)
          argv.append(f"--{flag_name}={flag.default_as_str[1:-1]}")
        self.assertNotEmpty(argv)
        self.assertEqual(
          parse(argv, study.PRESETS, study.Config), study.Config()
        )

  def test_every_preset_as_its_help_shows_it(self):
    # Each preset's help text is a list of flags that builds the preset.
    built = 0
    for name, study in study_modules().items():
      for preset, values in (study.PRESETS or {}).items():
        with self.subTest(f"{name} --preset={preset}"):
          shown = config_flags.describe_preset(study.Config, values)
          argv = shown.split(" ") if shown else []
          self.assertEqual(
            parse(argv, study.PRESETS, study.Config),
            parse([f"--preset={preset}"], study.PRESETS, study.Config),
          )
          built += 1
    self.assertGreaterEqual(built, 8)

  def test_numbers_are_shown_exactly(self):
    self.assertEqual(cfg.number_text(0.15), "0.15")
    self.assertEqual(cfg.number_text(1e6), "1e+06")
    self.assertEqual(cfg.number_text(0.123456789), "0.123456789")
    self.assertEqual(float(cfg.number_text(1 / 3)), 1 / 3)


class TypedFlagsTest(parameterized.TestCase):
  """Integers, floats, booleans and enumerations get absl's typed flags,
  and the config still checks every value (issue 20)."""

  def test_flag_types(self):
    values = flags.FlagValues()
    benchmark = study_modules()["benchmark"]
    config_flags.define_flags(benchmark.Config, flag_values=values)
    self.assertIsInstance(values["torch"], flags.BooleanFlag)
    self.assertEqual(values["examples"].flag_type(), "int")
    values = flags.FlagValues()
    compare = study_modules()["compare"]
    config_flags.define_flags(
      compare.Config, compare.PRESETS, flag_values=values
    )
    self.assertEqual(values["init_scale"].flag_type(), "float")
    self.assertIsInstance(values["optimizer"], flags.EnumFlag)
    self.assertIsInstance(values["label_noise_kind"], flags.EnumFlag)

  def test_no_prefix_for_booleans(self):
    benchmark = study_modules()["benchmark"]
    self.assertFalse(parse(["--notorch"], {}, benchmark.Config).torch)
    self.assertTrue(parse(["--torch"], {}, benchmark.Config).torch)

  def test_checks_stay_in_the_config(self):
    # absl parses the integer; the config's own check rejects it, with the
    # same message as from Python or config.json.
    with self.assertRaisesRegex(ValueError, "--epochs: must be >= 1, got 0"):
      parse(["--epochs=0"])
    with self.assertRaisesRegex(ValueError, "epochs: must be >= 1, got 0"):
      Toy(epochs=0)
    with self.assertRaisesRegex(ValueError, "should be one of <sgd"):
      parse(["--optimizer=adamw"], {}, study_modules()["compare"].Config)
    with self.assertRaisesRegex(ValueError, "optimizer: 'adamw' is not one of"):
      study_modules()["compare"].Config(optimizer="adamw")

  def test_a_field_gives_parse_and_format_together(self):
    with self.assertRaisesRegex(TypeError, "both parse= and format="):
      cfg.field(0, "x", parse=int)


if __name__ == "__main__":
  absltest.main()
