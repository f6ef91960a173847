"""numkeras.applications vs tf_keras.applications 2.21 (``weights=None``).

For each application: the same layer names/classes, weight names/shapes and model name;
tf-keras saves h5 weights that numkeras loads (topologically and ``by_name``) and predicts the
same on random images within 1e-4 of the output scale; numkeras saves h5 weights that tf-keras
loads and predicts the same. Small input shapes keep the suite fast.
"""

from __future__ import annotations

import numpy as np
import pytest
from hdf5_helpers import layout
from tf_side import tf_keras

from numkeras import Input, applications, layers

# (application, constructor kwargs, input value range)
APPS = [
    ("MobileNetV2", {"input_shape": (96, 96, 3)}, (-1.0, 1.0)),
    ("ResNet50", {"input_shape": (64, 64, 3)}, (-1.0, 1.0)),
    ("ResNet50V2", {"include_top": False, "input_shape": (64, 64, 3), "pooling": "avg"},
     (-1.0, 1.0)),
    ("VGG16", {"include_top": False, "input_shape": (32, 32, 3), "pooling": "max"},
     (-1.0, 1.0)),
    ("DenseNet121", {"include_top": False, "input_shape": (64, 64, 3), "pooling": "avg"},
     (-1.0, 1.0)),
    # 65x65: odd sizes at every stride-2 block (the asymmetric ``correct_pad`` branch).
    ("EfficientNetB0", {"input_shape": (65, 65, 3), "classes": 10}, (0.0, 255.0)),
]


def _dtype(var):
    return np.dtype(getattr(var.dtype, "as_numpy_dtype", var.dtype))


def scaled_weights(model, seed: int) -> list:
    """Random weights that keep activations O(1) through deep nets (numkeras or tf-keras).

    Kernels: uniform with variance 1/fan_in; BatchNormalization: gamma and moving variance
    near 1, small beta and moving mean; EfficientNet's input Normalization: mean ~0.5 and
    variance ~0.07 (inputs are pixels / 255).
    """
    rng = np.random.default_rng(seed)
    out = []
    for var in model.weights:
        shape, name = tuple(var.shape), var.name.split("/")[-1]
        if "kernel" in name:
            fan_in = int(np.prod(shape[:2] if "depthwise" in name else shape[:-1]))
            bound = np.sqrt(3.0 / fan_in)
            value = rng.uniform(-bound, bound, shape)
        elif name.startswith(("gamma", "moving_variance")):
            value = rng.uniform(0.8, 1.2, shape)
        elif name.startswith("variance"):
            value = rng.uniform(0.05, 0.1, shape)
        elif name.startswith("mean"):
            value = rng.uniform(0.4, 0.6, shape)
        elif name.startswith("count"):
            value = np.full(shape, 1000)
        else:
            value = rng.uniform(-0.1, 0.1, shape)
        out.append(value.astype(_dtype(var)))
    return out


def _structure(model) -> dict:
    return {
        "name": model.name,
        "layers": [(layer.name, type(layer).__name__) for layer in model.layers],
        "shapes": [tuple(layer.output_shape) for layer in model.layers[1:]],
        "weights": [(w.name, tuple(w.shape)) for w in model.weights],
        "output_shape": tuple(model.outputs[0].shape),
    }


def _assert_informative(y: np.ndarray) -> None:
    """Guard against vacuous comparisons: finite, varied, not a saturated softmax."""
    scale = float(np.abs(y).max())
    assert np.isfinite(y).all() and scale > 0
    assert float(y.std()) > 1e-2 * scale, "outputs (nearly) constant: weights badly scaled"
    assert scale < 0.99 or y.min() < 0 or y.sum(axis=-1).max() > 1.01, "saturated softmax"


def _assert_close(ours, theirs, rtol: float = 1e-4) -> None:
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape
    scale = float(np.abs(theirs).max())
    err = float(np.abs(ours - theirs).max())
    assert err <= rtol * scale, f"max |diff| {err:.3g} > {rtol} x output scale {scale:.3g}"


