"""The package's architecture, read from its source with `ast` (nothing is imported):

* no import cycle among rgan_tf's modules (imports inside functions counted), and the packages
  (core, data, evaluation, run, training, config, export, ..., study) depend on each other in one
  direction only (`LAYERS`);
* no import inside a function body, except optional heavy dependencies (`LAZY_IMPORTS`), each
  with a comment on its line saying so;
* no module over `MAX_LINES` lines;
* the run folder's file names are defined in `rgan_tf/run/layout.py` only;
* global gin state (parsing, querying, the operative config) is touched only by the modules that
  own it (`GIN_STATE_OWNERS`); everywhere else gin only decorates or registers;
* `tools/` launchers are thin: no `sys.path` edits, one `rgan_tf.cli` module each;
* the small-scale study families are `.gin` files, not strings of bindings in Python.

`python tests/test_architecture_rules.py [root]` prints the module sizes, the cycles and every
violation of a tree (e.g. an older checkout) without failing.
"""
import ast
import os
import re
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "rgan_tf"
MAX_LINES = 400

# Modules that may import these inside a function (heavy, optional at import time), with a
# comment on the import's line. Everything else is imported at the top of its module.
LAZY_IMPORTS = ("matplotlib", "sklearn", "tensorflow_datasets", "tensorflow_hub", "scipy")

# Packages (or top-level modules) from the bottom up: each may import only itself and those
# before it. Unlisted top-level modules are the core (`CORE`); the package's own `__init__`
# (the public API) sits on top.
CORE = "core"
LAYERS = (CORE, "architectures", "data", "evaluation", "figures", "run", "training", "config",
          "benchmark", "export", "samples", "assess", "study", "cli", "api")

# Modules that may read or change gin's global config (parse, query, operative config); the
# rest of the package uses gin only for `configurable`, `register`, `external_configurable` and
# `REQUIRED`. `rgan_tf.run.operative_config` parses config text with `gin.config_parser` and looks
# up configurables' defaults in gin's registry (signatures, not bindings).
GIN_STATE_OWNERS = {"rgan_tf.config", "rgan_tf.training"}
GIN_DECLARATIVE = {"configurable", "register", "external_configurable", "REQUIRED", "constant"}
GIN_REGISTRY_READERS = {"rgan_tf.run.operative_config"}

# The run folder's names, defined once in rgan_tf/run/layout.py.
LAYOUT_MODULE = "rgan_tf.run.layout"
RUN_FOLDER_NAMES = {"operative_config.gin", "checkpoints", "samples", "logs", "metrics.jsonl",
                    "metrics.png", "done.json", "latest.png", "assets.extra",
                    "rgan_tf_export.json", "train.lock", "compile_mode.json"}
# A path-like string (no spaces: not a message) ending in one of the run folder's file names.
_FILE_NAME = re.compile(r"^[\w./{}-]*(operative_config\.gin|metrics\.jsonl|metrics\.png|"
                        r"done\.json|rgan_tf_export\.json|train\.lock|compile_mode\.json)$")


# ---------------------------------------------------------------------------------------------
# Reading the tree.


def package_modules(root=REPO):
    """`{module name: path}` of every module of the package under `root`."""
    modules = {}
    base = os.path.join(root, PACKAGE)
    for folder, dirs, files in os.walk(base):
        dirs[:] = sorted(d for d in dirs if not d.startswith((".", "__")))
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            parts = os.path.relpath(path, root)[:-3].split(os.sep)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


def _parse(path):
    with open(path, encoding="utf-8") as handle:
        return ast.parse(handle.read(), path)


def _is_package(name, modules, root):
    return os.path.basename(modules.get(name, "")) == "__init__.py"


def _imported_modules(node, module, modules, root):
    """Package modules an `import` / `from ... import` statement in `module` loads."""
    targets = []
    if isinstance(node, ast.Import):
        targets = [alias.name for alias in node.names]
    elif isinstance(node, ast.ImportFrom):
        if node.level:
            base = module if _is_package(module, modules, root) else module.rpartition(".")[0]
            for _ in range(node.level - 1):
                base = base.rpartition(".")[0]
            source = f"{base}.{node.module}" if node.module else base
        else:
            source = node.module or ""
        targets = [source] + [f"{source}.{alias.name}" for alias in node.names]
    found = set()
    for target in targets:
        parts = target.split(".")
        if parts[0] != PACKAGE:
            continue
        # Importing a.b.c runs a.b's __init__ too (but not the root's: it is already running).
        for end in range(2, len(parts) + 1):
            name = ".".join(parts[:end])
            if name in modules and not module.startswith(name + ".") and name != module:
                found.add(name)
    return found


