"""G99 frequency response: LFSM-O droop and active power at reduced frequency, judged from captured power."""
