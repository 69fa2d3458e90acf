"""The build's forked child (leftbehind.forked): its result, its errors and its death reach the parent."""

from __future__ import annotations

import os
import signal

import pytest

from leftbehind.errors import BuildError
from leftbehind.forked import ForkedCall


def test_the_result_comes_back_from_the_child():
    parent = os.getpid()
    assert ForkedCall(lambda: (os.getpid() != parent, [1, 2] * 3), "test").result() == (True, [1, 2] * 3)


def test_a_build_error_in_the_child_is_raised_in_the_parent_as_it_was():
    def fails():
        raise BuildError("file 18 has faults", ["ward_outlines_2019/E06000001.geojson, feature 3: no geometry"])

    with pytest.raises(BuildError) as raised:
        ForkedCall(fails, "test").result()
    assert raised.value.summary == "file 18 has faults"
    assert raised.value.problems == ["ward_outlines_2019/E06000001.geojson, feature 3: no geometry"]
    assert str(raised.value).count("Build failed") == 1


def test_a_result_that_cannot_be_pickled_is_an_error_naming_why():
    with pytest.raises(RuntimeError, match="pickle"):
        ForkedCall(lambda: (lambda: None), "test").result()


def test_a_child_that_dies_is_an_error_with_its_exit():
    with pytest.raises(RuntimeError, match=r"leftbehind-test ended without a result \(exit code -9\)"):
        ForkedCall(lambda: os.kill(os.getpid(), signal.SIGKILL), "leftbehind-test").result()


def test_a_cancelled_child_is_stopped_and_reaped():
    call = ForkedCall(lambda: signal.pause(), "test")
    call.cancel()
    assert not call._process.is_alive() and call._process.exitcode == -signal.SIGKILL
