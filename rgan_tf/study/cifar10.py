"""The CIFAR-10 study: the paper's Table 3 ablation of its DCGAN (baseline, random noise, G only,
D only, both) on real CIFAR-10, paired by seed, at the scale the machine allows
(`tools/reproduce.py --experiment=cifar10 --scale=cpu|gpu10`).

Every variant of a seed shares its initialisation and data order (`train.seed`), so a variant's
effect is measured as the paired difference `variant - baseline` of the same seed; tables give
the mean and 95% t-interval over seeds of each score and of each paired difference. The paper's
order of the variants is checked one step at a time the same way (`order_steps`: each variant
against its neighbour below, on the seeds both finished).

Per run (`done.json`): IS and FID of `num_samples` generated images against the real test split,
with the CIFAR-10 classifier (`tools/train_classifier.py --architecture=residual`; its folder
name names the metrics, e.g. `fid10k_c10net`, never Inception's); for the baseline and RGAN runs
also the IS/FID curve over the saved checkpoints (Fig. 2) and IS/FID on worst-case noise over a
sweep of radii (Fig. 3). Every number is measured by `rgan_tf.assess.evaluate_run`.

A run folder is independent of the others: `shard=(k, n)` takes the runs `k, k + n, ...`, so
machines (or processes) split a study; each writes the tables from every finished run it sees.
"""
import dataclasses
import math
import os

from rgan_tf import assess
from rgan_tf import files
from rgan_tf.data import pipeline
from rgan_tf.evaluation import activations
from rgan_tf.evaluation import classifiers
from rgan_tf.evaluation import domain_classifiers
from rgan_tf.evaluation import measures
from rgan_tf.evaluation import metrics
from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import layout
from rgan_tf.study import paper
from rgan_tf.study import plans
from rgan_tf.study import tables

EXPERIMENT = "cifar10"
#: The offline copy of CIFAR-10 (train/ and test/ with class subfolders), from the project root.
OFFLINE_SOURCE = "folder:../shared/data/cifar10"
#: The classifier's folder inside the study's output folder (its name names the metrics).
CLASSIFIER_DIR = "c10net"
#: The evaluation protocol of `done.json`; a record of another protocol is re-measured.
PROTOCOL = 1
#: Version of `real_data_figures`' output; 2: the test split's IS from its images shuffled
#: (version 1 scored it in folder order, class by class). Another version is measured again.
REAL_DATA_VERSION = 2


@dataclasses.dataclass(frozen=True)
class StudyScale:
    """What a scale of the CIFAR-10 study runs and measures."""
    name: str
    gin_files: tuple      # the model: the paper's DCGAN config plus the scale's overlay
    steps: int            # generator iterations per run
    checkpoint_every: int  # also the curve's spacing
    seeds: dict           # variant -> number of seeds (0..n-1)
    num_samples: int      # final IS/FID
    curve_samples: int    # IS/FID at each checkpoint (baseline and RGAN)
    sweep_samples: int    # IS/FID on worst-case noise (baseline and RGAN)
    radii: tuple          # worst-case noise radii (L2, in z's units; |z| ~ sqrt(128) ~ 11.3)
    classifier_epochs: int
    classifier_width: float
    classifier_batch: int = 512
    bindings: tuple = ()

    @property
    def variants(self):
        return tuple(v for v in paper.TABLE3_VARIANTS if self.seeds.get(v))


SCALES = {
    # DCGAN at DIM 32 (the paper's 128 / 4); docs/study/cifar10/README.md gives the measured
    # step and run times.
    "cpu": StudyScale("cpu", ("gin_configs/study/cpu/dcgan.gin",), steps=3000,
                      checkpoint_every=500,
                      seeds={"off": 5, "random": 3, "generator": 3, "discriminator": 3, "both": 5},
                      num_samples=10000, curve_samples=5000, sweep_samples=5000,
                      radii=(0.5, 1.0, 2.0, 4.0, 8.0), classifier_epochs=16,
                      classifier_width=0.25),
    # The paper's DCGAN at full width on one GPU (not measured here: no GPU).
    "gpu10": StudyScale("gpu10", ("gin_configs/study/gpu10/dcgan.gin",), steps=5000,
                        checkpoint_every=1000, seeds={"off": 2, "both": 2}, num_samples=10000,
                        curve_samples=5000, sweep_samples=5000, radii=(0.5, 1.0, 2.0, 4.0, 8.0),
                        classifier_epochs=16, classifier_width=0.25),
    # A few steps at width 8 (CI and the tests).
    "tiny": StudyScale("tiny", ("gin_configs/study/cpu/dcgan.gin",
                                "gin_configs/study/tiny/width8.gin"), steps=4, checkpoint_every=2,
                       seeds={"off": 2, "random": 1, "both": 2}, num_samples=100,
                       curve_samples=50, sweep_samples=50, radii=(0.5, 8.0), classifier_epochs=1,
                       classifier_width=0.125, classifier_batch=16),
}


