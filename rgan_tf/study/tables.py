"""The study's tables: per-run records grouped into rows (mean and 95% t-interval over seeds, the
paper's number beside them), written as CSV and Markdown."""
import collections
import csv
import io
import math
import os

import numpy as np

from rgan_tf import files
from rgan_tf.study import paper


def mean_interval(values):
    """Mean and half-width of the 95% t-interval (nan half-width for a single value)."""
    values = np.asarray([v for v in values if v is not None and np.isfinite(v)], np.float64)
    if values.size == 0:
        return float("nan"), float("nan")
    if values.size == 1:
        return float(values[0]), float("nan")
    from scipy import stats  # heavy (scipy.stats): only for intervals over several seeds
    half = stats.t.ppf(0.975, values.size - 1) * values.std(ddof=1) / math.sqrt(values.size)
    return float(values.mean()), float(half)


def interval_text(mean, half, digits=2, signed=False):
    """`mean ± half` (`mean` alone when `half` is not finite, "-" when `mean` is not);
    `signed` writes the sign of a difference."""
    if not np.isfinite(mean):
        return "-"
    text = f"{mean:{'+' if signed else ''}.{digits}f}"
    return text if not np.isfinite(half) else f"{text} ± {half:.{digits}f}"


def _paper(value):
    return "-" if value is None else f"{value:.2f}"


def summarise(experiment, records, scale):
    """Rows `(label fields..., metric means/intervals, paper numbers)` of `experiment`."""
    groups = collections.OrderedDict()
    for record in records:
        if experiment == "table1":
            row = "rgan_" + record["family"] if record["variant"] == "both" else record["family"]
            key = (row, record["dataset"])
        elif experiment == "table2":
            key = ("rgan_" + record["family"] if record["variant"] == "both"
                   else record["family"],)
        elif experiment == "fig4":
            key = (record["family"], record["swept"], record["value"])
        else:
            key = (record["family"], record["variant"])
        groups.setdefault(key, []).append(record)
    rows = []
    for key, group in groups.items():
        row = {"n": len(group)}
        if experiment == "table1":
            row.update(model=key[0], dataset=key[1])
            scores = paper.TABLE1.get(key, (None, None))
            row.update(paper_is=paper.score(scores[0]), paper_fid=paper.score(scores[1]))
        elif experiment == "table2":
            row.update(model=key[0])
            scores = paper.TABLE2.get(key[0], (None, None))
            row.update(paper_is=paper.score(scores[0]), paper_fid=paper.score(scores[1]))
        elif experiment == "fig4":
            row.update(family=key[0], swept=key[1], value=key[2])
        else:
            row.update(family=key[0], variant=key[1])
            if experiment == "table3":
                row.update(paper_is=paper.score(paper.TABLE3.get(key[0], {}).get(key[1])))
        for metric in ("is", "fid", "is_worst", "fid_worst"):
            row[metric], row[metric + "_ci95"] = mean_interval([r[metric] for r in group])
        rows.append(row)
    return rows


def write_table(experiment, rows, scale, output_dir, note=""):
    """Writes `<experiment>.csv` and `<experiment>.md`; returns their paths."""
    if not rows:
        return []
    label_fields = [k for k in ("model", "dataset", "family", "variant", "swept", "value")
                    if k in rows[0]]
    metric_fields = ["is", "is_ci95", "fid", "fid_ci95", "is_worst", "is_worst_ci95",
                     "fid_worst", "fid_worst_ci95"]
    paper_fields = [k for k in ("paper_is", "paper_fid")
                    if any(row.get(k) is not None for row in rows) or k in rows[0]]
    fields = label_fields + ["n"] + metric_fields + paper_fields
    csv_path = os.path.join(output_dir, f"{experiment}.csv")
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: ("" if row.get(k) is None else row.get(k)) for k in fields})
    files.write_text(csv_path, text.getvalue())

    def label(row, field):
        value = row[field]
        if field == "variant":
            return paper.VARIANT_NAMES.get(value, value)
        if field in ("family",):
            return paper.FAMILY_NAMES.get(value, value)
        if field == "model":
            return (f"RGAN ({paper.FAMILY_NAMES.get(value[5:], value[5:])})"
                    if value.startswith("rgan_") else paper.FAMILY_NAMES.get(value, value))
        return f"{value:g}" if isinstance(value, float) else str(value)

    headers = ([f.replace("_", " ") for f in label_fields] + ["seeds", "IS", "FID",
               "IS (worst-case z)", "FID (worst-case z)"]
               + [{"paper_is": "paper IS", "paper_fid": "paper FID"}[f] for f in paper_fields])
    lines = [f"# {experiment} at scale `{scale}`", ""]
    if note:
        lines += [note, ""]
    lines += ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for row in rows:
        cells = [label(row, f) for f in label_fields] + [str(row["n"])]
        cells += [interval_text(row["is"], row["is_ci95"]),
                  interval_text(row["fid"], row["fid_ci95"], 1),
                  interval_text(row["is_worst"], row["is_worst_ci95"]),
                  interval_text(row["fid_worst"], row["fid_worst_ci95"], 1)]
        cells += [_paper(row.get(f)) for f in paper_fields]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", "Mean ± half-width of the 95% t-interval over seeds (one seed: the value "
              "alone). Worst-case z: the noise moved by the first-order worst-case direction "
              "of the generator's loss."]
    md_path = os.path.join(output_dir, f"{experiment}.md")
    files.write_text(md_path, "\n".join(lines) + "\n")
    return [md_path, csv_path]
