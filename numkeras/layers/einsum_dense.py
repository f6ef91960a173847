"""EinsumDense: a dense layer whose contraction is an einsum equation (tf-keras 2.21).

``equation`` is ``"<input>,<kernel>-><output>"`` (an ellipsis ``...`` may stand for leading or
trailing input dimensions); ``output_shape`` gives the output dimensions other than the batch
(``None`` for dimensions taken from the input); ``bias_axes`` names the output letters the bias
spans.

>>> import numpy as np
>>> from numkeras import backend
>>> backend.clear_session()
>>> layer = EinsumDense("abc,cd->abd", output_shape=(None, 4), bias_axes="d")
>>> layer(np.ones((2, 5, 3), "float32")).shape
(2, 5, 4)
>>> [(w.name, w.shape) for w in layer.weights]
[('einsum_dense/kernel:0', (3, 4)), ('einsum_dense/bias:0', (4,))]
"""

from __future__ import annotations

import re

from numkeras import activations, initializers
from numkeras.engine.base_layer import Layer
from numkeras.layers._utils import serialize_activation, serialize_initializer, serialize_object
from numkeras.ops.nn import einsum


def analyze_einsum_string(equation, bias_axes, input_shape, output_shape):
    """``(kernel_shape, bias_shape or None, full_output_shape)`` as tf-keras computes them."""
    dot_replaced = re.sub(r"\.\.\.", "0", equation)
    split = re.match("([a-zA-Z]+),([a-zA-Z]+)->([a-zA-Z]+)$", dot_replaced)
    if split:
        return _analyze_split_string(split, bias_axes, input_shape, output_shape)
    split = re.match("0([a-zA-Z]+),([a-zA-Z]+)->0([a-zA-Z]+)$", dot_replaced)
    if split:
        return _analyze_split_string(split, bias_axes, input_shape, output_shape,
                                     left_elided=True)
    split = re.match("([a-zA-Z]{2,})0,([a-zA-Z]+)->([a-zA-Z]+)0$", dot_replaced)
    if split:
        return _analyze_split_string(split, bias_axes, input_shape, output_shape)
    raise ValueError(f"Invalid einsum equation '{equation}'. Equations must be in the form "
                     "[X],[Y]->[Z], ...[X],[Y]->...[Z], or [X]...,[Y]->[Z]....")


def _analyze_split_string(split, bias_axes, input_shape, output_shape, left_elided=False):
    input_spec, weight_spec, output_spec = split.group(1), split.group(2), split.group(3)
    input_shape = list(input_shape)
    elided = len(input_shape) - len(input_spec)
    output_shape = [output_shape] if isinstance(output_shape, int) else list(output_shape)
    output_shape.insert(0, input_shape[0])
    if elided > 0 and left_elided:
        for i in range(1, elided):
            output_shape.insert(1, input_shape[i])
    elif elided > 0 and not left_elided:
        for i in range(len(input_shape) - elided, len(input_shape)):
            output_shape.append(input_shape[i])
    if left_elided:
        input_dim_map = {d: (i + elided) - len(input_shape) for i, d in enumerate(input_spec)}
        output_dim_map = {d: i + elided for i, d in enumerate(output_spec)}
    else:
        input_dim_map = {d: i for i, d in enumerate(input_spec)}
        output_dim_map = {d: i for i, d in enumerate(output_spec)}
    for dim in input_spec:
        in_dim = input_shape[input_dim_map[dim]]
        if dim in output_dim_map:
            out_dim = output_shape[output_dim_map[dim]]
            if out_dim is not None and in_dim is not None and out_dim != in_dim:
                raise ValueError(f"Input shape and output shape do not match at shared "
                                 f"dimension '{dim}'. Input shape is {in_dim}, and output "
                                 f"shape is {out_dim}.")
            if out_dim is None:
                output_shape[output_dim_map[dim]] = in_dim
    for dim in output_spec:
        if dim not in input_spec and dim not in weight_spec:
            raise ValueError(f"Dimension '{dim}' was specified in the output '{output_spec}' but "
                             f"has no corresponding dim in the input spec '{input_spec}' or "
                             f"weight spec '{weight_spec}'")
    weight_shape = []
    for dim in weight_spec:
        if dim in input_dim_map:
            weight_shape.append(input_shape[input_dim_map[dim]])
        elif dim in output_dim_map:
            weight_shape.append(output_shape[output_dim_map[dim]])
        else:
            raise ValueError(f"Weight dimension '{dim}' did not have a match in either the input "
                             f"spec '{input_spec}' or the output spec '{output_spec}'. For this "
                             "layer, the weight must be fully specified.")
    bias_shape = None
    if bias_axes is not None:
        num_left_elided = elided if left_elided else 0
        idx_map = {c: output_shape[i + num_left_elided] for i, c in enumerate(output_spec)}
        for char in bias_axes:
            if char not in output_spec:
                raise ValueError(f"Bias dimension '{char}' was requested, but is not part of "
                                 f"the output spec '{output_spec}'")
        first = min(output_spec.find(c) for c in bias_axes)
        bias_shape = [idx_map[c] if c in bias_axes else 1 for c in output_spec[first:]]
        if not left_elided:
            bias_shape.extend([1] * max(elided, 0))
    return weight_shape, bias_shape, output_shape


