"""The run-folder protocol (issue 26): resume, refuse, overwrite, lock."""

import tempfile
from pathlib import Path

from absl.testing import absltest

from lossjax.output import results, run_folder
from lossjax.studies import slowdown
from tests import holding


def finished_run(workdir: Path, config) -> None:
  """A folder as a finished run of ``config`` leaves it."""
  results.write_json(workdir / "config.json", {"config": config.to_json()})
  results.write_json(workdir / "summary.json", {"epochs": config.epochs})
  (workdir / "figures").mkdir()
  (workdir / "figures" / "a.png").write_bytes(b"png")


def contents(workdir: Path) -> dict[str, bytes]:
  return {
    str(p.relative_to(workdir)): p.read_bytes()
    for p in sorted(workdir.rglob("*"))
    if p.is_file() and not str(p.relative_to(workdir)).startswith(".")
  }


class FingerprintTest(absltest.TestCase):
  def test_scheduling_and_data_location_leave_the_fingerprint(self):
    from lossjax.studies import compare

    base = compare.Config(epochs=3)
    self.assertEqual(base.replace(window=4).fingerprint(), base.fingerprint())
    moved = base.replace(data=base.data.replace(data_dir=tempfile.gettempdir()))
    self.assertEqual(moved.fingerprint(), base.fingerprint())
    self.assertNotEqual(
      base.replace(epochs=4).fingerprint(), base.fingerprint()
    )
    noisy = base.replace(data=base.data.replace(label_noise=0.2))
    self.assertNotEqual(noisy.fingerprint(), base.fingerprint())

  def test_differences_name_each_setting(self):
    a = slowdown.Config(epochs=3)
    b = slowdown.Config(epochs=5, x=2.0)
    self.assertEqual(
      run_folder.differences(a, b),
      ["epochs: 3 there, 5 here", "x: 1.0 there, 2.0 here"],
    )


class ClaimedTest(absltest.TestCase):
  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))
    self.workdir = self.tmp / "run"
    self.workdir.mkdir()
    self.config = slowdown.Config(epochs=3)
    finished_run(self.workdir, self.config)
    self.before = contents(self.workdir)

  def test_the_same_run_resumes_with_everything_in_place(self):
    with run_folder.claimed(self.workdir, self.config.replace()):
      self.assertEqual(contents(self.workdir), self.before)
    self.assertEqual(contents(self.workdir), self.before)

  def test_a_different_run_is_refused_and_touches_nothing(self):
    with self.assertRaisesRegex(
      ValueError,
      r"holds the results of a different run \(epochs: 3 there, 4 here\).*"
      r"--overwrite",
    ):
      with run_folder.claimed(self.workdir, self.config.replace(epochs=4)):
        self.fail("ran")
    self.assertEqual(contents(self.workdir), self.before)

  def test_another_study_in_the_folder_is_refused(self):
    from lossjax.studies import entropy_floor

    with self.assertRaisesRegex(ValueError, "not a config of this study"):
      with run_folder.claimed(self.workdir, entropy_floor.Config()):
        self.fail("ran")

  def test_overwrite_replaces_the_old_run_once_the_new_one_ends(self):
    new = self.config.replace(epochs=4)
    with run_folder.claimed(self.workdir, new, overwrite=True):
      self.assertEqual(contents(self.workdir), {})  # the old moved aside
      results.write_json(
        self.workdir / "config.json", {"config": new.to_json()}
      )
    self.assertEqual(list(contents(self.workdir)), ["config.json"])
    self.assertEqual(list(self.workdir.glob(".replaced-*")), [])

  def test_overwrite_keeps_the_old_run_when_the_new_one_fails(self):
    new = self.config.replace(epochs=4)
    with self.assertRaisesRegex(ValueError, "found late"):
      with run_folder.claimed(self.workdir, new, overwrite=True):
        results.write_json(self.workdir / "config.json", {"config": 1})
        raise ValueError("a bad input found late")
    self.assertEqual(contents(self.workdir), self.before)

  def test_overwrite_interrupted_before_any_output_keeps_the_old_run(self):
    with self.assertRaises(KeyboardInterrupt):
      with run_folder.claimed(
        self.workdir, self.config.replace(epochs=4), overwrite=True
      ):
        raise KeyboardInterrupt
    self.assertEqual(contents(self.workdir), self.before)

  def test_outputs_moved_aside_by_a_killed_run_are_removed(self):
    aside = run_folder.move_aside(self.workdir)  # then the process died
    self.assertTrue(aside.is_dir())
    with run_folder.claimed(self.workdir, self.config):
      pass
    self.assertFalse(aside.exists())

  def test_a_folder_it_created_is_removed_when_the_run_fails(self):
    fresh = self.tmp / "a" / "fresh"
    with self.assertRaises(ValueError):
      with run_folder.claimed(fresh, self.config):
        self.assertTrue(fresh.is_dir())
        raise ValueError("data that does not load")
    self.assertFalse(fresh.exists())

  def test_a_second_process_is_refused_while_the_first_runs(self):
    # A real second process holds the lock (flock locks belong to open
    # files, so this also holds between threads of one process).
    holder = holding.hold_folder(self.workdir)
    try:
      with self.assertRaisesRegex(
        ValueError, rf"is in use: another run \(process {holder.pid}\)"
      ):
        with run_folder.claimed(self.workdir, self.config):
          self.fail("ran")
      self.assertEqual(contents(self.workdir), self.before)
    finally:
      holding.release(holder)
    # The lock went with its process: the folder is free again.
    with run_folder.claimed(self.workdir, self.config):
      pass

  def test_a_redraw_only_locks(self):
    # config=None: the run reads the folder's own run; nothing is compared.
    with run_folder.claimed(self.workdir, None):
      self.assertEqual(contents(self.workdir), self.before)


if __name__ == "__main__":
  absltest.main()
