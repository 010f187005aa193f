"""figures and their tools: every figure tool writes a PNG, and each figure plots the data behind
it, read back from the matplotlib figure before it is saved (Fig. 2 curves from metrics.jsonl,
Fig. 4 eps sweep from run folders, Fig. 5 t-SNE from a trained run); curves keep the later record
of a step evaluated twice. Sample grids (Fig. 6) are tools/sample.py's, tested in test_sample.py
(`test_grid_and_files`)."""
import json

import gin
import numpy as np
import pytest
from PIL import Image

from conftest import CONFIG, run_tool, tiny
from rgan_tf import classifiers, figures, launch


def write_jsonl(path, records):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as handle:
        for record in records:
            handle.write(json.dumps(record) + "\n")


def curve_records(offset=0.0):
    return [{"step": step, "origin": "callback", "is5k": 1 + step / 1000 + offset,
             "is5k_std": 0.01, "is5k_worst_eps0.01": 1 + step / 1200 + offset,
             "fid5k": 100 - step / 20, "g_loss": 0.7, "g_loss_worst_eps0.01": 0.8,
             "g_loss_random_eps0.01": 0.71, "d_gap": 0.01 * step / 500,
             "d_loss_train": 0.5, "d_loss_heldout": 0.5 + 0.01 * step / 500,
             "real_split": "test"} for step in (500, 1000, 1500)]


@pytest.fixture
def drawn(monkeypatch):
    """The matplotlib figures the library saves, captured as they are saved."""
    seen = []
    save = figures._save

    def capture(figure, output):
        seen.append(figure)
        return save(figure, output)

    monkeypatch.setattr(figures, "_save", capture)
    return seen


def lines_by_label(axis):
    """`{label: (x, y)}` of an axis' labelled lines."""
    return {line.get_label(): (np.asarray(line.get_xdata(), float).tolist(),
                               np.asarray(line.get_ydata(), float).tolist())
            for line in axis.get_lines() if not line.get_label().startswith("_")}


def png_size(path):
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return picture.size


def test_metric_curves_keep_the_later_record_of_a_step():
    records = curve_records() + [{"step": 1000, "is5k": 9.0}, {"is5k": 3.0}]
    curves = figures.metric_curves(records)
    assert curves["is5k"] == [(500, 1.5), (1000, 9.0), (1500, 2.5)]
    assert "real_split" not in curves and (500, 0.01) in curves["is5k_std"]


