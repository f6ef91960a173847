"""optimizers.get/serialize/deserialize, configs, errors, tracking layout and Model.compile."""

import json

import numpy as np
import pytest

import numkeras as keras
from numkeras import layers, optimizers
from numkeras.engine.variable import Variable
from numkeras.optimizers import legacy, schedules

NEW = ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"]
LEGACY = ["SGD", "Adam", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam"]


def _var(name="dense/kernel", shape=(2, 3)):
    return Variable(np.zeros(shape, "float32"), name=name)


@pytest.mark.parametrize("name", NEW)
def test_get_by_name_gives_the_new_optimizer_case_insensitively(name):
    for spelling in (name, name.lower(), name.upper()):
        opt = optimizers.get(spelling)
        assert type(opt) is getattr(optimizers, name)


def test_get_passes_instances_through_and_reads_dicts():
    adam = optimizers.Adam()
    assert optimizers.get(adam) is adam
    old = legacy.SGD()
    assert optimizers.get(old) is old
    # Configs written by TF <= 2.10 have no `is_legacy_optimizer` key: legacy, as in tf-keras.
    assert type(optimizers.get({"class_name": "Adam", "config": {"learning_rate": 0.1}})) \
        is legacy.Adam
    assert type(optimizers.get({"class_name": "Adam", "config": {}})) is optimizers.Adam
    assert type(optimizers.get("adam", use_legacy_optimizer=True)) is legacy.Adam


def test_unknown_names_and_identifiers_give_clear_errors():
    with pytest.raises(ValueError, match="Unknown optimizer: 'adamm'.*adam, adamax, adamw"):
        optimizers.get("adamm")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(3)
    with pytest.raises(TypeError, match="Invalid keyword"):
        optimizers.get("adam", foo=1)


@pytest.mark.parametrize("name", NEW)
def test_new_config_round_trip_through_json(name):
    opt = getattr(optimizers, name)(learning_rate=0.25, clipnorm=1.5)
    config = optimizers.serialize(opt)
    assert config["module"] == "keras.optimizers" and config["class_name"] == name
    assert config["config"]["is_legacy_optimizer"] is False
    assert config["config"]["learning_rate"] == float(np.float32(0.25))
    again = optimizers.deserialize(json.loads(json.dumps(config)))
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()


@pytest.mark.parametrize("name", LEGACY)
def test_legacy_config_round_trip_through_json(name):
    opt = getattr(legacy, name)(learning_rate=0.25, clipvalue=2.0)
    config = optimizers.serialize(opt)
    assert config["module"] == "keras.optimizers.legacy"
    again = optimizers.deserialize(json.loads(json.dumps(config)))
    assert type(again) is type(opt)
    assert again.get_config() == opt.get_config()


def test_schedule_config_round_trip_inside_an_optimizer():
    schedule = schedules.CosineDecayRestarts(0.1, 20, t_mul=3.0, m_mul=0.5, alpha=0.1)
    opt = optimizers.SGD(learning_rate=schedule)
    config = json.loads(json.dumps(optimizers.serialize(opt)))
    assert config["config"]["learning_rate"]["class_name"] == "CosineDecayRestarts"
    again = optimizers.deserialize(config)
    assert isinstance(again._learning_rate, schedules.CosineDecayRestarts)
    assert again._learning_rate.get_config() == schedule.get_config()


@pytest.mark.parametrize("cls", [schedules.ExponentialDecay, schedules.InverseTimeDecay])
def test_decay_schedules_follow_their_formulas(cls):
    s = cls(0.5, decay_steps=4, decay_rate=0.25, staircase=False)
    for step in range(10):
        p = step / 4
        expected = 0.5 * 0.25 ** p if cls is schedules.ExponentialDecay else 0.5 / (1 + 0.25 * p)
        np.testing.assert_allclose(s(step), expected, rtol=1e-6)
    stair = cls(0.5, decay_steps=4, decay_rate=0.25, staircase=True)
    assert stair(3) == stair(0) and stair(4) == stair(7)


def test_polynomial_cosine_and_piecewise_schedules_follow_their_formulas():
    poly = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.1, power=2.0)
    np.testing.assert_allclose(poly(4), 0.9 * (1 - 0.4) ** 2 + 0.1, rtol=1e-6)
    assert poly(50) == np.float32(0.1)
    cycled = schedules.PolynomialDecay(1.0, 10, end_learning_rate=0.0, cycle=True)
    np.testing.assert_allclose(cycled(15), 1 - 15 / 20, rtol=1e-6)
    cos = schedules.CosineDecay(2.0, 8, alpha=0.5)
    np.testing.assert_allclose(cos(2), 2.0 * (0.5 * 0.5 * (1 + np.cos(np.pi / 4)) + 0.5),
                               rtol=1e-6)
    pw = schedules.PiecewiseConstantDecay([3, 6], [1.0, 0.5, 0.25])
    assert [float(pw(s)) for s in (0, 3, 4, 6, 7)] == [1.0, 1.0, 0.5, 0.5, 0.25]
    with pytest.raises(ValueError, match="1 less than the length of values"):
        schedules.PiecewiseConstantDecay([1, 2], [1.0])
    with pytest.raises(ValueError, match="Unknown learning rate schedule"):
        schedules.deserialize({"class_name": "Nope", "config": {}})