def _einsum_output_shape(equation: str, input_shape, kernel_shape) -> tuple:
    """The output shape of ``einsum(equation, x, kernel)`` (``None`` for unknown dims)."""
    lhs, out = equation.split("->")
    x_spec, k_spec = lhs.split(",")
    dims: dict = {}
    ellipsis: tuple = ()

    def bind(spec, shape):
        pre, _, post = spec.partition("...")
        shape = tuple(shape)
        tail = shape[len(shape) - len(post):] if post else ()
        for char, dim in [*zip(pre, shape), *zip(post, tail)]:
            if dims.get(char) is None:
                dims[char] = dim
        return shape[len(pre):len(shape) - len(post)] if "..." in spec else ()

    ellipsis = bind(x_spec, input_shape)
    bind(k_spec, kernel_shape)
    pre, sep, post = out.partition("...")
    return tuple(dims[c] for c in pre) + (tuple(ellipsis) if sep else ()) + tuple(
        dims[c] for c in post)


class EinsumDense(Layer):
    """``activation(einsum(equation, inputs, kernel) + bias)``."""

    def __init__(self, equation, output_shape, activation=None, bias_axes=None,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros",
                 kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        if not isinstance(equation, str) or "->" not in equation or "," not in equation:
            raise ValueError(f"Invalid einsum equation {equation!r} for argument `equation`: "
                             "expected '[X],[Y]->[Z]'.")
        if not re.fullmatch(r"(\.\.\.)?[a-zA-Z]+(\.\.\.)?,[a-zA-Z]+->(\.\.\.)?[a-zA-Z]+(\.\.\.)?",
                            equation):
            raise ValueError(f"Invalid einsum equation '{equation}' (argument `equation`). "
                             "Equations must be in the form [X],[Y]->[Z], ...[X],[Y]->...[Z], "
                             "or [X]...,[Y]->[Z]....")
        self.equation = equation
        self.partial_output_shape = [output_shape] if isinstance(output_shape, int) \
            else list(output_shape)
        if bias_axes is not None and not isinstance(bias_axes, str):
            raise ValueError(f"Argument `bias_axes` must be a string of output letters or None; "
                             f"received {bias_axes!r}.")
        self.bias_axes = bias_axes
        self.activation = activations.get(activation)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer, self.bias_regularizer = kernel_regularizer, bias_regularizer
        self.activity_regularizer = activity_regularizer
        self.kernel_constraint, self.bias_constraint = kernel_constraint, bias_constraint

    def build(self, input_shape):
        kernel_shape, bias_shape, full = analyze_einsum_string(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)
        if any(d is None for d in kernel_shape) or (bias_shape and None in bias_shape):
            raise ValueError(f"Layer {self.name}: the kernel shape {kernel_shape} of equation "
                             f"'{self.equation}' has unknown dimensions for input shape "
                             f"{tuple(input_shape)}; give them in `output_shape`.")
        self.full_output_shape = list(full)
        self.kernel = self.add_weight("kernel", shape=kernel_shape,
                                      initializer=self.kernel_initializer)
        self.bias = self.add_weight("bias", shape=bias_shape, initializer=self.bias_initializer) \
            if bias_shape is not None else None
        self.built = True

    def call(self, inputs):
        kernel = self.kernel.value
        try:
            out = einsum(self.equation, inputs, kernel)
        except ValueError as exc:
            raise ValueError(f'Input 0 of layer "{self.name}" is incompatible with the layer: '
                             f"einsum '{self.equation}' with kernel {kernel.shape} cannot take "
                             f"input shape {tuple(inputs.shape)} ({exc})") from None
        if self.bias is not None:
            out = out + self.bias.value
        return self.activation(out)

    def compute_output_shape(self, input_shape):
        kernel_shape = self.kernel.shape if self.built else analyze_einsum_string(
            self.equation, self.bias_axes, tuple(input_shape), self.partial_output_shape)[0]
        return _einsum_output_shape(self.equation, input_shape, kernel_shape)

    def get_config(self):
        return {**super().get_config(), "output_shape": list(self.partial_output_shape),
                "equation": self.equation, "activation": serialize_activation(self.activation),
                "bias_axes": self.bias_axes,
                "kernel_initializer": serialize_initializer(self.kernel_initializer),
                "bias_initializer": serialize_initializer(self.bias_initializer),
                "kernel_regularizer": serialize_object(self.kernel_regularizer),
                "bias_regularizer": serialize_object(self.bias_regularizer),
                "activity_regularizer": serialize_object(self.activity_regularizer),
                "kernel_constraint": serialize_object(self.kernel_constraint),
                "bias_constraint": serialize_object(self.bias_constraint)}


__all__ = ["EinsumDense"]