@dataclasses.dataclass(frozen=True)
class StudyRun:
    """One run of the study: a variant and a seed, and how it is trained."""
    name: str
    variant: str
    seed: int
    gin_files: tuple
    bindings: tuple

    @property
    def is_paired_pillar(self):
        """Baseline and RGAN runs also get the curve and the worst-case sweep."""
        return self.variant in ("off", "both")

    def command(self, output_dir):
        """The equivalent `tools/train.py` command line."""
        return plans.train_command(self, output_dir)


def study_runs(scale, source=OFFLINE_SOURCE, shard=None):
    """The study's runs at `scale`, seed-major (an interrupted study has whole seeds first).

    Args:
      scale: a key of `SCALES`.
      source: the CIFAR-10 data source (train and test splits).
      shard: `(k, n)`: only the runs `k, k + n, k + 2n, ...`; None: all.
    """
    settings = scale_settings(scale)
    runs = []
    for seed in range(max(settings.seeds.values())):
        for variant in settings.variants:
            if seed >= settings.seeds[variant]:
                continue
            bindings = [f"dataset.source = '{source}'", f"train.steps = {settings.steps}",
                        f"train.checkpoint_every = {settings.checkpoint_every}",
                        f"train.sample_every = {settings.checkpoint_every}",
                        "train.keep_checkpoints = 1000", f"train.seed = {seed}",
                        "train.verbose = 2", f"RobustGAN.robust = '{variant}'"]
            if variant != "off":
                bindings += [f"RobustGAN.lam = {paper.LAM}", f"RobustGAN.eps_z = {paper.EPS_Z}",
                             f"RobustGAN.eps_x = {paper.EPS_X}"]
            bindings += list(settings.bindings)
            runs.append(StudyRun(f"dcgan_{variant}_s{seed}", variant, seed,
                                 settings.gin_files, tuple(bindings)))
    if shard is not None:
        index, count = check_shard(shard)
        runs = runs[index::count]
    return runs


def scale_settings(scale):
    if scale not in SCALES:
        raise ValueError(f"The CIFAR-10 study has scales {', '.join(SCALES)}; got {scale!r}.")
    return SCALES[scale]


def parse_shard(text):
    """`"k/n"` -> `(k, n)`, checked."""
    try:
        index, count = (int(part) for part in str(text).split("/"))
    except ValueError:
        raise ValueError(f"A shard is written k/n (e.g. 0/2), got {text!r}.") from None
    return check_shard((index, count))


def check_shard(shard):
    index, count = shard
    if count < 1 or not 0 <= index < count:
        raise ValueError(f"Shard {index}/{count}: need n >= 1 and 0 <= k < n.")
    return index, count


def metric_key(metric, count, classifier, kind=None, eps=None):
    """The study's name of a score: `fid10k_c10net`, `is5k_worst_eps2_c10net`."""
    name = measures.metric_name(metric, count, kind, eps)
    return f"{name}_{os.path.basename(str(classifier).rstrip('/'))}"


def classifier_card(classifier):
    """The classifier's `accuracy.json` (accuracy, hash, settings), or {} when it has none."""
    path = os.path.join(str(classifier), domain_classifiers.CARD)
    return files.read_json(path) if os.path.isfile(path) else {}


