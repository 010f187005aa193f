"""Checkpoints of a run: both players, both optimizers and the step counter.

The step counter is the generator optimizer's `iterations`; with the counter-based randomness of
`rgan_tf.rng` and a data order fixed by the seed, it is all the state a resume needs.
"""
import os

import tensorflow as tf


def build_checkpoint(model):
    """The `tf.train.Checkpoint` of a compiled `RobustGAN`: players and optimizers."""
    return tf.train.Checkpoint(generator=model.generator, discriminator=model.discriminator,
                               g_optimizer=model.g_optimizer, d_optimizer=model.d_optimizer)


class RunCheckpoints:
    """The checkpoints of one run folder (`<model_dir>/checkpoints`)."""

    def __init__(self, model, directory, max_to_keep=3):
        self.model = model
        self.checkpoint = build_checkpoint(model)
        self.manager = tf.train.CheckpointManager(self.checkpoint, directory,
                                                  max_to_keep=max_to_keep)

    @property
    def latest(self):
        return self.manager.latest_checkpoint

    def step(self):
        return int(self.model.g_optimizer.iterations.numpy())

    def restore_latest(self):
        """Restores the newest checkpoint, if any; returns the step reached (0 for a new run)."""
        if self.latest:
            self.checkpoint.restore(self.latest).assert_existing_objects_matched()
            print(f"Resumed from {self.latest} (step {self.step()}).")
        return self.step()

    def save(self):
        """Writes a checkpoint named for the current step, unless it exists; returns its path."""
        step = self.step()
        if self.latest != os.path.join(self.manager.directory, f"ckpt-{step}"):
            self.manager.save(checkpoint_number=step)
        return self.latest
