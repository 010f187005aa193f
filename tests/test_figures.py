"""figures (drawn from records only) and the figure tools (run folders read by rgan_tf.assess):
every figure tool writes a PNG (Fig. 2 curves from metrics.jsonl, Fig. 4 eps sweep from run
folders, Fig. 5 t-SNE from a trained run); curves keep the later record of a step evaluated twice.
Sample grids (Fig. 6) are tools/sample.py's, tested in test_sample.py (`test_grid_and_files`)."""
import json

import gin
import numpy as np
import pytest
from PIL import Image

from rgan_tf import assess
from rgan_tf import config
from rgan_tf import figures
from rgan_tf.evaluation import domain_classifiers
from test_training import CONFIG, run_tool, tiny


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


def png_size(path):
    with Image.open(path) as picture:
        assert picture.format == "PNG"
        return picture.size


def test_metric_curves_keep_the_later_record_of_a_step():
    records = curve_records() + [{"step": 1000, "is5k": 9.0}, {"is5k": 3.0}]
    curves = figures.metric_curves(records)
    assert curves["is5k"] == [(500, 1.5), (1000, 9.0), (1500, 2.5)]
    assert "real_split" not in curves and (500, 0.01) in curves["is5k_std"]


def test_plot_metrics_tool_draws_the_curves_of_several_runs(tmp_path):
    write_jsonl(tmp_path / "baseline" / "metrics.jsonl", curve_records())
    write_jsonl(tmp_path / "rgan" / "metrics.jsonl", curve_records(0.5))
    output = tmp_path / "fig2.png"
    result = run_tool("plot_metrics.py", f"--runs={tmp_path / 'baseline'},"
                      f"{tmp_path / 'rgan' / 'metrics.jsonl'}", f"--output={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    width, height = png_size(output)
    assert width > 4 * 400 and height > 300  # four panels: IS, FID, G loss, D
    assess.plot_metrics([str(tmp_path / "baseline")], str(tmp_path / "one.png"))
    assert png_size(tmp_path / "one.png")[0] > 1000
    write_jsonl(tmp_path / "empty" / "metrics.jsonl", [{"note": "no scores"}])
    with pytest.raises(ValueError, match="No IS or FID"):
        assess.plot_metrics([str(tmp_path / "empty")], str(tmp_path / "none.png"))
    with pytest.raises(ValueError, match="No metrics.jsonl"):
        assess.plot_metrics([str(tmp_path / "missing")], str(tmp_path / "x.png"))


def test_figures_draw_from_records_alone(tmp_path):
    # No file is read: the records, rows and point sets are the whole input.
    output = figures.plot_metrics({"a": curve_records(), "b": curve_records(0.5)},
                                  str(tmp_path / "curves.png"))
    assert png_size(output)[0] > 4 * 400
    rows = [{"eps_z": z, "eps_x": x, "robust": robust, "metric": "is5k", "value": value}
            for z, x, robust, value in ((0.01, 2.3, "both", 5.0), (0.1, 2.3, "both", 5.5),
                                        (0.01, 8.0, "both", 4.5), (0.01, 2.3, "off", 4.0))]
    assert png_size(figures.plot_eps_sweep(rows, str(tmp_path / "sweep.png")))[0] > 800
    points = np.random.default_rng(0).normal(size=(20, 3))
    panels = [("a vs b", ("a", points), ("b", points + 1.0))]
    assert png_size(figures.plot_tsne(panels, str(tmp_path / "tsne.png")))[0] > 300
    assert not list(tmp_path.glob(".*tmp*")), "temporary files left behind"


def fake_run(folder, eps_z, eps_x, value, robust="both", metric="is5k"):
    folder.mkdir(parents=True)
    (folder / "operative_config.gin").write_text(
        f"RobustGAN.eps_z = {eps_z}\nRobustGAN.eps_x = {eps_x}\nRobustGAN.robust = '{robust}'\n"
        "dataset.source = 'digits'\n")
    write_jsonl(folder / "metrics.jsonl", [{"step": 100, metric: value - 1},
                                           {"step": 200, metric: value, "is1k": 0.0}])
    return str(folder)


def test_eps_sweep_tool_plots_is_against_both_radii(tmp_path):
    runs = [fake_run(tmp_path / f"z{i}", eps_z, 2.3, 5 + i)
            for i, eps_z in enumerate((0.001, 0.01, 0.1))]
    runs += [fake_run(tmp_path / f"x{i}", 0.01, eps_x, 6 + i)
             for i, eps_x in enumerate((0.5, 4.0))]
    runs += [fake_run(tmp_path / "seed1", 0.01, 2.3, 7), fake_run(tmp_path / "base", 0.01, 2.3,
                                                                  4, robust="off")]
    rows = assess.sweep_points(runs)
    assert rows[0] == {"run": "z0", "eps_z": 0.001, "eps_x": 2.3, "robust": "both",
                       "metric": "is5k", "value": 5.0}  # the latest step, the largest count
    output = tmp_path / "fig4.png"
    result = run_tool("plot_eps_sweep.py", f"--runs={','.join(runs)}", f"--output={output}")
    assert result.returncode == 0, result.stderr[-3000:]
    width, height = png_size(output)
    assert width > 800 and height > 300
    result = run_tool("plot_eps_sweep.py", f"--runs={runs[-1]}", f"--output={output}.2")
    assert result.returncode == 1 and "No robust run" in result.stderr


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("figures")
    config.run_training([CONFIG], tiny(2), str(folder / "run"))
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


def test_tsne_panels_on_classifier_features(trained_run, tmp_path):
    path = str(tmp_path / "standin")
    domain_classifiers.export_classifier(domain_classifiers.build_standin_inception(
        image_size=32, num_classes=10, feature_dim=16), path)
    panels = assess.tsne_panels([str(trained_run)], num_points=30, eps_z=0.5,
                                classifier=path, log=lambda message: None)
    assert [title.split(" (")[0] for title, _, _ in panels] == [
        "input noise", "worst distributions", "real vs run"]
    (_, (_, normal_z), (_, worst_z)), (_, (_, worst_real), (_, worst_fake)) = panels[:2]
    assert normal_z.shape == worst_z.shape == (30, 16)  # the tiny config's latent_dim
    np.testing.assert_allclose(np.linalg.norm(worst_z - normal_z, axis=1), 0.5, rtol=1e-4)
    assert worst_real.shape == worst_fake.shape == (30, 16)  # classifier features
    output = assess.plot_tsne([str(trained_run)], str(tmp_path / "t.png"), num_points=30,
                              classifier=path, log=lambda message: None)
    assert png_size(output)[0] > 3 * 300
    with pytest.raises(ValueError, match="needs a classifier"):
        assess.plot_tsne([str(trained_run)], str(tmp_path / "u.png"), classifier=None)
