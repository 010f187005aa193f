"""The paper's figures, drawn from records only: no model, no run folder is read here (matplotlib,
Agg backend; each function writes one PNG atomically and returns its path). `rgan_tf.assess` reads
run folders into the records these functions take.

* `plot_metrics`: IS and FID against the generator iteration (Fig. 2), from the `metrics.jsonl`
  records of one or more runs; worst-case-noise curves dashed; the generator's loss under normal,
  worst-case and random noise, and the discriminator's gap and sensitivity, when recorded.
* `plot_eps_sweep`: IS against eps_z and against eps_x (Fig. 4) from one row per run
  (`{"eps_z", "eps_x", "robust", "value"}`).
* `plot_tsne`: t-SNE embeddings (Fig. 5) of point sets (`rgan_tf.evaluation.embedding`).

Sample grids (Fig. 6) are `tools/sample.py --output=grid.png`.
"""
import collections
import re

import numpy as np

from rgan_tf import files

#: t-SNE uses exact gradients up to this many points per panel, Barnes-Hut above.
EXACT_TSNE_POINTS = 2000

_IS = re.compile(r"^is(\d+k?)(_full)?(_worst_eps[0-9.e+-]+)?$")
_FID = re.compile(r"^fid(\d+k?)(_full)?(_worst_eps[0-9.e+-]+)?$")
_G_LOSS = re.compile(r"^g_loss(_(worst|random)_eps[0-9.e+-]+)?$")
_D = re.compile(r"^d_(loss_train|loss_heldout|gap|sensitivity_eps[0-9.e+-]+)$")


def pyplot():
    """matplotlib's pyplot on the Agg backend (files only, no display)."""
    import matplotlib  # heavy, optional at import time: only drawing needs it
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # with matplotlib, above
    return plt


def save_figure(figure, output, dpi=110, tight=False):
    """Writes `figure` as the PNG `output` atomically, closes it, returns `output`."""
    plt = pyplot()
    if tight:
        figure.tight_layout()
    with files.atomic_path(output, suffix=".png") as temporary:
        figure.savefig(temporary, dpi=dpi)
    plt.close(figure)
    return output


def metric_curves(records):
    """`{name: [(step, value), ...]}` of every numeric field of `records` that has a step; for a
    step seen twice (e.g. evaluated again after a resume), the later record wins."""
    curves = collections.defaultdict(dict)
    for record in records:
        step = record.get("step")
        if step is None:
            continue
        for name, value in record.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and (
                    np.isfinite(value)):
                curves[name][int(step)] = float(value)
    return {name: sorted(by_step.items()) for name, by_step in curves.items()}


def plot_metrics(records_by_run, output):
    """IS, FID (and generator/discriminator quantities, when recorded) against the step.

    Args:
      records_by_run: `{run label: [record, ...]}` (a run's `metrics.jsonl`); one line per run
        and metric.
      output: the PNG to write.

    Returns:
      `output`.

    Raises:
      ValueError: no run has a record with a step and an IS or FID.
    """
    panels = (("Inception score", _IS), ("FID", _FID), ("generator loss", _G_LOSS),
              ("discriminator on real data", _D))
    curves_by_run = {run: metric_curves(records) for run, records in records_by_run.items()}
    used = [(title, pattern) for title, pattern in panels
            if any(pattern.match(name) for curves in curves_by_run.values() for name in curves)]
    if not any(title in ("Inception score", "FID") for title, _ in used):
        raise ValueError(f"No IS or FID with a step in {', '.join(map(str, records_by_run))}.")
    plt = pyplot()
    figure, axes = plt.subplots(1, len(used), figsize=(4.2 * len(used), 3.4), squeeze=False)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, (title, pattern) in zip(axes[0], used):
        for index, (run, curves) in enumerate(curves_by_run.items()):
            names = sorted(name for name in curves if pattern.match(name))
            for name in names:
                steps, values = zip(*curves[name])
                style = "--" if "worst" in name else (":" if "random" in name else "-")
                label = name if len(curves_by_run) == 1 else f"{run}: {name}"
                axis.plot(steps, values, style, marker="o", markersize=3,
                          color=colours[(index * 3 + names.index(name)) % len(colours)],
                          label=label)
        axis.set_title(title, fontsize=10)
        axis.set_xlabel("generator iteration")
        axis.legend(fontsize=7)
        axis.grid(alpha=0.3)
    return save_figure(figure, output, tight=True)


# ---------------------------------------------------------------------------------------------
# Fig. 4.


def latest_value(records, metric=None):
    """(metric name, value) of the record with the largest step holding `metric`; `metric` None:
    the IS at normal noise with the most samples."""
    if metric is None:
        names = {name for record in records for name in record if _IS.match(name)
                 and not _IS.match(name).group(3)}
        if not names:
            return None, None
        metric = max(names, key=lambda name: (_count(_IS.match(name).group(1)), name))
    candidates = [record for record in records if isinstance(record.get(metric), (int, float))]
    if not candidates:
        return metric, None
    best = max(candidates, key=lambda record: record.get("step", -1))
    return metric, float(best[metric])


def _count(text):
    return int(text[:-1]) * 1000 if text.endswith("k") else int(text)


