"""The reproduction kit: the Robust GAN paper's experiments as plans of runs, trained, evaluated
with the one evaluation protocol (`rgan_tf.assess.evaluate_run`, what `tools/evaluate.py` does)
and summarised beside the paper's numbers.

* `paper`: the paper's numbers and hyperparameters, kept once.
* `plans`: scales, runs and the runs each experiment needs (model families as gin files).
* `reproduce`: train, evaluate, summarise (`tools/reproduce.py`); `tables` and `plots` write the
  outputs.
* `zoo`: the table of every shipped config beside the paper's row (`tools/config_table.py`).
"""
