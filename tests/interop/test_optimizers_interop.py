"""Optimizers against tf-keras 2.21: five ``apply_gradients`` steps from the same variables
with the same gradients must give the same variables, optimizer variables (names, order,
values), tracked children and, for the legacy optimizers, slots and hyperparameters."""

import numpy as np
import pytest
import tf_side

import numkeras.optimizers as nk_opt
from numkeras.engine.variable import Variable

STEPS = 5
SHAPES = {"dense/kernel": (3, 4), "dense/bias": (4,), "dense_1/kernel": (4, 2)}


def _initial_values(seed=0):
    rng = np.random.default_rng(seed)
    return {name: rng.uniform(-1, 1, shape).astype("float32") for name, shape in SHAPES.items()}


def _gradients(seed=1):
    rng = np.random.default_rng(seed)
    return [{name: rng.normal(0, 1, shape).astype("float32") for name, shape in SHAPES.items()}
            for _ in range(STEPS)]


def _assert_close(ours, theirs, what):
    ours, theirs = np.asarray(ours), np.asarray(theirs)
    assert ours.shape == theirs.shape, f"{what}: shape {ours.shape} vs {theirs.shape}"
    assert ours.dtype == theirs.dtype, f"{what}: dtype {ours.dtype} vs {theirs.dtype}"
    scale = float(np.abs(theirs).max()) if theirs.size else 0.0
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-6 * scale, err_msg=what)


def _schedule(module, spec):
    if spec is None:
        return None
    name, kwargs = spec
    return getattr(module, name)(**kwargs)


def _make(module, schedules_module, cls_name, kwargs, lr_schedule):
    kwargs = dict(kwargs)
    schedule = _schedule(schedules_module, lr_schedule)
    if schedule is not None:
        kwargs["learning_rate"] = schedule
    return getattr(module, cls_name)(**kwargs)


def _run_tf(cls_name, kwargs, lr_schedule, legacy):
    tfk = tf_side.tf_keras()
    tf = tf_side.tensorflow()
    init = _initial_values()
    variables = {}
    for name, value in init.items():
        scope, short = name.split("/")
        with tf.name_scope(scope):
            variables[name] = tf.Variable(value, name=short)
    module = tfk.optimizers.legacy if legacy else tfk.optimizers
    opt = _make(module, tfk.optimizers.schedules, cls_name, kwargs, lr_schedule)
    for grads in _gradients():
        opt.apply_gradients([(tf.constant(grads[n]), variables[n]) for n in SHAPES])
    return opt, variables


def _run_ours(cls_name, kwargs, lr_schedule, legacy):
    variables = {name: Variable(value, name=name) for name, value in _initial_values().items()}
    module = nk_opt.legacy if legacy else nk_opt
    opt = _make(module, nk_opt.schedules, cls_name, kwargs, lr_schedule)
    for grads in _gradients():
        opt.apply_gradients([(grads[n], variables[n]) for n in SHAPES])
    return opt, variables


def _assert_same_model_variables(ours, theirs):
    for name in SHAPES:
        _assert_close(ours[name].numpy(), theirs[name].numpy(), f"variable {name}")


def _children(tf_obj):
    return list(tf_obj._trackable_children().keys())


NEW_CASES = [
    ("SGD", {}, None),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, None),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True}, None),
    ("SGD", {"learning_rate": 0.1, "weight_decay": 0.05}, None),
    ("Adam", {"learning_rate": 0.01}, None),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}, None),
    ("Adam", {"learning_rate": 0.01, "clipnorm": 0.5}, None),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 1.0}, None),
    ("Adam", {"learning_rate": 0.01, "clipvalue": 0.3}, None),
    ("Adam", {"learning_rate": 0.01, "use_ema": True, "ema_momentum": 0.9,
              "ema_overwrite_frequency": 2}, None),
    ("Adam", {}, ("ExponentialDecay", {"initial_learning_rate": 0.05, "decay_steps": 2,
                                       "decay_rate": 0.5})),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1}, None),
    ("AdamW", {"learning_rate": 0.01, "weight_decay": 0.1, "amsgrad": True}, None),
    ("RMSprop", {"learning_rate": 0.01}, None),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}, None),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}, None),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}, None),
    ("Adagrad", {"learning_rate": 0.1}, None),
    ("Adadelta", {"learning_rate": 1.0}, None),
    ("Adamax", {"learning_rate": 0.01}, None),
    ("Nadam", {"learning_rate": 0.01}, None),
    ("SGD", {}, ("PiecewiseConstantDecay", {"boundaries": [1, 3], "values": [0.1, 0.05, 0.01]})),
    ("SGD", {}, ("InverseTimeDecay", {"initial_learning_rate": 0.1, "decay_steps": 2,
                                      "decay_rate": 0.5, "staircase": True})),
    ("SGD", {}, ("PolynomialDecay", {"initial_learning_rate": 0.1, "decay_steps": 3,
                                     "power": 2.0, "cycle": True})),
    ("SGD", {}, ("CosineDecay", {"initial_learning_rate": 0.01, "decay_steps": 3,
                                 "alpha": 0.1, "warmup_target": 0.1, "warmup_steps": 2})),
    ("SGD", {}, ("CosineDecayRestarts", {"initial_learning_rate": 0.1,
                                         "first_decay_steps": 2, "m_mul": 0.5})),
]


