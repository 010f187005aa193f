"""The study's figures: Fig. 2 (IS against iteration, mean over seeds), Fig. 3 (IS on normal vs
worst-case noise), Fig. 4 (IS against eps), drawn from the study's records and rows; Fig. 6 sample
grids. (Fig. 5, t-SNE, is `rgan_tf.assess.plot_tsne`, as `tools/plot_tsne.py` draws it.)"""
import collections
import os

import numpy as np

from rgan_tf import export
from rgan_tf import figures
from rgan_tf import images as images_lib
from rgan_tf.study import paper
from rgan_tf.study import plans


def _save(figure, output_dir, name):
    """Writes `figure` as `output_dir/name` (tight layout, 120 dpi); returns the path."""
    return figures.save_figure(figure, os.path.join(output_dir, name), dpi=120, tight=True)


def plot_fig2(records, output_dir):
    """IS vs generator iteration, mean over seeds, baseline vs RGAN."""
    plt = figures.pyplot()
    figure, axis = plt.subplots(figsize=(5, 3.5))
    curves = collections.defaultdict(lambda: collections.defaultdict(list))
    for record in records:
        for step, value in record.get("curve", []):
            curves[(record["family"], record["variant"])][step].append(value)
    for (family, variant), by_step in curves.items():
        steps = sorted(by_step)
        axis.plot(steps, [np.mean(by_step[s]) for s in steps], marker="o",
                  label=f"{paper.FAMILY_NAMES.get(family, family)} {paper.VARIANT_NAMES[variant]}")
    axis.set_xlabel("generator iteration")
    axis.set_ylabel("Inception score")
    axis.legend()
    return [_save(figure, output_dir, "fig2_is_vs_iteration.png")]


def plot_fig3(rows, output_dir):
    """IS on normal vs worst-case noise per variant (bars with 95% intervals)."""
    plt = figures.pyplot()
    figure, axis = plt.subplots(figsize=(max(4, 1.3 * len(rows)), 3.5))
    x = np.arange(len(rows))
    labels = [f"{paper.FAMILY_NAMES.get(r['family'], r['family'])}\n"
              f"{paper.VARIANT_NAMES[r['variant']]}"
              for r in rows]
    for offset, metric, name in ((-0.2, "is", "normal z"), (0.2, "is_worst", "worst-case z")):
        errors = [0 if not np.isfinite(r[metric + "_ci95"]) else r[metric + "_ci95"]
                  for r in rows]
        axis.bar(x + offset, [r[metric] for r in rows], 0.4, yerr=errors, capsize=3, label=name)
    axis.set_xticks(x, labels, fontsize=8)
    axis.set_ylabel("Inception score")
    axis.legend()
    return [_save(figure, output_dir, "fig3_worst_case_noise.png")]


def plot_fig4(rows, output_dir):
    """IS vs eps_z and vs eps_x (log x axis), with 95% intervals."""
    plt = figures.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(8, 3.2), sharey=True)
    for axis, which, name in ((axes[0], "eps_z", "eps_z (noise)"),
                              (axes[1], "eps_x", "eps_x (images)")):
        part = sorted((r for r in rows if r["swept"] == which), key=lambda r: r["value"])
        if part:
            errors = [0 if not np.isfinite(r["is_ci95"]) else r["is_ci95"] for r in part]
            axis.errorbar([r["value"] for r in part], [r["is"] for r in part], yerr=errors,
                          marker="o", capsize=3)
            axis.set_xscale("log")
            axis.minorticks_off()
            axis.set_xticks([r["value"] for r in part], [f"{r['value']:g}" for r in part])
        axis.set_xlabel(name)
    axes[0].set_ylabel("Inception score")
    return [_save(figure, output_dir, "fig4_eps_sweep.png")]


def plot_fig6(runs, output_dir):
    """A sample grid per run (fixed noise), `fig6_<family>_<variant>.png`."""
    paths = []
    for run in runs:
        model, _ = export.load_run(plans.run_folder(output_dir, run), log=lambda message: None)
        path = os.path.join(output_dir, f"fig6_{run.family}_{run.variant}.png")
        images_lib.save_grid(np.asarray(model.sample(64, seed=1234)), path)
        paths.append(path)
    return paths
