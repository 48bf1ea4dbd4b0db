"""Make tests/data/cfa36_mcar.csv: simulated 36-item, 6-factor CFA data with 10% MCAR cells.

The data are simulated here (numpy only, seed 4), so they carry the project's licence.  Seed 4
is one of the two of seeds 1-5 whose data make a FIML fit started from the complete-case moments
(the code before the fix) fail to converge; that is the case the test must keep.
Population: six correlated factors F1-F6 (unit variances, correlations drawn from U(.20, .50)),
six items each (f1_1 ... f6_6, item k of factor j is ``f{j}_{k}``) with standardised loadings
drawn from U(.50, .80); each item's continuous response is cut into five ordered categories (1-5) at
item-specific thresholds, as Likert items.  300 rows; then 10% of the item cells are deleted
completely at random (MCAR), which leaves only a handful of complete rows (0.9^36 * 300 = 6.8
expected): the case where FIML must not start from the complete-case moments of those few rows
(issue 12, "FIML start values").  The script is deterministic; rerun it to remake the file.

Usage: python make_cfa36_mcar.py
"""
from pathlib import Path

import numpy as np

SEED = 4
N_ROWS, N_FACTORS, N_ITEMS = 300, 6, 6
MISSING = 0.10


def simulate(seed: int = SEED) -> tuple[list[str], np.ndarray]:
    """Return the column names and the (N_ROWS, 1 + 36) array: id, then the 36 items (NaN =
    missing)."""
    rng = np.random.default_rng(seed)
    # factor correlations .20-.50 (symmetric, unit diagonal; Cholesky fails if not positive definite)
    phi = np.eye(N_FACTORS)
    iu = np.triu_indices(N_FACTORS, 1)
    phi[iu] = rng.uniform(0.20, 0.50, size=len(iu[0]))
    phi = phi + np.triu(phi, 1).T
    lam = rng.uniform(0.50, 0.80, size=(N_FACTORS, N_ITEMS))
    eta = rng.standard_normal((N_ROWS, N_FACTORS)) @ np.linalg.cholesky(phi).T
    cols, items = [], []
    for j in range(N_FACTORS):
        for k in range(N_ITEMS):
            load = lam[j, k]
            y = load * eta[:, j] + np.sqrt(1 - load**2) * rng.standard_normal(N_ROWS)
            # item-specific thresholds around a shifted centre (some items skewed)
            centre = rng.uniform(-0.5, 0.5)
            tau = centre + np.array([-1.5, -0.6, 0.3, 1.2]) + rng.uniform(-0.15, 0.15, 4)
            items.append(1.0 + np.searchsorted(np.sort(tau), y))
            cols.append(f"f{j + 1}_{k + 1}")
    x = np.column_stack(items)
    x[rng.random(x.shape) < MISSING] = np.nan
    ids = np.arange(1, N_ROWS + 1, dtype=float)
    return ["id"] + cols, np.column_stack([ids, x])


def model_syntax() -> str:
    """The six-factor CFA model of the simulated data (lavaan syntax)."""
    return "\n".join(f"F{j + 1} =~ " + " + ".join(f"f{j + 1}_{k + 1}" for k in range(N_ITEMS))
                     for j in range(N_FACTORS))


if __name__ == "__main__":
    names, x = simulate()
    lines = [",".join(names)]
    for row in x:
        lines.append(",".join("" if np.isnan(v) else str(int(v)) for v in row))
    out = Path(__file__).with_name("cfa36_mcar.csv")
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    complete = int((~np.isnan(x[:, 1:])).all(axis=1).sum())
    print(f"{out.name}: {x.shape[0]} rows, {np.isnan(x[:, 1:]).mean():.3f} of item cells missing, "
          f"{complete} complete rows")
