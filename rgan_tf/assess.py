"""Assessing trained runs: run folders and exports read back, measured with the one evaluation
protocol (`rgan_tf.evaluation.measures`), and drawn (`rgan_tf.figures`).

* `evaluate_run`: what `tools/evaluate.py` does and what the study (`rgan_tf.study`) reports:
  restore a run (or load an export), measure it, append the record to its `metrics.jsonl`.
* `metric_records`, `sweep_points`, `tsne_panels`: the records, eps-sweep rows and t-SNE point
  sets of run folders; `plot_metrics`, `plot_eps_sweep`, `plot_tsne` draw them
  (`tools/plot_*.py`).
"""
import os

from rgan_tf import export
from rgan_tf import figures
from rgan_tf import files
from rgan_tf.data import arrays
from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation import embedding
from rgan_tf.evaluation import measures
from rgan_tf.evaluation import metrics as metrics_lib
from rgan_tf.run import layout
from rgan_tf.run import operative_config


def _quiet(message):
    del message


def evaluate_run(model_dir=None, export_dir=None, checkpoint=None, num_samples=50000,
                 num_real=None, classifier="inception", real_source=None, real_split="test",
                 batch_size=100, metrics=metrics_lib.ALL_METRICS, robustness=False, radii=None,
                 generalization=False, d_num_images=5000, seed=0, cache_dir=None,
                 metrics_file=None, verbose=True, log=print):
    """Evaluates a run folder's (or an export's) generator and appends the record to
    `metrics.jsonl`: what `tools/evaluate.py` does, and what the study reports.

    Args:
      model_dir: a run folder (give this or `export_dir`).
      export_dir: a SavedModel written by `tools/export.py` (no robustness, no discriminator).
      checkpoint: with `model_dir`: a step, `ckpt-<step>` or a path; default the latest.
      num_samples: generated images (50000: `is50k`, `fid50k`, `kid50k`).
      num_real: real images; default `num_samples` (or the whole split if it holds fewer).
      classifier: "inception", a path, or a `Classifier`.
      real_source: real data; default the run's `dataset.source`.
      real_split: the real split (default "test").
      batch_size: images per call.
      metrics: any of "is", "fid", "kid".
      robustness: also evaluate IS/FID on worst-case noise and the generator loss under
        worst-case vs random noise (Fig. 3).
      radii: the worst-case radii; default `[the run's eps_z]`.
      generalization: also measure `d_gap` and `d_sensitivity_eps<eps_x>` on `d_num_images` train
        and held-out images of the run's data.
      d_num_images: images per side for `generalization`.
      seed: seed of the generator's noise.
      cache_dir: the real statistics' cache (default
        `rgan_tf.evaluation.real_stats.DEFAULT_CACHE_DIR`).
      metrics_file: where to append; default `<model_dir or export_dir>/metrics.jsonl`.
      verbose: progress bars.
      log: where messages go.

    Returns:
      The record appended.
    """
    if (model_dir is None) == (export_dir is None):
        raise ValueError("Give exactly one of model_dir and export_dir.")
    if export_dir is not None and checkpoint is not None:
        raise ValueError("checkpoint goes with model_dir, not export_dir.")
    if export_dir is not None and (robustness or generalization):
        raise ValueError("Robustness and the discriminator's gap need the run's discriminator and "
                         "loss: evaluate the run folder (--model_dir), not an export.")
    if num_samples < 10:
        raise ValueError(f"num_samples must be >= 10 (the Inception Score's 10 splits); got "
                         f"{num_samples}.")
    run_config = operative_config.read_run_config(model_dir or export_dir)
    run_source, _, run_data_kwargs = operative_config.run_data_settings(run_config)
    source, data_kwargs = run_source, run_data_kwargs
    if real_source is not None and real_source != run_source:
        source, data_kwargs = real_source, {}
    classifier = classifiers_lib.load_classifier(classifier)  # before the model: fails fast
    if model_dir is not None:
        model, step = export.load_run(model_dir, checkpoint, log=log)
    else:
        model = export.ExportedGenerator(export_dir)
        step = model.step
    if robustness and radii is None:
        radii = [model.eps_z]
    record = {"step": int(step), "origin": "evaluate"}
    record.update(measures.evaluate_model(
        model, classifier, source, real_split, num_samples, num_real, batch_size, metrics,
        robustness_radii=radii if robustness else (), seed=seed, cache_dir=cache_dir,
        data_kwargs=data_kwargs, verbose=verbose))
    if generalization:
        train, heldout = _generalization_data(model, run_source, d_num_images, run_data_kwargs,
                                              log)
        record.update(measures.discriminator_generalization(model, train, heldout,
                                                            [model.eps_x]))
    record["model_dir" if model_dir else "export_dir"] = os.path.abspath(model_dir or export_dir)
    path = metrics_file or layout.metrics_file(model_dir or export_dir)
    files.append_jsonl(path, record)
    log(measures.summary_line(record))
    log(f"Appended to {path}.")
    return record


