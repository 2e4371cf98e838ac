r"""Is the cost convex in the weights? Binary and multiclass pairings (seed 002).

See lossjax/studies/convexity.py. Writes config.json, summary.json,
convexity_1d.png and convexity_2d.png to --workdir.

Example:
  python -m experiments.convexity --workdir=out/convexity
"""

from lossjax import cli
from lossjax.studies import convexity

if __name__ == "__main__":
  cli.run(convexity)
