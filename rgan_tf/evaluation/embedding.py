"""The point sets of the paper's Fig. 5 (t-SNE), from a model and real images: what gets embedded,
not the embedding or the drawing (`rgan_tf.figures.plot_tsne`).

Per model: "input noise" (normal vs worst-case z, radius `eps_z`), "worst distributions"
(worst-case real `x + eps_x r_1` vs worst-case generated `G(z) + eps_x r_2`), and "real vs
generated". Noise comes from `rgan_tf.evaluation.noise.NoiseImages`, as in every other measurement.
"""
import numpy as np

from rgan_tf.evaluation import classifiers as classifiers_lib
from rgan_tf.evaluation import noise

FEATURES = ("classifier", "pixels")


def representation(features="classifier", classifier=None, batch_size=100):
    """`represent(images [N, H, W, C]) -> [N, F]`: a classifier's features or the pixels.

    Raises:
      ValueError: an unknown `features`, or "classifier" without a classifier.
    """
    if features not in FEATURES:
        raise ValueError(f"features must be 'classifier' or 'pixels', got {features!r}.")
    if features == "pixels":
        return lambda images: np.asarray(images, np.float32).reshape(len(images), -1)
    if classifier is None:
        raise ValueError("features='classifier' needs a classifier ('inception' or a path); "
                         "or use features='pixels'.")
    classifier = classifiers_lib.load_classifier(classifier)

    def represent(images):
        images = np.asarray(images, np.float32)
        return np.concatenate([classifier(images[start:start + batch_size])[1].numpy()
                               for start in range(0, len(images), batch_size)])

    return represent


def generated(model, mode, eps, num_points, batch_size=100, seed=0):
    """`(z [n, latent_dim], images [n, H, W, C])` from `NoiseImages(model, mode, eps, seed)`."""
    source = noise.NoiseImages(model, mode, eps, seed)
    zs, images, count, index = [], [], 0, 0
    while count < num_points:
        n = min(batch_size, num_points - count)
        z, labels = source.latent(n, index)
        zs.append(z.numpy())
        images.append(np.asarray(model.generate(z, labels)))
        count += n
        index += 1
    return np.concatenate(zs), np.concatenate(images)


def _batched(fn, images, labels, batch_size):
    parts = []
    for start in range(0, len(images), batch_size):
        part_labels = None if labels is None else labels[start:start + batch_size]
        parts.append(np.asarray(fn(images[start:start + batch_size], part_labels)))
    return np.concatenate(parts)


def model_panels(model, name, real, represent, num_points=500, batch_size=100, seed=0,
                 eps_z=None, eps_x=None, worst=True):
    """The panels of one model: `[(title, (name_a, points_a), (name_b, points_b)), ...]`.

    Args:
      model: a `RobustGAN`.
      name: the model's label in the titles.
      real: real images `[N, H, W, C]`, or `(images, labels)` for a conditional model.
      represent: images -> points (`representation`).
      num_points: generated points per set.
      batch_size: images per call.
      seed: seed of the noise.
      eps_z: worst-case noise radius (default the model's eps_z).
      eps_x: worst-case image radius (default the model's eps_x).
      worst: include "input noise" and "worst distributions" (else only "real vs generated").
    """
    real_images, real_labels = real if isinstance(real, tuple) else (real, None)
    normal_z, normal_images = generated(model, "normal", 0.0, num_points, batch_size, seed)
    panels = []
    if worst:
        radius_z = model.eps_z if eps_z is None else eps_z
        radius_x = model.eps_x if eps_x is None else eps_x
        worst_z, _ = generated(model, "worst", radius_z, num_points, batch_size, seed)
        panels.append((f"input noise ({name}, eps_z={radius_z:g})",
                       ("normal z", normal_z), ("worst-case z", worst_z)))
        fake_labels = (None if model.num_classes is None
                       else np.arange(len(normal_images)) % model.num_classes)
        worst_real = _batched(lambda x, y: noise.worst_case_images(
            model, x, radius_x, y, "real"), real_images, real_labels, batch_size)
        worst_fake = _batched(lambda x, y: noise.worst_case_images(
            model, x, radius_x, y, "fake"), normal_images, fake_labels, batch_size)
        panels.append((f"worst distributions ({name}, eps_x={radius_x:g})",
                       ("worst-case real", represent(worst_real)),
                       ("worst-case generated", represent(worst_fake))))
    panels.append((f"real vs {name}", ("real", represent(real_images)),
                   ("generated", represent(normal_images))))
    return panels
