"""The CIFAR-10 study's outputs from its run records (`rgan_tf.study.cifar10`): the ablation table
with paired differences, the Fig. 2 curves and Fig. 3 sweep as CSV and PNG (95% bands), and sample
grids of the baseline and RGAN side by side."""
import csv
import io
import os

import numpy as np

from rgan_tf import export
from rgan_tf import figures
from rgan_tf import files
from rgan_tf import images as images_lib
from rgan_tf.study import cifar10
from rgan_tf.study import paper
from rgan_tf.study import tables

#: Noise seed of the side-by-side grids (the same noise for both models).
GRID_SEED = 1234


def _csv(path, rows, fields):
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in fields})
    files.write_text(path, text.getvalue())
    return path


def _band(axis, rows, x_field, metric, label):
    xs = np.array([r[x_field] for r in rows], float)
    mean = np.array([r[metric] for r in rows], float)
    half = np.nan_to_num(np.array([r[metric + "_ci95"] for r in rows], float))
    axis.plot(xs, mean, marker="o", label=label)
    axis.fill_between(xs, mean - half, mean + half, alpha=0.25)


def _two_panel_plot(rows, x_field, x_label, path, classifier, log_x=False):
    plt = figures.pyplot()
    figure, axes = plt.subplots(1, 2, figsize=(9, 3.4))
    for axis, metric, name in ((axes[0], "is", f"IS ({classifier})"),
                               (axes[1], "fid", f"FID ({classifier})")):
        for variant in ("off", "both"):
            part = [r for r in rows if r["variant"] == variant]
            if part:
                _band(axis, part, x_field, metric, paper.VARIANT_NAMES[variant])
        axis.set_xlabel(x_label)
        axis.set_ylabel(name)
        if log_x:
            axis.set_xscale("symlog", linthresh=0.5)
        axis.legend(fontsize=8)
    return figures.save_figure(figure, path, dpi=120, tight=True)


def _side_by_side(run_dirs, path):
    """One picture: a 64-sample grid of each run (the same noise), baseline left, RGAN right."""
    plt = figures.pyplot()
    variants = [v for v in ("off", "both") if v in run_dirs]
    figure, axes = plt.subplots(1, len(variants), figsize=(4.2 * len(variants), 4.5))
    for axis, variant in zip(np.atleast_1d(axes), variants):
        model, step = export.load_run(run_dirs[variant], log=lambda message: None)
        grid = images_lib.make_grid(np.asarray(model.sample(64, seed=GRID_SEED)))
        axis.imshow(grid[..., 0] if grid.shape[-1] == 1 else grid,
                    cmap="gray" if grid.shape[-1] == 1 else None)
        axis.set_title(f"{paper.VARIANT_NAMES[variant]}, step {step}")
        axis.axis("off")
    return figures.save_figure(figure, path, dpi=120, tight=True)


