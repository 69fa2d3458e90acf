"""The build's forked child (leftbehind.forked): its result, its errors and its death reach the
parent; its parts come back one by one, and what the parent sends after the fork reaches it."""

from __future__ import annotations

import os
import select
import signal
import threading

import pytest

from leftbehind.errors import BuildError
from leftbehind.forked import ForkedCall, ForkedParts

# Far more than a pipe's buffer holds (64 KB on Linux): its sender waits until it is read.
LARGE = b"x" * 4_000_000
# How long a test lets an event take before it fails rather than hang (never a wait).
BOUND_S = 60


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


def test_parts_come_back_by_name_and_an_error_after_them_is_raised_where_asked():
    def parts(receive):
        yield "first", [os.getpid()]
        yield "second", "two"
        raise BuildError("file 19 has faults", ["lsoa11_boundaries_drkane/E06000001.geojson, feature 2: no geometry"])

    call = ForkedParts(parts, "test")
    try:
        assert call.get("second") == "two"
        assert call.get("first") != [os.getpid()]
        with pytest.raises(BuildError) as raised:
            call.get("third")
        assert raised.value.problems == ["lsoa11_boundaries_drkane/E06000001.geojson, feature 2: no geometry"]
    finally:
        call.cancel()


def test_the_child_makes_the_next_part_while_a_large_one_waits_to_be_asked_for():
    made, mark = os.pipe()

    def parts(receive):
        yield "large", LARGE
        os.write(mark, b"1")  # reached while nobody has read the large part
        yield "small", 1

    call = ForkedParts(parts, "test")
    try:
        assert select.select([made], [], [], BOUND_S)[0], "the child waited for the parent to take the large part"
        assert call.get("small") == 1
        assert call.get("large") == LARGE
    finally:
        call.cancel()
        os.close(made)
        os.close(mark)


def test_what_the_parent_sends_reaches_the_child_without_waiting_for_it_to_ask():
    busy, release = os.pipe()

    def parts(receive):
        os.read(busy, 1)  # busy until the parent's send has returned
        yield "length", len(receive())
        yield "next", receive()

    call = ForkedParts(parts, "test")
    try:
        sending = threading.Thread(target=call.send, args=(LARGE,), daemon=True)
        sending.start()
        sending.join(BOUND_S)
        assert not sending.is_alive(), "the parent's send waited for the child to ask"
        call.send({"ward": "E05006035"})
        os.write(release, b"1")
        assert call.get("length") == len(LARGE)
        assert call.get("next") == {"ward": "E05006035"}
    finally:
        call.cancel()
        os.close(busy)
        os.close(release)


def test_sending_to_a_child_that_has_failed_leaves_its_error_to_get():
    def parts(receive):
        raise BuildError("file 15 has faults", ["boundaries_lba_2020_set_brc.rda, row 3, column 'geometry': empty"])
        yield  # a generator that fails before its first part

    call = ForkedParts(parts, "test")
    try:
        with pytest.raises(BuildError, match="file 15 has faults"):
            call.get("anything")
        call.send(LARGE)  # the child is gone: no BrokenPipeError here
    finally:
        call.cancel()
