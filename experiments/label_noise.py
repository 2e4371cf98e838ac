r"""Are the outputs probabilities, and what if the labels are wrong?

One comparison per label-noise level (see lossjax/studies/label_noise.py),
each in --workdir/noise_<percent>/ with everything experiments.mnist writes
(calibration per epoch, temperature.jsonl, reliability.png, ece.png,
memorised.png, test_probabilities.npz). Adds config.json, summary.md,
summary.json and noise.png to --workdir. Levels already finished in
--workdir with the same config are read back, not retrained.

Examples:
  python -m experiments.label_noise --preset=mnist --workdir=out/label_noise
  python -m experiments.label_noise --pairings=sigmoid_mse,softmax_nll \
      --lrs=sigmoid_mse=1,softmax_nll=0.3 --noise_levels=0,0.4 --epochs=2 \
      --train_size=5000 --validation_size=1000 --workdir=out/noise_quick
"""

from lossjax import cli
from lossjax.studies import label_noise

if __name__ == "__main__":
  cli.run(label_noise)