def _generalization_data(model, source, num_images, data_kwargs, log):
    """Training and held-out real images (with labels for a conditional model) of the run's data;
    held-out is None, with a message, when the source has no 'test' split."""
    side = measures.square_side(model.image_shape)
    kwargs = dict(image_size=side, with_labels=model.num_classes is not None,
                  data_kwargs=data_kwargs)
    train = arrays.load_images(source, "train", num_images, **kwargs)
    try:
        heldout = arrays.load_images(source, "test", num_images, **kwargs)
    except ValueError as error:
        log(f"No held-out split, so no d_gap: {error}")
        heldout = None
    return train, heldout


# ---------------------------------------------------------------------------------------------
# Figures of run folders.


def metric_records(sources):
    """`{run label: records}` of run folders or `metrics.jsonl` files.

    Raises:
      ValueError: a source has no `metrics.jsonl`.
    """
    records = {}
    for source in sources:
        path = layout.metrics_source(source)
        if not os.path.isfile(path):
            raise ValueError(f"No {layout.METRICS_FILE} at {source}.")
        records[layout.run_name(source)] = files.read_jsonl(path)
    return records


def plot_metrics(sources, output):
    """IS and FID (Fig. 2) against the step of run folders (or `metrics.jsonl` files) as the PNG
    `output` (`rgan_tf.figures.plot_metrics`); returns `output`."""
    return figures.plot_metrics(metric_records(sources), output)


def sweep_points(run_dirs, metric=None):
    """One row per run: `{"run", "eps_z", "eps_x", "robust", "metric", "value"}` (value None if the
    run has no such record), from its operative config (unbound settings: `RobustGAN`'s
    defaults) and `metrics.jsonl`."""
    rows = []
    for run_dir in run_dirs:
        run_config = operative_config.read_run_config(run_dir)
        path = layout.metrics_file(run_dir)
        records = files.read_jsonl(path) if os.path.isfile(path) else []
        name, value = figures.latest_value(records, metric)
        rows.append({"run": layout.run_name(run_dir),
                     "eps_z": float(operative_config.setting(run_config, "RobustGAN.eps_z")),
                     "eps_x": float(operative_config.setting(run_config, "RobustGAN.eps_x")),
                     "robust": operative_config.setting(run_config, "RobustGAN.robust"),
                     "metric": name, "value": value})
    return rows


def plot_eps_sweep(run_dirs, output, metric=None):
    """IS against eps_z and eps_x (Fig. 4) over run folders (`rgan_tf.figures.plot_eps_sweep`);
    returns `output`."""
    return figures.plot_eps_sweep(sweep_points(run_dirs, metric), output, metric)


def tsne_panels(model_dirs, num_points=500, eps_z=None, eps_x=None, features="classifier",
                classifier=None, real_source=None, real_split="train", batch_size=100, seed=0,
                log=print):
    """The point sets of Fig. 5 for run folders, before embedding.

    Returns:
      A list of `(title, (name_a, points_a), (name_b, points_b))`: "input noise" (normal vs
      worst-case z of the first run, radius `eps_z`, default its eps_z), "worst distributions"
      (worst-case real `x + eps_x r_1` vs worst-case generated `G(z) + eps_x r_2`, default its
      eps_x), then "real vs <run>" for each run. Images are represented by `classifier` features
      (`features="classifier"`) or their pixels (`features="pixels"`); real images are the first
      run's data (or `real_source`).
    """
    represent = embedding.representation(features, classifier, batch_size)
    panels, real = [], None
    for position, model_dir in enumerate(model_dirs):
        model, _ = export.load_run(model_dir, log=_quiet)
        if real is None:
            run_config = operative_config.read_run_config(model_dir)
            source, _, data_kwargs = operative_config.run_data_settings(run_config)
            if real_source is not None and real_source != source:
                source, data_kwargs = real_source, {}
            real = arrays.load_images(
                source, real_split, num_points, image_size=measures.square_side(
                    model.image_shape), with_labels=model.num_classes is not None, seed=seed,
                data_kwargs=data_kwargs)
        panels += embedding.model_panels(model, layout.run_name(model_dir), real, represent,
                                         num_points, batch_size, seed, eps_z, eps_x,
                                         worst=position == 0)
        log(f"t-SNE points of {model_dir}: {num_points} generated, "
            f"{len(real[0] if isinstance(real, tuple) else real)} real.")
    return panels


def plot_tsne(model_dirs, output, num_points=500, eps_z=None, eps_x=None, features="classifier",
              classifier=None, real_source=None, real_split="train", batch_size=100, seed=0,
              log=print):
    """t-SNE embeddings of the paper's Fig. 5 for run folders (`tsne_panels`, drawn by
    `rgan_tf.figures.plot_tsne`); returns `output`."""
    if not model_dirs:
        raise ValueError("Give at least one run folder.")
    if num_points < 10:
        raise ValueError(f"num_points must be >= 10, got {num_points}.")
    panels = tsne_panels(model_dirs, num_points, eps_z, eps_x, features, classifier,
                         real_source, real_split, batch_size, seed, log)
    return figures.plot_tsne(panels, output, features, seed)
