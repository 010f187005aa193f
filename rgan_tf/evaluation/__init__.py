"""Measuring generators and discriminators: models and data in, records out (no run folders here).

* `metrics`: IS, FID and KID, TF-GAN's maths on activations (`tfgan_compat`), with the protocol
  in the record; `activations` collects them in bounded memory; `real_stats` caches the real
  side.
* `classifiers`: the injected classifier (Inception, a local copy, or a domain classifier made by
  `domain_classifiers`).
* `noise`: the inputs: normal, worst-case and random-direction noise, worst-case images, drawn
  from `rgan_tf.rng` streams in the model's norm.
* `measures`: the protocol every caller uses (`evaluate_model`, `discriminator_generalization`);
  `resources`: what an evaluation costs; `embedding`: the point sets of the t-SNE figure.
"""
