"""Times a gin-configured GAN's train steps against the machine's matmul peak and a plain Keras
step on the same networks, or the evaluation classifiers' pass (random data, no download; the
`rgan-benchmark` command).

    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan_rgan.gin
    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan.gin \
        --variants=plain,baseline,robust --compile_modes=auto,on,off --steps=5
    python tools/benchmark.py --gin_file=gin_configs/cifar10/dcgan.gin \
        --precisions=float32,mixed_bfloat16 --compile_modes=off
    python tools/benchmark.py --classifiers=digits,cifar10,inception --steps=3

Flags and logic: `rgan_tf.cli.benchmark` (needs rgan_tf installed: `pip install -e .`).
"""
from rgan_tf.cli import benchmark

if __name__ == "__main__":
    benchmark.run()
