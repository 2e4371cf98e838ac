"""Progress lines: compile time apart from training time, and time left."""

from unittest import mock

import jax
from absl.testing import absltest

from lossjax.output import progress

COMPILE = "/jax/core/compile/backend_compile_duration"


class ProgressTest(absltest.TestCase):
  def test_compile_time_is_measured_by_jax(self):
    before = progress.compile_seconds()
    jax.jit(lambda x: x * 3 + 1.5)(2.0)  # a new program: compiles
    self.assertGreater(progress.compile_seconds(), before)
    again = progress.compile_seconds()
    jax.monitoring.record_event_duration_secs("/jax/other_event", 5.0)
    self.assertEqual(progress.compile_seconds(), again)

  def test_time_left_from_training_and_compile_time(self):
    clock = iter([0.0, 0.0, 10.0, 12.0, 14.0, 100.0, 110.0])
    with mock.patch.object(progress.time, "perf_counter", lambda: next(clock)):
      timer = progress.Progress(6, starts=2)  # two groups of 3 epochs
      timer.start()
      # Epoch 1: 10 s, of which 8 s compiling.
      jax.monitoring.record_event_duration_secs(COMPILE, 8.0)
      first = timer.done()
      self.assertAlmostEqual(first.compile_seconds, 8.0)
      self.assertAlmostEqual(first.train_seconds, 2.0)
      # 5 epochs left at 2 s, and one more start at 8 s of compiling.
      self.assertAlmostEqual(first.left_seconds, 5 * 2.0 + 8.0)
      self.assertIn("compile 8.0s", first.text())
      second = timer.done()
      self.assertAlmostEqual(second.train_seconds, 2.0)
      self.assertNotIn("compile", second.text())
      timer.done()  # 14 s
      timer.start()  # 100 s
      jax.monitoring.record_event_duration_secs(COMPILE, 6.0)
      fourth = timer.done()  # 110 s: 4 s training
      self.assertAlmostEqual(fourth.left_seconds, 2 * (10.0 / 4))

  def test_phases_split_a_runs_time(self):
    # Issue 25: train 3 s, evaluate 2 s of which 0.5 s compiling, 10 s in all.
    clock = iter([0.0, 3.0, 3.0, 5.0])
    progress.reset_phases()
    with mock.patch.object(progress.time, "perf_counter", lambda: next(clock)):
      with progress.phase("train"):
        pass
      with progress.phase("evaluate"):
        jax.monitoring.record_event_duration_secs(COMPILE, 0.5)
    seconds = progress.phase_seconds(10.0)
    self.assertEqual(
      seconds,
      {
        "total_seconds": 10.0,
        "train_seconds": 3.0,
        "evaluate_seconds": 1.5,
        "compile_seconds": 0.5,
        "write_seconds": 0.0,
        "other_seconds": 5.0,
      },
    )
    self.assertEqual(
      progress.phases_text(seconds),
      "time 10.0s: train 3.0s, evaluate 1.5s, compile 0.5s, write 0.0s, "
      "other 5.0s",
    )
    progress.reset_phases()
    self.assertEqual(progress.phase_seconds(1.0)["train_seconds"], 0.0)
    with self.assertRaisesRegex(ValueError, "unknown phase 'training'"):
      with progress.phase("training"):
        pass

  def test_duration_text(self):
    self.assertEqual(progress.duration_text(42.4), "42s")
    self.assertEqual(progress.duration_text(185), "3m05s")
    self.assertEqual(progress.duration_text(3720), "1h02m")
    self.assertEqual(progress.duration_text(float("nan")), "?")

  def test_info_logs_on_process_0_only(self):
    with mock.patch.object(progress.logging, "info") as info:
      progress.info("hello")
      info.assert_called_once_with("%s", "hello")
    with (
      mock.patch.object(progress.jax, "process_index", return_value=1),
      mock.patch.object(progress.logging, "info") as info,
    ):
      progress.info("hello")
      info.assert_not_called()

  def test_bad_totals(self):
    with self.assertRaisesRegex(ValueError, "total >= 1"):
      progress.Progress(0)


if __name__ == "__main__":
  absltest.main()
