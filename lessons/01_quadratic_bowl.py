# %% [markdown]
# # Lesson 1: too small, just right, oscillating, diverging.
#
# Question: what does the learning rate do to plain gradient descent, and where
# exactly is the line between "converges" and "blows up"?
#
# The loss here is a bowl, f(w) = 1/2 w^T A w, with a 2x2 symmetric positive
# definite A. Its gradient is A w, so one step is w <- w - lr * A w = (I - lr A) w.
# Along each eigenvector of A (eigenvalue lambda) the step multiplies the
# coordinate by (1 - lr * lambda): it shrinks when that factor lies in (-1, 1),
# i.e. when 0 < lr < 2 / lambda. The steepest direction (lambda_max) therefore
# sets the largest rate that works, 2 / lambda_max, and the rate that shrinks the
# slowest direction and the steepest one equally fast is 2 / (lambda_max + lambda_min).
#
# What you will see: two bowls (a round one and a long narrow valley), the path
# of gradient descent on each for four rates (too small, the best one, just
# under the bound where it zig-zags, just over it where it flies off), the
# bound found by bisection next to 2 / lambda_max, and the number of steps to
# reach a tolerance as a function of the rate.
#
# This lesson is NumPy only: the maths is the point, not the framework.
#
# This file is both a script and a notebook (jupytext's percent format: open
# it in Jupyter or VS Code as a notebook, run all cells; the figures appear
# under the last cell and are saved as PNG files too).

# %%
"""Lesson 1: too small, just right, oscillating, diverging.

Run:   python lessons/01_quadratic_bowl.py [--quick] [--out DIR]
Takes: about 5 seconds on a 2-core CPU (--quick: about 2).
"""

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()
sys.path.insert(0, str(HERE))  # find _common.py (a notebook runs in lessons/)
import _common  # noqa: E402

# %%
W0 = np.array([-4.0, 3.0])  # every run starts here
TOL = 1e-8  # "converged": f(w) below TOL * f(w0)
BLOWUP = 1e6  # "diverged": f(w) above BLOWUP * f(w0)


def bowl(eigenvalues, angle_deg):
    """A = R diag(eigenvalues) R^T: a bowl whose axes are turned by angle_deg."""
    t = np.deg2rad(angle_deg)
    R = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return R @ np.diag(eigenvalues) @ R.T


def f(A, w):
    """f(w) = 1/2 w^T A w for one point (2,) or many points (..., 2)."""
    return 0.5 * np.einsum("...i,ij,...j->...", w, A, w)


def descend(A, lr, steps):
    """Plain gradient descent from W0: the path (steps + 1, 2), grad f = A w."""
    path = [W0]
    w = W0
    for _ in range(steps):
        w = w - lr * (A @ w)
        path.append(w)
        if not np.all(np.isfinite(w)) or f(A, w) > BLOWUP * f(A, W0):
            break
    return np.array(path)


def steps_to_tolerance(A, lr, max_steps):
    """Updates until f < TOL * f(w0); None if it never gets there (or blows up)."""
    f0, w = f(A, W0), W0
    for k in range(1, max_steps + 1):
        w = w - lr * (A @ w)
        fk = f(A, w)
        if fk < TOL * f0:
            return k
        if not np.isfinite(fk) or fk > BLOWUP * f0:
            return None
    return None


def shrink_factor(A, lr, steps):
    """The measured average factor by which |w| shrinks per step over ``steps`` steps."""
    path = descend(A, lr, steps)
    return float((np.linalg.norm(path[-1]) / np.linalg.norm(W0)) ** (1.0 / (len(path) - 1)))


def shrinks(A, lr, steps):
    """True when f after ``steps`` updates is below where it started."""
    path = descend(A, lr, steps)
    return len(path) == steps + 1 and f(A, path[-1]) < f(A, W0)


def bisect_bound(A, hi, steps, iters):
    """The largest rate that still shrinks f, found by bisection on [0, hi]."""
    lo = 0.0
    for _ in range(iters):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if shrinks(A, mid, steps) else (lo, mid)
    return lo


# %% [markdown]
# ## The experiment
#
# `main` runs these steps; the comments in the code say why each is there:
# 1. two bowls
# 2. the bound, measured
# 3. four rates on the contour plot
# 4. steps to tolerance against the rate
# 5. what the two bowls say together
# 6. the takeaway

