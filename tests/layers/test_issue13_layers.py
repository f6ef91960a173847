"""Issue 13's layers from first principles (the TF comparisons are in tests/interop/)."""

from __future__ import annotations

import numpy as np
import pytest

from numkeras import backend, layers


def _direct_local_conv_2d(x, weights, kernel, strides, out_hw):
    """Unshared 2D convolution written as loops: weights[(i, j)] is ``(kh, kw, cin, f)``."""
    batch = x.shape[0]
    f = next(iter(weights.values())).shape[-1]
    out = np.zeros((batch, *out_hw, f))
    for i in range(out_hw[0]):
        for j in range(out_hw[1]):
            patch = x[:, i * strides[0]:i * strides[0] + kernel[0],
                      j * strides[1]:j * strides[1] + kernel[1], :]
            out[:, i, j] = np.einsum("bhwc,hwcf->bf", patch, weights[(i, j)])
    return out


@pytest.mark.parametrize("implementation", [1, 2, 3])
def test_locally_connected_2d_is_an_unshared_convolution(implementation):
    backend.clear_session()
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 6, 3)).astype("float32")
    layer = layers.LocallyConnected2D(4, (2, 3), strides=(1, 2), implementation=implementation,
                                      use_bias=False)
    layer(x)
    out_hw = (4, 2)
    per_position = {(i, j): rng.standard_normal((2, 3, 3, 4)) for i in range(4) for j in range(2)}
    # write the per-position weights into the layer's own layout
    if implementation == 1:
        kernel = np.stack([per_position[(i, j)].reshape(-1, 4)
                           for i in range(4) for j in range(2)])
    else:
        dense = np.zeros((5, 6, 3, 4, 2, 4))
        for (i, j), w in per_position.items():
            dense[i:i + 2, 2 * j:2 * j + 3, :, i, j, :] = w
        if implementation == 2:
            kernel = dense
        else:  # connected entries in ascending (output index, input index) order
            matrix = dense.reshape(5 * 6 * 3, 4 * 2 * 4)
            mask = np.zeros_like(matrix, dtype=bool)
            for i in range(4):
                for j in range(2):
                    m = np.zeros((5, 6, 3, 4, 2, 4), dtype=bool)
                    m[i:i + 2, 2 * j:2 * j + 3, :, i, j, :] = True
                    mask |= m.reshape(matrix.shape)
            cols, rows = np.nonzero(mask.T)  # (output, input) pairs, sorted by output first
            kernel = matrix[rows, cols]
    layer.set_weights([kernel.astype("float32")])
    expected = _direct_local_conv_2d(x.astype(np.float64), per_position, (2, 3), (1, 2), out_hw)
    np.testing.assert_allclose(layer(x), expected, rtol=1e-4, atol=1e-5)


def test_locally_connected_1d_weight_shapes_per_implementation():
    backend.clear_session()
    x = np.zeros((1, 7, 4), "float32")
    shapes = {}
    for impl in (1, 2, 3):
        layer = layers.LocallyConnected1D(2, 3, implementation=impl)
        layer(x)
        shapes[impl] = [w.shape for w in layer.weights]
    # 5 output steps; impl 3 keeps 5 positions * 3 taps * 4 channels * 2 filters entries
    assert shapes == {1: [(5, 12, 2), (5, 2)], 2: [(7, 4, 5, 2), (5, 2)], 3: [(120,), (5, 2)]}
    with pytest.raises(ValueError, match="only \"valid\""):
        layers.LocallyConnected1D(2, 3, padding="same", implementation=1)


def test_category_encoding_and_discretization():
    enc = layers.CategoryEncoding(4, output_mode="multi_hot")
    np.testing.assert_array_equal(enc(np.array([[0, 3, 3], [1, 1, 2]])),
                                  [[1, 0, 0, 1], [0, 1, 1, 0]])
    counts = layers.CategoryEncoding(3, output_mode="count")(
        np.array([[0, 2, 2]]), count_weights=np.array([[0.5, 1.0, 2.0]]))
    np.testing.assert_array_equal(counts, [[0.5, 0.0, 3.0]])
    with pytest.raises(ValueError, match="num_tokens=4"):
        enc(np.array([[4]]))
    disc = layers.Discretization(bin_boundaries=[0.0, 1.0, 2.0])
    got = disc(np.array([-5.0, 0.0, 0.99, 1.0, 2.5]))
    assert got.dtype == np.int64 and got.tolist() == [0, 1, 1, 2, 3]
    unadapted = layers.Discretization(num_bins=4)
    with pytest.raises(ValueError, match="adapt"):
        unadapted(np.array([1.0]))
    # a tf-keras config of an adapted num_bins layer: its boundaries are in a weight
    with pytest.raises(ValueError, match="summary"):
        layers.Discretization.from_config(unadapted.get_config())
    # Keras 3 after adapt: both in the config; the boundaries decide
    k3 = layers.Discretization.from_config({"bin_boundaries": [0.5], "num_bins": 2})
    assert k3(np.array([0.0, 1.0])).tolist() == [0, 1]