def _case_id(case):
    cls_name, kwargs, schedule = case
    parts = [cls_name] + [f"{k}={v}" for k, v in kwargs.items()]
    return "-".join(parts + ([schedule[0]] if schedule else []))


@pytest.mark.parametrize("case", NEW_CASES, ids=[_case_id(c) for c in NEW_CASES])
def test_new_optimizer_matches_tf_keras(case):
    cls_name, kwargs, schedule = case
    tf_opt, tf_vars = _run_tf(cls_name, kwargs, schedule, legacy=False)
    opt, variables = _run_ours(cls_name, kwargs, schedule, legacy=False)
    _assert_same_model_variables(variables, tf_vars)
    assert [v.name for v in opt.variables] == [v.name for v in tf_opt.variables]
    for ours, theirs in zip(opt.variables, tf_opt.variables):
        _assert_close(ours.numpy(), theirs.numpy(), f"optimizer variable {theirs.name}")
    assert int(opt.iterations.numpy()) == STEPS
    _assert_close(np.asarray(opt.learning_rate), tf_opt.learning_rate.numpy(), "learning_rate")
    assert [name for name, _ in opt._tracked_attributes()] == _children(tf_opt)
    if cls_name == "Nadam":
        assert opt._u_product.name == tf_opt._u_product.name
        _assert_close(opt._u_product.numpy(), tf_opt._u_product.numpy(), "_u_product")
    if kwargs.get("use_ema"):
        opt.finalize_variable_values(list(variables.values()))
        tf_opt.finalize_variable_values(list(tf_vars.values()))
        _assert_same_model_variables(variables, tf_vars)


def test_new_optimizer_children_before_build_match_tf_keras():
    tfk = tf_side.tf_keras()
    for cls_name in ("SGD", "Adam", "RMSprop", "Nadam"):
        ours = getattr(nk_opt, cls_name)()
        assert [n for n, _ in ours._tracked_attributes()] == _children(
            getattr(tfk.optimizers, cls_name)())
    schedule = {"initial_learning_rate": 0.1, "decay_steps": 2, "decay_rate": 0.5}
    ours = nk_opt.Adam(nk_opt.schedules.ExponentialDecay(**schedule))
    theirs = tfk.optimizers.Adam(tfk.optimizers.schedules.ExponentialDecay(**schedule))
    assert [n for n, _ in ours._tracked_attributes()] == _children(theirs)
    assert ours._current_learning_rate.name == theirs._current_learning_rate.name


def test_new_optimizer_configs_match_tf_keras():
    tfk = tf_side.tf_keras()
    for cls_name, kwargs, schedule in NEW_CASES:
        ours = _make(nk_opt, nk_opt.schedules, cls_name, kwargs, schedule)
        theirs = _make(tfk.optimizers, tfk.optimizers.schedules, cls_name, kwargs, schedule)
        assert nk_opt.serialize(ours) == tfk.optimizers.serialize(theirs), cls_name


LEGACY_CASES = [
    ("SGD", {"learning_rate": 0.1}, None),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9}, None),
    ("SGD", {"learning_rate": 0.1, "momentum": 0.9, "nesterov": True, "decay": 0.1}, None),
    ("Adam", {"learning_rate": 0.01}, None),
    ("Adam", {"learning_rate": 0.01, "amsgrad": True}, None),
    ("Adam", {"learning_rate": 0.01, "decay": 0.05, "clipnorm": 0.5}, None),
    ("Adam", {"learning_rate": 0.01, "clipvalue": 0.3}, None),
    ("Adam", {"learning_rate": 0.01, "global_clipnorm": 1.0}, None),
    ("Adam", {}, ("ExponentialDecay", {"initial_learning_rate": 0.05, "decay_steps": 2,
                                       "decay_rate": 0.5})),
    ("RMSprop", {"learning_rate": 0.01}, None),
    ("RMSprop", {"learning_rate": 0.01, "momentum": 0.5}, None),
    ("RMSprop", {"learning_rate": 0.01, "centered": True}, None),
    ("RMSprop", {"learning_rate": 0.01, "centered": True, "momentum": 0.5}, None),
    ("Adagrad", {"learning_rate": 0.1}, None),
    ("Adadelta", {"learning_rate": 1.0}, None),
    ("Adamax", {"learning_rate": 0.01}, None),
    ("Nadam", {"learning_rate": 0.01}, None),
]