def evaluate_study_run(run, output_dir, scale, classifier, log=print):
    """Measures a trained run and writes its `done.json`; returns the record."""
    settings = scale_settings(scale)
    folder = plans.run_folder(output_dir, run)
    common = dict(classifier=classifier, batch_size=100, metrics=("is", "fid"), verbose=False,
                  cache_dir=os.path.join(output_dir, "real_stats"), log=lambda message: None)
    final = assess.evaluate_run(model_dir=folder, num_samples=settings.num_samples, **common)
    card = classifier_card(classifier)
    record = {"run": run.name, "variant": run.variant, "seed": run.seed, "scale": scale,
              "step": final["step"], "num_samples": settings.num_samples,
              "real_split": final["real_split"], "num_real": final["num_real"],
              "classifier": final["classifier"],
              "classifier_accuracy": card.get("test_accuracy"),
              "classifier_fingerprint": card.get("fingerprint"), "protocol": PROTOCOL}
    for metric in ("is", "fid"):
        value = final[measures.metric_name(metric, settings.num_samples)]
        record[metric] = value
        record[metric_key(metric, settings.num_samples, classifier)] = value
    if run.is_paired_pillar:
        log(f"[sweep] {run.name}: worst-case noise at radii {list(settings.radii)}")
        sweep = assess.evaluate_run(model_dir=folder, num_samples=settings.sweep_samples,
                                    robustness=True, radii=list(settings.radii), **common)
        record["sweep"] = {
            "num_samples": settings.sweep_samples,
            "is": sweep[measures.metric_name("is", settings.sweep_samples)],
            "fid": sweep[measures.metric_name("fid", settings.sweep_samples)],
            "points": [{"radius": r, **{m: sweep[measures.metric_name(
                m, settings.sweep_samples, "worst", r)] for m in ("is", "fid")}}
                for r in settings.radii]}
        log(f"[curve] {run.name}")
        curve = []
        for path in checkpoints_lib.list_checkpoints(layout.checkpoint_dir(folder)):
            if checkpoints_lib.checkpoint_step(path) % settings.checkpoint_every:
                continue  # a timer checkpoint (train.checkpoint_every_secs): not on the grid
            point = assess.evaluate_run(model_dir=folder, checkpoint=path,
                                        num_samples=settings.curve_samples, **common)
            curve.append({"step": point["step"], **{m: point[measures.metric_name(
                m, settings.curve_samples)] for m in ("is", "fid")}})
        record["curve"] = sorted(curve, key=lambda p: p["step"])
        record["curve_samples"] = settings.curve_samples
    files.write_json(layout.done_file(folder), record)
    return record