def test_augmentation_layers_are_identity_at_inference_and_augment_in_training():
    x = np.arange(2 * 4 * 5 * 3, dtype="float32").reshape(2, 4, 5, 3)
    for layer in (layers.RandomFlip(), layers.RandomRotation(0.3), layers.RandomZoom(0.2),
                  layers.RandomTranslation(0.1, 0.1), layers.RandomContrast(0.5),
                  layers.RandomBrightness(0.5), layers.RandomHeight(0.3),
                  layers.RandomWidth(0.3)):
        np.testing.assert_array_equal(layer(x), x)
        assert layer.weights == []
        out = layer(x, training=True)  # tests/interop check the distributions against TF
        assert out.dtype == np.float32 and out.shape[0] == 2 and out.shape[-1] == 3
        if isinstance(layer, (layers.RandomRotation, layers.RandomZoom,
                              layers.RandomTranslation, layers.RandomBrightness)):
            assert not np.array_equal(out, x)  # continuous draws: never exactly the identity
    # RandomCrop at inference: the centred 4 x 4 window of a 4 x 6 image (the target's aspect
    # ratio), halved by bilinear resizing with half-pixel centres = means of 2 x 2 blocks
    img = np.arange(4 * 6, dtype="float32").reshape(1, 4, 6, 1)
    window = img[0, :, 1:5, 0]
    blocks = window.reshape(2, 2, 2, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(layers.RandomCrop(2, 2)(img)[0, :, :, 0], blocks)


def test_batch_normalization_renorm_weights_and_inference():
    backend.clear_session()
    bn = layers.BatchNormalization(renorm=True)
    x = np.random.default_rng(1).standard_normal((3, 4)).astype("float32")
    bn(x)
    assert [w.name for w in bn.weights] == [
        f"batch_normalization/{n}:0" for n in ("gamma", "beta", "moving_mean", "moving_variance",
                                               "moving_stddev", "renorm_mean", "renorm_stddev")]
    values = [np.full(4, v, "float32") for v in (2.0, 0.5, 1.0, 4.0, 9.0, 9.0, 9.0)]
    bn.set_weights(values)
    # inference uses moving_mean / moving_variance only
    np.testing.assert_allclose(bn(x), 2.0 * (x - 1.0) / np.sqrt(4.0 + 1e-3) + 0.5, rtol=1e-6)
    assert bn.get_config()["renorm"] is True
    # training: (x_hat * r + d) * gamma + beta with r = std / 9, d = (mean - 9) / 9 (renorm
    # statistics 9, unclipped) is (x - 9) / 9 * gamma + beta whatever the batch statistics
    np.testing.assert_allclose(bn(x, training=True), (x - 9.0) / 9.0 * 2.0 + 0.5, rtol=1e-5,
                               atol=1e-6)
    assert not np.allclose(bn.get_weights()[5], 9.0)  # renorm_mean moved towards the batch


def test_identity_activity_regularization_and_functions():
    x = np.ones((2, 3), "float32")
    assert layers.Identity()(x) is not None and (layers.Identity()(x) == x).all()
    a, b = x, 3 * x
    np.testing.assert_array_equal(layers.subtract([a, b]), -2 * x)
    np.testing.assert_array_equal(layers.average([a, b]), 2 * x)
    np.testing.assert_array_equal(layers.maximum([a, b]), b)
    np.testing.assert_array_equal(layers.minimum([a, b]), a)
    np.testing.assert_array_equal(layers.multiply([a, b]), 3 * x)


def test_lookup_layers_from_first_principles(tmp_path):
    vocab = ["a", "b", "c"]
    lookup = layers.StringLookup(vocabulary=vocab, mask_token="")
    # index 0: mask, 1: OOV, then the tokens in order
    assert lookup(np.array([["", "a", "c", "zz"]], dtype=object)).tolist() == [[0, 2, 4, 1]]
    assert lookup.get_vocabulary() == ["", "[UNK]", "a", "b", "c"]
    counts = layers.StringLookup(vocabulary=vocab, output_mode="count")(
        np.array([["a", "a", "q"]], dtype=object))
    assert counts.tolist() == [[1.0, 2.0, 0.0, 0.0]]  # OOV counted at index 0
    ints = layers.IntegerLookup(vocabulary=[10, 20], num_oov_indices=2)
    assert ints(np.array([10, 20, 7, 8])).tolist() == [2, 3, 1, 0]  # 7 % 2, 8 % 2
    with pytest.raises(ValueError, match="num_oov_indices=0"):
        layers.StringLookup(vocabulary=vocab, num_oov_indices=0)(np.array(["q"], dtype=object))
    with pytest.raises(ValueError, match="file path"):
        layers.StringLookup(vocabulary="/etc/passwd")


def test_text_vectorization_and_vocabulary_asset_round_trip(tmp_path):
    import zipfile

    from numkeras.models import load_model

    backend.clear_session()
    inp = layers.Input((1,), dtype="string")
    tv = layers.TextVectorization(output_sequence_length=5)
    tv.adapt(np.array(["b b a", "b c"], dtype=object))
    # frequency order: b (3), then a and c (1 each; ties in reverse sorted order: c, a)
    assert tv.get_vocabulary() == ["", "[UNK]", "b", "c", "a"]
    from numkeras import Model

    model = Model(inp, tv(inp))
    x = np.array([["A b, Z!"]], dtype=object)
    assert model.predict(x).tolist() == [[4, 2, 1, 0, 0]]
    path = str(tmp_path / "tv.keras")
    model.save(path)
    with zipfile.ZipFile(path) as zf:
        assert "assets/layers/text_vectorization/_lookup_layer/vocabulary.txt" in zf.namelist()
    backend.clear_session()
    again = load_model(path)
    assert again.predict(x).tolist() == [[4, 2, 1, 0, 0]]


def test_hashing_reference_values():
    # tf-keras's documented examples: FarmHash without salt, SipHash with salt=133
    x = np.array([["A"], ["B"], ["C"], ["D"], ["E"]], dtype=object)
    assert layers.Hashing(num_bins=3)(x).tolist() == [[1], [0], [1], [1], [2]]
    assert layers.Hashing(num_bins=3, salt=133)(x).tolist() == [[0], [0], [2], [1], [0]]
    masked = layers.Hashing(num_bins=3, mask_value="")(
        np.array([["A"], ["B"], [""], ["C"], ["D"]], dtype=object))
    assert masked.tolist() == [[1], [1], [0], [2], [2]]