@pytest.mark.parametrize("case", LEGACY_CASES, ids=[_case_id(c) for c in LEGACY_CASES])
def test_legacy_optimizer_matches_tf_keras(case):
    cls_name, kwargs, schedule = case
    tf_opt, tf_vars = _run_tf(cls_name, kwargs, schedule, legacy=True)
    opt, variables = _run_ours(cls_name, kwargs, schedule, legacy=True)
    _assert_same_model_variables(variables, tf_vars)
    assert [w.name for w in opt.weights] == [w.name for w in tf_opt.weights]
    for ours, theirs in zip(opt.weights, tf_opt.weights):
        _assert_close(ours.numpy(), theirs.numpy(), f"optimizer weight {theirs.name}")
    assert opt.get_slot_names() == tf_opt.get_slot_names()
    for slot_name in tf_opt.get_slot_names():
        for name in SHAPES:
            theirs = tf_opt.get_slot(tf_vars[name], slot_name)
            ours = opt.get_slot(variables[name], slot_name)
            assert ours.name == theirs.name
            _assert_close(ours.numpy(), theirs.numpy(), f"slot {theirs.name}")
    tf_children = tf_opt._trackable_children()
    assert [name for name, _ in opt._tracked_attributes()] == list(tf_children)
    for (name, ours), theirs in zip(opt._tracked_attributes(), tf_children.values()):
        assert ours.name == theirs.name
        _assert_close(ours.numpy(), theirs.numpy(), f"hyperparameter {name}")
    assert opt.get_config() == tf_opt.get_config()


def test_legacy_slot_hook_order_matches_tf_checkpoint_order():
    """TF orders a legacy optimizer's slot nodes by slot name, then by variable."""
    tf_opt, tf_vars = _run_tf("RMSprop", {"momentum": 0.5, "centered": True}, None, legacy=True)
    opt, variables = _run_ours("RMSprop", {"momentum": 0.5, "centered": True}, None, legacy=True)
    expected = [(var.name, slot, tf_opt.get_slot(var, slot).name)
                for slot in tf_opt.get_slot_names() for var in tf_vars.values()]
    assert [(v.name, s, sv.name) for v, s, sv in opt.slot_variables()] == expected


def test_legacy_hyperparameters_created_by_access_come_first_as_in_tf_keras():
    tfk = tf_side.tf_keras()
    theirs = tfk.optimizers.legacy.Adam()
    theirs.learning_rate  # noqa: B018 - creates the hyperparameter weights, as in tf-keras
    theirs.iterations  # noqa: B018
    ours = nk_opt.legacy.Adam()
    ours.learning_rate  # noqa: B018
    ours.iterations  # noqa: B018
    assert [n for n, _ in ours._tracked_attributes()] == _children(theirs)
    assert [v.name for _, v in ours._tracked_attributes()] == [
        v.name for v in theirs._trackable_children().values()]


def test_weight_decay_exclusions_match_tf_keras():
    tf = tf_side.tensorflow()
    tfk = tf_side.tf_keras()
    init, grads = _initial_values(), _gradients()
    tf_vars = {}
    for name, value in init.items():
        scope, short = name.split("/")
        with tf.name_scope(scope):
            tf_vars[name] = tf.Variable(value, name=short)
    ours_vars = {name: Variable(value, name=name) for name, value in init.items()}
    theirs = tfk.optimizers.AdamW(learning_rate=0.01, weight_decay=0.2)
    theirs.exclude_from_weight_decay(var_list=[tf_vars["dense_1/kernel"]], var_names=["bias"])
    ours = nk_opt.AdamW(learning_rate=0.01, weight_decay=0.2)
    ours.exclude_from_weight_decay(var_list=[ours_vars["dense_1/kernel"]], var_names=["bias"])
    for step in grads:
        theirs.apply_gradients([(tf.constant(step[n]), tf_vars[n]) for n in SHAPES])
        ours.apply_gradients([(step[n], ours_vars[n]) for n in SHAPES])
    _assert_same_model_variables(ours_vars, tf_vars)
    assert [name for name, _ in ours._tracked_attributes()] == _children(theirs)