@pytest.mark.parametrize("app,kwargs,value_range", APPS, ids=[a[0] for a in APPS])
def test_application_weights_interop(app, kwargs, value_range, tmp_path):
    tfk = tf_keras()
    theirs = getattr(tfk.applications, app)(weights=None, **kwargs)
    ours = getattr(applications, app)(weights=None, **kwargs)
    assert _structure(ours) == _structure(theirs)

    rng = np.random.default_rng(42)
    x = rng.uniform(*value_range, (3,) + tuple(theirs.input_shape[1:])).astype("float32")

    # tf-keras -> numkeras, topological
    theirs.set_weights(scaled_weights(theirs, seed=0))
    tf_file = str(tmp_path / "tf.h5")
    theirs.save_weights(tf_file)
    y_tf = theirs(x, training=False).numpy()
    _assert_informative(y_tf)
    ours.load_weights(tf_file)
    _assert_close(ours.predict(x), y_tf)

    # numkeras -> tf-keras
    ours.set_weights(scaled_weights(ours, seed=1))
    nk_file = str(tmp_path / "nk.h5")
    ours.save_weights(nk_file)
    y_nk = ours.predict(x)
    theirs.load_weights(nk_file)
    y_tf2 = theirs(x, training=False).numpy()
    _assert_informative(y_tf2)
    _assert_close(y_nk, y_tf2)
    assert layout(nk_file)["layer_names"] == layout(tf_file)["layer_names"]
    assert layout(nk_file)["objects"] == layout(tf_file)["objects"]

    # tf-keras -> numkeras, by name (a fresh numkeras model: layer names must match)
    fresh = getattr(applications, app)(weights=tf_file, **kwargs)
    _assert_close(fresh.predict(x), y_tf)
    ours.load_weights(tf_file, by_name=True)
    _assert_close(ours.predict(x), y_tf)


def _input_tensor_mobilenet(k):
    inp = k.Input((64, 64, 3))
    x = k.layers.Rescaling(2.0, offset=-1.0)(inp)
    return k.applications.MobileNetV2(input_tensor=x, alpha=0.35, include_top=False,
                                      pooling="max", weights=None)


# Structure only (layer names and classes, weight names and shapes, model name, output shape).
STRUCTURE = {
    "MobileNetV2-0.35-notop": lambda k: k.applications.MobileNetV2(
        alpha=0.35, include_top=False, weights=None),
    "MobileNetV2-1.3-top": lambda k: k.applications.MobileNetV2(
        alpha=1.3, input_shape=(64, 64, 3), classes=7, classifier_activation=None,
        weights=None),
    "MobileNetV2-input_tensor": _input_tensor_mobilenet,
    "ResNet101-notop": lambda k: k.applications.ResNet101(include_top=False, weights=None),
    "VGG19-top": lambda k: k.applications.VGG19(input_shape=(32, 32, 3), classes=5,
                                                weights=None),
    "DenseNet169-notop-max": lambda k: k.applications.DenseNet169(
        include_top=False, pooling="max", weights=None),
    "EfficientNetB2-notop": lambda k: k.applications.EfficientNetB2(include_top=False,
                                                                    weights=None),
}


class _NumkerasNamespace:
    """``k.applications`` / ``k.layers`` / ``k.Input`` for the numkeras side of STRUCTURE."""

    applications, layers, Input = applications, layers, staticmethod(Input)


@pytest.mark.parametrize("case", sorted(STRUCTURE))
def test_application_structure(case):
    theirs = STRUCTURE[case](tf_keras())
    ours = STRUCTURE[case](_NumkerasNamespace)
    assert _structure(ours) == _structure(theirs)
    assert [t.shape for t in ours.inputs] == [tuple(t.shape) for t in theirs.inputs]
