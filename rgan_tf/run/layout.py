"""The layout of a run folder and of an export: every file name, defined here and only here.

A run folder (`model_dir`, written by `rgan_tf.training.train`) holds:

  operative_config.gin  every gin binding the run used (`rgan_tf.run.operative_config`)
  compile_mode.json     XLA on or off for this (last) session, as requested and why
                        (`rgan_tf.compile_mode`)
  checkpoints/          ckpt-<step>.*: both players, both optimizers, the step counter
  samples/              step_<step>.png grids from a fixed z, and latest.png
  logs/                 TensorBoard scalars (train/*, eval/*)
  metrics.jsonl         one JSON record per evaluation (callback or tools/evaluate.py)
  metrics.png           the curves of those records (`rgan_tf.figures.plot_metrics`)
  done.json             the study's record of a finished run (`rgan_tf.study`)
  train.lock            while a trainer runs: its pid, host and start time (`rgan_tf.run.run_lock`)

An export (`rgan_tf.export.export_run`) is a SavedModel folder plus `assets.extra/` holding the
run's operative config and `rgan_tf_export.json`.
"""
import os

OPERATIVE_CONFIG = "operative_config.gin"
COMPILE_MODE_FILE = "compile_mode.json"
CHECKPOINT_DIR = "checkpoints"
SAMPLES_DIR = "samples"
LATEST_SAMPLES = "latest.png"
LOGS_DIR = "logs"
METRICS_FILE = "metrics.jsonl"
METRICS_PLOT = "metrics.png"
DONE_FILE = "done.json"
LOCK_FILE = "train.lock"

EXPORT_EXTRA_DIR = "assets.extra"
EXPORT_INFO_FILE = "rgan_tf_export.json"
SAVED_MODEL_FILE = "saved_model.pb"


def operative_config(model_dir):
    """`<model_dir>/operative_config.gin`."""
    return os.path.join(model_dir, OPERATIVE_CONFIG)


def compile_mode_file(model_dir):
    """`<model_dir>/compile_mode.json` (the session's resolved XLA mode)."""
    return os.path.join(model_dir, COMPILE_MODE_FILE)


def checkpoint_dir(model_dir):
    """`<model_dir>/checkpoints`."""
    return os.path.join(model_dir, CHECKPOINT_DIR)


def samples_dir(model_dir):
    """`<model_dir>/samples`."""
    return os.path.join(model_dir, SAMPLES_DIR)


def sample_grid(samples_folder, step=None):
    """A grid in the samples folder: `step_<step>.png`, or `latest.png` for `step=None`."""
    return os.path.join(samples_folder,
                        LATEST_SAMPLES if step is None else f"step_{int(step):07d}.png")


def logs_dir(model_dir):
    """`<model_dir>/logs` (TensorBoard)."""
    return os.path.join(model_dir, LOGS_DIR)


def metrics_file(folder):
    """`<folder>/metrics.jsonl` (a run folder or an export)."""
    return os.path.join(folder, METRICS_FILE)


def metrics_plot(model_dir):
    """`<model_dir>/metrics.png`."""
    return os.path.join(model_dir, METRICS_PLOT)


def done_file(model_dir):
    """`<model_dir>/done.json` (the study's record of a finished run)."""
    return os.path.join(model_dir, DONE_FILE)


def lock_file(model_dir):
    """`<model_dir>/train.lock` (held by the trainer writing the folder)."""
    return os.path.join(model_dir, LOCK_FILE)


def export_extra_dir(export_dir):
    """`<export_dir>/assets.extra`."""
    return os.path.join(export_dir, EXPORT_EXTRA_DIR)


def export_info(export_dir):
    """`<export_dir>/assets.extra/rgan_tf_export.json`."""
    return os.path.join(export_dir, EXPORT_EXTRA_DIR, EXPORT_INFO_FILE)


def saved_model(export_dir):
    """`<export_dir>/saved_model.pb`: present iff the folder holds a SavedModel."""
    return os.path.join(export_dir, SAVED_MODEL_FILE)


def operative_config_candidates(path):
    """Where an operative config may be, given a run folder, an export or the file itself."""
    return [path, operative_config(path), os.path.join(export_extra_dir(path), OPERATIVE_CONFIG)]


def run_name(path):
    """A run's label: the name of its folder, given the folder or its `metrics.jsonl`."""
    path = os.path.abspath(path)
    if os.path.basename(path) == METRICS_FILE:
        path = os.path.dirname(path)
    return os.path.basename(path.rstrip(os.sep))


def metrics_source(path):
    """The `metrics.jsonl` of a run folder, or `path` itself if it is a file."""
    return metrics_file(path) if os.path.isdir(path) else path
