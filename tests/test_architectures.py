"""The architecture builders: shapes, dtypes, reference parameter counts and size checks.

Parameter counts are of *trainable* weights (batch norm's moving statistics and spectral norm's
power-iteration vector `u` are state, not parameters, in the references as here). Each expected
count is summed layer by layer from the reference architecture named beside it; a conv or linear
layer with bias contributes `k*k*in*out + out` (`in*out + out`), a batch norm `2*C` (scale and
offset), a categorical conditional batch norm `2*num_classes*C`.
"""
import keras
import numpy as np
import pytest
import tensorflow as tf

from rgan_tf import architectures
from rgan_tf.architectures import spectral_norm


def trainable_count(model):
    return int(sum(np.prod(w.shape) for w in model.trainable_weights))


def conv(k, cin, cout):
    """Parameters of a k x k convolution (or transposed convolution) with bias."""
    return k * k * cin * cout + cout


def linear(cin, cout):
    return cin * cout + cout


def bn(c):
    return 2 * c


def run_pair(generator, discriminator, batch=2, num_classes=None):
    """Generates a batch, checks the image contract and feeds it to the discriminator."""
    latent_dim = generator.inputs[0].shape[-1]
    z = tf.random.normal([batch, latent_dim], seed=1)
    labels = tf.range(batch, dtype=tf.int32) % (num_classes or 1)
    g_in = z if num_classes is None else [z, labels]
    images = generator(g_in, training=True)
    assert images.dtype == tf.float32
    assert np.all(np.abs(images.numpy()) <= 1.0)
    d_in = images if num_classes is None else [images, labels]
    logits = discriminator(d_in, training=True)
    assert logits.dtype == tf.float32
    assert logits.shape == (batch, 1)
    return images, logits


# --- DCGAN ------------------------------------------------------------------------------------

@pytest.mark.parametrize("size,base,steps", [(28, 7, 2), (32, 4, 3), (48, 6, 3), (64, 4, 4)])
def test_dcgan_layout_and_shapes(size, base, steps):
    assert architectures.dcgan.dcgan_layout(size) == (base, steps)
    g = architectures.dcgan_generator(image_size=size, channels=1, latent_dim=8, width=4)
    d = architectures.dcgan_discriminator(image_size=size, channels=1, width=4)
    assert g.inputs[0].shape[1:] == (8,)
    # The first hidden layer is base x base x width * 2^(steps - 1).
    assert g.get_layer(index=2).output.shape[1:] == (base, base, 4 * 2 ** (steps - 1))
    images, _ = run_pair(g, d)
    assert images.shape == (2, size, size, 1)


def test_dcgan_64_matches_reference_parameter_count():
    # carpedm20/DCGAN-tensorflow model.py, unconditional, 64x64x3, z_dim=100, gf_dim=df_dim=64:
    # G: linear(100, 4*4*512) g_bn0(512) deconv5(512,256) g_bn1 deconv5(256,128) g_bn2
    #    deconv5(128,64) g_bn3 deconv5(64,3) tanh; every linear/deconv with bias.
    g_ref = (linear(100, 4 * 4 * 512) + bn(512) + conv(5, 512, 256) + bn(256)
             + conv(5, 256, 128) + bn(128) + conv(5, 128, 64) + bn(64) + conv(5, 64, 3))
    # D: conv5(3,64) lrelu; conv5(64,128) d_bn1; conv5(128,256) d_bn2; conv5(256,512) d_bn3;
    #    linear(4*4*512, 1); convs with bias.
    d_ref = (conv(5, 3, 64) + conv(5, 64, 128) + bn(128) + conv(5, 128, 256) + bn(256)
             + conv(5, 256, 512) + bn(512) + linear(4 * 4 * 512, 1))
    assert (g_ref, d_ref) == (5135363, 4316545)
    assert trainable_count(architectures.dcgan_generator(image_size=64)) == g_ref
    assert trainable_count(architectures.dcgan_discriminator(image_size=64)) == d_ref


