"""The messages between the edge and the pure core: camera reports, effects, inbox items.

Adapters (cameras, buttons) import this module, never the state machine: a camera backend
says *what the camera reported*; :mod:`pitrigger.controller` decides what it means.

>>> CommandFailed(3, "refused", "0x2019", reason="not-movie-mode").reason
'not-movie-mode'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from pitrigger.copier import CopyProgress
    from pitrigger.status_code import StatusReading

# --- camera reports (camera worker -> controller) ---------------------------------------


@dataclass(frozen=True, slots=True)
class CameraConnected:
    """The camera session is open; ``recording`` is what the camera reports now.

    ``confirms`` is false when nothing this body reports can tell whether it records (no
    0xD1B8, and a half-press or wired trigger): ``recording`` is then no knowledge.
    """

    recording: bool
    model: str = ""
    confirms: bool = True


@dataclass(frozen=True, slots=True)
class CameraState:
    """The camera reported its recording state (``source``: event, readback or sync)."""

    recording: bool
    source: str = "event"


FailureKind = Literal["busy", "refused", "timeout", "lost"]


@dataclass(frozen=True, slots=True)
class CommandFailed:
    """Command ``id`` did not take effect. ``kind`` is busy, refused, timeout or lost.

    ``reason`` (refusals only) is one of :data:`pitrigger.names.REFUSALS`: what the user
    must fix on the body.
    """

    id: int
    kind: FailureKind
    detail: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class CommandSent:
    """Command ``id`` was carried out by a trigger whose effect the camera cannot confirm
    (a half-press or a wired pulse): believe it, but say it is unconfirmed (cue ``sent``).
    For ``sync``: the body cannot report its recording state at all."""

    id: int
    action: Literal["start", "stop", "sync"]


@dataclass(frozen=True, slots=True)
class CameraLost:
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ClipSaved:
    """The camera added a file: a movie after a stop, or a still. ``size`` in bytes, if known
    (a clip at the 4 GB cap is recognised by it)."""

    path: str
    size: int | None = None


@dataclass(frozen=True, slots=True)
class SupplyReport:
    """Battery (%) and free card space (bytes) as read from the body; ``None``: unknown."""

    battery_percent: float | None
    card_free_bytes: int | None
    connected: bool = False  # the first reading after a (re)connection
    temperature_warning: bool = False


@dataclass(frozen=True, slots=True)
class StillResult:
    """The shutter was released for a still (the file comes later as a ClipSaved)."""

    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class CopyReport:
    """How far the second copy of a clip is (news for the log and the journal only)."""

    progress: CopyProgress


@dataclass(frozen=True, slots=True)
class FocusStarted:
    """The camera worker entered focus mode: live-view frames flow (magnified if it can)."""


@dataclass(frozen=True, slots=True)
class FocusEnded:
    """Focus mode ended; ``problems`` names each setting that did not read back as before."""

    problems: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class FocusScore:
    """One live-view frame's sharpness (any scale), taken at ``at``. The daemon hands it to
    :class:`pitrigger.focus.FocusFeedback`; the controller's table never sees it."""

    score: float
    at: float


CameraReport = (CameraConnected | CameraState | CommandFailed | CommandSent | CameraLost
                | ClipSaved | SupplyReport | StillResult | FocusStarted | FocusEnded
                | FocusScore)


# --- effects (controller -> edge) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Command:
    """Tell the camera to ``start``/``stop`` recording, ``sync`` (report its real state), take
    a ``still``, or ``focus-on``/``focus-off`` (enter focus mode / put everything back)."""

    action: Literal["start", "stop", "sync", "still", "focus-on", "focus-off"]
    id: int


@dataclass(frozen=True, slots=True)
class StatusAnswer:
    """Play the status answer (:mod:`pitrigger.status_code`) telling ``reading``."""

    reading: StatusReading


@dataclass(frozen=True, slots=True)
class Cue:
    """Play the haptic pattern ``name`` (a name from :data:`pitrigger.names.CUES`)."""

    name: str


@dataclass(frozen=True, slots=True)
class Record:
    """A line for the journal."""

    event: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PowerOff:
    """Ask the system to power off (after the cue has played)."""


@dataclass(frozen=True, slots=True)
class Focus:
    """Start (``on``) or silence the focus feedback (:class:`pitrigger.focus.FocusFeedback`)."""

    on: bool


Effect = Command | Cue | Record | PowerOff | StatusAnswer | Focus


# --- the daemon's inbox (adapter threads -> the loop) ---------------------------------------


@dataclass(frozen=True, slots=True)
class Edge:
    """The button went down (``pressed``) or up at ``at`` (the time it happened)."""

    pressed: bool
    at: float


@dataclass(frozen=True, slots=True)
class TypedGesture:
    """A whole gesture typed by name (terminal input), made at ``at``."""

    name: str
    at: float


@dataclass(frozen=True, slots=True)
class FromCamera:
    """A report from the camera worker."""

    report: CameraReport | CopyReport


@dataclass(frozen=True, slots=True)
class Shutdown:
    """End the loop now (SIGTERM, SIGINT, a test); ``why`` goes to the log and journal."""

    why: str = "stop requested"


@dataclass(frozen=True, slots=True)
class ShutdownWhenSettled:
    """End the loop once the camera has settled and the motor is quiet (demo EOF)."""


@dataclass(frozen=True, slots=True)
class Reload:
    """Re-read and validate the config (SIGHUP); a bad one is refused, the running one kept."""


InboxItem = Edge | TypedGesture | FromCamera | Shutdown | ShutdownWhenSettled | Reload

__all__ = [
    "CameraConnected",
    "CameraLost",
    "CameraReport",
    "CameraState",
    "ClipSaved",
    "Command",
    "CommandFailed",
    "CommandSent",
    "CopyReport",
    "Cue",
    "Edge",
    "Effect",
    "FailureKind",
    "Focus",
    "FocusEnded",
    "FocusScore",
    "FocusStarted",
    "FromCamera",
    "InboxItem",
    "PowerOff",
    "Record",
    "Reload",
    "Shutdown",
    "ShutdownWhenSettled",
    "StatusAnswer",
    "StillResult",
    "SupplyReport",
    "TypedGesture",
]
