"""StringLookup / IntegerLookup / TextVectorization vs tf-keras 2.21 and Keras 3: vocabularies
from configs and from the .keras ``assets/`` (adapted layers), idf weights from the variables,
outputs identical both ways."""

from __future__ import annotations

import numpy as np
import pytest
from tf_side import assert_close_outputs, keras3, tensorflow, tf_keras

import numkeras
from numkeras.models import load_model

WORDS_MANY = np.array([[f"w{i}", f"token {i * 7}", ""] for i in range(40)], dtype=object)
TEXT = np.array([["The cat sat on the mat."], ["A dog, a cat!"], ["zebra"], [""]], dtype=object)
WORDS = np.array([["a", "b", "b"], ["c", "zz", "a"], ["", "b", "c"]], dtype=object)
INTS = np.array([[5, 7, 9], [7, 0, 3], [11, 5, 5]], dtype="int64")
CORPUS = ["the cat sat", "the dog ran far away", "a cat and a dog", "the end"]

# (name, kwargs, input kind, adapt data or None)
CASES = [
    ("StringLookup", {"vocabulary": ["a", "b", "c"]}, "words", None),
    ("StringLookup", {"mask_token": "", "vocabulary": ["a", "b", "c"]}, "words", None),
    ("StringLookup", {"num_oov_indices": 0, "vocabulary": ["a", "b", "c", "zz", ""]},
     "words", None),
    ("StringLookup", {"output_mode": "multi_hot", "vocabulary": ["a", "b"]}, "words", None),
    ("StringLookup", {"output_mode": "count", "mask_token": "", "vocabulary": ["b", "c"]},
     "words", None),
    ("StringLookup", {"output_mode": "tf_idf", "vocabulary": ["a", "b", "c"],
                      "idf_weights": [0.5, 1.5, 2.0]}, "words", None),
    ("StringLookup", {}, "words", ["a", "b", "b", "c", "c", "c", "d"]),
    # unknown strings hashed into the OOV indices with TF's FarmHash Fingerprint64
    ("StringLookup", {"num_oov_indices": 3, "vocabulary": ["a"]}, "words", None),
    ("StringLookup", {"num_oov_indices": 4, "mask_token": "", "output_mode": "count",
                      "vocabulary": ["b"]}, "words", None),
    ("StringLookup", {"num_oov_indices": 5, "max_tokens": 7}, "words", ["zz", "b", "c", "c"]),
    ("StringLookup", {"max_tokens": 3, "output_mode": "one_hot"}, "word", ["a", "b", "b"]),
    ("IntegerLookup", {"vocabulary": [5, 7, 9]}, "ints", None),
    ("IntegerLookup", {"mask_token": 0, "num_oov_indices": 2, "vocabulary": [5, 7, 9]},
     "ints", None),
    ("IntegerLookup", {"output_mode": "multi_hot", "vocabulary": [5, 7], "pad_to_max_tokens":
                       True, "max_tokens": 6}, "ints", None),
    ("IntegerLookup", {}, "ints", [5, 5, 7, 3, 3, 3]),
    ("TextVectorization", {"output_sequence_length": 6}, "text", CORPUS),
    ("TextVectorization", {"max_tokens": 6, "standardize": "lower",
                           "output_sequence_length": 3}, "text", CORPUS),
    ("TextVectorization", {"output_mode": "multi_hot", "ngrams": 2}, "text", CORPUS),
    ("TextVectorization", {"output_mode": "tf_idf"}, "text", CORPUS),
    ("TextVectorization", {"output_mode": "count", "split": "character",
                           "standardize": None}, "text", ["abc", "cab"]),
    ("TextVectorization", {"vocabulary": ["the", "cat", "dog"]}, "text", None),
]


def _ids(case):
    name, kwargs, _, data = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()).replace(" ", "") + \
        (",adapted" if data is not None else "") + ")"


def _input(lib, kind):
    if kind == "ints":
        return lib.Input((3,), dtype="int64"), INTS
    if kind == "text":
        return lib.Input((1,), dtype="string"), TEXT
    if kind == "word":
        return lib.Input((1,), dtype="string"), WORDS[:, :1]
    return lib.Input((3,), dtype="string"), WORDS


