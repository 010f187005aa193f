"""Reproducing an experiment of the Robust GAN paper: every run of its plan (`rgan_tf.study.plans`)
trained, evaluated and summarised beside the paper's numbers (`tools/reproduce.py` is its
launcher).

A run is
  * skipped when finished: its `done.json` (the record written after its evaluation) exists and
    was measured with this protocol (`PROTOCOL`);
  * resumed when interrupted: training restarts from the folder's latest checkpoint
    (`rgan_tf.training.train`), the evaluation is redone;
  * re-evaluated, without training, when its `done.json` is from an older protocol.

Every number is measured by `rgan_tf.assess.evaluate_run`, the function `tools/evaluate.py` calls:
the run's test split, the evaluation's `rgan_tf.rng` noise streams, worst-case noise in the
model's norm. The records also land in the run's `metrics.jsonl`.

Outputs in `<output_dir>`: `<experiment>.md` and `<experiment>.csv` (mean and 95% t-interval over
seeds, the paper's number beside it), figures `<experiment>*.png`, and
`<experiment>_records.json` (one record per run).
"""
import os

from rgan_tf import assess
from rgan_tf import config
from rgan_tf import files
from rgan_tf.evaluation import classifiers
from rgan_tf.evaluation import domain_classifiers
from rgan_tf.evaluation import measures
from rgan_tf.evaluation import residual_classifier
from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import layout
from rgan_tf.study import cifar10
from rgan_tf.study import cifar10_report
from rgan_tf.study import plans
from rgan_tf.study import plots
from rgan_tf.study import tables

#: The evaluation protocol of the records in `done.json`: a record of another protocol is
#: re-measured. 2: `rgan_tf.assess.evaluate_run` (test split, rng streams, the model's norm).
PROTOCOL = 2
#: The real statistics' cache and the small scale's classifier, inside `output_dir`.
REAL_STATS_DIR = "real_stats"
#: The folder a dry run without an output folder names in its commands.
DRY_RUN_OUTPUT_DIR = "OUTPUT_DIR"
SMALL_CLASSIFIER_DIR = "classifier_digits32"
CLASSIFIER_STEPS = {"small": 600, "tiny": 100}


def _quiet(message):
    del message


def default_classifier(scale, output_dir):
    """`inception` at paper scale; otherwise a domain classifier inside `output_dir`."""
    settings = plans.SCALE_SETTINGS[scale]
    if settings.classifier:
        return settings.classifier
    return os.path.join(output_dir, SMALL_CLASSIFIER_DIR)


def ensure_classifier(spec, scale, log=print):
    """Trains and saves the digits domain classifier at `spec` if it is a missing folder.

    `inception` and TF-Hub handles pass through (loading them is the evaluation's job)."""
    if spec == "inception" or spec.startswith(("http://", "https://", "gs://")):
        return spec
    if os.path.isdir(spec):
        return spec
    if scale == "paper":
        raise ValueError(f"No classifier at {spec!r}; at paper scale pass --classifier=inception "
                         "or a local copy of TF-GAN's Inception module.")
    steps = CLASSIFIER_STEPS[scale]
    log(f"Training the digits domain classifier ({steps} steps) into {spec}")
    model, accuracy = domain_classifiers.train_domain_classifier(
        source=plans.SMALL_SOURCE, image_size=32, steps=steps, verbose=0)
    domain_classifiers.export_classifier(model, spec)
    files.write_json(os.path.join(spec, "accuracy.json"),
                     {"test_accuracy": accuracy, "steps": steps, "source": plans.SMALL_SOURCE,
                      "image_size": 32}, indent=None)
    log(f"  test accuracy {accuracy:.4f}")
    return spec


def is_done(output_dir, run):
    """The run has a `done.json` measured with this `PROTOCOL`."""
    path = layout.done_file(plans.run_folder(output_dir, run))
    return os.path.isfile(path) and files.read_json(path).get("protocol") == PROTOCOL


def read_done(output_dir, run):
    """The record of a finished run."""
    return files.read_json(layout.done_file(plans.run_folder(output_dir, run)))