# %%
def main(out_dir="outputs/01_quadratic_bowl", quick=False, backend="numpy"):
    out = _common.start(out_dir, "numpy")  # NumPy only, whatever --backend says
    if backend != "numpy":
        print(f"(lesson 1 is plain NumPy maths; --backend {backend} does not change it)")
    traj_steps = 25 if quick else 40
    max_steps = 10000 if quick else 20000
    n_grid = 25 if quick else 120
    bisect_steps, bisect_iters = (400, 25) if quick else (4000, 40)

    # --- Step 1: two bowls. The same smallest curvature; one is 2x steeper the
    # other way (round), one 25x (a long narrow valley). Their eigenvalues are
    # all gradient descent cares about.
    bowls = {"round": bowl([1.0, 2.0], 30.0), "narrow": bowl([1.0, 25.0], 30.0)}
    results = {}
    fig_paths, axes_paths = _common.figure(2, 4, size=(3.6, 3.4))
    fig_loss, axes_loss = _common.figure(1, 2, size=(5.6, 3.8))
    fig_steps, (ax_steps, ax_rho) = _common.figure(1, 2, size=(5.6, 4.2))

    for row, (name, A) in enumerate(bowls.items()):
        lam_min, lam_max = np.linalg.eigvalsh(A)
        bound = 2.0 / lam_max
        best = 2.0 / (lam_max + lam_min)
        print(f"\n{name} bowl: eigenvalues {lam_min:.3g} and {lam_max:.3g} "
              f"(condition number {lam_max / lam_min:.3g})")
        print(f"  bound 2/lambda_max = {bound:.5f}; best rate 2/(lambda_max+lambda_min) "
              f"= {best:.5f}")

        # --- Step 2: the bound, measured. Just below 2/lambda_max the loss still
        # falls (slowly, zig-zagging); just above it grows without limit.
        below, above = 0.99 * bound, 1.01 * bound
        steps_below = steps_to_tolerance(A, below, max_steps)
        path_above = descend(A, above, max_steps)
        grew = f(A, path_above[-1]) / f(A, W0)
        found = bisect_bound(A, 1.5 * bound, bisect_steps, bisect_iters)
        print(f"  lr = {below:.5f} (0.99 x bound): "
              + (f"converges, {steps_below} steps to f < {TOL:g} f(w0)" if steps_below
                 else f"did not reach the tolerance in {max_steps} steps"))
        print(f"  lr = {above:.5f} (1.01 x bound): f grew by {grew:.3g}x in "
              f"{len(path_above) - 1} steps -> " + ("diverged" if grew > 1 else "did not grow"))
        print(f"  bisection: the largest rate that still shrinks f in {bisect_steps} steps is "
              f"{found:.5f}, {found / bound:.4f} x the bound")

        # --- Step 3: four rates on the contour plot. The steep coordinate (along
        # the top eigenvector) tells oscillation apart: it flips sign each step.
        _, vecs = np.linalg.eigh(A)
        rates = {"too small": 0.1 * bound, "best": best, "oscillating": 0.98 * bound,
                 "diverging": 1.05 * bound}
        grid = np.linspace(-6, 6, 201)
        gx, gy = np.meshgrid(grid, grid)
        fz = f(A, np.stack([gx, gy], axis=-1))
        flips = {}
        for col, (label, lr) in enumerate(rates.items()):
            path = descend(A, lr, traj_steps)
            steep = path @ vecs[:, 1]
            flips[label] = int(np.sum(np.sign(steep[1:]) != np.sign(steep[:-1])))
            left = abs(steep[-1] / steep[0])
            ratio = f(A, path[-1]) / f(A, W0)
            ax = axes_paths[row, col]
            ax.contour(gx, gy, fz, levels=np.geomspace(0.05, fz.max(), 14), colors="0.7",
                       linewidths=0.7)
            ax.plot(path[:, 0], path[:, 1], "o-", ms=2.5, lw=1.0, color=f"C{col}")
            ax.plot(0, 0, "k*", ms=9)
            ax.set_xlim(-6, 6)
            ax.set_ylim(-6, 6)
            ax.set_aspect("equal")
            ax.set_title(f"{name}: {label}\nlr={lr:.3g}, f/f0={ratio:.2g}", fontsize=9)
            print(f"  {label:11s} lr={lr:.4f}: after {len(path) - 1} steps f/f0 = {ratio:.3g}; "
                  f"the steep coordinate changed sign {flips[label]} times and kept "
                  f"{left:.3g} of its size")
            losses = f(A, descend(A, lr, 2 * traj_steps))
            axes_loss[row].semilogy(losses / losses[0], label=f"{label} ({lr:.3g})")
        axes_loss[row].set_title(f"{name} bowl")
        axes_loss[row].set_xlabel("step")
        axes_loss[row].set_ylabel("f(w) / f(w0)")
        axes_loss[row].legend(fontsize="small")

        # --- Step 4: steps to tolerance against the rate. The curve falls as
        # the rate grows, bottoms out near 2/(lambda_max+lambda_min), then rises
        # steeply as the rate nears 2/lambda_max, and stops there. The per-step
        # shrink factor of |w| over a long run is the cleaner measure: the best
        # rate minimises it, because it makes the slowest direction as fast as
        # it can be. A finite tolerance from one start can favour a slightly
        # smaller rate, which kills the steep part of w sooner.
        grid_lr = np.linspace(0.02, 1.1, n_grid) * bound
        counts = [steps_to_tolerance(A, lr, max_steps) for lr in grid_lr]
        ok = np.array([c is not None for c in counts])
        all_below = bool(np.all(ok[grid_lr < bound]))
        none_above = not np.any(ok[grid_lr > bound])
        steps_arr = np.array([np.nan if c is None else c for c in counts], dtype=float)
        i_best = int(np.nanargmin(steps_arr))
        rho = np.array([shrink_factor(A, lr, 200) for lr in grid_lr])
        i_rho = int(np.argmin(rho))
        steps_best = steps_to_tolerance(A, best, max_steps)
        steps_small = steps_to_tolerance(A, 0.1 * bound, max_steps)
        ax_steps.plot(grid_lr / bound, steps_arr, "o-", ms=3, label=f"{name} bowl")
        ax_steps.axvline(best / bound, color=f"C{row}", ls=":", lw=1)
        ax_rho.plot(grid_lr / bound, rho, "o-", ms=3, label=f"{name} bowl")
        ax_rho.axvline(best / bound, color=f"C{row}", ls=":", lw=1)
        print(f"  steps to f < {TOL:g} f(w0): at the best rate {steps_best}, at 0.1 x bound "
              f"{steps_small}; fastest rate on the grid {grid_lr[i_best]:.4f} "
              f"({grid_lr[i_best] / best:.3f} x the best rate) with {int(steps_arr[i_best])} "
              f"steps")
        print(f"  per-step shrink factor of |w| over 200 steps: smallest ({rho[i_rho]:.3f}) at "
              f"lr {grid_lr[i_rho]:.4f} = {grid_lr[i_rho] / best:.3f} x the best rate; "
              f"at 0.1 x bound it is {shrink_factor(A, 0.1 * bound, 200):.3f}")
        print(f"  on a grid of {len(grid_lr)} rates: "
              + ("every rate below the bound converged" if all_below
                 else "some rates below the bound did not converge")
              + (" and none above it did" if none_above else ", and some above it did too"))

        results[name] = {
            "lambda_min": float(lam_min), "lambda_max": float(lam_max),
            "bound": float(bound), "best_rate": float(best),
            "bisected_bound": float(found),
            "lr_below": float(below), "steps_below": steps_below,
            "converged_below": steps_below is not None,
            "lr_above": float(above), "growth_above": float(grew),
            "diverged_above": bool(grew > 1.0),
            "steps_at_best": steps_best, "steps_at_tenth_bound": steps_small,
            "fastest_grid_rate": float(grid_lr[i_best]),
            "min_shrink_rate": float(grid_lr[i_rho]), "min_shrink": float(rho[i_rho]),
            "grid_all_below_converge": all_below, "grid_none_above_converge": none_above,
            "sign_flips": flips,
        }

    # --- Step 5: what the two bowls say together. On the narrow valley the
    # steep side forces a small rate, and the flat side then crawls.
    r, n = results["round"], results["narrow"]
    print(f"\nThe narrow bowl needs {n['steps_at_best']} steps at its best rate where the round "
          f"one needs {r['steps_at_best']}: the steep direction caps the rate at "
          f"{n['bound']:.3f}, and the flat direction then shrinks by only "
          f"{1 - n['best_rate'] * n['lambda_min']:.3f} per step.")
    ax_steps.axvline(1.0, color="k", lw=1)
    ax_steps.set_xlabel("learning rate / (2 / lambda_max)")
    ax_steps.set_ylabel(f"steps until f < {TOL:g} f(w0)")
    ax_steps.set_yscale("log")
    ax_steps.set_title("steps to converge (dotted: 2/(lambda_max+lambda_min))", fontsize=10)
    ax_steps.legend()
    ax_rho.axvline(1.0, color="k", lw=1)
    ax_rho.axhline(1.0, color="0.5", lw=0.8)
    ax_rho.set_xlabel("learning rate / (2 / lambda_max)")
    ax_rho.set_ylabel("|w| shrink factor per step (>1: grows)")
    ax_rho.set_title("average shrink factor over 200 steps", fontsize=10)
    ax_rho.legend()
    results["figures"] = [
        _common.save(fig_paths, out, "trajectories.png"),
        _common.save(fig_loss, out, "loss_curves.png"),
        _common.save(fig_steps, out, "steps_vs_rate.png"),
    ]

    # --- Step 6: the takeaway.
    both = all(results[k]["grid_all_below_converge"] and results[k]["grid_none_above_converge"]
               for k in ("round", "narrow"))
    _common.takeaway(
        [("On both bowls every rate below 2 / lambda_max converged and none above it did: "
          "the largest curvature sets the limit." if both else
          "The bound 2 / lambda_max did not split the grid cleanly on every bowl here."),
         f"A long narrow valley is slow even at its best rate ({n['steps_at_best']} steps "
         f"against {r['steps_at_best']}): the steep side caps the rate, and the flat side then "
         "crawls."],
        stats=f"grids of rates around the bound; bisected bound / (2 / lambda_max): round "
              f"{r['bisected_bound'] / r['bound']:.4f}, narrow "
              f"{n['bisected_bound'] / n['bound']:.4f}")
    return results


# %% [markdown]
# ## Run it
#
# From a terminal: `python lessons/01_quadratic_bowl.py --quick`.
# In a notebook the options come from the environment variable
# `TINYNET_LESSON_ARGS` (empty: the full run).

# %%
if __name__ == "__main__":
    _common.cli(main)
