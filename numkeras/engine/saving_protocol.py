"""What a layer owns, as the saving formats see it: the engine half of the saving protocol.

The formats in ``numkeras.saving`` never read engine internals; they ask objects through
these methods (and :class:`~numkeras.engine.tracking.Trackable`'s ``tracked_children``,
``tracked_child``, ``add_deferred_restoration``, ``create_lazy_state``, and
``Model.is_graph_network``):

- :meth:`OwnState.own_variables`: the layer's own variables (not its sub-layers'), trainable
  then non-trainable, each in creation order;
- :meth:`OwnState.child_layers`: the direct sub-layers, in tracking order;
- :meth:`OwnState.save_own_variables` / :meth:`OwnState.load_own_variables`: Keras 3's
  hooks. The Keras 3 layout (``.weights.h5``, ``.keras``) stores what ``save_own_variables``
  puts in its store under the object's ``vars`` group, and loads a group by calling
  ``load_own_variables``. A custom layer may override both, as in Keras 3. The default pair
  stores ``own_variables()`` under ``"0"``, ``"1"``, ...; the format recognises it
  (:func:`default_hooks`) and then fills the variables straight from the file, which is what
  the default ``load_own_variables`` would do, without a copy.

>>> import numpy as np
>>> from numkeras import backend, layers
>>> backend.clear_session()
>>> dense = layers.Dense(2)
>>> _ = dense(np.ones((1, 3)))
>>> store = {}
>>> dense.save_own_variables(store)
>>> {key: v.name for key, v in store.items()}
{'0': 'dense/kernel:0', '1': 'dense/bias:0'}
>>> dense.load_own_variables({"0": np.ones((3, 2)), "1": np.zeros(2)})
>>> float(dense.kernel.numpy().sum()), default_hooks(dense)
(6.0, True)
"""

from __future__ import annotations

import numpy as np


def default_hook(method):
    """Mark ``method`` as the engine's default ``save_own_variables``/``load_own_variables``."""
    method._default_own_variables_hook = True
    return method


def default_hooks(obj) -> bool:
    """Whether ``obj`` uses the engine's default pair of own-variables hooks (no override)."""
    return all(getattr(getattr(type(obj), name, None), "_default_own_variables_hook", False)
               for name in ("save_own_variables", "load_own_variables"))


def check_store(owner: str, variables: list, store) -> list:
    """The values of ``store`` (keys ``"0"``, ``"1"``, ...) for ``variables``, checked.

    Raises ``ValueError`` naming ``owner`` when the count or a shape differs, before
    anything is assigned.
    """
    keys = list(store.keys())
    if len(keys) != len(variables) or set(keys) != {str(i) for i in range(len(variables))}:
        raise ValueError(
            f"{owner} expected {len(variables)} variables, but received {len(keys)} "
            f"variables during loading. Expected: {[v.name for v in variables]}")
    values = []
    for i, variable in enumerate(variables):
        value = np.asarray(store[str(i)])
        if value.shape != tuple(variable.shape):
            raise ValueError(f"{owner}: variable '{variable.name}' has shape "
                             f"{tuple(variable.shape)}, but the stored value {i} has shape "
                             f"{value.shape}.")
        values.append(value)
    return values


class OwnState:
    """The saving-protocol methods of :class:`~numkeras.engine.base_layer.Layer`."""

    def own_variables(self) -> list:
        """The layer's own variables: trainable then non-trainable, each in creation order."""
        return list(self._trainable_weights) + list(self._non_trainable_weights)

    def child_layers(self) -> list:
        """The direct sub-layers in tracking order (a functional model: its graph's layers)."""
        return list(self._layers)

    @default_hook
    def save_own_variables(self, store) -> None:
        """Put the own variables in ``store`` (a dict-like) under ``"0"``, ``"1"``, ..."""
        for i, variable in enumerate(self.own_variables()):
            store[str(i)] = variable

    @default_hook
    def load_own_variables(self, store) -> None:
        """Assign ``store["0"]``, ``store["1"]``, ... to the own variables (all or nothing)."""
        variables = self.own_variables()
        values = check_store(f"Layer '{self.name}'", variables, store)
        for variable, value in zip(variables, values):
            variable.assign(value)
