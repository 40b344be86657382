"""What ``pitrigger probe`` proved on each body, kept on the data partition for ``auto``.

One small JSON file maps a body's key (:attr:`pitrigger.triggers.BodyFacts.key`: its serial
number, else its model name) to the probe's last verdict on it: the trigger path that worked,
or ``"none"``. ``[camera] trigger = "auto"`` reads it when no USB movie is offered.

>>> import tempfile, pathlib
>>> from pitrigger.triggers import BodyFacts
>>> path = pathlib.Path(tempfile.mkdtemp()) / "verdicts.json"
>>> body = BodyFacts("Canon EOS 5D Mark II", serial="0042")
>>> save_verdict(path, body, "wired", report="probe-1.txt")
>>> load_verdicts(path)
{'serial:0042': 'wired'}
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from pitrigger.triggers import TRIGGER_PATHS, BodyFacts

log = logging.getLogger(__name__)

#: What a verdict may say: a trigger path, or that none worked.
VERDICTS: tuple[str, ...] = (*TRIGGER_PATHS, "none")


def _read(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        # A torn or hand-edited file must not stop the daemon: auto then errs with advice.
        log.warning("probe verdicts at %s unreadable (%s): ignored", path, exc)
        return {}
    return data if isinstance(data, dict) else {}


def load_verdicts(path: Path | str) -> dict[str, str]:
    """Body key → verdict; entries that are not a known verdict are left out."""
    out: dict[str, str] = {}
    for key, entry in _read(Path(path)).items():
        verdict = entry.get("verdict") if isinstance(entry, dict) else None
        if verdict in VERDICTS:
            out[str(key)] = verdict
    return out


def save_verdict(path: Path | str, facts: BodyFacts, verdict: str, *, report: str = "") -> None:
    """Record ``verdict`` for this body (replacing its previous one), atomically."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict must be one of {VERDICTS}, got {verdict!r}")
    path = Path(path)
    data = _read(path)
    data[facts.key] = {
        "verdict": verdict,
        "model": facts.model,
        "firmware": facts.firmware,
        "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "report": report,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile("w", dir=path.parent, delete=False,
                                     encoding="utf-8") as tmp:
        json.dump(data, tmp, indent=2, sort_keys=True)
        tmp.write("\n")
        tmp.flush()
        os.fsync(tmp.fileno())
    # The daemon (user pitrigger) must read what `sudo pitrigger probe` (root) wrote.
    os.chmod(tmp.name, 0o644)
    _owned_like_the_data_dir(Path(tmp.name), path.parent)
    os.replace(tmp.name, path)


def _owned_like_the_data_dir(path: Path, directory: Path) -> None:
    """Run as root, hand the file and its directory to the data partition's owner (the
    directory's parent, /var/lib/pitrigger), so a later probe as that user can replace it."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return
    try:
        owner = directory.parent.stat()
        for target in (directory, path):
            os.chown(target, owner.st_uid, owner.st_gid)
    except OSError as exc:
        log.debug("cannot hand %s to the data directory's owner: %s", path, exc)
