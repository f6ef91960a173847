"""Which class a config names: numkeras's own, the registered custom objects, or
``custom_objects``; and how a class is named when written.

``register_keras_serializable``/``get_custom_objects``/``custom_object_scope``/
``get_registered_name`` (re-exported by ``numkeras.utils`` as ``keras.utils``) keep the global
registry; :class:`ClassLookup` answers for one rebuild. A lookup never imports a module or
evaluates anything from a file; ``Lambda``-like classes (Python code) are never built from a
file unless ``custom_objects`` supplies them.

>>> ClassLookup().lookup({"class_name": "Dense"})[0] is layers.Dense
True
>>> ClassLookup().missing({"class_name": "Lambda", "config": {"name": "f"}})  # doctest: +ELLIPSIS
["Lambda (f: Python code, which numkeras never runs: ...)"]
"""

from __future__ import annotations

import contextlib

from numkeras import initializers, layers, optimizers
from numkeras.engine.base_layer import Layer
from numkeras.engine.functional_model import Functional
from numkeras.engine.graph_config import KERAS3
from numkeras.engine.sequential import Sequential
from numkeras.ops import tf_api

CODE_CLASSES = frozenset({"Lambda", "__lambda__", "function"})
TF_OP_CLASSES = frozenset({"TFOpLambda", "SlicingOpLambda"})  # named TF functions: data
_PSEUDO = frozenset({"__keras_tensor__", "__tuple__", "__numpy__", "__bytes__", "__ellipsis__",
                     "__slice__"})
_OPAQUE = frozenset({  # regularizers and constraints: numkeras keeps their configs as data
    "L1", "L2", "L1L2", "OrthogonalRegularizer", "MaxNorm", "NonNeg", "UnitNorm",
    "MinMaxNorm", "RadialConstraint", "max_norm", "non_neg", "unit_norm", "min_max_norm"})
DTYPE_POLICIES = frozenset({"DTypePolicy", "FloatDTypePolicy", "Policy"})
MODELS = frozenset({"Functional", "Model", "Sequential"})
_LAYER_KEYS = frozenset({"layers", "layer", "backward_layer"})  # values are layer specs

_GLOBAL_CUSTOM_OBJECTS: dict = {}
_GLOBAL_CUSTOM_NAMES: dict = {}


# -- the global registry ---------------------------------------------------------------------
def register_keras_serializable(package: str = "Custom", name: str | None = None):
    """Register a class or function under ``"package>name"`` so ``load_model`` finds it
    without ``custom_objects`` (the files of tf-keras and Keras 3 record that name)."""
    if ">" in package:
        raise ValueError("Invalid package name: '>' is not allowed in package names.")

    def decorator(arg):
        class_name = name if name is not None else arg.__name__
        registered = f"{package}>{class_name}"
        if isinstance(arg, type) and not hasattr(arg, "get_config"):
            raise ValueError("Cannot register a class that does not have a get_config() method.")
        _GLOBAL_CUSTOM_OBJECTS[registered] = arg
        _GLOBAL_CUSTOM_NAMES[arg] = registered
        return arg

    return decorator


def get_registered_name(obj) -> str:
    """The ``"package>name"`` ``obj`` was registered under, else its ``__name__``."""
    return _GLOBAL_CUSTOM_NAMES.get(obj, getattr(obj, "__name__", type(obj).__name__))


def get_custom_objects() -> dict:
    """The global registry (``{"package>name": class}``); may be updated in place."""
    return _GLOBAL_CUSTOM_OBJECTS


@contextlib.contextmanager
def custom_object_scope(*scopes: dict):
    """Temporarily add the ``scopes`` dicts to the global registry."""
    saved = dict(_GLOBAL_CUSTOM_OBJECTS)
    for scope in scopes:
        _GLOBAL_CUSTOM_OBJECTS.update(scope or {})
    try:
        yield
    finally:
        _GLOBAL_CUSTOM_OBJECTS.clear()
        _GLOBAL_CUSTOM_OBJECTS.update(saved)


# -- lookup ----------------------------------------------------------------------------------
def is_operation_spec(spec: dict) -> bool:
    """Whether ``spec`` is a Keras 3 operation node (``keras.ops.*`` on a Keras tensor).

    ``.keras`` configs name the module; Keras 3's legacy ``.h5`` configs do not, so there an
    operation is a known operation class whose config holds only its name and constructor
    arguments (a layer's config always has ``trainable``).
    """
    module = spec.get("module")
    if isinstance(module, str):
        return module.startswith(("keras.src.ops.", "keras.ops."))
    from numkeras.ops import keras3

    operation = keras3.OPERATIONS.get(spec.get("class_name"))
    config = spec.get("config")
    return operation is not None and isinstance(config, dict) and "name" in config and \
        set(config) <= {"name", *operation.config} and "module" not in spec


class UnknownClassError(ValueError):
    """A config names classes numkeras does not have (and ``custom_objects`` does not give)."""


_LAYER_CLASSES: list = [None, {}]  # (the layers namespace's size when built, the table)


def layer_classes() -> dict:
    """numkeras's own layer and model classes by name (``Model`` is ``Functional``); a new
    dict each call, built once per state of the ``numkeras.layers`` namespace (configs ask
    for it once per layer)."""
    namespace = vars(layers)
    if _LAYER_CLASSES[0] != len(namespace):
        table = {name: obj for name, obj in namespace.items()
                 if isinstance(obj, type) and issubclass(obj, Layer)}
        table.update(Functional=Functional, Model=Functional, Sequential=Sequential)
        _LAYER_CLASSES[:] = [len(namespace), table]
    return dict(_LAYER_CLASSES[1])


