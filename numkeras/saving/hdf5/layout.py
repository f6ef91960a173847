"""The Keras 2 ``.h5`` weights layout: constants, string attributes and weight order.

Facts (``docs/formats.md`` §2.1-§2.6, checked against tf-keras 2.21):

- string-list attributes (``layer_names``, ``weight_names``) are split into ``name0``,
  ``name1``, ... when their fixed-width byte size would pass HDF5's object-header limit
  (64512 bytes); a reader concatenates the pieces;
- numkeras writes every string as a fixed-length ``'S'`` array or scalar, which tf-keras,
  Keras 2.0-2.15 and multi-backend Keras (which decodes unconditionally) all read;
- readers meet ``str``, ``bytes``, ``numpy.bytes_``, vlen or fixed strings, and an empty
  ``float64`` array meaning "no names".

>>> import numpy as np
>>> chunk_string_list([b"dense", b"dense_1"])
[array([b'dense', b'dense_1'], dtype='|S7')]
>>> [len(p) for p in chunk_string_list([b"x" * 100] * 702)]
[351, 351]
>>> decode_strings(np.array([b"dense", b"dense_1"]))
['dense', 'dense_1']
>>> decode_strings(np.array([], dtype="float64"))
[]
"""

from __future__ import annotations

import numpy as np

from numkeras.saving import h5common

#: HDF5's object-header limit for attributes, as Keras defines it.
HDF5_OBJECT_HEADER_LIMIT = 64512
#: What numkeras writes in ``backend`` and ``keras_version``: the tf-keras it is compatible with.
BACKEND = "tensorflow"
KERAS_VERSION = "2.21.0"
#: Group holding the model's own (non-layer) weights, written by tf.keras >= 2.7.
TOP_LEVEL_GROUP = "top_level_model_weights"


def import_h5py(action: str):
    """Import h5py or raise tf-keras's ``ImportError`` with an install hint
    (``docs/formats.md`` §1).

    ``action`` is ``'save'`` or ``'load'`` (the messages are tf-keras's).
    """
    if action == "save":
        return h5common.import_h5py(
            "`save_weights` requires h5py when saving in hdf5, but h5py is not available. Try "
            "installing h5py package (pip install h5py).")
    return h5common.import_h5py(
        "`load_weights` requires h5py package when loading weights from HDF5. Try installing "
        "h5py (pip install h5py).")


# -- strings ---------------------------------------------------------------------------------

def decode_string(value) -> str:
    """One attribute item (``str``, ``bytes``, ``numpy.bytes_``, 0-d array) as ``str``.

    >>> decode_string(np.bytes_(b"2.21.0")), decode_string("tensorflow")
    ('2.21.0', 'tensorflow')
    """
    if isinstance(value, np.ndarray) and value.ndim == 0:
        value = value[()]
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).decode("utf8")
    return str(value)


def decode_strings(value) -> list[str]:
    """A string-list attribute as a list of ``str`` (empty numeric arrays give ``[]``)."""
    if isinstance(value, (str, bytes, np.bytes_)):
        return [decode_string(value)]
    arr = np.asarray(value)
    if arr.size == 0:
        return []
    if arr.dtype.kind not in "SUO":
        raise ValueError(f"expected a list of strings, found an array of {arr.dtype}")
    return [decode_string(item) for item in arr.reshape(-1)]


def chunk_string_list(data: list[bytes]) -> list[np.ndarray]:
    """Split ``data`` (bytes items) into the fewest equal pieces that fit the header limit.

    One piece means "store under the plain name"; several mean ``name0``, ``name1``, ...
    An item longer than the limit itself cannot be stored (``RuntimeError``, as tf-keras).
    """
    too_big = [x for x in data if len(x) > HDF5_OBJECT_HEADER_LIMIT]
    if too_big:
        raise RuntimeError(
            "The following attributes cannot be saved to HDF5 file because they are larger "
            f"than {HDF5_OBJECT_HEADER_LIMIT} bytes: {too_big}")
    arr = np.asarray(data) if data else np.asarray([], dtype="float64")
    if arr.nbytes <= HDF5_OBJECT_HEADER_LIMIT:
        return [arr]
    pieces = 1
    chunks = np.array_split(arr, pieces)
    while any(c.nbytes > HDF5_OBJECT_HEADER_LIMIT for c in chunks):
        pieces += 1
        chunks = np.array_split(arr, pieces)
    return chunks


def save_attributes(group, name: str, data: list[str]) -> None:
    """Write a string-list attribute (chunked past the limit) as fixed-length strings.

    An empty list is stored as an empty ``float64`` array, exactly as tf-keras stores it.
    """
    chunks = chunk_string_list([s.encode("utf8") for s in data])
    if len(chunks) == 1:
        group.attrs[name] = chunks[0]
    else:
        for i, chunk in enumerate(chunks):
            group.attrs[f"{name}{i}"] = chunk


def load_attributes(group, name: str) -> list[str]:
    """Read a string-list attribute: ``name`` itself, else ``name0``, ``name1``, ..., else
    ``[]``. ``group``: an h5py group or a low-level object id."""
    absent = object()
    value = h5common.read_attr(group, name, absent)
    if value is not absent:
        return decode_strings(value)
    data: list[str] = []
    i = 0
    while (value := h5common.read_attr(group, f"{name}{i}", absent)) is not absent:
        data.extend(decode_strings(value))
        i += 1
    return data


def tree_strings(node, name: str) -> list[str] | None:
    """:func:`load_attributes` from a group of :mod:`numkeras.saving.h5raw_read`'s tree, or
    ``None`` when h5py must read it (an attribute that tree does not decode, or one whose
    value would raise: h5py's path gives the error)."""
    from numkeras.saving.h5raw_read import UNREAD

    attrs = node.attrs
    if attrs is None:
        return None
    try:
        value = attrs.get(name, attrs)
        if value is not attrs:
            return None if value is UNREAD else decode_strings(value)
        data: list[str] = []
        i = 0
        while (value := attrs.get(f"{name}{i}", attrs)) is not attrs:
            if value is UNREAD:
                return None
            data.extend(decode_strings(value))
            i += 1
    except (ValueError, TypeError, UnicodeDecodeError):
        return None
    return data


def has_attribute(group, name: str) -> bool:
    """Whether ``name`` or its first chunk ``name0`` is present."""
    return name in group.attrs or f"{name}0" in group.attrs


def write_string_scalar(group, name: str, value: str) -> None:
    """A fixed-length string scalar attribute (``backend``, ``keras_version``)."""
    group.attrs[name] = np.bytes_(value.encode("utf8"))


# -- which weights, in which order ------------------------------------------------------------

def legacy_weights(layer) -> list:
    """The weights of ``layer`` in HDF5 order: ``trainable_weights + non_trainable_weights``.

    For a nested model that is every sub-layer's trainable weights, then every sub-layer's
    non-trainable ones (tf-keras's ``_legacy_weights``), and it follows ``trainable`` flags.
    """
    from numkeras.engine.variable import Variable

    weights = list(layer.trainable_weights) + list(layer.non_trainable_weights)
    for w in weights:
        if not isinstance(w, Variable):
            raise NotImplementedError(
                f"Save or restore weights that is not an instance of `Variable` is not "
                f"supported in h5, use `save_format='tf'` instead. Received a model or "
                f"layer {type(layer).__name__} ({layer.name}) with weights {weights}")
    return weights


def own_weights(model) -> list:
    """The model's own variables (not its layers'), stored in ``top_level_model_weights``."""
    return model.own_variables()
