"""The pacer hands out send times 1/rate apart, from a clock the test moves by hand."""

from __future__ import annotations

import pytest

from pixelmill.config import Settings
from pixelmill.providers.upstream.client import UpstreamConfig
from pixelmill.providers.upstream.pacing import Pacer, pacer_for


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_gets_slots_one_interval_apart_and_an_idle_pacer_sends_at_once() -> None:
    clock = Clock()
    pacer = Pacer(5, clock=clock)
    assert [pacer.reserve() for _ in range(4)] == pytest.approx([0.0, 0.2, 0.4, 0.6])
    clock.now += 0.5  # the slots of 100.0 .. 100.6 are taken; the next free one is 100.8
    assert pacer.reserve() == pytest.approx(0.3)
    clock.now += 10  # long idle: no credit piles up, the next call goes now and the one after waits
    assert pacer.reserve() == 0.0
    assert pacer.reserve() == pytest.approx(0.2)


def test_a_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        Pacer(0)


def test_pacers_are_shared_per_upstream_key_class_and_rate() -> None:
    one = pacer_for("xai", "key-a", "video", 1.0)
    assert pacer_for("xai", "key-a", "video", 1.0) is one
    assert pacer_for("xai", "key-b", "video", 1.0) is not one
    assert pacer_for("xai", "key-a", "image", 1.0) is not one
    assert pacer_for("xai", "key-a", "video", 2.0) is not one


def test_the_operators_rates_go_over_the_adapters_defaults_and_zero_lifts_a_limit() -> None:
    settings = Settings(upstream_rate_limits={"xai:image": 2, "xai:video": 0, "openai:image": 9})
    rates = UpstreamConfig.rates_from("xai", {"image": 5, "video": 1}, settings)
    assert rates == {"image": 2}
    assert UpstreamConfig.rates_from("xai", {"image": 5, "video": 1}, Settings()) == {"image": 5, "video": 1}


@pytest.mark.parametrize("rates", [{"xai": 1.0}, {"xai:video": -1.0}, {"XAI video": 1.0}])
def test_badly_named_or_negative_rates_are_refused(rates: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="upstream_rate_limits"):
        Settings(upstream_rate_limits=rates)
