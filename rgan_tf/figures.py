"""The paper's figures, drawn from run folders (matplotlib, Agg backend; each function writes one
PNG and returns its path):

* `plot_metrics`: IS and FID against the generator iteration (Fig. 2), from the `metrics.jsonl`
  of one or more runs; worst-case-noise curves dashed; the generator's loss under normal,
  worst-case and random noise, and the discriminator's gap and sensitivity, when recorded.
* `plot_eps_sweep`: IS against eps_z and against eps_x (Fig. 4) over a list of run folders, each
  read from its `operative_config.gin` and `metrics.jsonl`.
* `plot_tsne`: t-SNE embeddings (Fig. 5): normal vs worst-case noise, worst-case real vs worst-case
  generated images, and real vs generated images per run (classifier features or pixels).

Sample grids (Fig. 6) are `tools/sample.py --output=grid.png`.
"""
import collections
import os
import re

import numpy as np

from rgan_tf import evaluation

#: t-SNE uses exact gradients up to this many points per panel, Barnes-Hut above.
EXACT_TSNE_POINTS = 2000

_IS = re.compile(r"^is(\d+k?)(_full)?(_worst_eps[0-9.e+-]+)?$")
_FID = re.compile(r"^fid(\d+k?)(_full)?(_worst_eps[0-9.e+-]+)?$")
_G_LOSS = re.compile(r"^g_loss(_(worst|random)_eps[0-9.e+-]+)?$")
_D = re.compile(r"^d_(loss_train|loss_heldout|gap|sensitivity_eps[0-9.e+-]+)$")


def _pyplot():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def _save(figure, output):
    plt = _pyplot()
    folder = os.path.dirname(os.path.abspath(output))
    os.makedirs(folder, exist_ok=True)
    temporary = os.path.join(folder, f".{os.path.basename(output)}.tmp.png")
    figure.savefig(temporary, dpi=110)
    plt.close(figure)
    os.replace(temporary, output)
    return output


def _metrics_path(source):
    """A run folder's metrics.jsonl, or the path itself if it is a file."""
    if os.path.isdir(source):
        return os.path.join(source, evaluation.METRICS_FILE)
    return source


def _run_label(source):
    path = os.path.abspath(source)
    if os.path.basename(path) == evaluation.METRICS_FILE:
        path = os.path.dirname(path)
    return os.path.basename(path.rstrip(os.sep))


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


def plot_metrics(sources, output):
    """IS, FID (and generator/discriminator quantities, when recorded) against the step.

    Args:
      sources: run folders or `metrics.jsonl` paths; one line per run and metric.
      output: the PNG to write.

    Returns:
      `output`.

    Raises:
      ValueError: no source holds a record with a step and an IS or FID.
    """
    panels = (("Inception score", _IS), ("FID", _FID), ("generator loss", _G_LOSS),
              ("discriminator on real data", _D))
    curves_by_run = {}
    for source in sources:
        path = _metrics_path(source)
        if not os.path.isfile(path):
            raise ValueError(f"No {evaluation.METRICS_FILE} at {source}.")
        curves_by_run[_run_label(source)] = metric_curves(evaluation.read_jsonl(path))
    used = [(title, pattern) for title, pattern in panels
            if any(pattern.match(name) for curves in curves_by_run.values() for name in curves)]
    if not any(title in ("Inception score", "FID") for title, _ in used):
        raise ValueError(f"No IS or FID with a step in {', '.join(map(str, sources))}.")
    plt = _pyplot()
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
    figure.tight_layout()
    return _save(figure, output)


# ---------------------------------------------------------------------------------------------
# Fig. 4.


def _latest_value(records, metric):
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


def sweep_points(run_dirs, metric=None):
    """One row per run: `{"run", "eps_z", "eps_x", "robust", "metric", "value"}` (value None if the
    run has no such record)."""
    rows = []
    for run_dir in run_dirs:
        config = evaluation.read_run_config(run_dir)
        path = _metrics_path(run_dir)
        records = evaluation.read_jsonl(path) if os.path.isfile(path) else []
        name, value = _latest_value(records, metric)
        rows.append({"run": _run_label(run_dir),
                     "eps_z": float(config.get("RobustGAN.eps_z", 0.01)),
                     "eps_x": float(config.get("RobustGAN.eps_x", 4.0)),
                     "robust": config.get("RobustGAN.robust", "both"), "metric": name,
                     "value": value})
    return rows


def _mode(values):
    counts = collections.Counter(values)
    return max(counts, key=lambda value: (counts[value], -value))


def plot_eps_sweep(run_dirs, output, metric=None):
    """IS against eps_z and against eps_x over run folders (the paper's Fig. 4).

    The eps_z panel shows the robust runs whose eps_x is the most common eps_x among them (the
    value held fixed while eps_z was swept), and vice versa; runs sharing a value (seeds) give a
    mean with a min-max bar. Baseline runs (`robust = 'off'`) are a horizontal line.

    Args:
      run_dirs: run folders (each with `operative_config.gin` and `metrics.jsonl`).
      output: the PNG to write.
      metric: the record field to plot (e.g. "is5k"); default the IS with the most samples.

    Returns:
      `output`.
    """
    rows = [row for row in sweep_points(run_dirs, metric) if row["value"] is not None]
    robust = [row for row in rows if row["robust"] != "off"]
    if not robust:
        raise ValueError("No robust run (RobustGAN.robust != 'off') with a recorded "
                         f"{metric or 'IS'} among {len(run_dirs)} run folder(s).")
    label = metric or robust[0]["metric"]
    baseline = [row["value"] for row in rows if row["robust"] == "off"]
    plt = _pyplot()
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
    figure.tight_layout()
    return _save(figure, output)


