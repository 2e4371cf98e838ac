r"""Every difference the README states, evaluated from the committed results.

See lossjax/studies/claims.py. Reads the study folders under --results (no
training), pairs each claim's two sides seed by seed and writes claims.json
and claims.md (estimate, 95% interval, verdict) to --workdir.

Example:
  python -m experiments.claims --workdir=experiments/results/claims
"""

from lossjax import cli
from lossjax.studies import claims

if __name__ == "__main__":
  cli.run(claims)
