r"""Feed-forward networks on MNIST-family data: does the pairing matter?

See lossjax/studies/compare.py. Trains on MNIST (an offline IDX copy under
$LOSSJAX_DATA_DIR/mnist or ../shared/data/mnist, else TFDS) unless
--dataset says otherwise. Writes config.json, metrics.jsonl (as each epoch
finishes), summary.json, summary.md, accuracy.png, output_error.png,
saturation.png, grad_norm.png, lr_tuning.png (with a rate grid) and, with
several seeds, seeds.png (every seed's curve) and stalled.png (inside the
stalled runs) to --workdir. Calibration: ece.png, reliability.png,
temperature.jsonl and test_probabilities.npz; with --label_noise also
memorised.png; with --multilabel=K label_count.png and multilabel_test.npz
instead of the calibration files.

Examples:
  python -m experiments.mnist --preset=nielsen --workdir=out/book
  python -m experiments.mnist --preset=square_loss --workdir=out/square_loss
  python -m experiments.mnist --preset=multilabel --workdir=out/multilabel
  python -m experiments.mnist --pairings=sigmoid_mse,softmax_nll --epochs=2 \
      --label_noise=0.4 --train_size=5000 --validation_size=1000 --workdir=out/noisy
  python -m experiments.mnist --dataset=fashion_mnist --epochs=3 --workdir=out/fmnist
  python -m experiments.mnist --report_only --workdir=out/fmnist
"""

from absl import flags

from lossjax import cli
from lossjax.studies import compare

flags.DEFINE_bool(
  "report_only",
  False,
  "Do not train: redraw summary.md and the figures from --workdir's "
  "config.json and metrics.jsonl (e.g. after an interrupted run).",
)


def run(config: compare.Config, workdir):
  """Trains, or with --report_only reads the earlier run in --workdir."""
  if flags.FLAGS.report_only:
    return compare.load(workdir)
  return compare.run(config, workdir=workdir)


if __name__ == "__main__":
  cli.define(compare)
  cli.start(
    cli.main(compare, run=run, trains=lambda: not flags.FLAGS.report_only)
  )
