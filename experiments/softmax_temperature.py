r"""Where the name softmax comes from: softmax(c z) tends to argmax as c grows.

See lossjax/studies/softmax_temperature.py. Writes config.json, summary.json
and softmax_temperature.png to --workdir.

Example:
  python -m experiments.softmax_temperature --workdir=out/softmax
"""

from lossjax import cli
from lossjax.studies import softmax_temperature

if __name__ == "__main__":
  cli.run(softmax_temperature)
