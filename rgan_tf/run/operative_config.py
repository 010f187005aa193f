"""A run's operative gin config: read back as values, and compared with a new run's before the
folder is resumed.

`read_run_config` gives the bindings a run folder (or an export) was trained with, as Python values;
`run_data_settings` the part that says which real data the run saw. `check_same_run` refuses to
resume a folder whose checkpoints belong to another configuration, ignoring the bindings that only
steer a run (`RUN_CONTROL_BINDINGS`).

Parameters a config does not list are compared with the configurable's default, looked up in gin's
registry of configurables (signatures, not bindings: no global binding is read here).
"""
import ast
import inspect
import os

from gin import config as gin_config
from gin import config_parser

from rgan_tf.run import checkpoints as checkpoints_lib
from rgan_tf.run import layout

#: Bindings that may change between the runs that share a folder: they steer the run, not the
#: model, its training maths or its data.
RUN_CONTROL_BINDINGS = frozenset({
    "train.steps", "train.verbose", "train.checkpoint_every", "train.checkpoint_every_secs",
    "train.sample_every",
    "train.keep_checkpoints", "train.strategy", "train.resume_despite_changes",
    "train.callbacks",
    "build_model.jit_compile",
    "RobustGAN.sampling",  # how images are made outside training, not how the model trains
})
# Whole configurables that only observe a run (evaluation during training).
RUN_CONTROL_PREFIXES = ("MetricsCallback.",)


class RunMismatchError(ValueError):
    """The run folder holds checkpoints of a different model or configuration."""


class _TextDelegate(config_parser.ParserDelegate):
    """Keeps configurable references and macros as their text, for comparing configs."""

    def configurable_reference(self, scoped_name, evaluate):
        return _Text(f"@{scoped_name}{'()' if evaluate else ''}")

    def macro(self, macro_name):
        return _Text(f"%{macro_name}")


class _Text(str):
    def __repr__(self):
        return str(self)


def _default_text(name):
    """The default value (as `parse_bindings` writes it) of the parameter `scope/selector.param`
    of a registered configurable, or None if it has none or cannot be looked up."""
    selector, _, param = name.rpartition("/")[2].rpartition(".")
    try:
        # gin has no public lookup of a configurable by name; a failure only means "unknown".
        configurable = gin_config._REGISTRY.get_match(selector)  # pylint: disable=protected-access
        target = configurable.wrapped
        target = target.__init__ if inspect.isclass(target) else target
        default = inspect.signature(target).parameters[param].default
    except Exception:  # noqa: BLE001
        return None
    if default is inspect.Parameter.empty:
        return None
    try:
        return parse_bindings(f"{selector}.{param} = {default!r}")[f"{selector}.{param}"]
    except Exception:  # noqa: BLE001  (a default gin cannot write, e.g. an object)
        return None


def parse_bindings(config_text):
    """`{"scope/selector.param": value text}` of a gin config text (e.g. an operative config)."""
    bindings = {}
    for statement in config_parser.ConfigParser(config_text, _TextDelegate()):
        if isinstance(statement, config_parser.BindingStatement):
            scope = f"{statement.scope}/" if statement.scope else ""
            # Operative configs name configurables by their shortest unique selector; keep the
            # last dotted part so "rgan_tf.training.train" and "train" compare equal.
            selector = statement.selector.split(".")[-1]
            bindings[f"{scope}{selector}.{statement.arg_name}"] = repr(statement.value)
    return bindings


def config_differences(saved_text, current_text, ignore=RUN_CONTROL_BINDINGS):
    """Lines `name: saved -> current` for every binding that differs between two configs.

    A parameter only one side lists counts as a difference unless its value there is the
    configurable's default: a parameter added to the library since the run was saved leaves the
    run's behaviour as it was as long as it keeps its default.
    """
    saved, current = parse_bindings(saved_text), parse_bindings(current_text)
    lines = []
    for name in sorted(set(saved) | set(current)):
        if name in ignore or name.startswith(RUN_CONTROL_PREFIXES):
            continue
        before, after = saved.get(name, "(not set)"), current.get(name, "(not set)")
        if (name in saved) != (name in current):
            if _default_text(name) == (after if name in current else before):
                continue
        if before != after:
            lines.append(f"{name}: {before} (saved) -> {after} (now)")
    return lines


def check_same_run(model_dir, operative_config):
    """Refuses a run folder whose checkpoints belong to a different configuration.

    Compares the folder's saved operative config with this run's, ignoring the bindings that
    only steer the run (`RUN_CONTROL_BINDINGS`: steps, checkpoint and sample frequency, ...).
    Reads only: nothing in the folder is written or removed.

    Raises:
      RunMismatchError: the folder has checkpoints and its config differs (the message lists
        every differing binding).
    """
    if not checkpoints_lib.list_checkpoints(layout.checkpoint_dir(model_dir)):
        return
    path = layout.operative_config(model_dir)
    if not os.path.isfile(path):
        return  # nothing to compare with: restoring checks that the variables fit.
    with open(path) as saved:
        saved_text = saved.read()
    try:
        differences = config_differences(saved_text, operative_config)
    except (SyntaxError, ValueError) as error:
        raise RunMismatchError(f"{path} cannot be parsed ({error}); cannot tell whether the "
                               "checkpoints in this folder are this model's.") from error
    if differences:
        raise RunMismatchError(
            f"{model_dir} holds checkpoints of a different run configuration; refusing to resume "
            "or overwrite them. Use a new --model_dir or the saved settings (or bind "
            "train.resume_despite_changes=True to resume with the new ones). Differences:\n  "
            + "\n  ".join(differences))


def read_run_config(path):
    """The bindings of an operative config (a run folder, an export, or the file itself).

    Returns:
      `{"selector.param": value}` with Python literals evaluated (strings, numbers, None, lists)
      and references (`@non_saturating_loss()`) kept as their text.

    Raises:
      ValueError: there is no operative config at `path`.
    """
    config = next((c for c in layout.operative_config_candidates(path) if os.path.isfile(c)),
                  None)
    if config is None:
        raise ValueError(f"No {layout.OPERATIVE_CONFIG} at {path} (a run folder or an export "
                         "holds one).")
    with open(config, encoding="utf-8") as handle:
        bindings = parse_bindings(handle.read())
    values = {}
    for name, text in bindings.items():
        try:
            values[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values[name] = text
    return values


def setting(run_config, name):
    """The value of `name` (e.g. "RobustGAN.eps_z") in a run's config (`read_run_config`), else
    the registered configurable's default; None if neither is known."""
    if name in run_config:
        return run_config[name]
    text = _default_text(name)
    if text is None:
        return None
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


#: `dataset` arguments that change what a split holds (besides the source and the image size).
DATA_ARGUMENTS = ("holdout", "data_dir", "shuffle_buffer")


def run_data_settings(config):
    """`(source, image_size, data_kwargs)` of a run's training data, from `read_run_config`:
    the arguments to read the same real data with `rgan_tf.data.pipeline.dataset`."""
    source = config.get("dataset.source", "digits")
    data_kwargs = {name: config[f"dataset.{name}"] for name in DATA_ARGUMENTS
                   if config.get(f"dataset.{name}") is not None}
    return source, config.get("dataset.image_size"), data_kwargs
