"""The benchmark builds both variants of a shipped gin config (shrunk to tiny sizes by bindings),
times them on random data, and reports what `tools/benchmark.py` promises, table then JSON."""
import json
import os
import subprocess
import sys
import time

import pytest

from conftest import repo_path
from rgan_tf import benchmark
from rgan_tf import machine
from rgan_tf.evaluation import throughput

# The digits study's configs (gin_configs/digits/dcgan.gin, dcgan_rgan.gin), shrunk to 8x8 images.
TINY = ["dcgan_generator.image_size = 8", "dcgan_generator.width = 4",
        "dcgan_generator.latent_dim = 8", "dcgan_discriminator.image_size = 8",
        "dcgan_discriminator.width = 4", "dcgan_generator.channels = 1",
        "dcgan_discriminator.channels = 1"]
KEYS = {"baseline_step_ms", "robust_step_ms", "ratio", "baseline_images_per_sec",
        "robust_images_per_sec", "peak_memory_mb", "device", "xla", "baseline_jit_compile",
        "robust_jit_compile", "ratio_cpu", "baseline_gpu_peak_memory_mb"}


def test_run_times_the_baseline_and_the_configs_robust_mode():
    result = benchmark.run([repo_path("gin_configs/digits/dcgan_rgan.gin")], TINY,
                           steps=2, warmup=1, repeats=2, batch_size=4, compile_modes=("on",),
                           peak_seconds=0.1)
    assert KEYS <= set(result)
    assert result["robust_mode"] == "both" and result["xla"] is True
    assert result["baseline_step_ms"] > 0 and result["robust_step_ms"] > 0
    assert result["ratio"] == pytest.approx(result["robust_step_ms"] / result["baseline_step_ms"],
                                            rel=1e-2)
    assert len(result["robust_step_ms_rounds"]) == 2
    assert result["baseline_images_per_sec"] == pytest.approx(
        4 * 1000 / result["baseline_step_ms"], rel=1e-2, abs=0.05)
    assert result["peak_memory_mb"] > 0 and result["baseline_gpu_peak_memory_mb"] is None
    table = benchmark.table(result)
    assert "baseline" in table and "robust" in table and "ratio robust/baseline" in table


def test_every_line_is_built_and_warmed_up_before_the_first_timed_round(monkeypatch):
    # A line's first round after another line was built and traced ran slower than its later
    # rounds; so all lines are built first, then warmed up, then run one untimed round.
    events = []
    build, time_steps = benchmark.training.build_model, benchmark._time_steps
    monkeypatch.setattr(benchmark.training, "build_model",
                        lambda *a, **k: events.append("build") or build(*a, **k))
    monkeypatch.setattr(benchmark, "_time_steps",
                        lambda model, data, steps: events.append(("round", steps)) or
                        time_steps(model, data, steps))
    result = benchmark.run([repo_path("gin_configs/digits/dcgan_rgan.gin")], TINY,
                           steps=2, warmup=1, repeats=2, batch_size=4, count_flops=False)
    assert events == ["build", "build"] + [("round", 1)] * 2 + [("round", 2)] * 4
    assert [len(line["step_ms_rounds"]) for line in result["lines"]] == [2, 2]


def test_a_baseline_config_is_compared_with_robust_both_under_its_bindings():
    result = benchmark.run([repo_path("gin_configs/digits/dcgan.gin")],
                           TINY + ["build_model.jit_compile = False", "RobustGAN.d_steps = 2"],
                           steps=1, warmup=0, repeats=1, batch_size=2, count_flops=False)
    assert result["robust_mode"] == "both"
    assert result["xla"] is False and result["d_steps"] == 2
    assert [line["requested_jit_compile"] for line in result["lines"]] == [False, False]
    assert result["robust_images_per_sec"] == pytest.approx(
        2 * 2 * 1000 / result["robust_step_ms"], rel=1e-2, abs=0.05)