def import_graph(root=REPO, top_level_only=False):
    """`{module: {modules it imports}}`; with `top_level_only`, imports inside functions are
    left out."""
    modules = package_modules(root)
    graph = {}
    for module, path in modules.items():
        tree = _parse(path)
        nodes = tree.body if top_level_only else ast.walk(tree)
        edges = set()
        for node in nodes:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                edges |= _imported_modules(node, module, modules, root)
        graph[module] = edges
    return graph


def strongly_connected(graph):
    """Tarjan's strongly connected components with more than one member, or a self-loop."""
    index, low, stack, on_stack, components = {}, {}, [], set(), []
    counter = [0]

    def visit(node):
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph.get(node, ())):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                components.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10000))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def simple_cycles(graph, limit=100000):
    """Every elementary cycle (as a list of modules, smallest first), up to `limit`."""
    order = {node: position for position, node in enumerate(sorted(graph))}
    cycles = []

    def extend(start, path, visited):
        for other in sorted(graph.get(path[-1], ())):
            if other == start:
                cycles.append(list(path))
            elif order.get(other, -1) > order[start] and other not in visited:
                if len(cycles) < limit:
                    visited.add(other)
                    path.append(other)
                    extend(start, path, visited)
                    path.pop()
                    visited.discard(other)

    for node in sorted(graph):
        extend(node, [node], {node})
    return cycles


def layer_of(module):
    """The `LAYERS` entry a module belongs to."""
    parts = module.split(".")
    if len(parts) == 1:
        return "api"
    return parts[1] if parts[1] in LAYERS else CORE


def layer_violations(graph):
    """`module -> imported` edges that point to a higher layer."""
    bad = []
    for module, imported in sorted(graph.items()):
        for other in sorted(imported):
            if LAYERS.index(layer_of(other)) > LAYERS.index(layer_of(module)):
                bad.append(f"{module} -> {other} ({layer_of(module)} imports "
                           f"{layer_of(other)})")
    return bad


def _function_bodies(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            yield node


def inline_imports(root=REPO):
    """`path:line: statement` of every import inside a function that is not an allowed, commented
    lazy import of a heavy optional dependency."""
    bad = []
    for module, path in package_modules(root).items():
        tree = _parse(path)
        with open(path, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        seen = set()
        for function in _function_bodies(tree):
            for node in ast.walk(function):
                if not isinstance(node, (ast.Import, ast.ImportFrom)) or id(node) in seen:
                    continue
                seen.add(id(node))
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""])
                heavy = all(name.split(".")[0] in LAZY_IMPORTS for name in names) and not (
                    isinstance(node, ast.ImportFrom) and node.level)
                commented = "#" in lines[node.lineno - 1]
                if not (heavy and commented):
                    bad.append(f"{os.path.relpath(path, root)}:{node.lineno}: "
                               f"{lines[node.lineno - 1].strip()}")
    return bad


def module_sizes(root=REPO):
    """`{module: number of lines}`."""
    sizes = {}
    for module, path in package_modules(root).items():
        with open(path, encoding="utf-8") as handle:
            sizes[module] = len(handle.read().splitlines())
    return sizes