def test_dcgan_32_is_the_layer_rule_not_carpedm20s_32_pixel_network():
    # Not a reference network (the digits/mnist configs' DCGAN): carpedm20's layer rules from a
    # 4x4 base, three up-steps (widths 256, 128, 64), hand-counted from that layer list.
    g_ours = (linear(100, 4 * 4 * 256) + bn(256) + conv(5, 256, 128) + bn(128)
              + conv(5, 128, 64) + bn(64) + conv(5, 64, 3))
    d_ours = (conv(5, 3, 64) + conv(5, 64, 128) + bn(128) + conv(5, 128, 256) + bn(256)
              + linear(4 * 4 * 256, 1))
    assert trainable_count(architectures.dcgan_generator(image_size=32)) == g_ours == 1443587
    assert trainable_count(architectures.dcgan_discriminator(image_size=32)) == d_ours == 1034113
    # carpedm20/DCGAN-tensorflow model.py lines 367-396 at output_height=32: s_h16 = ceil(32/16)
    # = 2, so g_h0_lin(100, 2*2*512) g_bn0 and four deconvs 512->256->128->64->3 (2->4->8->16->32),
    # each with bias and batch norm but the last: the network dcgan.py's docstring says we do NOT
    # build at 32 pixels.
    g_carpedm20_32 = (linear(100, 2 * 2 * 512) + bn(512) + conv(5, 512, 256) + bn(256)
                      + conv(5, 256, 128) + bn(128) + conv(5, 128, 64) + bn(64) + conv(5, 64, 3))
    assert g_carpedm20_32 == 4514819 != g_ours


@pytest.mark.parametrize("size,channels,width,expected", [
    (28, 1, 64, (840321, 213121)),   # gin_configs/mnist/dcgan.gin
    (32, 1, 16, (168097, 65729)),    # gin_configs/digits/dcgan.gin (the digits study)
    (16, 1, 16, (65025, 13825)),     # gin_configs/digits/dcgan16.gin (the default job)
])
def test_dcgan_offline_configs_count_their_layer_lists(size, channels, width, expected):
    # Not reference networks: the layer rules at the configs' sizes, hand-counted. 28 and 16: a
    # 7x7 or 4x4 base, two up-steps, G linear(100, b*b*2w) BN deconv(2w -> w) BN deconv(w -> 1);
    # D conv(1 -> w) conv(w -> 2w) BN linear(b*b*2w, 1). 32: 4x4 base, three up-steps, widths
    # 4w, 2w, w.
    w = width
    if size in (28, 16):
        b = size // 4
        g = (linear(100, b * b * 2 * w) + bn(2 * w) + conv(5, 2 * w, w) + bn(w)
             + conv(5, w, channels))
        d = conv(5, channels, w) + conv(5, w, 2 * w) + bn(2 * w) + linear(b * b * 2 * w, 1)
    else:
        g = (linear(100, 4 * 4 * 4 * w) + bn(4 * w) + conv(5, 4 * w, 2 * w) + bn(2 * w)
             + conv(5, 2 * w, w) + bn(w) + conv(5, w, channels))
        d = (conv(5, channels, w) + conv(5, w, 2 * w) + bn(2 * w) + conv(5, 2 * w, 4 * w)
             + bn(4 * w) + linear(4 * 4 * 4 * w, 1))
    assert (g, d) == expected
    assert trainable_count(architectures.dcgan_generator(
        image_size=size, channels=channels, width=width)) == g
    assert trainable_count(architectures.dcgan_discriminator(
        image_size=size, channels=channels, width=width)) == d


def test_dcgan_initializers_are_carpedm20s():
    # ops.py: conv2d weights truncated_normal(stddev=0.02) (lines 56-57), deconv2d and linear
    # random_normal(stddev=0.02) (lines 70-71, 98-99), biases 0.
    keras.utils.set_random_seed(0)
    g = architectures.dcgan_generator(image_size=64)
    d = architectures.dcgan_discriminator(image_size=64)
    convs = [layer for layer in d.layers if isinstance(layer, keras.layers.Conv2D)]
    deconvs = [layer for layer in g.layers if isinstance(layer, keras.layers.Conv2DTranspose)]
    assert len(convs) == len(deconvs) == 4
    for layer in convs:  # truncated at two standard deviations (std of the truncated law 0.0176)
        kernel = layer.kernel.numpy()
        assert np.abs(kernel).max() <= 0.04 and 0.0170 < kernel.std() < 0.0182
    for layer in deconvs[:3]:  # a plain normal: beyond 2 sigma about 4.6% of the time
        kernel = layer.kernel.numpy()
        assert np.mean(np.abs(kernel) > 0.04) > 0.04 and 0.0195 < kernel.std() < 0.0205
    assert all(float(np.abs(layer.bias.numpy()).max()) == 0.0 for layer in convs + deconvs)


