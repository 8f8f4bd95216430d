"""What drivers confirm on a unit for ``rig bench check`` (exact command and reply sequences, no hardware)."""

from __future__ import annotations

import pytest

from drivers.battery.keysight_rp7900 import KeysightRP7900
from drivers.grid.chroma_61800 import Chroma61800
from protocol import OK, expected_protocol


@pytest.mark.parametrize(("reply", "outcome"), [("-5.000000E+01", "confirmed"), ("+5.000000E+01", "problem"),
                                                ("+0.0", "problem")])
def test_the_battery_emulators_sink_limit_sign_is_confirmed_only_when_it_reads_back_negative(
        reply: str, outcome: str) -> None:
    script = [("CURR:LIM:NEG?", reply), ("SYST:ERR?", OK), ("CURR:LIM:COUP?", "0"), ("SYST:ERR?", OK),
              ("STAT:QUES2:COND?", "+0"), ("SYST:ERR?", OK), ("SENS:ELOG:PER?", "+1.0E-01"), ("SYST:ERR?", OK)]
    with expected_protocol(KeysightRP7900, script) as battery:
        checks = {c.what: c for c in battery.bench_checks()}
    sign = next(c for what, c in checks.items() if "sink current limit" in what)
    assert sign.outcome == outcome


def test_a_grid_simulator_answering_the_other_range_form_or_refusing_a_query_is_a_problem() -> None:
    script = [("VOLT:RANG?", "HI"), ("SYST:ERR?", OK),
              ("MEAS:VOLT:ACDC?", ""), ("SYST:ERR?", '-113,"Undefined header"'), ("SYST:ERR?", OK)]
    script += [(q, "0.0") if q.endswith("?") and q != "SYST:ERR?" else (q, OK) for q in
               ("MEAS:FREQ?", "SYST:ERR?", "MEAS:CURR:AC?", "SYST:ERR?", "MEAS:POW:AC?", "SYST:ERR?",
                "STAT:QUES:COND?", "SYST:ERR?", "SOUR:CURR:DEL?", "SYST:ERR?")]
    script += [("TRIG:STATE?", "OFF"), ("SYST:ERR?", OK)]
    with expected_protocol(Chroma61800, script) as grid:
        checks = grid.bench_checks()
    problems = [c for c in checks if c.outcome == "problem"]
    assert [c.what for c in problems] == [
        "the voltage range reads back in the driver's form (HIGH or LOW; SVP's driver sends HI)",
        "the voltage measurement query answers a number"]
    assert "Undefined header" in problems[1].detail
