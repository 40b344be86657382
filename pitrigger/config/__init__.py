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
* :mod:`~pitrigger.config.loading` — search path, safe reading, validation, check-config;
* :mod:`~pitrigger.config.view` — a validated config as plain values, and the methods
  (``timings()``, ``actions_for()``…) that the models and the view share;
* :mod:`~pitrigger.config.startup` — ``pitrigger run``'s config: validated once per change,
  then started from a store; the fallback to the last good copy;
* :mod:`~pitrigger.config.docs` — docs/config.md, generated from the schema.

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

if TYPE_CHECKING:
    from pitrigger.config.schema import Config
    from pitrigger.config.toml_lines import KeyPath, key_lines
    from pitrigger.names import ACTIONS as ACTION_NAMES

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

# Names that cost an import are fetched on first use (PEP 562): the schema needs pydantic,
# and a warm start needs neither it nor the line scanner. (module, name there)
_LAZY = {
    "Config": ("pitrigger.config.schema", "Config"),
    "KeyPath": ("pitrigger.config.toml_lines", "KeyPath"),
    "key_lines": ("pitrigger.config.toml_lines", "key_lines"),
    "ACTION_NAMES": ("pitrigger.names", "ACTIONS"),
}


def __getattr__(name: str) -> Any:
    where = _LAZY.get(name)
    if where is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(where[0]), where[1])
    globals()[name] = value
    return value
