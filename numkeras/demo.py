"""The walk-through behind ``make demo``: the seed example, then a save/load round trip in
every weights format numkeras speaks."""

from __future__ import annotations

import os
import tempfile

import numpy as np


def _seed_walkthrough() -> None:
    import numkeras

    print("== The seed example: get_weights / set_weights ==")
    print(">>> layer_a = numkeras.layers.Dense(1, kernel_initializer="
          "numkeras.constant_initializer(1.))")
    layer_a = numkeras.layers.Dense(1, kernel_initializer=numkeras.constant_initializer(1.0))
    layer_a(numkeras.convert_to_tensor([[1.0, 2.0, 3.0]]))
    print(">>> layer_a.get_weights()")
    print(repr(layer_a.get_weights()))
    layer_b = numkeras.layers.Dense(1, kernel_initializer=numkeras.constant_initializer(2.0))
    layer_b(numkeras.convert_to_tensor([[10.0, 20.0, 30.0]]))
    print(">>> layer_b.get_weights()")
    print(repr(layer_b.get_weights()))
    layer_b.set_weights(layer_a.get_weights())
    print(">>> layer_b.set_weights(layer_a.get_weights()); layer_b.get_weights()")
    print(repr(layer_b.get_weights()))
    print()


def build_model(seed: int = 0):
    """A small functional model with Dense, BatchNormalization and Dropout."""
    import numkeras as keras

    keras.backend.clear_session()
    inputs = keras.Input((8,), name="features")
    x = keras.layers.Dense(16, activation="relu")(inputs)
    x = keras.layers.BatchNormalization()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs, name="classifier")
    rng = np.random.default_rng(seed)
    model.set_weights([rng.uniform(0.5, 1.5, w.shape).astype(w.dtype) for w in model.weights])
    return model


def _round_trip(label: str, filename: str, save, load) -> None:
    original = build_model(seed=1)
    x = np.random.default_rng(2).standard_normal((4, 8)).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, filename)
        try:
            save(original, path)
            restored = build_model(seed=3)
            load(restored, path)
        except (ImportError, NotImplementedError, ModuleNotFoundError) as exc:
            print(f"  {label:<34} not available yet ({exc})")
            return
        same = all(np.array_equal(a, b) for a, b in
                   zip(original.get_weights(), restored.get_weights()))
        outputs = np.allclose(original.predict(x), restored.predict(x))
        files = sorted(os.listdir(tmp))
        status = "identical weights and outputs" if same and outputs else "MISMATCH"
        print(f"  {label:<34} {status}  ({', '.join(files)})")
        if not (same and outputs):
            raise SystemExit(f"demo failed: {label} round trip lost information")


def _round_trips() -> None:
    print("== Round trips: save with numkeras, load into a fresh model ==")
    _round_trip("HDF5 (.h5, Keras 2 layout)", "model.h5",
                lambda m, p: m.save_weights(p), lambda m, p: m.load_weights(p))
    _round_trip("TensorFlow checkpoint (prefix)", "ckpt",
                lambda m, p: m.save_weights(p), lambda m, p: m.load_weights(p))
    _round_trip("Keras 3 .weights.h5", "model.weights.h5",
                lambda m, p: m.save_weights(p), lambda m, p: m.load_weights(p))
    _round_trip(".keras archive (model.save)", "model.keras",
                lambda m, p: m.save(p), lambda m, p: m.load_weights(p))
    print()


def _checkpoint_with_optimizer() -> None:
    """Train two steps, save a ``train.Checkpoint``, restore model and Adam state elsewhere."""
    import numkeras as keras

    print("== numkeras.train.Checkpoint with an optimizer (TF2 training checkpoint) ==")
    model = build_model(seed=4)
    optimizer = keras.optimizers.Adam(learning_rate=0.01)
    rng = np.random.default_rng(5)
    for _ in range(2):
        grads = [rng.standard_normal(v.shape).astype(v.dtype) for v in model.trainable_variables]
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
    with tempfile.TemporaryDirectory() as tmp:
        manager = keras.train.CheckpointManager(
            keras.train.Checkpoint(model=model, optimizer=optimizer), tmp, max_to_keep=2)
        path = manager.save()
        restored, fresh_optimizer = build_model(seed=6), keras.optimizers.Adam()
        status = keras.train.Checkpoint(model=restored, optimizer=fresh_optimizer).restore(
            keras.train.latest_checkpoint(tmp))
        fresh_optimizer.build(restored.trainable_variables)  # slots are restored on creation
        status.assert_consumed()
        same = all(np.array_equal(a.numpy(), b.numpy()) for a, b in
                   zip(optimizer.variables + model.weights,
                       fresh_optimizer.variables + restored.weights))
        print(f"  {os.path.basename(path)}: step {int(fresh_optimizer.iterations.numpy())}, "
              f"{len(fresh_optimizer.variables)} optimizer variables, "
              f"{'identical state' if same else 'MISMATCH'}")
        if not same:
            raise SystemExit("demo failed: Checkpoint round trip lost optimizer state")
    print()


def _keras_file_and_partial_load() -> None:
    import numkeras

    print("== A .keras file: rebuild the model without its code, then a partial load ==")
    original = build_model(seed=4)
    x = np.random.default_rng(5).standard_normal((2, 8)).astype("float32")
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "classifier.keras")
        original.save(path)
        loaded = numkeras.models.load_model(path)
        same = np.allclose(loaded.predict(x), original.predict(x))
        print(f"  load_model('classifier.keras'): {type(loaded).__name__} "
              f"'{loaded.name}' with {len(loaded.layers)} layers, "
              f"predictions {'identical' if same else 'DIFFERENT'}")
        if not same:
            raise SystemExit("demo failed: load_model predictions differ")
        h5 = os.path.join(tmp, "classifier.h5")
        original.save_weights(h5)
        numkeras.backend.clear_session()
        inputs = numkeras.Input((8,))
        hidden = numkeras.layers.Dense(16, activation="relu")(inputs)
        wider = numkeras.layers.Dense(5, name="dense_1")(hidden)  # 5 classes instead of 3
        finetune = numkeras.Model(inputs, wider)
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            report = finetune.load_weights(h5, by_name=True, skip_mismatch=True)
        print("  fine-tuning a wider head: load_weights(by_name=True, skip_mismatch=True) ->")
        print("    " + str(report).replace("\n", "\n    "))
    print()


def run() -> int:
    """Run the whole walk-through; returns a process exit code."""
    _seed_walkthrough()
    model = build_model()
    print("== A functional model ==")
    model.summary()
    print()
    _round_trips()
    _checkpoint_with_optimizer()
    _keras_file_and_partial_load()
    print("All done. Next: `numkeras inspect FILE` lists the weights in any supported file.")
    return 0
