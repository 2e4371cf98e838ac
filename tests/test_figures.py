"""The committed figures are what the current code draws from the records.

Every comparison folder (its ``metrics.jsonl``, ``temperature.jsonl`` and
saved probabilities) is drawn again into a copy; the figures written must be
exactly the committed ones, by name and, up to anti-aliasing, by pixel. A
figure no code writes any more, or one drawn by older code, fails here.
The saturation study is drawn again from its committed rows; the quick
studies' figures are checked where their tests rerun them
(``test_results_are_current.py``). The sweeps' per-configuration arrays are
not committed (``chunks/``), so their figures are not redrawn here.
"""

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from absl.testing import absltest, parameterized
from matplotlib import image

from lossjax import config as cfg
from lossjax.output import records
from lossjax.studies import compare, label_noise, saturation
from tests import pages

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "experiments" / "results"


def comparison_folders() -> list[str]:
  """The committed folders a comparison wrote (its metrics, and a
  comparison's config)."""
  return sorted(
    str(p.parent.relative_to(RESULTS))
    for p in RESULTS.rglob("metrics.jsonl")
    if (p.parent / compare.SUMMARY_FILE).is_file()
    and not any(part.startswith(".") for part in p.parts)
    and is_comparison(json.loads((p.parent / "config.json").read_text()))
    and "sweep" not in p.parent.name
  )


def is_comparison(record: dict) -> bool:
  """A comparison's config has rates and no depths (the saturation
  study's has both)."""
  return "lrs" in record["config"] and "depths" not in record["config"]


def label_noise_folders() -> list[str]:
  return sorted(
    str(p.relative_to(RESULTS))
    for p in RESULTS.rglob("*")
    if p.is_dir()
    and (p / "noise.png").is_file()
    and not any(part.startswith(".") for part in p.parts)
  )


def named(folders: list[str]) -> list[tuple[str, str]]:
  """Test names that say which folder (``report/mnist``: ``report_mnist``)."""
  return [(f.replace("/", "_"), f) for f in folders]


def assert_same_image(test, drawn: Path, committed: Path) -> None:
  a, b = image.imread(drawn), image.imread(committed)
  test.assertEqual(a.shape, b.shape, f"{committed}: another size")
  # Anti-aliasing may move single pixels; a changed figure moves many.
  changed = np.mean(np.any(np.abs(a - b) > 0.1, axis=-1))
  test.assertLess(changed, 1e-3, f"{committed}: drawn differently now")


def pngs(folder: Path) -> set[str]:
  return {p.name for p in folder.glob("*.png")}


def assert_same_figures(test, drawn: Path, committed: Path) -> None:
  """``drawn`` holds exactly ``committed``'s figures, drawn the same."""
  test.assertEqual(pngs(drawn), pngs(committed), f"{committed}")
  for name in sorted(pngs(committed)):
    assert_same_image(test, drawn / name, committed / name)


class CommittedFiguresTest(parameterized.TestCase):
  def redraw(self, name: str, write) -> tuple[Path, Path]:
    committed = RESULTS / name
    copy = Path(self.enter_context(tempfile.TemporaryDirectory())) / "copy"
    shutil.copytree(
      committed, copy, ignore=shutil.ignore_patterns("*.png", ".lock")
    )
    write(copy)
    return committed, copy

  def check(self, committed: Path, copy: Path) -> None:
    assert_same_figures(self, copy, committed)

  @parameterized.named_parameters(*named(comparison_folders()))
  @pytest.mark.slow  # every comparison's figures drawn again: minutes
  def test_a_comparisons_figures(self, name):
    self.check(*self.redraw(name, lambda d: compare.write(compare.load(d), d)))

  @parameterized.named_parameters(*named(label_noise_folders()))
  @pytest.mark.slow
  def test_a_label_noise_studys_figure(self, name):
    self.check(
      *self.redraw(name, lambda d: label_noise.write(label_noise.load(d), d))
    )

  @parameterized.named_parameters(*named(["saturation", "report/saturation"]))
  @pytest.mark.slow
  def test_the_saturation_studys_figures(self, name):
    def write(folder):
      saved = json.loads((folder / "config.json").read_text())
      result = saturation.Result(
        cfg.from_json(saturation.Config, saved["config"]),
        records.read_jsonl(folder / "metrics.jsonl"),
        saved["data"],
      )
      saturation.write(result, folder)

    self.check(*self.redraw(name, write))

  def test_every_embedded_figure_is_committed(self):
    tracked = set(
      subprocess.run(
        ["git", "ls-files", "--", "*.png"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
      ).stdout.split()
    )
    embedded = pages.embedded_figures()
    self.assertNotEmpty(embedded)
    for path in embedded:
      self.assertIn(str(path.relative_to(REPO)), tracked)

  def test_the_folders_are_found(self):
    self.assertIn("mnist_nielsen", comparison_folders())
    self.assertIn("mnist_label_noise/noise_0", comparison_folders())
    self.assertIn("mnist_label_noise", label_noise_folders())


if __name__ == "__main__":
  absltest.main()
