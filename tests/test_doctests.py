"""The runnable examples in the docstrings run."""

from __future__ import annotations

import doctest
import importlib

import pytest
from gpiozero import Device

MODULES = [
    "pitrigger.config",
    "pitrigger.config.docs",
    "pitrigger.config.problems",
    "pitrigger.config.schema",
    "pitrigger.config.startup",
    "pitrigger.config.toml_lines",
    "pitrigger.config.view",
    "pitrigger.haptic_rules",
    "pitrigger.controller",
    "pitrigger.gestures",
    "pitrigger.haptics",
    "pitrigger.buttons",
    "pitrigger.motors",
    "pitrigger.gpiochip",
    "pitrigger.journal",
    "pitrigger.triggers",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    try:
        result = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    finally:
        if Device.pin_factory is not None:  # examples may install a mock factory
            Device.pin_factory.reset()
            Device.pin_factory = None
    assert result.attempted > 0, f"{name} has no runnable example"
    assert result.failed == 0
