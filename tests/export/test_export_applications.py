"""The five applications (weights=None, 32x32 inputs): ONNX Runtime gives the NumPy
engine's logits; the exported files pass the full checker."""

from __future__ import annotations

import numpy as np
import pytest
from onnx_helpers import check_matches_numpy

from numkeras import applications

APPS = ["MobileNetV2", "ResNet50", "EfficientNetB0", "DenseNet121", "VGG16"]


@pytest.mark.parametrize("name", APPS)
def test_application_logits_match_numpy(name):
    model = getattr(applications, name)(weights=None, input_shape=(32, 32, 3), classes=10,
                                        classifier_activation=None)
    x = np.random.default_rng(1).uniform(0, 255, (2, 32, 32, 3)).astype(np.float32)
    check_matches_numpy(model, x, rtol=1e-4, atol=1e-4)