def _other_classes() -> set:
    names = set(initializers._CLASSES) | set(initializers._ALIASES) | _OPAQUE | DTYPE_POLICIES
    return names | {n for n, o in vars(optimizers).items() if isinstance(o, type)}


class ClassLookup:
    """Class lookup for one rebuild: numkeras's classes, then ``custom_objects``."""

    def __init__(self, custom_objects: dict | None = None):
        self.custom = {**_GLOBAL_CUSTOM_OBJECTS, **(custom_objects or {})}
        self.layers = layer_classes()
        self.others = _other_classes()

    def lookup(self, spec: dict):
        """``(class, is_builtin)`` for a ``{"class_name", ...}`` dict, or ``(None, False)``."""
        name = spec.get("class_name")
        registered = spec.get("registered_name")
        for key in (registered, name):
            if isinstance(key, str) and key in self.custom:
                return self.custom[key], False
        if name in CODE_CLASSES or is_operation_spec(spec):
            return None, False
        if registered not in (None, name) and registered not in ("Functional",):
            return None, False
        return self.layers.get(name), True

    def missing(self, config) -> list[str]:
        """Every class name in ``config`` (compile settings excluded) that cannot be built."""
        missing: list[str] = []
        stack = [(config, True)]  # (item, is a layer spec when it names a class)
        while stack:
            item, is_layer = stack.pop()
            if isinstance(item, list):
                stack.extend((v, is_layer) for v in item)
            elif isinstance(item, dict):
                if isinstance(item.get("class_name"), str) and not self._known(item, is_layer):
                    label = describe(item, is_layer)
                    if label not in missing:
                        missing.append(label)
                stack.extend((v, k in _LAYER_KEYS) for k, v in item.items()
                             if k not in ("compile_config", "build_config"))
        return missing

    def _known(self, spec: dict, is_layer: bool = False) -> bool:
        name = spec["class_name"]
        if name in _PSEUDO:
            return True
        if is_operation_spec(spec):
            from numkeras.ops import keras3

            return name in keras3.OPERATIONS
        if name in TF_OP_CLASSES and spec.get("registered_name") in (None, name):
            return tf_api.is_supported((spec.get("config") or {}).get("function"))
        cls, _ = self.lookup(spec)
        if cls is not None:
            return True
        return not is_layer and name not in CODE_CLASSES \
            and spec.get("registered_name") in (None, name) and name in self.others


def describe(spec: dict, is_layer: bool = False) -> str:
    """How an error names the class of ``spec`` (code classes say they are code; a layer's
    entry also names the layer)."""
    name = spec.get("class_name")
    if is_operation_spec(spec):
        inner = spec.get("config") if isinstance(spec.get("config"), dict) else {}
        return (f"Keras 3 operation {name} '{inner.get('name')}' (not in numkeras's table of "
                "supported Keras 3 operations)")
    if name in TF_OP_CLASSES:
        inner = spec.get("config") if isinstance(spec.get("config"), dict) else {}
        return (f"{name} '{inner.get('name')}' (TF function tf.{inner.get('function')}, which "
                "is not in numkeras's table of supported TF functions)")
    if name in CODE_CLASSES:
        inner = spec.get("config")
        label = inner.get("name") if isinstance(inner, dict) else inner
        return (f"{name} ({label}: Python code, which numkeras never runs: its config is "
                f"marshalled bytecode; supply a layer class that computes it as "
                f"custom_objects={{'{name}': YourLayer}})")
    registered = spec.get("registered_name")
    label = f"{registered}" if registered not in (None, name) else f"{name}"
    inner = spec.get("config")
    layer = spec.get("name") or (inner.get("name") if isinstance(inner, dict) else None)
    return f"{label} (layer {layer!r})" if is_layer and isinstance(layer, str) else label


def check_classes(ctx: ClassLookup, config) -> None:
    """Raise :class:`UnknownClassError` listing every class of ``config`` ``ctx`` lacks."""
    missing = ctx.missing(config)
    if missing:
        raise UnknownClassError(
            "Cannot rebuild the model: the config uses classes numkeras does not have and "
            f"`custom_objects` does not supply: {missing}. numkeras never imports or runs code "
            "from a file; pass the classes as custom_objects={'Name': cls}.")


# -- naming ----------------------------------------------------------------------------------
def class_spec(layer, style: str) -> dict:
    """``{"module", "class_name", "registered_name"}`` of ``layer`` as ``style`` writes it."""
    cls = type(layer)
    name = cls.__name__
    builtin = cls.__module__.startswith("numkeras.")
    if isinstance(layer, Sequential) and builtin:
        return {"module": "keras", "class_name": "Sequential", "registered_name": None}
    if isinstance(layer, Functional) and builtin:
        module = ("keras.src.models.functional" if style == KERAS3
                  else "tf_keras.src.engine.functional")
        return {"module": module, "class_name": "Functional", "registered_name": "Functional"}
    if builtin:
        return {"module": "keras.layers", "class_name": name, "registered_name": None}
    registered = get_registered_name(cls)  # "package>name" of a registered class
    return {"module": cls.__module__, "class_name": name, "registered_name": registered}
