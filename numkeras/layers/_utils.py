"""Small helpers shared by layer modules: argument normalisation and config pieces."""

from __future__ import annotations

from numkeras import activations, initializers


def serialize_initializer(init):
    return None if init is None else initializers.serialize(init) if isinstance(
        init, initializers.Initializer) else init


def _resolve_name(name: str):
    """A regularizer or constraint named ``name`` (``'l2'``, ``'max_norm'``), as tf-keras's
    layers resolve them in ``__init__``; an unknown name is kept as given."""
    from numkeras import constraints, regularizers

    for module in (regularizers, constraints):
        try:
            return module.get(name)
        except (ValueError, TypeError, KeyError):
            continue
    return name


def serialize_object(obj):
    """Config form of a regularizer/constraint (None stays None)."""
    if isinstance(obj, str):
        obj = _resolve_name(obj)
    if not hasattr(obj, "get_config"):
        return obj  # None, an unknown name, a config dict or a plain callable stay as given
    from numkeras import regularizers

    # regularizers.serialize writes each class's own module (keras.regularizers or
    # keras.constraints), so it serves constraints too.
    return regularizers.serialize(obj)


def serialize_activation(fn):
    return activations.serialize(fn)


def normalize_axes(axis, rank: int, layer_name: str) -> list[int]:
    """``axis`` (int or list, may be negative) as sorted positive ints, checked against rank."""
    axes = [axis] if isinstance(axis, int) else list(axis)
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise ValueError(f"Invalid axis {a} for layer {layer_name}: the input has rank "
                             f"{rank}, so axis must be in [{-rank}, {rank}).")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise ValueError(f"Duplicate axis in {axis} for layer {layer_name}.")
    return sorted(out)


def check_rank(layer, shape, min_rank: int | None = None, exact: int | None = None) -> None:
    """Raise a ValueError naming the layer when an input has the wrong rank."""
    rank = len(shape)
    if exact is not None and rank != exact:
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                         f"expected ndim={exact}, found ndim={rank}. Full shape received: "
                         f"{tuple(shape)}")
    if min_rank is not None and rank < min_rank:
        raise ValueError(f'Input 0 of layer "{layer.name}" is incompatible with the layer: '
                         f"expected min_ndim={min_rank}, found ndim={rank}. Full shape "
                         f"received: {tuple(shape)}")
