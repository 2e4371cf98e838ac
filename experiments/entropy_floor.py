r"""Why cross-entropy cannot reach 0 for soft targets: the entropy floor.

See lossjax/studies/entropy_floor.py. Writes config.json, summary.json and
entropy_floor.png to --workdir.

Example:
  python -m experiments.entropy_floor --workdir=out/entropy_floor
"""

from lossjax import cli
from lossjax.studies import entropy_floor

if __name__ == "__main__":
  cli.run(entropy_floor)
