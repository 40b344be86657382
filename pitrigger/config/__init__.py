"""The config file: one TOML file, validated in full, every problem named by key and line.

The device has no screen, so a config mistake must never pass silently: unknown keys are
errors (a typo would otherwise leave a setting at its default), values are type-checked
without coercion, and each problem names its dotted key and the line it is on::

    pitrigger.toml:12: haptics.pin: must differ from button.pin (both 17)

Search order: ``--config PATH``, then :data:`SEARCH_PATH` (the SD card's boot partition
first), else the built-in defaults. ``pitrigger check-config PATH`` runs the same checks.

The package's parts:

* :mod:`~pitrigger.config.schema` — the pydantic models (the one validator);
* :mod:`~pitrigger.config.toml_lines` — the TOML scanner that finds each key's line;
* :mod:`~pitrigger.config.wording` — validation and syntax errors as plain-worded problems;
* :mod:`~pitrigger.config.problems` — :class:`ConfigProblem`, :class:`ConfigError`;
* :mod:`~pitrigger.config.loading` — search path, safe reading, validation, check-config.

The schema (and with it pydantic) is imported only when first asked for, so that importing
this package stays cheap.

>>> config = parse_config('[button]\\npin = 23\\n')
>>> config.button.pin, config.haptics.pin
(23, 18)
>>> config.actions_for("recording")
{'press': 'toggle-recording', 'hold': 'status'}
>>> try:
...     parse_config('[button]\\npin = 23\\npn = 4\\n', source="pitrigger.toml")
... except ConfigError as exc:
...     print(exc)
pitrigger.toml:3: button.pn: unknown key (did you mean 'pin'?)
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from pitrigger.config import loading
from pitrigger.config.loading import (
    MAX_FILE_BYTES,
    SEARCH_PATH,
    find_config,
    load_config,
    main_check_config,
    parse_config,
)
from pitrigger.config.problems import ConfigError, ConfigProblem
from pitrigger.config.toml_lines import KeyPath, key_lines

if TYPE_CHECKING:
    from pitrigger.config.schema import Config
    from pitrigger.controller import ACTION_NAMES

__all__ = [
    "ACTION_NAMES",
    "MAX_FILE_BYTES",
    "SEARCH_PATH",
    "Config",
    "ConfigError",
    "ConfigProblem",
    "KeyPath",
    "find_config",
    "key_lines",
    "load_config",
    "loading",
    "main_check_config",
    "parse_config",
]

# Names that cost an import (pydantic for the schema) are fetched on first use (PEP 562).
_LAZY = {
    "Config": "pitrigger.config.schema",
    "ACTION_NAMES": "pitrigger.controller",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
