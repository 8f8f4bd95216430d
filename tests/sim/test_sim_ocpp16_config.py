"""The simulated charger's OCPP 1.6 configuration answers as chapter 9 and 5.3/5.8 say."""

from __future__ import annotations

import pytest

from rig.sim.charger.ocpp16_config import Configuration


@pytest.fixture
def config() -> Configuration:
    return Configuration({}, [], [], connectors=1)


def test_unknown_keys_are_not_supported_and_reported_unknown(config: Configuration) -> None:
    assert config.change("NoSuchKey", "1") == "NotSupported"
    known, unknown = config.get(["HeartbeatInterval", "NoSuchKey"])
    assert [k["key"] for k in known] == ["HeartbeatInterval"] and unknown == ["NoSuchKey"]


@pytest.mark.parametrize(("key", "value"), [("MeterValueSampleInterval", "-1"), ("MeterValueSampleInterval", "1.5"),
                                            ("StopTransactionOnEVSideDisconnect", "yes"),
                                            ("MeterValuesSampledData", "Energy.Active.Import.Register,Banana"),
                                            ("NumberOfConnectors", "2"), ("SecurityProfile", "4"),
                                            ("AuthorizationKey", "short")])
def test_a_value_it_cannot_take_or_a_read_only_key_is_rejected_and_kept(config: Configuration, key: str,
                                                                         value: str) -> None:
    before = config.text(key)
    assert config.change(key, value) == "Rejected" and config.text(key) == before


def test_an_accepted_value_is_kept_and_the_write_only_key_never_read(config: Configuration) -> None:
    assert config.change("MeterValueSampleInterval", "30") == "Accepted" and config.number("MeterValueSampleInterval") == 30
    assert config.change("AuthorizationKey", "00" * 20) == "Accepted"
    known, unknown = config.get(None)
    assert "AuthorizationKey" not in {k["key"] for k in known} and unknown == []


def test_a_profile_changes_values_and_access_and_leaves_keys_out() -> None:
    config = Configuration({"HeartbeatInterval": "60"}, ["HeartbeatInterval"], ["LocalPreAuthorize"], connectors=2)
    assert config.text("HeartbeatInterval") == "60" and config.change("HeartbeatInterval", "30") == "Rejected"
    assert not config.has("LocalPreAuthorize") and config.number("NumberOfConnectors") == 2
    with pytest.raises(ValueError, match="no OCPP 1.6 key"):
        Configuration({"Bogus": "1"}, [], [], connectors=1)
