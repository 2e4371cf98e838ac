r"""Feed-forward networks on MNIST-family data: does the pairing matter?

lossjax/studies/compare.py; the outputs and flags: docs/library.md, --help.

Examples:
  python -m experiments.mnist --preset=nielsen --workdir=out/book
  python -m experiments.mnist --pairings=sigmoid_mse,softmax_nll --epochs=2 \
      --label_noise=0.4 --train_size=5000 --workdir=out/noisy
  python -m experiments.mnist --dataset=fashion_mnist --epochs=3 --workdir=out/f
  python -m experiments.mnist --report_only --workdir=out/f   # redraw only
"""

from lossjax import cli
from lossjax.studies import compare

if __name__ == "__main__":
  cli.run(compare, redraw=compare.load)