def test_lines_for_every_variant_with_flops_and_the_peak():
    result = benchmark.run([repo_path("gin_configs/digits/dcgan.gin")], TINY,
                           steps=1, warmup=0, repeats=1, batch_size=2, precisions=("float32",),
                           variants=("plain", "baseline", "robust"), peak_seconds=0.1)
    lines = result["lines"]
    assert [(line["variant"], line["compile_mode"]) for line in lines] == [
        ("baseline", "auto"), ("plain", "auto"), ("robust", "auto")]
    # auto resolves to XLA off on CPU.
    assert all(line["jit_compile"] is False for line in lines)
    assert {line["precision"] for line in lines} == {"float32"}
    flop = {line["variant"]: line["flop"] for line in lines}
    # The same networks: the plain step and the baseline do the same matmul/conv work; the
    # robust step repeats the forward/backward passes on the perturbed inputs.
    assert flop["plain"] == flop["baseline"] > 0
    assert 1.5 < flop["robust"] / flop["baseline"] < 2.6
    peak = result["matmul_peak"]["float32"]["gflops"]
    for line in lines:
        assert line["gflops"] == pytest.approx(line["flop"] / 1e6 / line["step_ms"], rel=0.02)
        assert line["peak_share"] == pytest.approx(line["gflops"] / peak, rel=0.02)
    assert "plain" in benchmark.table(result)


def test_real_data_is_read_as_training_reads_it(monkeypatch):
    calls = []
    real_dataset = benchmark.data_lib.dataset

    def spy(**kwargs):
        calls.append(kwargs)
        return real_dataset(**kwargs)

    monkeypatch.setattr(benchmark.data_lib, "dataset", spy)
    result = benchmark.run([repo_path("gin_configs/digits/dcgan_rgan.gin")],
                           TINY + ["dataset.image_size = 8"], steps=2, warmup=0, repeats=1,
                           batch_size=4, count_flops=False, data="real")
    assert result["data"] == "real" and result["robust_step_ms"] > 0
    assert calls == [dict(batch_size=4, seed=0, with_labels=False)] * 2
    assert "real data" in benchmark.table(result)
    with pytest.raises(ValueError, match="data must be 'random' or 'real'"):
        benchmark.run([repo_path("gin_configs/digits/dcgan_rgan.gin")], TINY, data="fake")


def test_random_and_real_data_are_lines_of_one_run_and_the_summary_reads_the_first(monkeypatch):
    reads = []
    real_dataset = benchmark.data_lib.dataset
    monkeypatch.setattr(benchmark.data_lib, "dataset",
                        lambda **kwargs: reads.append(kwargs) or real_dataset(**kwargs))
    result = benchmark.run([repo_path("gin_configs/digits/dcgan_rgan.gin")],
                           TINY + ["dataset.image_size = 8"], steps=2, warmup=0, repeats=2,
                           batch_size=4, count_flops=False, data=("random", "real"))
    assert [(line["variant"], line["data"]) for line in result["lines"]] == [
        ("baseline", "random"), ("robust", "random"), ("baseline", "real"), ("robust", "real")]
    assert all(len(line["step_ms_rounds"]) == 2 for line in result["lines"])
    assert len(reads) == 2  # only the real lines read the data set
    assert result["data"] == ["random", "real"]
    assert result["baseline_step_ms"] == result["lines"][0]["step_ms"]
    assert result["robust_step_ms"] == result["lines"][1]["step_ms"]
    text = benchmark.table(result)
    assert "baseline random" in text and "robust real" in text and "random,real data" in text


def test_matmul_peak_counts_two_flops_per_multiply_add():
    wall, cpu = benchmark.matmul_peak(size=256, seconds=0.2)
    assert 0.1 < wall < 1e5 and cpu >= wall / 64


@pytest.mark.parametrize("kwargs,message", [(dict(steps=0), "steps must be an integer >= 1"),
                                            (dict(batch_size=0), "batch_size must be")])
def test_bad_settings_are_refused(kwargs, message):
    with pytest.raises(ValueError, match=message):
        benchmark.run([repo_path("gin_configs/digits/dcgan_rgan.gin")], TINY, **kwargs)


