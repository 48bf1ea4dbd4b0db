"""lavaan model syntax, the parameter table, and clear errors for bad input."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from psychometrics.errors import DataError, ModelError, ModelSyntaxError
from psychometrics.sem import cfa, parse_model, sem
from psychometrics.sem.partable import build_partable

from test_sem_lavaan import HS, M_HS


def test_parse_operators_and_modifiers():
    fs = parse_model("""
        # a comment
        f1 =~ NA*x1 + a*x2 + 0.5*x3 + start(0.7)*x4   ! another comment
        f2 =~ c(l1, l2)*x5 + c(1, NA)*x6
        y1 + y2 ~ f1 + 1
        x1 ~~ x2; f1 ~~ 1*f1
        ab := a*l1^2
        a == l1
    """)
    key = [(f.lhs, f.op, f.rhs) for f in fs]
    assert key[:4] == [("f1", "=~", "x1"), ("f1", "=~", "x2"), ("f1", "=~", "x3"), ("f1", "=~", "x4")]
    assert fs[0].free is True and fs[1].label == "a" and fs[2].fixed == 0.5 and fs[3].start == 0.7
    assert fs[4].label == ["l1", "l2"] and fs[5].fixed == [1.0, None] and fs[5].free == [False, True]
    assert ("y1", "~", "f1") in key and ("y2", "~1", "") in key and ("y1", "~1", "") in key
    assert ("x1", "~~", "x2") in key and ("f1", "~~", "f1") in key
    d = [f for f in fs if f.op == ":="][0]
    assert d.lhs == "ab" and d.rhs == "a*l1^2"
    assert [f for f in fs if f.op == "=="][0].rhs == "l1"


def test_continuation_lines():
    fs = parse_model("f1 =~ x1 + x2 +\n      x3\nf2 =~ x4\n   + x5 + x6")
    assert [(f.lhs, f.rhs) for f in fs] == [("f1", "x1"), ("f1", "x2"), ("f1", "x3"),
                                             ("f2", "x4"), ("f2", "x5"), ("f2", "x6")]


@pytest.mark.parametrize("text, line, token", [
    ("f1 =~ x1 + x2\nf2 = x3", 2, "f2"),
    ("f1 =~ x1 + 2x2", 1, "2x2"),
    ("f1 =~ x1 + + x2", 1, None),
    ("f1 =~ x1\n =~ x2", 2, "=~"),
    ("f1 =~ x1 ~~ x2", 1, "~~"),
    ("f1 =~ foo(1)*x1", 1, "foo(1)"),
])
def test_syntax_errors_name_line_and_token(text, line, token):
    with pytest.raises(ModelSyntaxError) as e:
        parse_model(text)
    assert e.value.line == line
    if token is not None:
        assert e.value.token == token
    assert f"line {line}" in str(e.value)


def test_partable_defaults_match_lavaan():
    pt = build_partable(parse_model(M_HS))
    df = pt.to_frame()
    # 9 loadings (3 fixed markers), 9 residual + 3 latent variances, 3 latent covariances
    assert len(df) == 24
    assert df[(df.op == "=~") & (df.free == 0)].rhs.tolist() == ["x1", "x4", "x7"]
    assert pt.n_full == 21 and pt.n_reduced == 21
    pt2 = build_partable(parse_model(M_HS), orthogonal=True, std_lv=True)
    d2 = pt2.to_frame()
    assert (d2[(d2.op == "~~") & (d2.lhs != d2.rhs)].ustart == 0).all()
    assert (d2[d2.op == "=~"].free > 0).all()
    assert pt2.n_full == 18


def test_group_equal_builds_equality_constraints():
    pt = build_partable(parse_model(M_HS), ngroups=2, meanstructure=True,
                        group_equal=("loadings", "intercepts"), group_partial=("x3~1",))
    # 6 loadings + 8 intercepts tied across groups
    assert pt.n_full - pt.n_reduced == 14
    df = pt.to_frame()
    lvm = df[(df.op == "~1") & df.lhs.isin(["visual", "textual", "speed"])]
    assert (lvm[lvm.group == 1].free == 0).all() and (lvm[lvm.group == 2].free > 0).all()


def test_unknown_variable_and_group():
    with pytest.raises(ModelError, match="xx9"):
        cfa("f =~ x1 + x2 + xx9", HS)
    with pytest.raises(ModelError, match="nosuch"):
        cfa(M_HS, HS, group="nosuch")


def test_non_numeric_data_names_row_column_value():
    bad = HS.copy()
    bad["x2"] = bad["x2"].astype(object)
    bad.loc[5, "x2"] = "n/a?"
    with pytest.raises(DataError) as e:
        cfa(M_HS, bad)
    msg = str(e.value)
    assert "'x2'" in msg and "n/a?" in msg and "row 5" in msg


def test_per_group_vector_length_checked():
    with pytest.raises(ModelSyntaxError, match="c\\(...\\)"):
        cfa("visual =~ x1 + c(a, b, c)*x2 + x3", HS, group="school")


def test_unknown_label_in_defined_parameter():
    with pytest.raises(ModelSyntaxError, match="zz"):
        sem(M_HS + "\n textual ~ a*visual\n ind := a*zz", HS)


def test_bad_options():
    with pytest.raises(ModelError):
        cfa(M_HS, HS, estimator="WLSMV")
    with pytest.raises(ModelError):
        cfa(M_HS, HS, group="school", group_equal=["loading"])
    with pytest.raises(ModelError):
        cfa(M_HS, HS, missing="pairwise")


def test_zero_variance_variable():
    d = HS.copy()
    d["x3"] = 2.0
    with pytest.raises(ModelError, match="x3"):
        cfa(M_HS, d)


from hypothesis import given, settings, strategies as st  # noqa: E402


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="fx12 =~+*;#\n()cNA.,:-", max_size=40))
def test_parser_never_crashes(text):
    """Any text either parses or raises ModelSyntaxError (never another exception)."""
    try:
        parse_model(text)
    except ModelSyntaxError:
        pass