# ---------------------------------------------------------------------------------------------
# Fig. 5.


def _embed(parts, seed=0):
    from sklearn.manifold import TSNE
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


def tsne_panels(model_dirs, num_points=500, eps_z=None, eps_x=None, features="classifier",
                classifier=None, real_source=None, real_split="train", batch_size=100, seed=0,
                log=print):
    """The point sets of Fig. 5, before embedding.

    Returns:
      A list of `(title, (name_a, points_a), (name_b, points_b))`: "input noise" (normal vs
      worst-case z of the first run, radius `eps_z`, default its eps_z), "worst distributions"
      (worst-case real `x + eps_x r_1` vs worst-case generated `G(z) + eps_x r_2`, default its
      eps_x), then "real vs <run>" for each run. Images are represented by `classifier` features
      (`features="classifier"`) or their pixels (`features="pixels"`).
    """
    from rgan_tf import export
    if features not in ("classifier", "pixels"):
        raise ValueError(f"features must be 'classifier' or 'pixels', got {features!r}.")
    if features == "classifier":
        if classifier is None:
            raise ValueError("features='classifier' needs a classifier ('inception' or a path); "
                             "or use features='pixels'.")
        from rgan_tf import classifiers as classifiers_lib
        classifier = classifiers_lib.load_classifier(classifier)

    def represent(images):
        images = np.asarray(images, np.float32)
        if features == "pixels":
            return images.reshape(len(images), -1)
        parts = [classifier(images[start:start + batch_size])[1].numpy()
                 for start in range(0, len(images), batch_size)]
        return np.concatenate(parts)

    def generated(model, mode, eps):
        source = evaluation.NoiseImages(model, mode, eps, seed)
        zs, images, index = [], [], 0
        while sum(len(z) for z in zs) < num_points:
            n = min(batch_size, num_points - sum(len(z) for z in zs))
            z, labels = source.latent(n, index)
            zs.append(z.numpy())
            images.append(model.generate(z, labels).numpy())
            index += 1
        return np.concatenate(zs), np.concatenate(images)

    panels, real = [], None
    for position, model_dir in enumerate(model_dirs):
        model, _ = export.load_run(model_dir, log=lambda message: None)
        if real is None:
            config = evaluation.read_run_config(model_dir)
            source, _, data_kwargs = evaluation.run_data_settings(config)
            if real_source is not None and real_source != source:
                source, data_kwargs = real_source, {}
            real = evaluation.load_real_images(
                real_split, num_points, image_size=evaluation._square_side(model.image_shape),
                with_labels=model.num_classes is not None, seed=seed, source=source,
                data_kwargs=data_kwargs)
        real_images, real_labels = real if isinstance(real, tuple) else (real, None)
        name = _run_label(model_dir)
        normal_z, normal_images = generated(model, "normal", 0.0)
        if position == 0:
            radius_z = model.eps_z if eps_z is None else eps_z
            radius_x = model.eps_x if eps_x is None else eps_x
            worst_z, _ = generated(model, "worst", radius_z)
            panels.append((f"input noise ({name}, eps_z={radius_z:g})",
                           ("normal z", normal_z), ("worst-case z", worst_z)))
            fake_labels = (None if model.num_classes is None
                           else np.arange(len(normal_images)) % model.num_classes)
            worst_real = _batched(lambda x, y: evaluation.worst_case_images(
                model, x, radius_x, y, "real"), real_images, real_labels, batch_size)
            worst_fake = _batched(lambda x, y: evaluation.worst_case_images(
                model, x, radius_x, y, "fake"), normal_images, fake_labels, batch_size)
            panels.append((f"worst distributions ({name}, eps_x={radius_x:g})",
                           ("worst-case real", represent(worst_real)),
                           ("worst-case generated", represent(worst_fake))))
        panels.append((f"real vs {name}", ("real", represent(real_images)),
                       ("generated", represent(normal_images))))
        log(f"t-SNE points of {model_dir}: {len(normal_images)} generated, {len(real_images)} "
            "real.")
    return panels


def _batched(fn, images, labels, batch_size):
    parts = []
    for start in range(0, len(images), batch_size):
        part_labels = None if labels is None else labels[start:start + batch_size]
        parts.append(np.asarray(fn(images[start:start + batch_size], part_labels)))
    return np.concatenate(parts)


def plot_tsne(model_dirs, output, num_points=500, eps_z=None, eps_x=None, features="classifier",
              classifier=None, real_source=None, real_split="train", batch_size=100, seed=0,
              log=print):
    """t-SNE embeddings of the paper's Fig. 5, one panel per pair of point sets (`tsne_panels`),
    each pair embedded on its own.

    Returns:
      `output`.
    """
    if not model_dirs:
        raise ValueError("Give at least one run folder.")
    if num_points < 10:
        raise ValueError(f"num_points must be >= 10, got {num_points}.")
    panels = tsne_panels(model_dirs, num_points, eps_z, eps_x, features, classifier,
                         real_source, real_split, batch_size, seed, log)
    plt = _pyplot()
    figure, axes = plt.subplots(1, len(panels), figsize=(3.8 * len(panels), 3.8), squeeze=False)
    for axis, (title, (name_a, points_a), (name_b, points_b)) in zip(axes[0], panels):
        _scatter(axis, _embed([points_a, points_b], seed), [name_a, name_b], title)
    figure.suptitle(f"t-SNE ({features} features)" if features == "classifier"
                    else "t-SNE (pixels)", fontsize=10)
    figure.tight_layout()
    return _save(figure, output)