@pytest.mark.parametrize("size", [0, 7, 8 * 9, 18, 36, 100, -32, 32.0, None])
def test_dcgan_rejects_sizes_it_cannot_take(size):
    for builder in (architectures.dcgan_generator, architectures.dcgan_discriminator):
        with pytest.raises(ValueError, match="image_size"):
            builder(image_size=size)


def test_dcgan_rejects_labels_and_bad_widths():
    with pytest.raises(ValueError, match="unconditional"):
        architectures.dcgan_generator(num_classes=10)
    with pytest.raises(ValueError, match="unconditional"):
        architectures.dcgan_discriminator(num_classes=10)
    with pytest.raises(ValueError, match="width"):
        architectures.dcgan_generator(width=0)


def test_dcgan_layer_norm_critic_is_per_sample_with_batch_norms_parameter_count():
    # WGAN-GP's DCGAN critic (gan_64x64.py) swaps batch norm for layer norm over C, H, W with a
    # per-channel scale and offset: 2*C parameters, as batch norm, and no coupling of samples.
    batch = architectures.dcgan_discriminator(image_size=64)
    layer = architectures.dcgan_discriminator(image_size=64, normalization="layer")
    assert trainable_count(layer) == trainable_count(batch) == 4316545
    images = tf.random.uniform([4, 64, 64, 3], -1.0, 1.0, seed=3)
    alone = layer(images[:1], training=True).numpy()
    together = layer(images, training=True).numpy()[:1]
    np.testing.assert_allclose(alone, together, rtol=1e-4, atol=1e-5)
    coupled = batch(images, training=True).numpy()[:1] - batch(images[:2], training=True).numpy()[:1]
    assert np.abs(coupled).max() > 1e-4  # batch norm: a sample's logit depends on its batch
    with pytest.raises(ValueError, match="normalization"):
        architectures.dcgan_discriminator(normalization="instance")


# --- WGAN-GP CNN ------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 48])
def test_wgan_gp_cnn_shapes(size):
    g = architectures.wgan_gp_cnn_generator(latent_dim=8, dim=4, image_size=size)
    d = architectures.wgan_gp_cnn_discriminator(dim=4, image_size=size)
    images, _ = run_pair(g, d)
    assert images.shape == (2, size, size, 3)


@pytest.mark.parametrize("size,base", [(32, 4), (48, 6)])
def test_wgan_gp_cnn_matches_reference_parameter_count(size, base):
    # igul222/improved_wgan_training gan_cifar.py, DIM=128, noise 128 (48x48: the same layers
    # from a 6x6 base, the STL-10 configs):
    # G: Linear(128, 4*4*4*DIM) Batchnorm([0]) - per unit of the linear output, 2*8192 -
    #    Deconv2D(5, 4D, 2D) BN Deconv2D(5, 2D, D) BN Deconv2D(5, D, 3) tanh; tflib adds biases.
    dim = 128
    g_ref = (linear(128, base * base * 4 * dim) + bn(base * base * 4 * dim)
             + conv(5, 4 * dim, 2 * dim) + bn(2 * dim) + conv(5, 2 * dim, dim) + bn(dim)
             + conv(5, dim, 3))
    # D (MODE='wgan-gp', no batch norm): Conv2D(5, 3, D) Conv2D(5, D, 2D) Conv2D(5, 2D, 4D),
    #    stride 2, LeakyReLU 0.2; Linear(4*4*4D, 1).
    d_ref = (conv(5, 3, dim) + conv(5, dim, 2 * dim) + conv(5, 2 * dim, 4 * dim)
             + linear(base * base * 4 * dim, 1))
    assert (g_ref, d_ref) == {32: (5179907, 4114689), 48: (6521347, 4124929)}[size]
    assert trainable_count(architectures.wgan_gp_cnn_generator(image_size=size)) == g_ref
    assert trainable_count(architectures.wgan_gp_cnn_discriminator(image_size=size)) == d_ref


@pytest.mark.parametrize("size", [28, 64, 33])
def test_wgan_gp_cnn_rejects_other_sizes(size):
    with pytest.raises(ValueError, match="image_size 32"):
        architectures.wgan_gp_cnn_generator(image_size=size)
    with pytest.raises(ValueError, match="image_size 32"):
        architectures.wgan_gp_cnn_discriminator(image_size=size)