def write_report(records, scale, output_dir, note, run_dirs=None, real=None):
    """Writes the study's tables, CSVs and figures into `output_dir`; returns their paths.

    Args:
      records: the finished runs' `done.json` records.
      scale: the scale's name.
      output_dir: where the outputs go.
      note: a paragraph on the protocol, put under the title.
      run_dirs: `{variant: run folder}` of the runs whose sample grids are drawn (seed 0).
      real: `cifar10.real_data_figures` of the data and classifier, or None.
    """
    settings = cifar10.scale_settings(scale)
    rows = cifar10.summary_rows(records, settings.variants)
    outputs = []
    if not rows:
        return outputs
    fields = ["variant", "n", "is", "is_ci95", "fid", "fid_ci95", "pairs", "dis", "dis_ci95",
              "dfid", "dfid_ci95", "paper_is", "classifier", "classifier_accuracy",
              "classifier_fingerprint", "num_samples"]
    card = {key: records[0].get(key) for key in ("classifier", "classifier_accuracy",
                                                 "classifier_fingerprint")}
    outputs.append(_csv(os.path.join(output_dir, "cifar10.csv"),
                        [dict(row, num_samples=settings.num_samples, **card) for row in rows],
                        fields))
    count = settings.num_samples
    classifier = records[0]["classifier"]
    accuracy = records[0].get("classifier_accuracy")
    names = [cifar10.metric_key(m, count, classifier) for m in ("is", "fid")]
    lines = [f"# CIFAR-10 study at scale `{scale}`", "", note, "",
             f"Classifier `{classifier}` (test accuracy "
             f"{'not recorded' if accuracy is None else f'{accuracy:.4f}'}, weights' fingerprint "
             f"`{records[0].get('classifier_fingerprint')}`); scores are `{names[0]}` and "
             f"`{names[1]}` on {count} samples against the test split"
             + (": not Inception's numbers." if classifier != "inception" else "."), "",
             "| variant | seeds | IS | FID | pairs | IS - baseline | FID - baseline | paper IS |",
             "|---|---|---|---|---|---|---|---|"]
    for row in rows:
        paired = row["variant"] != "off"
        lines.append("| " + " | ".join([
            paper.VARIANT_NAMES[row["variant"]], str(row["n"]),
            tables.interval_text(row["is"], row["is_ci95"]),
            tables.interval_text(row["fid"], row["fid_ci95"], 1),
            str(row["pairs"]) if paired else "-",
            tables.interval_text(row["dis"], row["dis_ci95"], signed=True) if paired else "-",
            tables.interval_text(row["dfid"], row["dfid_ci95"], 1, signed=True) if paired
            else "-", "-" if row["paper_is"] is None else f"{row['paper_is']:.2f}"]) + " |")
    if real:
        lines += ["", f"Real data, same classifier: IS of the test split {real['is_test']:.2f}; "
                  f"FID of the test split against {real['num_train_each']} train images "
                  f"{real['fid_test_vs_train']:.2f}; FID between two disjoint sets of "
                  f"{real['num_train_each']} train images {real['fid_train_halves']:.2f}."]
    lines += ["", "Mean ± half-width of the 95% t-interval over seeds (one seed: the value "
              "alone). Paired: variant minus baseline of the same seed (same initialisation and "
              "data order). Higher IS and lower FID are better. The paper's column is Table 3's "
              "DCGAN row (Inception, 50k samples, 200k iterations at full width)."]
    order = cifar10.order_steps(records, settings.variants)
    if order:
        outputs.append(_csv(os.path.join(output_dir, "cifar10_order.csv"), order,
                            ["lower", "higher", "pairs", "dis", "dis_ci95", "dfid", "dfid_ci95",
                             "is_verdict", "fid_verdict", "paper_dis"]))
        lines += ["", "## The paper's order, step by step", "",
                  "| step | pairs | IS difference | FID difference | paper's IS difference | "
                  "IS says | FID says |", "|---|---|---|---|---|---|---|"]
        lines += [f"| {paper.VARIANT_NAMES[r['lower']]} -> {paper.VARIANT_NAMES[r['higher']]} | "
                  f"{r['pairs']} | {tables.interval_text(r['dis'], r['dis_ci95'], signed=True)} | "
                  f"{tables.interval_text(r['dfid'], r['dfid_ci95'], 1, signed=True)} | "
                  f"{r['paper_dis']:+.2f} | {r['is_verdict']} | {r['fid_verdict']} |"
                  for r in order]
        lines += ["", "Each step: the higher variant minus the lower, same seed, over the seeds "
                  "both finished. \"holds\": the 95% interval shows the paper's direction (IS "
                  "up, FID down); \"reversed\": the opposite; \"undecided\": the interval holds "
                  "zero (or one pair gives no interval)."]
    sweep = cifar10.sweep_rows(records)
    if sweep:
        outputs.append(_csv(os.path.join(output_dir, "cifar10_fig3.csv"), sweep,
                            ["variant", "radius", "n", "is", "is_ci95", "fid", "fid_ci95"]))
        outputs.append(_two_panel_plot(sweep, "radius", "worst-case noise radius (0: z ~ N(0, I))",
                                       os.path.join(output_dir, "cifar10_fig3.png"), classifier,
                                       log_x=True))
        samples = records[0].get("sweep", {}).get("num_samples")
        lines += ["", f"## Fig. 3: worst-case noise ({samples} samples per point)", "",
                  "| model | radius | IS | FID |", "|---|---|---|---|"]
        lines += [f"| {paper.VARIANT_NAMES[r['variant']]} | {r['radius']:g} | "
                  f"{tables.interval_text(r['is'], r['is_ci95'])} | "
                  f"{tables.interval_text(r['fid'], r['fid_ci95'], 1)} |" for r in sweep]
    curve = cifar10.curve_rows(records)
    if curve:
        outputs.append(_csv(os.path.join(output_dir, "cifar10_fig2.csv"), curve,
                            ["variant", "step", "n", "is", "is_ci95", "fid", "fid_ci95"]))
        outputs.append(_two_panel_plot(curve, "step", "generator iteration",
                                       os.path.join(output_dir, "cifar10_fig2.png"), classifier))
    if run_dirs:
        outputs.append(_side_by_side(run_dirs, os.path.join(output_dir, "cifar10_samples.png")))
        lines += ["", "## Samples (seed 0, the same noise for both)", "",
                  "![samples](cifar10_samples.png)"]
    files.write_json(os.path.join(output_dir, "cifar10_records.json"), records)
    outputs.append(os.path.join(output_dir, "cifar10_records.json"))
    md = os.path.join(output_dir, "cifar10.md")
    files.write_text(md, "\n".join(lines) + "\n")
    return [md] + outputs