def _docstring_nodes(tree):
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(
                    body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
                yield body[0].value


def run_folder_names_outside_layout(root=REPO):
    """String constants (not docstrings or messages) naming a run-folder file outside
    `LAYOUT_MODULE`."""
    bad = []
    for module, path in package_modules(root).items():
        if module == LAYOUT_MODULE:
            continue
        tree = _parse(path)
        docstrings = {id(node) for node in _docstring_nodes(tree)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and (
                    id(node) not in docstrings):
                text = node.value
                if text in RUN_FOLDER_NAMES or _FILE_NAME.match(text):
                    bad.append(f"{os.path.relpath(path, root)}:{node.lineno}: {text!r}")
    return bad


def gin_state_uses(root=REPO):
    """`path:line: gin.<name>` uses of gin's global state outside `GIN_STATE_OWNERS`."""
    bad = []
    for module, path in package_modules(root).items():
        if module in GIN_STATE_OWNERS:
            continue
        tree = _parse(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                    node.value.id == "gin") and node.attr not in GIN_DECLARATIVE:
                bad.append(f"{os.path.relpath(path, root)}:{node.lineno}: gin.{node.attr}")
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith(
                    "gin") and module not in GIN_REGISTRY_READERS:
                bad.append(f"{os.path.relpath(path, root)}:{node.lineno}: from {node.module} "
                           "import ...")
    return bad


def tool_problems(root=REPO):
    """`tools/*.py` that edit `sys.path` or hold more than a call into `rgan_tf.cli`."""
    bad = []
    folder = os.path.join(root, "tools")
    for name in sorted(os.listdir(folder)):
        if not name.endswith(".py"):
            continue
        path = os.path.join(folder, name)
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
        tree = ast.parse(text, path)
        if "sys.path" in text:
            bad.append(f"tools/{name}: edits sys.path")
        defined = [node.name for node in tree.body
                   if isinstance(node, (ast.FunctionDef, ast.ClassDef))]
        if defined:
            bad.append(f"tools/{name}: defines {', '.join(defined)} (logic belongs in rgan_tf)")
        imports = [node for node in tree.body if isinstance(node, (ast.Import, ast.ImportFrom))]
        if [getattr(node, "module", None) for node in imports] != ["rgan_tf.cli"]:
            bad.append(f"tools/{name}: imports other than `from rgan_tf.cli import <tool>`")
    return bad


def binding_strings(root=REPO):
    """String constants in the package that look like gin bindings of a model family
    (`build_model.build_generator = ...`, `RobustGAN.loss = ...`)."""
    pattern = re.compile(r"^\s*(build_model\.build_(generator|discriminator)|RobustGAN\.(loss|"
                         r"penalty|d_steps)|\w+_(generator|discriminator)\.\w+)\s*=")
    bad = []
    for module, path in package_modules(root).items():
        tree = _parse(path)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and pattern.match(
                    node.value):
                bad.append(f"{os.path.relpath(path, root)}:{node.lineno}: {node.value!r}")
    return bad


# ---------------------------------------------------------------------------------------------
# The rules.


def test_no_import_cycle_among_the_package_modules():
    graph = import_graph()
    assert strongly_connected(graph) == [], simple_cycles(graph, limit=20)


def test_packages_depend_on_lower_layers_only():
    assert layer_violations(import_graph()) == []


def test_no_import_inside_a_function_except_commented_heavy_optional_dependencies():
    assert inline_imports() == []


def test_no_module_over_the_size_limit():
    sizes = module_sizes()
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}


def test_run_folder_names_are_defined_in_the_layout_module_only():
    assert run_folder_names_outside_layout() == []


def test_global_gin_state_is_touched_only_by_its_owners():
    assert gin_state_uses() == []


def test_tools_are_thin_launchers_of_rgan_tf_cli():
    assert tool_problems() == []


def test_model_families_are_gin_files_not_strings():
    assert binding_strings() == []


def test_the_rules_see_a_cycle_an_inline_import_and_a_stray_file_name(tmp_path):
    """The checks above are not vacuous: a tree with one of each violation is caught."""
    package = tmp_path / PACKAGE
    (package / "sub").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "sub" / "__init__.py").write_text("")
    (package / "a.py").write_text("from rgan_tf import b\n")
    (package / "b.py").write_text("def f():\n    from rgan_tf.sub import c\n    return c\n")
    (package / "sub" / "c.py").write_text("import rgan_tf.a\nNAME = 'metrics.jsonl'\n"
                                          "def g():\n    import sklearn  # heavy, optional\n")
    graph = import_graph(str(tmp_path))
    assert strongly_connected(graph) == [["rgan_tf.a", "rgan_tf.b", "rgan_tf.sub.c"]]
    assert strongly_connected(import_graph(str(tmp_path), top_level_only=True)) == []
    assert len(simple_cycles(graph)) == 1
    assert [line.split(": ")[1] for line in inline_imports(str(tmp_path))] == [
        "from rgan_tf.sub import c"]
    assert len(run_folder_names_outside_layout(str(tmp_path))) == 1


def report(root=REPO):
    """Sizes, cycles and violations of the tree at `root`, as text."""
    sizes = module_sizes(root)
    graph = import_graph(root)
    components = strongly_connected(graph)
    lines = [f"modules: {len(sizes)}, lines: {sum(sizes.values())}, over {MAX_LINES}: "
             f"{sum(1 for v in sizes.values() if v > MAX_LINES)}"]
    lines += [f"  {lines_:5d} {name}" for name, lines_ in sorted(sizes.items(),
                                                                  key=lambda item: -item[1])]
    cycles = simple_cycles(graph)
    top_cycles = simple_cycles(import_graph(root, top_level_only=True))
    lines.append(f"import cycles (elementary, all imports): {len(cycles)}; strongly connected "
                 f"components: {len(components)}; cycles of top-level imports only: "
                 f"{len(top_cycles)}")
    lines += [f"  SCC: {' '.join(c)}" for c in components]
    lines += [f"  cycle: {' -> '.join(c + c[:1])}" for c in sorted(cycles, key=len)[:15]]
    for title, found in (("inline imports", inline_imports(root)),
                         ("run-folder names outside the layout", run_folder_names_outside_layout(
                             root)),
                         ("global gin state", gin_state_uses(root)),
                         ("layer violations", layer_violations(graph)),
                         ("binding strings", binding_strings(root))):
        lines.append(f"{title}: {len(found)}")
        lines += [f"  {item}" for item in found[:40]]
    if os.path.isdir(os.path.join(root, "tools")):
        found = tool_problems(root)
        lines.append(f"tool problems: {len(found)}")
        lines += [f"  {item}" for item in found]
    return "\n".join(lines)


if __name__ == "__main__":
    print(report(sys.argv[1] if len(sys.argv) > 1 else REPO))