def test_launcher_prints_a_table_then_one_json_line():
    command = [sys.executable, repo_path("tools/benchmark.py"),
               "--gin_file=" + repo_path("gin_configs/digits/dcgan_rgan.gin"),
               "--steps=1", "--warmup=0", "--repeats=1", "--batch_size=2", "--noflops"]
    command += [f"--gin_bindings={binding}" for binding in TINY]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2"))
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert KEYS <= set(json.loads(lines[-1]))
    assert any(line.startswith("ratio robust/baseline") for line in lines[:-1])


class _SleepyGAN:
    """Stands in for a model: each step sleeps 50 ms, and `fit` lingers 0.5 s after the last
    step, as it can while tf.data tears its iterator down."""

    def fit(self, data, epochs, steps_per_epoch, verbose, callbacks):
        for step in range(steps_per_epoch):
            for callback in callbacks:
                callback.on_train_batch_begin(step)
            time.sleep(0.05)
            for callback in callbacks:
                callback.on_train_batch_end(step, {})
        time.sleep(0.5)


def test_step_time_counts_the_steps_and_not_fits_teardown():
    wall, cpu = benchmark._time_steps(_SleepyGAN(), data=None, steps=4)
    assert 0.045 < wall < 0.09
    assert cpu < 0.02  # sleeping costs no CPU time


def test_classifier_throughput_counts_the_digits_classifiers_work():
    lines = throughput.classifier_throughput(("digits",), ("off",), batch_size=4, batches=1)
    (line,) = lines
    # domain_classifier(32, 1, 10): 3x3 convs 1->32 (32x32), 32->32 stride 2 (16x16),
    # 32->64 (16x16), 64->64 stride 2 (8x8); dense 64->128 and 128->10.
    per_image = 2 * (32 * 32 * 32 * 9 * 1 + 16 * 16 * 32 * 9 * 32 + 16 * 16 * 64 * 9 * 32
                     + 8 * 8 * 64 * 9 * 64 + 64 * 128 + 128 * 10)
    assert line["gflop_per_image"] == pytest.approx(per_image / 1e9)
    assert line["images_per_sec"] > 0 and line["jit_compile"] is False
    assert "digits" in throughput.classifier_table(lines)


def test_other_processes_share_leaves_out_the_benchmarks_own_cpu_time():
    # 10 s of wall time on 2 cores; the machine was busy 15 s, 5 of them in this process.
    assert machine.other_processes_share((0.0, 100.0, 10.0), (10.0, 115.0, 15.0), 2) == 0.5
    assert machine.other_processes_share((0.0, 100.0, 10.0), (10.0, 104.0, 14.0), 2) == 0.0
    assert machine.other_processes_share((0.0, None, 1.0), (1.0, None, 2.0), 2) is None


@pytest.mark.skipif(not os.path.exists("/proc/stat"), reason="reads Linux's /proc/stat")
def test_a_busy_neighbour_is_seen_and_named_in_the_table():
    cores = len(os.sched_getaffinity(0))
    before = machine.cpu_seconds_snapshot()
    neighbour = subprocess.Popen([sys.executable, "-c",
                                  "import time\nend = time.time() + 1.5\nwhile time.time() < end: pass"])
    neighbour.wait()
    share = machine.other_processes_share(before, machine.cpu_seconds_snapshot(), cores)
    assert share >= 0.6 / cores  # one core spinning for most of the interval
    result = dict(lines=[], matmul_peak={}, load_average_before=[0.0], load_average_after=[0.0],
                  other_processes_cpu_share=share, cores=cores, device="CPU", strategy="s",
                  replicas=1, batch_size=1, d_steps=1, onednn="1", cpu_bf16=[],
                  peak_memory_mb=1.0)
    assert f"other processes {100 * share:.0f}% of the cores (BUSY MACHINE" in benchmark.table(
        result)
    result["other_processes_cpu_share"] = 0.0
    result["load_average_before"] = [5.0]  # a load left over by earlier work: not busy now
    assert "BUSY" not in benchmark.table(result)