def _build(lib, case):
    name, kwargs, kind, data = case
    inp, x = _input(lib, kind)
    layer = getattr(lib.layers, name)(**kwargs)
    if data is not None:
        layer.adapt(np.array(data, dtype=object if isinstance(data[0], str) else "int64"))
    return lib.Model(inp, layer(inp)), x


def _same(ours, theirs):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    if theirs.dtype == object or ours.dtype == object:
        assert ours.tolist() == theirs.tolist()
    else:
        assert ours.shape == theirs.shape
        assert_close_outputs(ours, theirs)


def _tf_keras_both_ways(tmp_path, theirs, x):
    """tf-keras's .keras file of ``theirs`` loads here with tf-keras's outputs on ``x``, and
    the file written back in tf-keras style loads in tf-keras with them too; returns the
    numkeras model and the outputs."""
    from numkeras.saving.keras_v3 import save_model

    expected = theirs.predict(x, verbose=0)
    theirs.save(str(tmp_path / "t.keras"))
    numkeras.backend.clear_session()
    ours = load_model(str(tmp_path / "t.keras"))
    _same(ours.predict(x), expected)
    save_model(ours, str(tmp_path / "o.keras"), style="tf_keras")
    back = tf_keras().models.load_model(str(tmp_path / "o.keras"))
    _same(back.predict(x, verbose=0), expected)
    return ours, expected


def _keras3_both_ways(tmp_path, theirs, x, expected):
    """Keras 3's .keras file of ``theirs`` loads here computing ``expected`` on ``x``, and
    the file written back (Keras 3 style) loads in Keras 3 computing them too."""
    theirs.save(str(tmp_path / "k3.keras"))
    numkeras.backend.clear_session()
    ours = load_model(str(tmp_path / "k3.keras"))
    _same(ours.predict(x), expected)
    ours.save(str(tmp_path / "back.keras"))  # Keras 3 style, read by Keras 3
    again = keras3().models.load_model(str(tmp_path / "back.keras"))
    _same(np.asarray(again(_constants(x))), expected)


def _constants(x):
    """``x`` (an array or a list of them) as TF tensors: Keras 3's predict refuses object
    arrays."""
    tf = tensorflow()
    return [tf.constant(v) for v in x] if isinstance(x, list) else tf.constant(x)


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_tf_keras_keras_file_loads_and_numkeras_file_loads_in_tf_keras(tmp_path, case):
    theirs, x = _build(tf_keras(), case)
    ours, _ = _tf_keras_both_ways(tmp_path, theirs, x)
    assert ours.layers[-1].get_vocabulary() == [
        v.decode() if isinstance(v, bytes) else v for v in theirs.layers[-1].get_vocabulary()]


def test_invert_round_trips_like_tf_keras():
    tfk = tf_keras()
    ids = np.array([[0, 1, 2, 3, 9]], dtype="int64")
    for kwargs in ({"vocabulary": ["a", "b"]}, {"vocabulary": ["a", "b"], "mask_token": ""}):
        theirs = tfk.layers.StringLookup(invert=True, **kwargs)(ids).numpy()
        ours = numkeras.layers.StringLookup(invert=True, **kwargs)(ids)
        assert ours.tolist() == theirs.tolist()
    theirs = tfk.layers.IntegerLookup(vocabulary=[5, 7], invert=True)(ids).numpy()
    assert numkeras.layers.IntegerLookup(vocabulary=[5, 7], invert=True)(ids).tolist() == \
        theirs.tolist()


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "IntegerLookup" or c[3] is None],
                         ids=[_ids(c) for c in CASES if c[0] != "IntegerLookup" or c[3] is None])
def test_keras3_keras_file_loads(tmp_path, case):
    theirs, x = _build(keras3(), case)
    _keras3_both_ways(tmp_path, theirs, x, np.asarray(theirs(_constants(x))))


@pytest.mark.parametrize("case", [c for c in CASES if c[3] is not None and
                                  c[1].get("output_mode") != "tf_idf"],
                         ids=[_ids(c) for c in CASES if c[3] is not None and
                              c[1].get("output_mode") != "tf_idf"])
