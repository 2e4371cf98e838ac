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
from lossjax import studies
from lossjax.data import DataConfig


@dataclasses.dataclass(frozen=True, kw_only=True)
class Toy(cfg.Config):
  """A config with one field of each kind the studies use."""

  data: DataConfig = DataConfig(dataset="toy", validation_size=5)
  pairings: tuple[lossjax.Pairing, ...] = cfg.pairings_field(("sigmoid_mse",))
  seeds: tuple[int, ...] = cfg.seeds_field()
  lrs: tuple = cfg.lrs_field()
  hidden: tuple[tuple[int, ...], ...] = cfg.hidden_field()
  epochs: int = cfg.epochs_field(2)
  scale: float = cfg.field(1.0, "A positive number.", check=cfg.positive)
  note: str | None = cfg.field(None, "Optional text.")

  def validate(self):
    cfg.check_lrs_cover(self.lrs, self.pairings)


PRESETS = {
  "big": {"epochs": 9, "hidden": [[100], [100, 30]]},
  "nested": {"data": {"dataset": "other", "eval_size": 20}, "epochs": 3},
}


def parse(argv, presets=PRESETS):
  values = flags.FlagValues()
  cfg.define_flags(Toy, presets, flag_values=values)
  values(["prog", *argv])
  return cfg.config_from_flags(Toy, presets, flag_values=values)


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
    self.assertEqual(cfg.lrs_for(toy.lrs, toy.pairings[0]), (2.0,))
    self.assertEqual(cfg.lrs_for(toy.lrs, toy.pairings[1]), (0.5,))

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
  )
  def test_rejects_with_the_field_name(self, change, message):
    with self.assertRaisesRegex(ValueError, message):
      Toy(**change)

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
    ("--epochs=three", "--epochs=three: 'three' is not an integer"),
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
    cfg.define_flags(Toy, PRESETS, flag_values=values)
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
    self.assertIn("big: --epochs=9, --hidden=100,100x30", values["preset"].help)


if __name__ == "__main__":
  absltest.main()


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
          cfg.define_flags(study.Config, study.PRESETS, flag_values=values)
          values(["prog", f"--preset={preset}"])
          config = cfg.config_from_flags(
            study.Config, study.PRESETS, flag_values=values
          )
          self.assertIsInstance(config, study.Config)
          built += 1
    self.assertGreaterEqual(built, 5)
