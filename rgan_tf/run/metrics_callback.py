"""`MetricsCallback`: the evaluation protocol (`rgan_tf.evaluation.measures`) run while a run
trains, its records appended to the run folder, written to TensorBoard and drawn.

The callback measures with the same functions as `tools/evaluate.py` (`rgan_tf.assess`), on the
run's own real data, read from its operative config (no global gin binding is read).
"""
import math

import gin
import keras
import tensorflow as tf

from rgan_tf import figures
from rgan_tf import files
from rgan_tf import write_errors
from rgan_tf.data import arrays
from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation import measures
from rgan_tf.evaluation import noise
from rgan_tf.evaluation import resources
from rgan_tf.run import callbacks as callbacks_lib
from rgan_tf.run import layout
from rgan_tf.run import operative_config

# Numeric record fields that describe the protocol: not worth a TensorBoard curve.
_NOT_SCALARS = frozenset({"step", "num_fake", "num_real", "is_splits", "noise_seed",
                          "loss_samples", "d_num_train", "d_num_heldout", "sampling_batch",
                          "ema_decay"})


@gin.configurable(denylist=["model_dir"])
class MetricsCallback(keras.callbacks.Callback):
    """Measures a run every `every` steps (and at the end) while it trains.

    Each evaluation appends one record to `<model_dir>/metrics.jsonl` (`origin: "callback"`),
    writes its numbers as TensorBoard scalars `eval/<name>` into `<model_dir>/logs`, and redraws
    `<model_dir>/metrics.png` (the curves of the paper's Fig. 2, `rgan_tf.figures.plot_metrics`).
    A record holds IS/FID at z ~ N(0, I) and on worst-case noise of each radius in
    `robustness_radii` (and the generator's loss under worst-case vs random noise), and, with
    `generalization`, the discriminator's `d_loss_train`, `d_loss_heldout`, `d_gap` and
    `d_sensitivity_eps<r>` for each radius in `sensitivity_radii`.

    Turn it on in gin: `train.callbacks = [@MetricsCallback]` (the trainer calls it with the run
    folder), then e.g. `MetricsCallback.every = 500`, `MetricsCallback.classifier = '/path'`.

    Args:
      model_dir: the run folder (given by `rgan_tf.training.train`). The real data are the run's
        (`dataset.*` of its operative config, which the trainer writes before `fit`).
      every: steps between evaluations (0: only at the end).
      num_samples: generated images per evaluation (`is5k` for 5000).
      classifier: "inception", a path or a `Classifier`.
      metrics: any of "is", "fid", "kid" at normal noise.
      real_split: the real split FID/KID compare with (the run's data source).
      batch_size: images per call.
      robustness_radii: worst-case noise radii (None: `[eps_z]` of the model; (): none).
      generalization: measure the discriminator's gap and sensitivity.
      d_num_images: training and held-out images for them (each).
      heldout_split: the held-out split ("test"; bind `dataset.holdout` for npz/folder data).
      sensitivity_radii: radii of the real-image perturbation (None: `[eps_x]` of the model).
      cache_dir: the real statistics' cache (None:
        `rgan_tf.evaluation.real_stats.DEFAULT_CACHE_DIR`).
      seed: seed of the evaluation's noise (the same batches at every evaluation).
      at_end: also evaluate when training ends (unless that step was just evaluated).
      plot: redraw `metrics.png`.
      verbose: progress bars and a summary line per evaluation.
    """

    def __init__(self, model_dir, every=500, num_samples=5000, classifier="inception",
                 metrics=("is", "fid"), real_split="test", batch_size=100,
                 robustness_radii=None, generalization=True, d_num_images=1000,
                 heldout_split="test", sensitivity_radii=None, cache_dir=None, seed=0,
                 at_end=True, plot=True, verbose=False):
        super().__init__()
        if not isinstance(every, int) or every < 0:
            raise ValueError(f"MetricsCallback.every must be an integer >= 0, got {every!r}.")
        if not isinstance(num_samples, int) or num_samples < 10:
            raise ValueError(f"MetricsCallback.num_samples must be an integer >= 10, got "
                             f"{num_samples!r}.")
        self.model_dir = model_dir
        self.every = every
        self.num_samples = num_samples
        self.classifier_spec = classifier
        self.metrics_names = tuple(metrics)
        self.real_split = real_split
        self.batch_size = batch_size
        self.robustness_radii = None if robustness_radii is None else noise.check_radii(
            robustness_radii)
        self.generalization = generalization
        self.d_num_images = d_num_images
        self.heldout_split = heldout_split
        self.sensitivity_radii = None if sensitivity_radii is None else noise.check_radii(
            sensitivity_radii)
        self.cache_dir = cache_dir
        self.seed = seed
        self.at_end = at_end
        self.plot = plot
        self.verbose = verbose
        self.metrics_file = layout.metrics_file(model_dir)
        self.plot_file = layout.metrics_plot(model_dir)
        self.classifier = None
        self.writer = None
        self.records = []
        self._data = None
        self._last_step = None
        self._failed = False

    # Keras hooks.

    def on_train_begin(self, logs=None):
        self.classifier = classifiers_lib.load_classifier(self.classifier_spec)
        with write_errors.reporting(layout.logs_dir(self.model_dir)):
            self.writer = tf.summary.create_file_writer(layout.logs_dir(self.model_dir))
        run_config = operative_config.read_run_config(self.model_dir)
        self.source, _, self.data_kwargs = operative_config.run_data_settings(run_config)

    def on_train_batch_end(self, batch, logs=None):
        if any(not math.isfinite(float(value)) for value in (logs or {}).values()):
            self._failed = True  # the trainer stops; no evaluation of broken weights
            return
        step = self._step()
        if self.every and step % self.every == 0 and step != self._last_step:
            self.evaluate(step)

    def on_train_end(self, logs=None):
        try:
            if self.at_end and not self._failed and self._step() != self._last_step:
                self.evaluate(self._step())
        finally:
            if self.writer is not None:
                self.writer.close()

    # The evaluation.

    def _step(self):
        return callbacks_lib.model_step(self.model)

    def evaluate(self, step):
        """Evaluates the model now; appends, logs and plots the record; returns it."""
        model = self.model
        radii = [model.eps_z] if self.robustness_radii is None else self.robustness_radii
        record = {"step": int(step), "origin": "callback"}
        record.update(measures.evaluate_model(
            model, self.classifier, self.source, self.real_split, self.num_samples,
            batch_size=self.batch_size, metrics=self.metrics_names, robustness_radii=radii,
            seed=self.seed, cache_dir=self.cache_dir, data_kwargs=self.data_kwargs,
            verbose=self.verbose))
        if self.generalization:
            with resources.ResourceMeter() as meter:
                train, heldout = self._real_data()
                sensitivity = ([model.eps_x] if self.sensitivity_radii is None
                               else self.sensitivity_radii)
                record.update(measures.discriminator_generalization(
                    model, train, heldout, sensitivity, self.batch_size))
            record.update(meter.fields("d_eval"))
        with write_errors.reporting(self.metrics_file):
            files.append_jsonl(self.metrics_file, record)
        self.records.append(record)
        with write_errors.reporting(layout.logs_dir(self.model_dir)):
            self._write_scalars(record, step)
        if self.plot:
            with write_errors.reporting(self.plot_file):
                figures.plot_metrics({layout.run_name(self.model_dir): files.read_jsonl(
                    self.metrics_file)}, self.plot_file)
        if self.verbose:
            print(f"[MetricsCallback] {measures.summary_line(record)}")
        self._last_step = step
        return record

    def _real_data(self):
        if self._data is None:
            side = measures.square_side(self.model.image_shape)
            kwargs = dict(image_size=side, with_labels=self.model.num_classes is not None,
                          seed=self.seed, data_kwargs=self.data_kwargs)
            train = arrays.load_images(self.source, "train", self.d_num_images, **kwargs)
            try:
                heldout = arrays.load_images(self.source, self.heldout_split, self.d_num_images,
                                             **kwargs)
            except ValueError as error:
                print(f"[MetricsCallback] no held-out split, so no d_gap: {error}")
                heldout = None
            self._data = (train, heldout)
        return self._data

    def _write_scalars(self, record, step):
        values = {name: value for name, value in record.items()
                  if isinstance(value, (int, float)) and not isinstance(value, bool)
                  and name not in _NOT_SCALARS}
        callbacks_lib.write_scalars(self.writer, values, step, "eval")