def real_data_figures(source, classifier, num_samples=10000, batch_size=500):
    """What the classifier says of real data, to read the study's scores against: IS of the test
    split, FID of the test split against `num_samples` train images, and FID of two disjoint
    halves of `2 * num_samples` train images (train order shuffled with seed 0; fewer when the
    split is smaller). Both splits are read shuffled: IS scores contiguous splits of its
    images, and a folder's split, read in order, comes class by class.

    Returns:
      A dict of the three figures, the image counts and the classifier's identity.
    """
    def features(split, count, shuffle):
        batches = pipeline.dataset(source=source, batch_size=batch_size, split=split,
                                   shuffle=shuffle, repeat=False, seed=0, drop_remainder=False)
        return activations.collect_activations(batches, classifier, count, verbose=False)

    test_logits, test_features = features("test", None, True)
    _, train_features = features("train", 2 * num_samples, True)
    half = min(num_samples, len(train_features) // 2)
    first, second = train_features[:half], train_features[half:2 * half]
    return {"is_test": float(metrics.inception_score(test_logits)[0]),
            "fid_test_vs_train": float(metrics.frechet_distance(test_features, first)),
            "fid_train_halves": float(metrics.frechet_distance(first, second)),
            "num_test": int(len(test_features)), "num_train_each": int(len(first)),
            "classifier": classifiers.load_classifier(classifier).identity, "source": source,
            "version": REAL_DATA_VERSION}


def is_done(output_dir, run, fingerprint=None):
    """The run has a `done.json` of this `PROTOCOL`, measured with the classifier of this
    `fingerprint` (when given): a record of another classifier is measured again."""
    path = layout.done_file(plans.run_folder(output_dir, run))
    if not os.path.isfile(path):
        return False
    record = files.read_json(path)
    return record.get("protocol") == PROTOCOL and (
        fingerprint is None or record.get("classifier_fingerprint") == fingerprint)


def paired_differences(records, metric, reference="off"):
    """{variant: [variant - reference of the same seed, ...]} over the seeds where both are done
    (the reference: the baseline unless named)."""
    base = {r["seed"]: r[metric] for r in records if r["variant"] == reference}
    found = {}
    for record in records:
        if record["variant"] != reference and record["seed"] in base:
            found.setdefault(record["variant"], []).append(record[metric] - base[record["seed"]])
    return found


def _verdict(mean, half, better_sign):
    """"holds" when the 95% interval of a paired difference lies on the better side of zero,
    "reversed" on the worse side, "undecided" when it holds zero or has one pair only."""
    if not (math.isfinite(mean) and math.isfinite(half)) or abs(mean) <= half:
        return "undecided"
    return "holds" if better_sign * mean > 0 else "reversed"


def order_steps(records, variants=paper.TABLE3_VARIANTS):
    """The paper's order of the variants (Table 3: baseline < random < G only < D only < both),
    one step at a time: per pair of neighbours present in `records`, the paired difference (the
    higher variant minus the lower, same seed) of IS and FID, its mean and 95% interval, Table
    3's IS difference for the DCGAN row, and whether the interval shows the step ("holds": IS
    higher, FID lower), its opposite ("reversed") or neither ("undecided")."""
    present = [v for v in variants if any(r["variant"] == v for r in records)]
    rows = []
    for lower, higher in zip(present, present[1:]):
        row = {"lower": lower, "higher": higher}
        for metric, better_sign in (("is", 1), ("fid", -1)):
            paired = paired_differences(records, metric, reference=lower).get(higher, [])
            mean, half = tables.mean_interval(paired)
            row["pairs"] = sum(1 for value in paired if math.isfinite(value))  # same seeds
            row["d" + metric], row["d" + metric + "_ci95"] = mean, half
            row[metric + "_verdict"] = _verdict(mean, half, better_sign)
        scores = [paper.score(paper.TABLE3["dcgan"][v]) for v in (lower, higher)]
        row["paper_dis"] = round(scores[1] - scores[0], 2)
        rows.append(row)
    return rows


def summary_rows(records, variants):
    """Per variant: seeds, IS/FID mean and 95% interval, paired differences and the paper's IS."""
    rows = []
    differences = {m: paired_differences(records, m) for m in ("is", "fid")}
    for variant in variants:
        group = [r for r in records if r["variant"] == variant]
        if not group:
            continue
        row = {"variant": variant, "n": len(group),
               "paper_is": paper.score(paper.TABLE3["dcgan"][variant])}
        for metric in ("is", "fid"):
            row[metric], row[metric + "_ci95"] = tables.mean_interval([r[metric] for r in group])
            paired = differences[metric].get(variant, [])
            row["d" + metric], row["d" + metric + "_ci95"] = tables.mean_interval(paired)
            row["pairs"] = len(paired)
        rows.append(row)
    return rows


def sweep_rows(records):
    """Per (variant, radius; radius 0 = normal noise): IS/FID mean and 95% interval."""
    rows = []
    for variant in ("off", "both"):
        group = [r["sweep"] for r in records if r["variant"] == variant and "sweep" in r]
        if not group:
            continue
        radii = [0.0] + [p["radius"] for p in group[0]["points"]]
        for index, radius in enumerate(radii):
            points = [g if index == 0 else g["points"][index - 1] for g in group]
            row = {"variant": variant, "radius": radius, "n": len(points)}
            for metric in ("is", "fid"):
                row[metric], row[metric + "_ci95"] = tables.mean_interval(
                    [p[metric] for p in points])
            rows.append(row)
    return rows


def curve_rows(records):
    """Per (variant, step): IS/FID mean and 95% interval over seeds."""
    rows = []
    for variant in ("off", "both"):
        by_step = {}
        for record in records:
            if record["variant"] == variant:
                for point in record.get("curve", []):
                    by_step.setdefault(point["step"], []).append(point)
        for step in sorted(by_step):
            row = {"variant": variant, "step": step, "n": len(by_step[step])}
            for metric in ("is", "fid"):
                row[metric], row[metric + "_ci95"] = tables.mean_interval(
                    [p[metric] for p in by_step[step]])
            rows.append(row)
    return rows
