#!/usr/bin/env python3
"""``pitrigger run`` with gpiod's ``request_lines`` replaced by the tests' pipe-backed stand-in.

For bench/idle.py on a machine without a gpiochip: the daemon runs its real gpiod button and
motor adapters (EdgeReader blocking in select() on the request's descriptor, the motor's
output line), only the kernel side is a pipe (tests/gpiod_standin.py). The blocking read is
a real one, so the wake-ups counted are the ones the adapter itself causes.

Usage: bench/_gpiod_standin_daemon.py --config PATH   (the arguments of ``pitrigger run``)
"""

from __future__ import annotations

import sys

from _common import ROOT

sys.path.insert(0, str(ROOT / "tests"))

import gpiod
from gpiod_standin import StandInChip

from pitrigger.cli import main

if __name__ == "__main__":
    gpiod.request_lines = StandInChip()
    sys.exit(main(["run", *sys.argv[1:]]))
