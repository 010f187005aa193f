"""The run folder (`model_dir`) and everything that reads or writes it while a run trains.

* `layout`: the folder's file names and paths, defined once.
* `operative_config`: the saved gin config: read back (`read_run_config`), compared with a new
  run's before resuming (`check_same_run`).
* `checkpoints`: writing, verifying and restoring checkpoints (`RunCheckpoints`).
* `callbacks`: the trainer's Keras callbacks (checkpoints, sample grids, TensorBoard scalars);
  `metrics_callback`: IS/FID, robustness and the discriminator's gap during training.
"""
