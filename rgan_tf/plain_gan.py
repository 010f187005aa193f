"""The GAN step a Keras user writes, as a reference for `tools/benchmark.py`.

Modelled on the keras-io example `examples/generative/dcgan_overriding_train_step.py`
(`GAN.train_step`): one tape per player, generated and real images scored in one critic call,
`optimizer.apply` on each player's variables, nothing else - no perturbations, no counter-based
random streams, no replica bookkeeping. Like keras-io's WGAN-GP example it runs `d_steps`
critic updates per generator update and adds the configured penalty on interpolates. It trains
the same networks with the same losses as `RobustGAN(robust='off')`, so the two steps' times
show what the library's own step costs on top of the textbook one.
"""
import keras
import tensorflow as tf


class PlainGAN(keras.Model):
    """A minimal alternating GAN (keras-io style) on given players.

    Args:
      generator: built `keras.Model`, `z [B, latent_dim]` (and `label [B]`) -> images.
      discriminator: built `keras.Model`, images (and `label`) -> logits `[B, 1]`.
      loss: a `GANLoss` family (`rgan_tf.losses`).
      penalty: optional `penalty(discriminator_fn, real, fake, alpha) -> scalar`.
      d_steps: critic updates per generator update; each takes `1 / d_steps` of the batch.
      generator_batch_multiplier: the generator's batch is this times the critic's.
      num_classes: classes of a conditional GAN, or None.
    """

    def __init__(self, generator, discriminator, loss, penalty=None, d_steps=1,
                 generator_batch_multiplier=1, num_classes=None, **kwargs):
        super().__init__(**kwargs)
        self.generator = generator
        self.discriminator = discriminator
        self.loss_family = loss
        self.penalty = penalty
        self.d_steps = d_steps
        self.generator_batch_multiplier = generator_batch_multiplier
        self.num_classes = num_classes
        self.latent_dim = int(generator.inputs[0].shape[-1])
        self.image_shape = tuple(generator.outputs[0].shape[1:])
        self.built = True

    def compile(self, g_optimizer, d_optimizer, jit_compile=False):
        super().compile(jit_compile=jit_compile)
        self.g_optimizer, self.d_optimizer = g_optimizer, d_optimizer
        self.g_optimizer.build(self.generator.trainable_variables)
        self.d_optimizer.build(self.discriminator.trainable_variables)

    def call(self, inputs, training=False):
        return self.generator(inputs, training=training)

    def _players_inputs(self, batch):
        z = tf.random.normal([batch, self.latent_dim])
        if self.num_classes is None:
            return z, None
        return z, tf.random.uniform([batch], 0, self.num_classes, tf.int32)

    def _generate(self, z, labels):
        inputs = z if labels is None else [z, labels]
        return tf.cast(self.generator(inputs, training=True), tf.float32)

    def _score(self, images, labels):
        inputs = images if labels is None else [images, labels]
        return tf.cast(tf.reshape(self.discriminator(inputs, training=True), [-1]), tf.float32)

    def train_step(self, data):
        real, real_labels = (data if isinstance(data, (tuple, list)) else (data, None))
        real = tf.cast(real, tf.float32)
        batch = tf.shape(real)[0] // self.d_steps
        for step in range(self.d_steps):
            # Critic: generated and real images in one call.
            chunk = real[step * batch:(step + 1) * batch]
            labels = None if real_labels is None else real_labels[step * batch:(step + 1) * batch]
            z, fake_labels = self._players_inputs(batch)
            fake = self._generate(z, fake_labels)
            both_labels = None if labels is None else tf.concat([labels, fake_labels], 0)
            with tf.GradientTape() as tape:
                logits = self._score(tf.concat([chunk, fake], 0), both_labels)
                d_loss = (tf.reduce_mean(self.loss_family.real(logits[:batch]))
                          + tf.reduce_mean(self.loss_family.fake(logits[batch:])))
                if self.penalty is not None:
                    alpha = tf.random.uniform([batch])
                    d_loss += self.penalty(lambda x: self._score(x, labels), chunk, fake, alpha)
                scaled = self.d_optimizer.scale_loss(d_loss)
            variables = self.discriminator.trainable_variables
            self.d_optimizer.apply(tape.gradient(scaled, variables), variables)
        # Generator.
        z, fake_labels = self._players_inputs(batch * self.generator_batch_multiplier)
        with tf.GradientTape() as tape:
            g_loss = tf.reduce_mean(self.loss_family.generator(
                self._score(self._generate(z, fake_labels), fake_labels)))
            scaled = self.g_optimizer.scale_loss(g_loss)
        variables = self.generator.trainable_variables
        self.g_optimizer.apply(tape.gradient(scaled, variables), variables)
        return {"d_loss": d_loss, "g_loss": g_loss}


def from_robust_gan(model, jit_compile):
    """A compiled `PlainGAN` on copies of `model`'s players, losses, penalty and optimizers
    (fresh optimizers of the same configuration), so both can be timed in one process."""
    generator = keras.models.clone_model(model.generator)
    generator.set_weights(model.generator.get_weights())
    discriminator = keras.models.clone_model(model.discriminator)
    discriminator.set_weights(model.discriminator.get_weights())
    plain = PlainGAN(generator, discriminator, model.loss_family, model.penalty, model.d_steps,
                     model.generator_batch_multiplier, model.num_classes)
    plain.compile(_fresh(model.g_optimizer), _fresh(model.d_optimizer), jit_compile=jit_compile)
    return plain


def _fresh(optimizer):
    if isinstance(optimizer, keras.optimizers.LossScaleOptimizer):
        return keras.optimizers.LossScaleOptimizer(_fresh(optimizer.inner_optimizer))
    return optimizer.__class__.from_config(optimizer.get_config())