def test_plot_metrics_tool_draws_the_curves_of_several_runs(tmp_path, drawn):
    write_jsonl(tmp_path / "baseline" / "metrics.jsonl", curve_records())
    write_jsonl(tmp_path / "rgan" / "metrics.jsonl", curve_records(0.5))
    output = tmp_path / "fig2.png"
    result = run_tool("plot_metrics.py", f"--runs={tmp_path / 'baseline'},"
                      f"{tmp_path / 'rgan' / 'metrics.jsonl'}", f"--output={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    width, height = png_size(output)
    assert width > 4 * 400 and height > 300  # four panels: IS, FID, G loss, D
    # What the panels plot, drawn in this process: each run's records, step by step.
    figures.plot_metrics([tmp_path / "baseline", tmp_path / "rgan" / "metrics.jsonl"],
                         str(tmp_path / "two.png"))
    axes = drawn[-1].axes
    assert [axis.get_title() for axis in axes] == [
        "Inception score", "FID", "generator loss", "discriminator on real data"]
    steps = [500, 1000, 1500]
    inception = lines_by_label(axes[0])
    assert set(inception) == {f"{run}: {name}" for run in ("baseline", "rgan")
                              for name in ("is5k", "is5k_worst_eps0.01")}
    for run, offset in (("baseline", 0.0), ("rgan", 0.5)):
        np.testing.assert_allclose(inception[f"{run}: is5k"],
                                   [steps, [1 + s / 1000 + offset for s in steps]])
        np.testing.assert_allclose(inception[f"{run}: is5k_worst_eps0.01"],
                                   [steps, [1 + s / 1200 + offset for s in steps]])
        np.testing.assert_allclose(lines_by_label(axes[1])[f"{run}: fid5k"],
                                   [steps, [100 - s / 20 for s in steps]])
        np.testing.assert_allclose(lines_by_label(axes[3])[f"{run}: d_gap"],
                                   [steps, [0.01 * s / 500 for s in steps]])
    styles = {line.get_label(): line.get_linestyle() for line in axes[2].get_lines()}
    assert styles["baseline: g_loss"] == "-" and styles["baseline: g_loss_worst_eps0.01"] == "--"
    assert styles["baseline: g_loss_random_eps0.01"] == ":"
    figures.plot_metrics([tmp_path / "baseline"], str(tmp_path / "one.png"))
    assert png_size(tmp_path / "one.png")[0] > 1000
    assert set(lines_by_label(drawn[-1].axes[0])) == {"is5k", "is5k_worst_eps0.01"}
    write_jsonl(tmp_path / "empty" / "metrics.jsonl", [{"note": "no scores"}])
    with pytest.raises(ValueError, match="No IS or FID"):
        figures.plot_metrics([tmp_path / "empty"], str(tmp_path / "none.png"))
    with pytest.raises(ValueError, match="No metrics.jsonl"):
        figures.plot_metrics([tmp_path / "missing"], str(tmp_path / "x.png"))


def fake_run(folder, eps_z, eps_x, value, robust="both", metric="is5k"):
    folder.mkdir(parents=True)
    (folder / "operative_config.gin").write_text(
        f"RobustGAN.eps_z = {eps_z}\nRobustGAN.eps_x = {eps_x}\nRobustGAN.robust = '{robust}'\n"
        "dataset.source = 'digits'\n")
    write_jsonl(folder / "metrics.jsonl", [{"step": 100, metric: value - 1},
                                           {"step": 200, metric: value, "is1k": 0.0}])
    return str(folder)


def test_eps_sweep_tool_plots_is_against_both_radii(tmp_path, drawn):
    runs = [fake_run(tmp_path / f"z{i}", eps_z, 2.3, 5 + i)
            for i, eps_z in enumerate((0.001, 0.01, 0.1))]
    runs += [fake_run(tmp_path / f"x{i}", 0.01, eps_x, 6 + i)
             for i, eps_x in enumerate((0.5, 4.0))]
    runs += [fake_run(tmp_path / "seed1", 0.01, 2.3, 7), fake_run(tmp_path / "base", 0.01, 2.3,
                                                                  4, robust="off")]
    rows = figures.sweep_points(runs)
    assert rows[0] == {"run": "z0", "eps_z": 0.001, "eps_x": 2.3, "robust": "both",
                       "metric": "is5k", "value": 5.0}  # the latest step, the largest count
    output = tmp_path / "fig4.png"
    result = run_tool("plot_eps_sweep.py", f"--runs={','.join(runs)}", f"--output={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    width, height = png_size(output)
    assert width > 800 and height > 300
    # What is plotted: the eps_z panel holds eps_x at its most common value (2.3), the eps_x
    # panel eps_z at 0.01; two runs at one point (seeds) give their mean and a min-max bar; the
    # baseline is a horizontal line.
    figures.plot_eps_sweep(runs, str(tmp_path / "again.png"))
    for axis, xs, means, bars in zip(drawn[-1].axes, ([0.001, 0.01, 0.1], [0.5, 2.3, 4.0]),
                                     ([5, 6.5, 7], [6, 6.5, 7]), ([0, 0.5, 0], [0, 0.5, 0])):
        data_line, _, (bar_lines,) = axis.containers[0]
        np.testing.assert_allclose(np.asarray(data_line.get_xdata(), float), xs)
        np.testing.assert_allclose(np.asarray(data_line.get_ydata(), float), means)
        np.testing.assert_allclose([segment[1, 1] - segment[0, 1]
                                    for segment in bar_lines.get_segments()],
                                   [2 * bar for bar in bars])
        assert lines_by_label(axis)["baseline"][1] == [4.0, 4.0]
    assert drawn[-1].axes[0].get_ylabel() == "is5k"
    result = run_tool("plot_eps_sweep.py", f"--runs={runs[-1]}", f"--output={output}.2")
    assert result.returncode == 1 and "No robust run" in result.stderr


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    launch.run_training([CONFIG], tiny(2), str(folder / "run"))
    yield folder / "run"
    gin.clear_config()


def test_tsne_tool_on_pixels(trained_run, tmp_path):
    output = tmp_path / "fig5.png"
    result = run_tool("plot_tsne.py", f"--runs={trained_run},{trained_run}",
                      "--features=pixels", "--num_points=40", "--eps_z=0.5",
                      f"--output={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    width, height = png_size(output)
    assert width > 4 * 300 and height > 300  # noise, worst distributions, two runs


def test_tsne_panels_on_classifier_features(trained_run, tmp_path, drawn):
    path = str(tmp_path / "standin")
    classifiers.export_classifier(classifiers.build_standin_inception(
        image_size=32, num_classes=10, feature_dim=16), path)
    panels = figures.tsne_panels([str(trained_run)], num_points=30, eps_z=0.5,
                                 classifier=path, log=lambda message: None)
    assert [title.split(" (")[0] for title, _, _ in panels] == [
        "input noise", "worst distributions", "real vs run"]
    (_, (_, normal_z), (_, worst_z)), (_, (_, worst_real), (_, worst_fake)) = panels[:2]
    assert normal_z.shape == worst_z.shape == (30, 16)  # the tiny config's latent_dim
    np.testing.assert_allclose(np.linalg.norm(worst_z - normal_z, axis=1), 0.5, rtol=1e-4)
    assert worst_real.shape == worst_fake.shape == (30, 16)  # classifier features
    output = figures.plot_tsne([str(trained_run)], str(tmp_path / "t.png"), num_points=30,
                               eps_z=0.5, classifier=path, log=lambda message: None)
    assert png_size(output)[0] > 3 * 300
    # Each panel scatters the t-SNE embedding of its two point sets (30 points each), one colour
    # per set, under the panel's title.
    axes = drawn[-1].axes
    assert [axis.get_title() for axis in axes] == [title for title, _, _ in panels]
    for axis, (_, (name_a, points_a), (name_b, points_b)) in zip(axes, panels):
        embedded = figures._embed([points_a, points_b], seed=0)
        offsets = [collection.get_offsets() for collection in axis.collections]
        assert [collection.get_label() for collection in axis.collections] == [name_a, name_b]
        for got, want in zip(offsets, embedded, strict=True):
            np.testing.assert_allclose(np.asarray(got), want, rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="needs a classifier"):
        figures.plot_tsne([str(trained_run)], str(tmp_path / "u.png"), classifier=None)