@pytest.mark.parametrize("size,base", [(32, 4), (48, 6)])
def test_papers_dcgan_matches_gan_cifar_dcgan_mode_parameter_count(size, base):
    # The Robust GAN paper's DCGAN: igul222/improved_wgan_training gan_cifar.py with MODE='dcgan',
    # DIM=128, noise 128. G (lines 47-68) as for WGAN-GP: Linear(128, base*base*4*DIM),
    # Batchnorm([0]) per unit (2 * base*base*4*DIM), Deconv2D(5, 4D, 2D) BN, Deconv2D(5, 2D, D) BN,
    # Deconv2D(5, D, 3); tflib adds biases.
    dim = 128
    g_ref = (linear(128, base * base * 4 * dim) + bn(base * base * 4 * dim)
             + conv(5, 4 * dim, 2 * dim) + bn(2 * dim) + conv(5, 2 * dim, dim) + bn(dim)
             + conv(5, dim, 3))
    # D (lines 70-89): Conv2D(5, 3, D); Conv2D(5, D, 2D) + Batchnorm 'Discriminator.BN2' (2*2D);
    # Conv2D(5, 2D, 4D) + Batchnorm 'Discriminator.BN3' (2*4D) - both `if MODE != 'wgan-gp'`;
    # Linear(base*base*4D, 1).
    d_ref = (conv(5, 3, dim) + conv(5, dim, 2 * dim) + bn(2 * dim) + conv(5, 2 * dim, 4 * dim)
             + bn(4 * dim) + linear(base * base * 4 * dim, 1))
    assert (g_ref, d_ref) == {32: (5179907, 4116225), 48: (6521347, 4126465)}[size]
    assert trainable_count(architectures.wgan_gp_cnn_generator(image_size=size)) == g_ref
    d = architectures.wgan_gp_cnn_discriminator(image_size=size, normalization="batch")
    assert trainable_count(d) == d_ref