def test_constructor_errors():
    with pytest.raises(ValueError, match="At most one of `clipnorm` and `global_clipnorm`"):
        optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)
    with pytest.raises(ValueError, match="decay is deprecated.*legacy.Adam"):
        optimizers.Adam(decay=0.1)
    with pytest.raises(TypeError, match="foo is not a valid argument"):
        optimizers.Adam(foo=1)
    with pytest.raises(ValueError, match="`momentum` must be between"):
        optimizers.SGD(momentum=1.5)
    with pytest.raises(ValueError, match="Missing value of `weight_decay`"):
        optimizers.AdamW(weight_decay=None)
    with pytest.raises(ValueError, match="ema_momentum"):
        optimizers.Adam(use_ema=True, ema_momentum=2.0)
    with pytest.raises(TypeError, match="Unexpected keyword argument"):
        legacy.Adam(foo=1)
    with pytest.raises(ValueError, match="does not support"):
        legacy.Nadam(learning_rate=schedules.ExponentialDecay(0.1, 1, 0.5))


def test_apply_gradients_errors():
    w, other = _var(), _var("other")
    opt = optimizers.Adam()
    with pytest.raises(ValueError, match="No gradients provided"):
        opt.apply_gradients([(None, w)])
    opt.apply_gradients([(np.ones((2, 3)), w)])
    with pytest.raises(KeyError, match="cannot recognize variable other"):
        opt.apply_gradients([(np.ones((2, 3)), other)])
    with pytest.raises(ValueError, match=r"Gradient of shape \(3,\) does not match"):
        optimizers.SGD().apply_gradients([(np.ones(3), w)])


def test_learning_rate_get_set_and_schedules():
    opt = optimizers.SGD(learning_rate=0.5)
    assert opt.learning_rate.name == "learning_rate:0"
    opt.learning_rate = 0.25
    assert float(np.asarray(opt.learning_rate)) == 0.25 and float(np.asarray(opt.lr)) == 0.25
    scheduled = optimizers.SGD(learning_rate=schedules.ExponentialDecay(1.0, 1, 0.5))
    w = _var()
    for step in range(3):
        scheduled.apply_gradients([(np.ones((2, 3)), w)])
        assert float(np.asarray(scheduled.learning_rate)) == 0.5 ** step
    with pytest.raises(TypeError, match="not settable"):
        scheduled.learning_rate = 0.1


def test_new_optimizer_tracked_children_layout():
    opt = optimizers.Adam(amsgrad=True)
    assert [n for n, _ in opt._tracked_attributes()] == [
        "_variables", "_iterations", "_learning_rate"]
    assert opt.iterations.name == "iteration:0" and opt.iterations.dtype == np.int64
    assert opt.learning_rate.dtype == np.float32
    kernel, bias = _var(), _var("dense/bias", (3,))
    opt.apply_gradients([(np.ones((2, 3)), kernel), (np.ones(3), bias)])
    attrs = dict(opt._tracked_attributes())
    assert list(attrs) == ["_variables", "_iterations", "_learning_rate", "_index_dict",
                           "_momentums", "_velocities", "_velocity_hats"]
    assert [v.name for v in attrs["_variables"]] == [
        "iteration:0", "Adam/m/dense/kernel:0", "Adam/v/dense/kernel:0", "Adam/m/dense/bias:0",
        "Adam/v/dense/bias:0", "Adam/vhat/dense/kernel:0", "Adam/vhat/dense/bias:0"]
    assert attrs["_variables"][0] is opt.iterations
    assert opt.variables() == opt.variables  # callable, as tf-keras's CallableList
    assert opt.slot_variables() == []
    with pytest.raises(ValueError, match="legacy Keras optimizer into a v2.11"):
        opt.create_slot(kernel, "m")


def test_legacy_hyperparameters_are_attributes_and_variables():
    opt = legacy.RMSprop(learning_rate=0.1)
    assert opt._tracked_attributes() == []  # nothing exists before first use
    opt.learning_rate = 0.2  # before creation: replaces the plain value
    w = _var()
    opt.apply_gradients([(np.ones((2, 3)), w)])
    assert [n for n, _ in opt._tracked_attributes()] == [
        "iter", "decay", "learning_rate", "momentum", "rho"]
    assert opt.learning_rate.name == "RMSprop/learning_rate:0"
    opt.learning_rate = 0.5  # after creation: assigns into the variable
    assert float(opt.learning_rate.numpy()) == 0.5 and opt.lr is opt.learning_rate
    assert opt.get_config()["learning_rate"] == np.float32(0.5)


def test_legacy_create_slot_restores_before_the_first_step():
    w = _var()
    opt = legacy.Adam(learning_rate=0.0)  # lr 0 keeps the variable; slots still update
    restored = np.full((2, 3), 4.0, "float32")
    slot = opt.create_slot(w, "v", restored)
    assert slot.name == "dense/kernel/v:0"  # outside apply_gradients: no optimizer scope
    opt.apply_gradients([(np.zeros((2, 3)), w)])
    assert opt.get_slot(w, "v") is slot
    np.testing.assert_allclose(slot.numpy(), 4.0 * 0.999, rtol=1e-6)  # v = beta_2 * v + 0
    assert opt.get_slot_names() == ["v", "m"]  # creation order, as TF after such a restore
    assert [s for _, s, _ in opt.slot_variables()] == ["v", "m"]


def test_compile_accepts_names_and_instances_and_tracks_the_optimizer():
    model = keras.Sequential([keras.Input((3,)), layers.Dense(2)])
    model.compile()
    assert type(model.optimizer) is optimizers.RMSprop
    model.compile(optimizer="adam", loss="mse")
    assert type(model.optimizer) is optimizers.Adam
    opt = legacy.SGD(momentum=0.5)
    model.compile(optimizer=opt)
    assert model.optimizer is opt
    assert "optimizer" in dict(model._tracked_attributes())
    grads = [np.ones(v.shape, "float32") for v in model.trainable_weights]
    before = [v.numpy() for v in model.trainable_weights]
    model.optimizer.apply_gradients(zip(grads, model.trainable_weights))
    for b, v in zip(before, model.trainable_weights):
        np.testing.assert_allclose(v.numpy(), b - 0.01, rtol=1e-6)
