"""Shared test fixtures: tiny generators and discriminators that build and run in milliseconds."""
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import gin  # noqa: E402
import keras  # noqa: E402
import pytest  # noqa: E402

LATENT_DIM = 8
IMAGE_SHAPE = (8, 8, 1)
REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def repo_path(relative):
    """A path inside this checkout (tools, docs, shipped configs)."""
    return os.path.join(REPO, relative)


def tiny_generator(latent_dim=LATENT_DIM, num_classes=None, batch_norm=True):
    """z [B, latent_dim] (+ label) -> images [B, 8, 8, 1] in [-1, 1]."""
    z = keras.Input((latent_dim,), name="z")
    inputs = [z]
    h = z
    if num_classes is not None:
        label = keras.Input((), dtype="int32", name="label")
        inputs.append(label)
        h = keras.layers.Concatenate()([z, keras.layers.Flatten()(
            keras.layers.Embedding(num_classes, 4)(label))])
    h = keras.layers.Dense(4 * 4 * 8)(h)
    h = keras.layers.Reshape((4, 4, 8))(h)
    if batch_norm:
        h = keras.layers.BatchNormalization()(h)
    h = keras.layers.ReLU()(h)
    h = keras.layers.Conv2DTranspose(1, 3, 2, padding="same")(h)
    out = keras.layers.Activation("tanh", dtype="float32")(h)
    return keras.Model(inputs if num_classes is not None else z, out)


def tiny_discriminator(num_classes=None):
    """images [B, 8, 8, 1] (+ label) -> logits [B, 1]."""
    image = keras.Input(IMAGE_SHAPE, name="image")
    h = keras.layers.Conv2D(8, 3, 2, padding="same")(image)
    h = keras.layers.LeakyReLU(0.2)(h)
    h = keras.layers.Flatten()(h)
    out = keras.layers.Dense(1, dtype="float32")(h)
    if num_classes is None:
        return keras.Model(image, out)
    label = keras.Input((), dtype="int32", name="label")
    projection = keras.layers.Dot(axes=1)([h, keras.layers.Flatten()(
        keras.layers.Embedding(num_classes, h.shape[-1])(label))])
    return keras.Model([image, label], keras.layers.Add(dtype="float32")([out, projection]))


def copy_model(model):
    """A structurally identical model with the same weights."""
    clone = keras.models.clone_model(model)
    clone.set_weights(model.get_weights())
    return clone


@pytest.fixture(autouse=True)
def fresh_gin_config():
    """Each test starts and ends with an empty, unlocked gin config (`config.parse_gin` locks
    the config it parses, and bindings must not leak from one test into another)."""
    gin.clear_config()
    yield
    gin.clear_config()


@pytest.fixture
def tiny_models():
    keras.utils.set_random_seed(0)
    return tiny_generator(), tiny_discriminator()