def train_and_evaluate(run, output_dir, scale, classifier, log=print):
    """Trains `run` (resuming from its checkpoints), evaluates it and writes its `done.json`.

    The record holds `is`/`fid` (normal noise), `is_worst`/`fid_worst` (worst-case noise of
    radius `Scale.worst_case_eps_z`) and, for fig2 runs, `curve`: IS at every checkpoint; each
    measured by `rgan_tf.assess.evaluate_run`.
    """
    settings = plans.SCALE_SETTINGS[scale]
    folder = plans.run_folder(output_dir, run)
    log(f"[train] {run.name}")
    config.run_training(list(run.gin_files), list(run.bindings), folder)
    log(f"[evaluate] {run.name}")
    protocol = dict(num_samples=settings.num_samples, classifier=classifier,
                    batch_size=settings.eval_batch, metrics=("is", "fid"),
                    cache_dir=os.path.join(output_dir, REAL_STATS_DIR), verbose=False, log=_quiet)
    radius = settings.worst_case_eps_z
    result = assess.evaluate_run(model_dir=folder, robustness=True, radii=[radius], **protocol)
    count = settings.num_samples

    def score(metric, kind=None):
        return result[measures.metric_name(metric, count, kind, radius if kind else None)]

    record = {"run": run.name, "family": run.family, "dataset": run.dataset,
              "variant": run.variant, "seed": run.seed, "step": result["step"], "scale": scale,
              "eps_z": run.eps_z, "eps_x": run.eps_x,
              "is": score("is"), "fid": score("fid"),
              "is_worst": score("is", "worst"), "fid_worst": score("fid", "worst"),
              "worst_case_eps_z": radius, "num_samples": count,
              "num_real": result["num_real"], "real_split": result["real_split"],
              "classifier": result["classifier"], "sampling": result["sampling"],
              "ema_decay": result["ema_decay"], "protocol": PROTOCOL}
    if run.keep_all_checkpoints:
        curve = []
        for path in checkpoints_lib.list_checkpoints(layout.checkpoint_dir(folder)):
            point = assess.evaluate_run(model_dir=folder, checkpoint=path,
                                        **dict(protocol, metrics=("is",)))
            curve.append((point["step"], point[measures.metric_name("is", count)]))
        record["curve"] = sorted(curve)
    files.write_json(layout.done_file(folder), record)
    return record


def _note(scale, classifier):
    settings = plans.SCALE_SETTINGS[scale]
    note = (f"Scale `{scale}`: {settings.num_samples} generated samples per metric against the "
            f"real test split, classifier `{os.path.basename(str(classifier).rstrip('/'))}` "
            "(`rgan_tf.assess.evaluate_run`, as `tools/evaluate.py` measures).")
    if scale != "paper":
        note += (" Every data set is mapped onto the offline `digits` source at 32x32x1, so "
                 "the numbers are not comparable with the paper's (CIFAR-10/STL-10, Inception, "
                 "50k samples); compare the ordering of rows only.")
    return note


def _log_dry_run(runs, output_dir, is_done_fn, log):
    """Logs each run's state (done, to run, a gin file missing) and its `tools/train.py` line."""
    for run in runs:
        state = "done" if output_dir and is_done_fn(output_dir, run) else "to run"
        missing = []
        for path in run.gin_files:
            try:
                config.find_config(path)
            except FileNotFoundError:
                missing.append(path)
        if missing:
            state += f"; {missing[0]} is not in this checkout yet"
        log(f"# {run.name} ({state})\n{run.command(output_dir or DRY_RUN_OUTPUT_DIR)}")