def _mode(values):
    counts = collections.Counter(values)
    return max(counts, key=lambda value: (counts[value], -value))


def plot_eps_sweep(points, output, metric=None):
    """IS against eps_z and against eps_x over runs (the paper's Fig. 4).

    The eps_z panel shows the robust runs whose eps_x is the most common eps_x among them (the
    value held fixed while eps_z was swept), and vice versa; runs sharing a value (seeds) give a
    mean with a min-max bar. Baseline runs (`robust = 'off'`) are a horizontal line.

    Args:
      points: one row per run, `{"eps_z", "eps_x", "robust", "metric", "value"}` (value None:
        not measured; `rgan_tf.assess.sweep_points` reads them from run folders).
      output: the PNG to write.
      metric: the record field plotted (e.g. "is5k"), for the axis label; default the rows'.

    Returns:
      `output`.
    """
    rows = [row for row in points if row["value"] is not None]
    robust = [row for row in rows if row["robust"] != "off"]
    if not robust:
        raise ValueError("No robust run (RobustGAN.robust != 'off') with a recorded "
                         f"{metric or 'IS'} among {len(points)} run folder(s).")
    label = metric or robust[0]["metric"]
    baseline = [row["value"] for row in rows if row["robust"] == "off"]
    plt = pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(8.4, 3.4), sharey=True)
    for axis, swept, fixed, title in ((axes[0], "eps_z", "eps_x", "eps_z (noise, generator)"),
                                      (axes[1], "eps_x", "eps_z", "eps_x (images, discriminator)")):
        held = _mode([row[fixed] for row in robust])
        by_value = collections.defaultdict(list)
        for row in robust:
            if row[fixed] == held:
                by_value[row[swept]].append(row["value"])
        xs = sorted(by_value)
        means = [float(np.mean(by_value[x])) for x in xs]
        errors = [[m - min(by_value[x]) for x, m in zip(xs, means)],
                  [max(by_value[x]) - m for x, m in zip(xs, means)]]
        axis.errorbar(xs, means, yerr=errors, marker="o", capsize=3,
                      label=f"RGAN, {fixed} = {held:g}")
        if baseline:
            axis.axhline(float(np.mean(baseline)), color="grey", linestyle="--", label="baseline")
        if xs and min(xs) > 0:
            axis.set_xscale("log")
        elif len(xs) > 1:
            axis.set_xscale("symlog", linthresh=min(x for x in xs if x > 0) if any(xs) else 1.0)
        axis.set_xticks(xs, [f"{x:g}" for x in xs])
        axis.minorticks_off()
        axis.set_xlabel(title)
        axis.grid(alpha=0.3)
        axis.legend(fontsize=7)
    axes[0].set_ylabel(label)
    return save_figure(figure, output, tight=True)


# ---------------------------------------------------------------------------------------------
# Fig. 5.


def _embed(parts, seed=0):
    from sklearn.manifold import TSNE  # heavy, optional at import time: only Fig. 5 needs it
    stacked = np.concatenate([np.asarray(part, np.float64).reshape(len(part), -1)
                              for part in parts])
    perplexity = float(max(2.0, min(30.0, (len(stacked) - 1) / 3.0)))
    # Exact gradients up to a few thousand points: faster here than Barnes-Hut, whose OpenMP
    # threads crawl on a small, shared CPU (80 points: 0.7 s against 18 s on two busy cores).
    method = "exact" if len(stacked) <= EXACT_TSNE_POINTS else "barnes_hut"
    embedded = TSNE(n_components=2, init="pca", perplexity=perplexity, method=method,
                    random_state=seed).fit_transform(stacked)
    out, start = [], 0
    for part in parts:
        out.append(embedded[start:start + len(part)])
        start += len(part)
    return out


def _scatter(axis, embedded, labels, title):
    for points, label, colour in zip(embedded, labels, ("tab:red", "tab:blue")):
        axis.scatter(points[:, 0], points[:, 1], s=5, alpha=0.6, color=colour, label=label)
    axis.set_title(title, fontsize=9)
    axis.set_xticks([])
    axis.set_yticks([])
    axis.legend(fontsize=7, markerscale=2)


def plot_tsne(panels, output, features="classifier", seed=0):
    """t-SNE embeddings of the paper's Fig. 5, one panel per pair of point sets, each pair
    embedded on its own.

    Args:
      panels: `[(title, (name_a, points_a), (name_b, points_b)), ...]`
        (`rgan_tf.evaluation.embedding.model_panels`).
      output: the PNG to write.
      features: what the points are ("classifier" features or "pixels"), for the title.
      seed: t-SNE's seed.

    Returns:
      `output`.
    """
    if not panels:
        raise ValueError("No point sets to embed.")
    plt = pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(3.8 * len(panels), 3.8), squeeze=False)
    for axis, (title, (name_a, points_a), (name_b, points_b)) in zip(axes[0], panels):
        _scatter(axis, _embed([points_a, points_b], seed), [name_a, name_b], title)
    figure.suptitle(f"t-SNE ({features} features)" if features == "classifier"
                    else "t-SNE (pixels)", fontsize=10)
    return save_figure(figure, output, tight=True)
