"""FLOPs counted from a traced graph equal a hand count of the model's matmuls and convolutions,
forward and backward, and a graph the count cannot see into is refused."""
import keras
import pytest
import tensorflow as tf

from rgan_tf import flops

B = 4


def _model():
    image = keras.Input((8, 8, 2))
    h = keras.layers.Conv2D(3, 3, 2, padding="same")(image)          # -> 4x4x3
    h = keras.layers.Conv2DTranspose(5, 3, 2, padding="same")(h)     # -> 8x8x5
    h = keras.layers.Flatten()(h)                                    # 320
    return keras.Model(image, keras.layers.Dense(7)(h))


# Hand count, 2 FLOPs per multiply-add:
CONV = 2 * (B * 4 * 4 * 3) * (3 * 3 * 2)        # output elements x kernel taps x in-channels
TRANSPOSE = 2 * (B * 4 * 4 * 3) * (3 * 3 * 5)   # the input gradient of a conv 8x8x5 -> 4x4x3
DENSE = 2 * B * 320 * 7


def test_forward_pass():
    model = _model()
    x = tf.zeros((B, 8, 8, 2))
    assert flops.function_flops(lambda x: model(x), x) == CONV + TRANSPOSE + DENSE


def test_forward_and_backward_pass_costs_three_forward_passes_but_the_first_input_gradient():
    model = _model()

    def step(x):
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(model(x))
        return loss, tape.gradient(loss, model.trainable_variables)

    # Backward: a weight gradient for every layer, an input gradient for all but the first
    # (its op is in the graph, unused; TensorFlow prunes it, and so does the count).
    expected = 3 * (CONV + TRANSPOSE + DENSE) - CONV
    assert flops.function_flops(step, tf.zeros((B, 8, 8, 2))) == expected

    def step_with_input_gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(model(x))
        return loss, tape.gradient(loss, [x] + model.trainable_variables)

    assert flops.function_flops(step_with_input_gradient, tf.zeros((B, 8, 8, 2))) == \
        3 * (CONV + TRANSPOSE + DENSE)


def test_matmul_with_transposes():
    a, b = tf.zeros((6, 4)), tf.zeros((5, 6))
    assert flops.function_flops(lambda a, b: tf.matmul(a, b, transpose_a=True,
                                                       transpose_b=True), a, b) == 2 * 4 * 5 * 6


def test_nested_calls_count_in_full_and_conditionals_their_cheaper_branch():
    inner = tf.function(lambda x: tf.matmul(x, x))
    assert flops.function_flops(lambda x: inner(x) + 1.0, tf.zeros((3, 3))) == 2 * 27
    cheap_or_dear = lambda x: tf.cond(tf.reduce_sum(x) > 0,  # noqa: E731
                                      lambda: tf.matmul(x, x), lambda: tf.matmul(x[:1], x))
    assert flops.function_flops(cheap_or_dear, tf.zeros((3, 3))) == 2 * 9


def test_loops_and_unknown_shapes_are_refused():
    looped = lambda x: tf.while_loop(lambda i, y: i < 3,  # noqa: E731
                                     lambda i, y: (i + 1, tf.matmul(y, y)), (0, x))[1]
    with pytest.raises(ValueError, match="runs a loop"):
        flops.function_flops(looped, tf.zeros((3, 3)))
    graph = tf.function(lambda x: tf.matmul(x, x)).get_concrete_function(
        tf.TensorSpec([None, 3])).graph
    with pytest.raises(ValueError, match="unknown shape"):
        flops.graph_flops(graph)
