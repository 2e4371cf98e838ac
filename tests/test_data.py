"""Dataset loading: IDX files (valid and corrupt), TFDS under mock data."""

import gzip
import os
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np
import tensorflow_datasets as tfds
from absl.testing import absltest, parameterized

from lossjax.datasets import data, sources
from tests import datasets


class IdxTest(parameterized.TestCase):
  def setUp(self):
    super().setUp()
    self.dir = Path(self.enter_context(tempfile.TemporaryDirectory()))

  @parameterized.parameters(True, False)
  def test_round_trip(self, gz):
    images = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    path = datasets.write_idx(self.dir / "x-idx3-ubyte", images, gz=gz)
    np.testing.assert_array_equal(sources.read_idx(path), images)
    ints = np.array([1, -5, 70000], np.int32)
    path = datasets.write_idx(self.dir / "y-idx1-int", ints, gz=gz)
    np.testing.assert_array_equal(sources.read_idx(path), ints)

  def test_load_splits_scales_and_carves_validation(self):
    written = datasets.write_idx_dataset(self.dir, n_train=50, n_test=20)
    dataset = data.load_dataset("toy", data_dir=self.dir, validation_size=10)
    self.assertEqual(dataset.source, "idx")
    self.assertEqual(dataset.num_classes, 10)
    train_images, train_labels = written["train"]
    # Nielsen's split: the first examples train, the last ones validate.
    np.testing.assert_array_equal(dataset.train.labels, train_labels[:40])
    np.testing.assert_array_equal(dataset.validation.labels, train_labels[40:])
    np.testing.assert_array_equal(dataset.test.labels, written["t10k"][1])
    self.assertEqual(dataset.train.images.shape, (40, 784))
    self.assertEqual(dataset.train.images.dtype, np.float32)
    np.testing.assert_allclose(
      dataset.train.images[0], train_images[0].reshape(-1) / 255.0, rtol=1e-6
    )
    self.assertEqual(dataset.train.labels.dtype, np.int32)

  def test_subsampling_and_plain_dotted_names(self):
    written = datasets.write_idx_dataset(self.dir, gz=False)
    for path in list(self.dir.iterdir()):  # train-images.idx3-ubyte style
      path.rename(self.dir / path.name.replace("-idx", ".idx"))
    dataset = data.load_dataset(
      "toy", data_dir=self.dir, validation_size=10, train_size=7, eval_size=5
    )
    self.assertEqual(
      (len(dataset.train), len(dataset.validation), len(dataset.test)),
      (7, 5, 5),
    )
    np.testing.assert_array_equal(dataset.train.labels, written["train"][1][:7])

  def test_with_train_size_keeps_the_first_examples(self):
    written = datasets.write_idx_dataset(self.dir, n_train=50, n_test=20)
    dataset = data.load_dataset("toy", data_dir=self.dir, validation_size=10)
    smaller = dataset.with_train_size(7)
    np.testing.assert_array_equal(smaller.train.labels, written["train"][1][:7])
    self.assertIs(smaller.validation, dataset.validation)
    self.assertIs(dataset.with_train_size(None).train, dataset.train)
    # More than the split holds is an error: a run must not record 1000
    # examples and train on 40.
    with self.assertRaisesRegex(
      data.DataError, "train_size=1000 is more than the 40"
    ):
      dataset.with_train_size(1000)
    with self.assertRaisesRegex(
      data.DataError, "eval_size=11 is more than the 10"
    ):
      dataset.with_eval_size(11)

  def test_test_only_directory(self):
    written = datasets.write_idx_dataset(self.dir, n_test=30, splits=("t10k",))
    with self.assertRaisesRegex(data.DataError, "--test_as_train"):
      data.load_dataset("mnist", data_dir=self.dir)
    dataset = data.load_dataset(
      "mnist", data_dir=self.dir, test_as_train=20, validation_size=5
    )
    labels = written["t10k"][1]
    np.testing.assert_array_equal(dataset.train.labels, labels[:15])
    np.testing.assert_array_equal(dataset.validation.labels, labels[15:20])
    np.testing.assert_array_equal(dataset.test.labels, labels[20:])

  def _corrupt(self, name, mutate):
    datasets.write_idx_dataset(self.dir, gz=False)
    path = self.dir / name
    path.write_bytes(mutate(path.read_bytes()))

  @parameterized.named_parameters(
    (
      "truncated_data",
      "train-images-idx3-ubyte",
      lambda b: b[:-100],
      "truncated or corrupt",
    ),
    (
      "truncated_header",
      "train-labels-idx1-ubyte",
      lambda b: b[:6],
      "header is truncated",
    ),
    (
      "bad_magic",
      "t10k-images-idx3-ubyte",
      lambda b: b"\x12\x34" + b[2:],
      "not an IDX file",
    ),
    ("empty", "t10k-labels-idx1-ubyte", lambda b: b"", "not an IDX file"),
    (
      "extra_bytes",
      "train-labels-idx1-ubyte",
      lambda b: b + b"\x00",
      "truncated or corrupt",
    ),
    (
      "label_out_of_range",
      "t10k-labels-idx1-ubyte",
      lambda b: b[:-1] + b"\x0c",
      r"outside \[0, 10\)",
    ),
    (
      "float_images",
      "train-images-idx3-ubyte",
      lambda b: b[:2] + b"\x0d" + b[3:],
      "truncated or corrupt",
    ),
  )
  def test_corrupt_files(self, name, mutate, message):
    self._corrupt(name, mutate)
    with self.assertRaisesRegex(data.DataError, message):
      data.load_dataset("toy", data_dir=self.dir, validation_size=10)

  def test_truncated_gzip(self):
    datasets.write_idx_dataset(self.dir)
    path = self.dir / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:200])
    with self.assertRaisesRegex(data.DataError, "damaged or truncated"):
      data.load_dataset("toy", data_dir=self.dir, validation_size=10)

  def test_count_mismatch(self):
    datasets.write_idx_dataset(self.dir)
    datasets.write_idx(
      self.dir / "train-labels-idx1-ubyte", np.zeros(3, np.uint8)
    )
    with self.assertRaisesRegex(data.DataError, "60 images but.*3 labels"):
      data.load_dataset("toy", data_dir=self.dir, validation_size=10)

  def test_missing_directory_and_bad_options(self):
    with self.assertRaisesRegex(data.DataError, "does not exist"):
      data.load_dataset("mnist", data_dir=self.dir / "nope")
    datasets.write_idx_dataset(self.dir)
    with self.assertRaisesRegex(data.DataError, "validation_size=60"):
      data.load_dataset("toy", data_dir=self.dir, validation_size=60)
    with self.assertRaisesRegex(data.DataError, "Unknown source"):
      data.load_dataset("toy", data_dir=self.dir, source="csv")

  def test_split_shapes_must_match(self):
    with self.assertRaisesRegex(data.DataError, "do not match"):
      data.Split(np.zeros((3, 4), np.float32), np.zeros(2, np.int32))