def reproduce(experiment, scale, output_dir, seeds=(0,), classifier=None, dry_run=False,
              families=None, log=print):
    """Runs (or resumes) every run of `experiment`, then writes its table and figures.

    Args:
      experiment: one of `plans.EXPERIMENTS`.
      scale: one of `plans.SCALES`.
      output_dir: where runs (`runs/<name>`), the classifier (small/tiny) and outputs go; a dry
        run may pass None (its commands then name the folder `OUTPUT_DIR`).
      seeds: training seeds.
      classifier: the IS/FID classifier spec; None: `default_classifier(scale, output_dir)`
        (trained there if missing).
      dry_run: only print the runs and their `tools/train.py` commands.
      families: restrict the tables (but table2) and the figures to these baseline families.
      log: where progress lines go.

    Returns:
      A dict: `runs` (names), `trained` (names trained and evaluated by this call), `skipped`
      (names already done), `outputs` (paths written).
    """
    runs = plans.experiment_runs(experiment, scale, list(seeds), families)
    summary = {"runs": [r.name for r in runs], "trained": [], "skipped": [], "outputs": []}
    if dry_run:
        _log_dry_run(runs, output_dir, is_done, log)
        return summary
    if not output_dir:
        raise ValueError("An output folder is needed to run an experiment (--output_dir); only "
                         "a dry run can do without one.")
    os.makedirs(output_dir, exist_ok=True)
    classifier = ensure_classifier(classifier or default_classifier(scale, output_dir), scale,
                                   log)
    records = []
    for run in runs:
        if is_done(output_dir, run):
            summary["skipped"].append(run.name)
            records.append(read_done(output_dir, run))
            log(f"[skip] {run.name} (done)")
            continue
        records.append(train_and_evaluate(run, output_dir, scale, classifier, log))
        summary["trained"].append(run.name)
    if experiment == "fig4":
        by_name = {record["run"]: record for record in records}
        records = [dict(by_name[run.name], swept=which, value=value)
                   for run, which, value in plans.fig4_points(scale, list(seeds), families)]
    rows = tables.summarise(experiment, records, scale)
    outputs = tables.write_table(experiment, rows, scale, output_dir, _note(scale, classifier))
    if experiment == "fig2":
        outputs += plots.plot_fig2(records, output_dir)
    elif experiment == "fig3":
        outputs += plots.plot_fig3(rows, output_dir)
    elif experiment == "fig4":
        outputs += plots.plot_fig4(rows, output_dir)
    elif experiment == "fig5":
        settings = plans.SCALE_SETTINGS[scale]
        firsts = [plans.run_folder(output_dir, r) for r in runs if r.seed == runs[0].seed]
        outputs.append(assess.plot_tsne(
            firsts, os.path.join(output_dir, "fig5_tsne.png"),
            num_points=min(settings.num_samples, 500), eps_z=settings.worst_case_eps_z,
            eps_x=plans.default_eps_x(scale, runs[0].dataset), classifier=classifier,
            batch_size=settings.eval_batch, log=log))
    elif experiment == "fig6":
        outputs += plots.plot_fig6(runs, output_dir)
    summary["outputs"] = outputs
    files.write_json(os.path.join(output_dir, f"{experiment}_records.json"), records)
    return summary