def test_adapt_gives_tf_keras_vocabulary(case):
    theirs, x = _build(tf_keras(), case)
    numkeras.backend.clear_session()
    ours, _ = _build(numkeras, case)
    assert ours.layers[-1].get_vocabulary() == [
        v.decode() if isinstance(v, bytes) else v for v in theirs.layers[-1].get_vocabulary()]
    _same(ours.predict(x), theirs.predict(x, verbose=0))


HASH_CASES = [
    ({"num_bins": 7}, "words"),
    ({"num_bins": 5, "salt": 1337}, "words"),
    ({"num_bins": 5, "salt": [3, 2**40 + 5], "mask_value": ""}, "words"),
    ({"num_bins": 6, "mask_value": 0}, "ints"),
    ({"num_bins": 4, "output_mode": "multi_hot"}, "ints"),
    ({"num_bins": 4, "output_mode": "count", "salt": 9}, "words"),
    ({"num_bins": 3, "output_mode": "one_hot"}, "word"),
]


@pytest.mark.parametrize("kwargs,kind", HASH_CASES,
                         ids=[str(k).replace(" ", "") for k, _ in HASH_CASES])
def test_hashing_matches_tf_keras_and_keras3_both_ways(tmp_path, kwargs, kind):
    def build(k):
        inp, x = _input(k, kind)
        return k.Model(inp, k.layers.Hashing(**kwargs)(inp)), x

    theirs, x = build(tf_keras())
    _, expected = _tf_keras_both_ways(tmp_path, theirs, x)
    _keras3_both_ways(tmp_path, build(keras3())[0], x, expected)


def test_hashes_match_tensorflow_on_random_strings():
    from numkeras.ops.hashing import fingerprint64, siphash24

    tf = tensorflow()
    rng = np.random.default_rng(5)
    strings = [rng.bytes(int(n)) for n in rng.integers(0, 300, 300)] + [b"", b"a" * 64,
                                                                         b"b" * 65]
    buckets = 2**62 + 11
    fast = tf.strings.to_hash_bucket_fast(tf.constant(strings), buckets).numpy()
    strong = tf.strings.to_hash_bucket_strong(tf.constant(strings), buckets,
                                              key=[11, 2**62 + 3]).numpy()
    assert [fingerprint64(s) % buckets for s in strings] == fast.tolist()
    assert [siphash24(s, 11, 2**62 + 3) % buckets for s in strings] == strong.tolist()


CROSS_CASES = [({"num_bins": 5}, ("words1", "ints1")), ({"num_bins": 4, "output_mode": "one_hot"},
                                                       ("words1", "words1b")),
               ({"num_bins": 7}, ("ints1", "ints1", "words1"))]
FEATURES = {"words1": np.array([["a"], ["bb"], [""], ["zz"]], dtype=object),
            "words1b": np.array([["x"], ["y"], ["x"], ["q"]], dtype=object),
            "ints1": np.array([[3], [-7], [2**40], [0]], dtype="int64")}


@pytest.mark.parametrize("kwargs,kinds", CROSS_CASES,
                         ids=[f"{k}{v}".replace(" ", "") for k, v in CROSS_CASES])
def test_hashed_crossing_matches_tf_keras_both_ways(tmp_path, kwargs, kinds):
    xs = [FEATURES[k] for k in kinds]

    def build(k):
        inputs = [k.Input((1,), dtype="string" if x.dtype == object else "int64") for x in xs]
        return k.Model(inputs, k.layers.HashedCrossing(**kwargs)(inputs))

    _, expected = _tf_keras_both_ways(tmp_path, build(tf_keras()), xs)
    if len(xs) == 2:  # Keras 3's HashedCrossing takes exactly two features
        _keras3_both_ways(tmp_path, build(keras3()), xs, expected)


@pytest.mark.parametrize("n", [2, 3, 7])
def test_string_oov_buckets_match_tf_keras_on_many_strings(n):
    tfk = tf_keras()
    kwargs = {"vocabulary": ["w1", "w2"], "num_oov_indices": n, "mask_token": ""}
    expected = tfk.layers.StringLookup(**kwargs)(WORDS_MANY).numpy()
    ours = numkeras.layers.StringLookup(**kwargs)(WORDS_MANY)
    assert ours.tolist() == expected.tolist()
    assert len(set(expected.reshape(-1).tolist())) == n + 3  # every bucket is hit