class TfdsTest(absltest.TestCase):
  def test_mock_data_through_data_sources(self):
    with tfds.testing.mock_data(num_examples=40):
      dataset = data.load_dataset(
        "fashion_mnist", source="tfds", validation_size=8
      )
    self.assertEqual(dataset.source, "tfds")
    self.assertEqual(dataset.num_classes, 10)
    self.assertEqual(dataset.train.images.shape, (32, 784))
    self.assertEqual(dataset.validation.images.shape, (8, 784))
    self.assertEqual(dataset.test.images.shape, (40, 784))
    self.assertEqual(dataset.train.images.dtype, np.float32)
    self.assertBetween(float(dataset.train.images.min()), 0.0, 1.0)
    self.assertBetween(float(dataset.train.images.max()), 0.0, 1.0)
    self.assertTrue(np.all(dataset.train.labels < 10))

  def test_unknown_name(self):
    with self.assertRaisesRegex(data.DataError, "no dataset named 'mnistt'"):
      data.load_dataset("mnistt", source="tfds")

  def test_unprepared_dataset_names_the_offline_path(self):
    empty = self.enter_context(tempfile.TemporaryDirectory())
    with self.assertRaisesRegex(
      data.DataError, "(?s)not prepared under.*four IDX files"
    ):
      data.load_dataset("mnist", data_dir=empty)

  def test_a_failed_tfds_lookup_leaves_no_temporary_folders(self):
    # Issue 11, item 10: TFDS's metadata lookup leaked two /tmp/tmp*tfds
    # folders per failed attempt.
    tmp = Path(tempfile.gettempdir())
    before = set(tmp.glob("tmp*tfds"))
    empty = self.enter_context(tempfile.TemporaryDirectory())
    for name in ("mnist", "cifar10"):
      with self.assertRaises(data.DataError):
        data.load_dataset(name, data_dir=empty, source="tfds")
    self.assertEqual(set(tmp.glob("tmp*tfds")) - before, set())


class KnownFolderTest(absltest.TestCase):
  """A folder named like a known dataset holds that dataset's official sizes."""

  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))

  def test_a_short_file_in_a_known_folder_is_an_error_naming_it(self):
    folder = self.tmp / "mnist"
    folder.mkdir()
    datasets.write_idx_dataset(folder, n_train=60, n_test=20)
    with self.assertRaisesRegex(
      data.DataError,
      r"t10k-images-idx3-ubyte.gz holds .*\(20, 28, 28\).*"
      r"\(10000, 28, 28\)",
    ):
      data.load_dataset("mnist", data_dir=folder, validation_size=10)

  def test_the_same_files_elsewhere_load(self):
    folder = self.tmp / "digits"
    folder.mkdir()
    datasets.write_idx_dataset(folder, n_train=60, n_test=20)
    dataset = data.load_dataset("mnist", data_dir=folder, validation_size=10)
    self.assertLen(dataset.test, 20)

  def test_a_known_folder_under_another_name_is_an_error(self):
    folder = self.tmp / "fashion-mnist"
    folder.mkdir()
    datasets.write_idx_dataset(folder)
    with self.assertRaisesRegex(data.DataError, "--dataset=fashion_mnist"):
      data.load_dataset("mnist", data_dir=folder)


