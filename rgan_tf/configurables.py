"""Registers the Keras objects that gin configs name (gin only knows them via `tf.keras`).

Optimizers are bound per player with scopes:
    train.g_optimizer = @generator/keras.optimizers.Adam
    generator/keras.optimizers.Adam.learning_rate = 2e-4
"""
import gin
import keras

for _optimizer in (keras.optimizers.Adam, keras.optimizers.RMSprop, keras.optimizers.SGD,
                   keras.optimizers.LossScaleOptimizer):
    gin.external_configurable(_optimizer, module="keras.optimizers")

gin.external_configurable(keras.optimizers.schedules.PolynomialDecay,
                          module="keras.optimizers.schedules")