def test_papers_dcgan_critic_normalizes_after_its_second_and_third_convolution():
    d = architectures.wgan_gp_cnn_discriminator(dim=4, normalization="batch")
    kinds = [type(layer).__name__ for layer in d.layers
             if isinstance(layer, (keras.layers.Conv2D, keras.layers.BatchNormalization))]
    assert kinds == ["Conv2D", "Conv2D", "BatchNormalization", "Conv2D", "BatchNormalization"]
    norms = [layer for layer in d.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert all(layer.epsilon == 1e-5 for layer in norms)  # tflib fused_batch_norm's epsilon
    # Batch statistics in training: a sample's logit depends on the rest of its batch (as
    # tflib's Batchnorm, which always normalizes with the batch's moments).
    images = tf.random.uniform([4, 32, 32, 3], -1.0, 1.0, seed=5)
    coupled = d(images, training=True).numpy()[:1] - d(images[:2], training=True).numpy()[:1]
    assert np.abs(coupled).max() > 1e-4
    plain = architectures.wgan_gp_cnn_discriminator(dim=4)
    assert not any(isinstance(layer, keras.layers.BatchNormalization) for layer in plain.layers)
    with pytest.raises(ValueError, match="normalization"):
        architectures.wgan_gp_cnn_discriminator(normalization="layer")


def _uniform_limit(kernel):
    """Checks `kernel` looks like U(-a, a) and returns `a` estimated from its standard deviation."""
    kernel = np.asarray(kernel).ravel()
    limit = kernel.std() * np.sqrt(3.0)
    assert np.abs(kernel).max() <= limit * 1.02
    return limit


def test_wgan_gp_cnn_initializes_as_tflib():
    # tflib he_init: U(-sqrt(3) s, sqrt(3) s), s^2 = 4 / (fan_in + fan_out), the low-resolution
    # side divided by stride^2 = 4: conv2d.py lines 62-63 (fan_out of a strided conv),
    # deconv2d.py lines 48-50 (fan_in of a transposed conv). Keras' fan-average would give
    # 4 / (25 in + 25 out), 1.4x to 2x narrower here.
    keras.utils.set_random_seed(0)
    dim = 128
    g = architectures.wgan_gp_cnn_generator(dim=dim)
    d = architectures.wgan_gp_cnn_discriminator(dim=dim)
    expected = {  # (in, out) -> s^2
        (3, dim): 4 / (25 * 3 + 25 * dim / 4), (dim, 2 * dim): 4 / (25 * dim + 25 * 2 * dim / 4),
        (2 * dim, 4 * dim): 4 / (25 * 2 * dim + 25 * 4 * dim / 4)}
    for layer in (x for x in d.layers if isinstance(x, keras.layers.Conv2D)):
        cin, cout = layer.kernel.shape[2], layer.kernel.shape[3]
        assert _uniform_limit(layer.kernel) == pytest.approx(
            np.sqrt(3 * expected[(cin, cout)]), rel=0.03)
    expected = {(4 * dim, 2 * dim): 4 / (25 * 4 * dim / 4 + 25 * 2 * dim),
                (2 * dim, dim): 4 / (25 * 2 * dim / 4 + 25 * dim),
                (dim, 3): 4 / (25 * dim / 4 + 25 * 3)}
    deconvs = [x for x in g.layers if isinstance(x, keras.layers.Conv2DTranspose)]
    assert len(deconvs) == 3
    for layer in deconvs:  # Keras' transposed kernel is [k, k, out, in]
        cout, cin = layer.kernel.shape[2], layer.kernel.shape[3]
        assert _uniform_limit(layer.kernel) == pytest.approx(
            np.sqrt(3 * expected[(cin, cout)]), rel=0.03)


def test_models_keep_float32_outputs_under_mixed_precision():
    import keras
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g = architectures.wgan_gp_cnn_generator(latent_dim=8, dim=4)
        d = architectures.wgan_gp_cnn_discriminator(dim=4)
        run_pair(g, d)
    finally:
        keras.mixed_precision.set_global_policy("float32")


# --- WGAN-GP ResNet ---------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 48])
def test_wgan_gp_resnet_shapes(size):
    g = architectures.wgan_gp_resnet_generator(latent_dim=8, dim=4, image_size=size)
    d = architectures.wgan_gp_resnet_discriminator(dim=4, image_size=size)
    images, _ = run_pair(g, d)
    assert images.shape == (2, size, size, 3)


def test_wgan_gp_resnet_matches_reference_parameter_count():
    # igul222/improved_wgan_training gan_cifar_resnet.py, unconditional, DIM_G = DIM_D = 128.
    # G: Linear(128, 4*4*128); 3 x ResidualBlock(up): N1 BN(128), UpsampleConv3(128,128),
    #    N2 BN(128), Conv3(128,128), shortcut UpsampleConv1(128,128); OutputN BN(128);
    #    Conv3(128, 3); tanh. tflib convs and linears have biases.
    up_block = bn(128) + conv(3, 128, 128) + bn(128) + conv(3, 128, 128) + conv(1, 128, 128)
    g_ref = linear(128, 4 * 4 * 128) + 3 * up_block + bn(128) + conv(3, 128, 3)
    # D: OptimizedResBlockDisc1: Conv3(3,128), ConvMeanPool3(128,128), MeanPoolConv1(3,128);
    #    ResidualBlock(down): Conv3(128,128), ConvMeanPool3(128,128), ConvMeanPool1(128,128);
    #    2 x ResidualBlock(None, identity shortcut): Conv3(128,128) x 2; mean pool;
    #    Linear(128, 1). No normalization in D (NORMALIZATION_D = False).
    d_ref = (conv(3, 3, 128) + conv(3, 128, 128) + conv(1, 3, 128)
             + 2 * conv(3, 128, 128) + conv(1, 128, 128)
             + 2 * 2 * conv(3, 128, 128) + linear(128, 1))
    assert (g_ref, d_ref) == (1204483, 1053825)
    assert trainable_count(architectures.wgan_gp_resnet_generator()) == g_ref
    assert trainable_count(architectures.wgan_gp_resnet_discriminator()) == d_ref


# --- BWGAN (the WGAN-GP ResNet, adler-j/bwgan cifar10_sobolev.py) ------------------------------

@pytest.mark.parametrize("size,base", [(32, 4), (48, 6)])
def test_bwgan_matches_reference_parameter_count(size, base):
    # adler-j/bwgan cifar10_sobolev.py: generator (lines 149-163): dense(128, 4*4*128) with bias;
    # three resblock(up, normalize=True) (lines 109-136): bn (center and scale, 2*128),
    # upsample_conv 3x3 128->128, bn, conv 3x3 128->128, shortcut upsample_conv 1x1 128->128;
    # bn; conv 3x3 128->3. tf.layers.conv2d and dense have biases. At 48x48 the same layers from a
    # 6x6 base (the STL-10 config).
    up_block = bn(128) + conv(3, 128, 128) + bn(128) + conv(3, 128, 128) + conv(1, 128, 128)
    g_ref = linear(128, base * base * 128) + 3 * up_block + bn(128) + conv(3, 128, 3)
    # Discriminator (lines 166-181): resblock_optimized (lines 139-146): conv 3x3 3->128,
    # conv_meanpool 3x3 128->128, meanpool_conv 1x1 3->128; resblock(down): conv 3x3, conv_meanpool
    # 3x3, shortcut conv_meanpool 1x1; two resblock(None), identity shortcut: 2 conv 3x3 each;
    # no normalization; mean over H, W; dense(128, 1).
    d_ref = (conv(3, 3, 128) + conv(3, 128, 128) + conv(1, 3, 128)
             + 2 * conv(3, 128, 128) + conv(1, 128, 128) + 2 * 2 * conv(3, 128, 128)
             + linear(128, 1))
    assert (g_ref, d_ref) == {32: (1204483, 1053825), 48: (1534723, 1053825)}[size]
    assert trainable_count(architectures.wgan_gp_resnet_generator(image_size=size)) == g_ref
    d = architectures.wgan_gp_resnet_discriminator(image_size=size, first_initializer="he_uniform")
    assert trainable_count(d) == d_ref


def test_bwgan_first_critic_convolution_is_fan_in_he_uniform():
    # cifar10_sobolev.py apply_conv (lines 55-62): he_init -> tf.contrib variance_scaling_
    # initializer(uniform=True): factor 2, FAN_IN, U(-sqrt(6 / fan_in), sqrt(6 / fan_in)); the
    # critic's first conv is line 142 (3x3, 3 -> 128: fan_in 27). tflib's he_init (WGAN-GP)
    # averages the fans: U(-sqrt(12 / (27 + 1152)), ...), 4.6x narrower.
    keras.utils.set_random_seed(0)

    def first_conv(model):
        return next(x for x in model.layers if isinstance(x, keras.layers.Conv2D)
                    and x.kernel.shape[:3] == (3, 3, 3))

    bwgan = first_conv(architectures.wgan_gp_resnet_discriminator(first_initializer="he_uniform"))
    wgan_gp = first_conv(architectures.wgan_gp_resnet_discriminator())
    assert _uniform_limit(bwgan.kernel) == pytest.approx(np.sqrt(6 / 27), rel=0.03)
    assert _uniform_limit(wgan_gp.kernel) == pytest.approx(np.sqrt(12 / (27 + 1152)), rel=0.03)
    # Every other He-initialized convolution maps 128 to 128 channels, where both schemes agree.
    with pytest.raises(ValueError):
        architectures.wgan_gp_resnet_discriminator(first_initializer="no_such_initializer")


# --- SN-DCGAN ---------------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 48])
def test_sndcgan_shapes(size):
    g = architectures.sndcgan_generator(latent_dim=8, image_size=size, ch=16)
    d = architectures.sndcgan_discriminator(image_size=size, ch=16)
    images, _ = run_pair(g, d)
    assert images.shape == (2, size, size, 3)
    n_sn = sum(isinstance(layer, (spectral_norm.SNConv2D, spectral_norm.SNDense))
               for layer in d.layers)
    assert n_sn == 8  # seven convolutions and the linear layer


@pytest.mark.parametrize("size,m", [(32, 4), (48, 6)])
def test_sndcgan_matches_reference_parameter_count(size, m):
    # pfnet-research/chainer-gan-lib common/net.py, ch=512, n_hidden=128, bottom_width M:
    # DCGANGenerator: l0 Linear(128, M*M*512); bn0 BatchNormalization(M*M*512) - per unit;
    #   dc1..dc3 Deconvolution2D(4, stride 2) 512->256->128->64 with bn1..bn3;
    #   dc4 Deconvolution2D(64, 3, 3, stride 1). Chainer links have biases.
    g_ref = (linear(128, m * m * 512) + bn(m * m * 512) + conv(4, 512, 256) + bn(256)
             + conv(4, 256, 128) + bn(128) + conv(4, 128, 64) + bn(64) + conv(3, 64, 3))
    # SNDCGANDiscriminator: SNConv 3x3 3->64, 4x4/2 64->128, 3x3 128->128, 4x4/2 128->256,
    #   3x3 256->256, 4x4/2 256->512, 3x3 512->512; SNLinear(M*M*512, 1); all with biases
    #   (SN's u vectors are not parameters).
    d_ref = (conv(3, 3, 64) + conv(4, 64, 128) + conv(3, 128, 128) + conv(4, 128, 256)
             + conv(3, 256, 256) + conv(4, 256, 512) + conv(3, 512, 512)
             + linear(m * m * 512, 1))
    if size == 32:
        assert (g_ref, d_ref) == (3828739, 5860865)
    assert trainable_count(architectures.sndcgan_generator(image_size=size)) == g_ref
    assert trainable_count(architectures.sndcgan_discriminator(image_size=size)) == d_ref


# --- SNGAN ResNet -----------------------------------------------------------------------------

@pytest.mark.parametrize("size", [32, 48])
@pytest.mark.parametrize("num_classes", [None, 3])
def test_sngan_resnet_shapes(size, num_classes):
    g = architectures.sngan_resnet_generator(latent_dim=8, image_size=size, ch=4,
                                             num_classes=num_classes)
    d = architectures.sngan_resnet_discriminator(image_size=size, ch=4, num_classes=num_classes)
    assert len(g.inputs) == len(d.inputs) == (1 if num_classes is None else 2)
    images, _ = run_pair(g, d, num_classes=num_classes)
    assert images.shape == (2, size, size, 3)


def sngan_generator_reference(num_classes=0):
    # pfnet-research/sngan_projection gen_models/resnet_32.py ResNetGenerator(ch=256, dim_z=128,
    # bottom_width=4): l1 Linear(128, 4*4*256); block2..4 = gen_models/resblocks.py Block(256,
    # 256, upsample=True): b1, c1 3x3, b2, c2 3x3, c_sc 1x1 (biases); b1/b2 are
    # BatchNormalization(256) or, with n_classes, CategoricalConditionalBatchNormalization(256,
    # n_cat) = gamma and beta EmbedIDs (n_cat x 256 each); b5 BatchNormalization(256) (never
    # conditional); c5 Conv 3x3 256->3.
    norm = bn(256) if not num_classes else 2 * num_classes * 256
    block = norm + conv(3, 256, 256) + norm + conv(3, 256, 256) + conv(1, 256, 256)
    return linear(128, 4 * 4 * 256) + 3 * block + bn(256) + conv(3, 256, 3)


def sngan_discriminator_reference(num_classes=0):
    # dis_models/snresnet_32.py SNResNetProjectionDiscriminator(ch=128): OptimizedBlock(3, 128):
    # c1 3x3 3->128, c2 3x3, c_sc 1x1 3->128; Block(down): c1, c2 3x3, c_sc 1x1; two plain
    # Blocks (identity shortcut): c1, c2; l5 SNLinear(128, 1, nobias=True) - 128 parameters;
    # with n_classes, l_y SNEmbedID(n_classes, 128).
    return (conv(3, 3, 128) + conv(3, 128, 128) + conv(1, 3, 128)
            + 2 * conv(3, 128, 128) + conv(1, 128, 128) + 4 * conv(3, 128, 128)
            + 128 + num_classes * 128)


@pytest.mark.parametrize("num_classes", [None, 10])
def test_sngan_resnet_matches_reference_parameter_count(num_classes):
    # sn_cifar10_unconditional.yml (n_classes 0) and sn_cifar10_conditional.yml (n_classes 10).
    g_ref = sngan_generator_reference(num_classes or 0)
    d_ref = sngan_discriminator_reference(num_classes or 0)
    expected = {None: (4276739, 1053824), 10: (4304387, 1055104)}[num_classes]
    assert (g_ref, d_ref) == expected
    g = architectures.sngan_resnet_generator(num_classes=num_classes)
    d = architectures.sngan_resnet_discriminator(num_classes=num_classes)
    assert (trainable_count(g), trainable_count(d)) == expected


def test_sngan_resnet_stl_matches_the_paper_layout_count():
    # Miyato et al. 2018, Table 5 (STL-10, 48x48; also google/compare_gan resnet_stl.py), with
    # sngan_projection's block internals (biases; G blocks' c1 maps in->out, D blocks' c1 keeps
    # in; D linear without bias). G: Linear(128, 6*6*512); up-blocks 512->256, 256->128,
    # 128->64; BN(64); conv 3x3 64->3.
    def g_block(cin, cout):
        return bn(cin) + conv(3, cin, cout) + bn(cout) + conv(3, cout, cout) + conv(1, cin, cout)

    def d_block(cin, cout):
        return conv(3, cin, cin) + conv(3, cin, cout) + conv(1, cin, cout)

    g_ref = (linear(128, 6 * 6 * 512) + g_block(512, 256) + g_block(256, 128)
             + g_block(128, 64) + bn(64) + conv(3, 64, 3))
    # D: optimized 3->64; down 64->128, 128->256, 256->512; plain 512->1024; sum pool;
    # linear 1024->1 (no bias).
    d_ref = (conv(3, 3, 64) + conv(3, 64, 64) + conv(1, 3, 64) + d_block(64, 128)
             + d_block(128, 256) + d_block(256, 512) + d_block(512, 1024) + 1024)
    assert (g_ref, d_ref) == (4878083, 10141440)
    assert trainable_count(architectures.sngan_resnet_generator(image_size=48)) == g_ref
    assert trainable_count(architectures.sngan_resnet_discriminator(image_size=48)) == d_ref


def test_conditional_sngan_uses_the_label():
    keras.utils.set_random_seed(0)
    g = architectures.sngan_resnet_generator(latent_dim=8, ch=4, num_classes=3)
    d = architectures.sngan_resnet_discriminator(ch=4, num_classes=3)
    for layer in g.layers:  # conditional BN starts as plain BN: give the classes their own gamma
        if isinstance(layer, architectures.blocks.ConditionalBatchNormalization):
            layer.gamma.assign(tf.random.normal(layer.gamma.shape, 1.0, 0.5, seed=2))
    z = tf.random.normal([2, 8], seed=3)
    same = tf.constant([1, 1])
    images = g([z, same], training=False)
    assert not np.allclose(g([z, tf.constant([1, 2])], training=False)[1], images[1])
    logits = d([images, same], training=False)
    assert not np.isclose(d([images, tf.constant([1, 0])], training=False)[1, 0], logits[1, 0])


@pytest.mark.parametrize("builder", ["sndcgan_generator", "sndcgan_discriminator",
                                     "sngan_resnet_generator", "sngan_resnet_discriminator",
                                     "wgan_gp_resnet_generator",
                                     "wgan_gp_resnet_discriminator"])
@pytest.mark.parametrize("size", [28, 64, 40])
def test_32_and_48_only_builders_reject_other_sizes(builder, size):
    with pytest.raises(ValueError, match="image_size 32"):
        getattr(architectures, builder)(image_size=size)


def test_bad_widths_and_classes_are_rejected():
    with pytest.raises(ValueError, match="ch"):
        architectures.sngan_resnet_generator(ch=0)
    with pytest.raises(ValueError, match="divisible by 8"):
        architectures.sndcgan_discriminator(ch=12)
    with pytest.raises(ValueError, match="num_classes"):
        architectures.sngan_resnet_discriminator(num_classes=0)
    with pytest.raises(ValueError, match="latent_dim"):
        architectures.sngan_resnet_generator(latent_dim=0)


def test_spectral_models_keep_float32_logits_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        g = architectures.sngan_resnet_generator(latent_dim=8, ch=4, num_classes=2)
        d = architectures.sngan_resnet_discriminator(ch=4, num_classes=2)
        run_pair(g, d, num_classes=2)
        run_pair(architectures.sndcgan_generator(latent_dim=8, ch=16),
                 architectures.sndcgan_discriminator(ch=16))
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_models_clone_and_reload_from_config(tmp_path):
    keras.utils.set_random_seed(0)
    g = architectures.sngan_resnet_generator(latent_dim=8, ch=4, num_classes=3)
    d = architectures.sngan_resnet_discriminator(ch=4, num_classes=3)
    z, labels = tf.random.normal([2, 8], seed=4), tf.constant([0, 2])
    images = g([z, labels], training=False)
    for model, inputs in ((g, [z, labels]), (d, [images, labels])):
        clone = keras.models.clone_model(model)
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(clone(inputs, training=False), model(inputs, training=False),
                                   rtol=1e-5, atol=1e-5)
        path = str(tmp_path / f"{model.name}.keras")
        model.save(path)
        np.testing.assert_allclose(keras.models.load_model(path)(inputs, training=False),
                                   model(inputs, training=False), rtol=1e-5, atol=1e-5)


def test_builders_are_gin_configurable():
    import gin
    gin.clear_config()
    gin.parse_config(["sngan_resnet_generator.ch = 4",
                      "sngan_resnet_generator.latent_dim = 6",
                      "sngan_resnet_generator.num_classes = 2"])
    try:
        g = gin.get_configurable("sngan_resnet_generator")()
        assert g.inputs[0].shape[1:] == (6,) and len(g.inputs) == 2
    finally:
        gin.clear_config()
