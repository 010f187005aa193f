"""Floating-point operations of a traced TensorFlow function, counted from its graph.

Counts the multiply-adds of the ops that carry nearly all of a GAN step's work - matrix
products and 2-D convolutions, forward and backward - as 2 FLOPs each, from the static shapes
in the graph. Element-wise ops, reductions, pooling and the optimizer's updates are not
counted (they are memory-bound and a small share of the arithmetic), so the count is a lower
bound, comparable with a matmul peak. Trace with fully known shapes (a concrete batch).

Per op (N batch, Ho x Wo output map, Co/Ci output/input channels, kh x kw kernel):
  MatMul [M, K] x [K, N]                   2 M N K
  BatchMatMulV2/V3 [..., M, K] x [..., K, N]  2 (batch) M N K
  Conv2D, Conv2DBackpropInput, Conv2DBackpropFilter
                                           2 N Ho Wo Co kh kw Ci (the forward pass's product;
                                           each backward op costs as much as the forward)
"""
import math

import tensorflow as tf

COUNTED_OPS = ("MatMul", "BatchMatMulV2", "BatchMatMulV3", "Conv2D", "Conv2DBackpropInput",
               "Conv2DBackpropFilter")
# Ops that run other graphs.
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")
_BRANCH_OPS = ("If", "StatelessIf")
_LOOP_OPS = ("While", "StatelessWhile", "Case")


def _dims(tensor, op):
    shape = tensor.shape
    if shape.rank is None or any(d is None for d in shape.as_list()):
        raise ValueError(f"Op {op.name} ({op.type}) has a tensor of unknown shape {shape}: "
                         "trace the function with fully known shapes to count its FLOPs.")
    return shape.as_list()


def _channels_last(op):
    data_format = op.get_attr("data_format")
    return (data_format.decode() if isinstance(data_format, bytes) else data_format) == "NHWC"


def _conv_flops(output_map, kernel, op):
    """2 x N x Ho x Wo x Co x kh x kw x Ci, with `output_map` the forward output's shape."""
    if not _channels_last(op):
        output_map = [output_map[0], output_map[2], output_map[3], output_map[1]]
    kh, kw, ci, _ = kernel
    return 2 * math.prod(output_map) * kh * kw * ci


def op_flops(op):
    """FLOPs of one graph op (0 for ops that are not counted, see the module docstring)."""
    if op.type == "MatMul":
        a, b = _dims(op.inputs[0], op), _dims(op.inputs[1], op)
        m = a[1] if op.get_attr("transpose_a") else a[0]
        k = a[0] if op.get_attr("transpose_a") else a[1]
        n = b[0] if op.get_attr("transpose_b") else b[1]
        return 2 * m * n * k
    if op.type in ("BatchMatMulV2", "BatchMatMulV3"):
        out = _dims(op.outputs[0], op)
        a = _dims(op.inputs[0], op)
        k = a[-2] if op.get_attr("adj_x") else a[-1]
        return 2 * math.prod(out) * k
    if op.type == "Conv2D":
        return _conv_flops(_dims(op.outputs[0], op), _dims(op.inputs[1], op), op)
    if op.type == "Conv2DBackpropInput":  # (input_sizes, filter, out_backprop)
        return _conv_flops(_dims(op.inputs[2], op), _dims(op.inputs[1], op), op)
    if op.type == "Conv2DBackpropFilter":  # (input, filter_sizes, out_backprop) -> filter grad
        return _conv_flops(_dims(op.inputs[2], op), _dims(op.outputs[0], op), op)
    return 0


def live_ops(graph):
    """The ops of `graph` that run: those its outputs, control outputs or stateful ops (variable
    updates) depend on. Gradient code also builds ops nobody uses (e.g. the input gradient of a
    first layer), which TensorFlow prunes before running the graph."""
    seeds = [tensor.op for tensor in getattr(graph, "outputs", [])]
    seeds += list(getattr(graph, "control_outputs", []))
    seeds += [op for op in graph.get_operations() if op._is_stateful]  # noqa: SLF001
    live, stack = set(), list(seeds)
    while stack:
        op = stack.pop()
        if op in live:
            continue
        live.add(op)
        stack.extend(tensor.op for tensor in op.inputs)
        stack.extend(op.control_inputs)
    return [op for op in graph.get_operations() if op in live]


def _branch_graph(op, attribute):
    return op.graph._get_function(op.get_attr(attribute).name).graph  # noqa: SLF001


def graph_flops(graph):
    """Total counted FLOPs of the live ops (`live_ops`) of `graph` (a concrete function's graph).

    A nested function call is counted in full; a conditional (`tf.cond`) counts its cheaper
    branch, so that the total stays a lower bound (e.g. a fallback that rarely runs).

    Raises:
      ValueError: a counted op has an unknown shape, or the graph runs a loop, whose trip count
        the count cannot know.
    """
    total = 0
    for op in live_ops(graph):
        if op.type in _BRANCH_OPS:
            total += min(graph_flops(_branch_graph(op, "then_branch")),
                         graph_flops(_branch_graph(op, "else_branch")))
        elif op.type in _CALL_OPS:
            total += graph_flops(_branch_graph(op, "f"))
        elif op.type in _LOOP_OPS:
            raise ValueError(f"Op {op.name} ({op.type}) runs a loop; its FLOPs cannot be "
                             "counted. Count a function without loops.")
        else:
            total += op_flops(op)
    return total


def function_flops(function, *args):
    """FLOPs of one call of `function(*args)`, traced with the arguments' exact shapes."""
    specs = [tf.TensorSpec(tf.convert_to_tensor(a).shape, tf.convert_to_tensor(a).dtype)
             for a in args]
    return graph_flops(tf.function(function).get_concrete_function(*specs).graph)