def reproduce_cifar10(scale, output_dir, source=cifar10.OFFLINE_SOURCE, classifier=None,
                      shard=None, dry_run=False, report_only=False, log=print):
    """Runs (or resumes) the CIFAR-10 study (`rgan_tf.study.cifar10`), then writes its outputs
    from every finished run in `output_dir` (`rgan_tf.study.cifar10_report`).

    Args:
      scale: "cpu", "gpu10" or "tiny".
      output_dir: runs go to `<output_dir>/runs/<name>`, the outputs beside them.
      source: the CIFAR-10 source with train and test splits.
      classifier: the IS/FID classifier: a folder, "inception" or a TF-Hub handle; None:
        `<output_dir>/c10net`, trained there when missing (by an unsharded call only: shards
        would race to train it).
      shard: `(k, n)`: train and evaluate only every n-th run from the k-th.
      dry_run: only print the runs and their commands.
      report_only: train and evaluate nothing: write the outputs from the runs finished so far
        (e.g. while shards run elsewhere); needs the classifier.
      log: where progress lines go.

    Returns:
      A dict: `runs`, `trained`, `skipped`, `outputs`.
    """
    settings = cifar10.scale_settings(scale)
    runs = cifar10.study_runs(scale, source, shard)
    summary = {"runs": [r.name for r in runs], "trained": [], "skipped": [], "outputs": []}
    if dry_run:
        _log_dry_run(runs, output_dir, cifar10.is_done, log)
        return summary
    if not output_dir:
        raise ValueError("An output folder is needed to run the study (--output_dir); only a "
                         "dry run can do without one.")
    kind, _, path = source.partition(":")
    if kind == "folder" and not os.path.isdir(path):
        raise FileNotFoundError(
            f"No CIFAR-10 copy at {path} (the study's offline source, read from the project's "
            "root). Pass --source=tfds:cifar10 on a machine with the internet, or the folder of "
            "your copy (train/ and test/ with class subfolders).")
    os.makedirs(output_dir, exist_ok=True)
    if classifier is None:
        classifier = os.path.join(output_dir, cifar10.CLASSIFIER_DIR)
        if not os.path.isdir(classifier):
            if report_only:
                raise ValueError(f"No classifier at {classifier}: nothing of this study has been "
                                 "measured yet, so there is nothing to report.")
            _train_study_classifier(classifier, settings, source, shard, log)
    fingerprint = cifar10.classifier_card(classifier).get("fingerprint")
    for run in () if report_only else runs:
        if cifar10.is_done(output_dir, run, fingerprint):
            summary["skipped"].append(run.name)
            log(f"[skip] {run.name} (done)")
            continue
        log(f"[train] {run.name}")
        config.run_training(list(run.gin_files), list(run.bindings),
                            plans.run_folder(output_dir, run))
        log(f"[evaluate] {run.name}")
        cifar10.evaluate_study_run(run, output_dir, scale, classifier, log)
        summary["trained"].append(run.name)
    every = cifar10.study_runs(scale, source)
    records = [files.read_json(layout.done_file(plans.run_folder(output_dir, run)))
               for run in every if cifar10.is_done(output_dir, run, fingerprint)]
    grids = {run.variant: plans.run_folder(output_dir, run) for run in every
             if run.seed == 0 and run.variant in ("off", "both")
             and cifar10.is_done(output_dir, run, fingerprint)}
    real_path = os.path.join(output_dir, "real_data.json")
    real = files.read_json(real_path) if os.path.isfile(real_path) else None
    if records and (real is None or real.get("version") != cifar10.REAL_DATA_VERSION
                    or real.get("classifier") != classifiers.load_classifier(classifier).identity):
        log("[real data] IS/FID of the real splits with the classifier")
        real = cifar10.real_data_figures(source, classifier,
                                         num_samples=settings.num_samples)
        files.write_json(real_path, real)
    note = (f"{len(records)} of {len(every)} runs finished. The paper's DCGAN "
            f"(`{settings.gin_files[0]}`), {settings.steps} generator iterations per run, data "
            f"`{source}`; every number measured by `rgan_tf.assess.evaluate_run`.")
    summary["outputs"] = cifar10_report.write_report(records, scale, output_dir, note, grids,
                                                     real)
    return summary


def _train_study_classifier(path, settings, source, shard, log):
    """Trains the study's CIFAR-10 classifier into `path` (refused under shards: they would race
    to train it)."""
    if shard is not None and shard[1] > 1:
        raise ValueError(
            f"No classifier at {path}: train it once before starting shards, e.g. "
            f"python tools/train_classifier.py --architecture=residual --source={source} "
            f"--epochs={settings.classifier_epochs} --width={settings.classifier_width} "
            f"--batch_size={settings.classifier_batch} --output={path}")
    log(f"Training the CIFAR-10 classifier into {path}")
    model, record = residual_classifier.train_residual_classifier(
        source, epochs=settings.classifier_epochs, width=settings.classifier_width,
        batch_size=settings.classifier_batch, verbose=2)
    domain_classifiers.save_with_card(model, record, path)
    log(f"  test accuracy {record['test_accuracy']:.4f} in {record['train_seconds']:.0f} s")