class DataIdentityTest(absltest.TestCase):
  """Issue 26: an offline copy is known by its content, not only its size."""

  def setUp(self):
    super().setUp()
    self.tmp = Path(self.enter_context(tempfile.TemporaryDirectory()))

  def test_fashion_mnist_files_in_a_folder_named_mnist_are_an_error(self):
    # They trained as "mnist (idx)": same sizes, other data, no warning.
    fashion = datasets.shared_data("fashion-mnist", self)
    folder = self.tmp / "mnist"
    folder.mkdir()
    for path in fashion.iterdir():
      (folder / path.name).symlink_to(path)
    with self.assertRaisesRegex(
      data.DataError,
      r"t10k-images-idx3-ubyte.gz is the official fashion_mnist test images "
      r"file \(md5 8181f547.*\), but it was read as the test images of "
      r"'mnist'\. Give --dataset=fashion_mnist",
    ):
      data.load_dataset("mnist", data_dir=folder)

  def test_the_official_files_are_recognised_wherever_they_lie(self):
    mnist = datasets.shared_data("mnist", self)
    folder = self.tmp / "my_copy"
    folder.mkdir()
    for path in mnist.iterdir():
      (folder / path.name).write_bytes(gzip.decompress(path.read_bytes()))
    self.assertLen(data.load_dataset("mnist", data_dir=folder).test, 10_000)

  def test_a_file_of_the_official_size_with_other_content_is_an_error(self):
    folder = self.tmp / "copy"
    folder.mkdir()
    rng = np.random.default_rng(0)
    datasets.write_idx(
      folder / "t10k-images-idx3-ubyte",
      rng.integers(0, 256, (10_000, 28, 28)).astype(np.uint8),
    )
    datasets.write_idx(
      folder / "t10k-labels-idx1-ubyte",
      rng.integers(0, 10, 10_000).astype(np.uint8),
    )
    with self.assertRaisesRegex(
      data.DataError,
      "has the size of mnist's official test images but not its content "
      r"\(md5 [0-9a-f]{32}, official 2646ac647ad5339dbf082846283269ea\)",
    ):
      data.load_dataset("mnist", data_dir=folder, test_as_train=8000)
    # Under its own name it is a dataset of its own.
    own = data.load_dataset(
      "noise", data_dir=folder, test_as_train=8000, validation_size=1000
    )
    self.assertLen(own.test, 2000)


class RealDataTest(absltest.TestCase):
  def test_full_mnist_is_split_as_the_book_does(self):
    directory = datasets.shared_data("mnist", self)
    dataset = data.load_dataset("mnist", data_dir=directory)
    self.assertEqual(
      (len(dataset.train), len(dataset.validation), len(dataset.test)),
      (50_000, 10_000, 10_000),
    )
    # The official label counts of the 60,000 training images.
    counts = np.bincount(
      np.concatenate([dataset.train.labels, dataset.validation.labels]),
      minlength=10,
    )
    np.testing.assert_array_equal(
      counts, [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
    )
    # The book's split: the first 50,000 train, the last 10,000 validate.
    np.testing.assert_array_equal(dataset.train.labels[:5], [5, 0, 4, 1, 9])
    raw = gzip.decompress(
      (directory / "train-labels-idx1-ubyte.gz").read_bytes()
    )
    self.assertEqual(raw[8 + 50_000], dataset.validation.labels[0])
    # The test split is MNIST's t10k (its first label is 7).
    self.assertEqual(dataset.test.labels[0], 7)

  def test_mnist_is_the_default_and_found_offline(self):
    directory = datasets.shared_data("mnist", self)
    with mock.patch.dict(
      os.environ, {"LOSSJAX_DATA_DIR": str(directory.parent)}
    ):
      config = data.DataConfig()
      self.assertEqual(config.dataset, "mnist")
      self.assertEqual(
        Path(config.resolved().data_dir).resolve(), directory.resolve()
      )

  def test_fashion_mnist_idx(self):
    directory = datasets.shared_data("fashion-mnist", self)
    dataset = data.load_dataset("fashion_mnist", data_dir=directory)
    self.assertEqual(
      (len(dataset.train), len(dataset.validation), len(dataset.test)),
      (50_000, 10_000, 10_000),
    )
    counts = np.bincount(dataset.test.labels, minlength=10)
    np.testing.assert_array_equal(counts, np.full(10, 1000))

  def test_mnist_test_split(self):
    directory = datasets.shared_data("mnist-t10k", self)
    dataset = data.load_dataset(
      "mnist", data_dir=directory, test_as_train=8000, validation_size=1000
    )
    self.assertEqual(len(dataset.test), 2000)
    np.testing.assert_array_equal(
      dataset.train.labels[:10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    )
    raw = gzip.decompress(
      (directory / "t10k-labels-idx1-ubyte.gz").read_bytes()
    )
    self.assertEqual(raw[8], 7)  # the first label, read independently


if __name__ == "__main__":
  absltest.main()
