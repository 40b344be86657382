"""Every name that the config, the controller, the adapters and the docs share: one list each.

A name is added here and nowhere else; the config accepts exactly these, the controller's
table is checked against them, and the docs are generated from them.

>>> "press" in GESTURES and "toggle-recording" in ACTIONS and "recording" in CUES
True
>>> State("no-camera") is State.NO_CAMERA
True
"""

from __future__ import annotations

from enum import StrEnum

#: What the button recogniser reports (see :mod:`pitrigger.gestures`).
GESTURES: tuple[str, ...] = ("press", "double", "hold", "long-hold", "very-long-hold")
#: The hold ladder, shortest first; also the names of the ticks felt as each one passes.
HOLDS: tuple[str, ...] = ("hold", "long-hold", "very-long-hold")

#: What a gesture can be mapped to in ``[actions.*]`` (see :mod:`pitrigger.controller`).
ACTIONS: tuple[str, ...] = (
    "toggle-recording",
    "start-recording",
    "stop-recording",
    "status",
    "power-off",
    "still",
    "focus-mode",  # enter focus mode (not while recording); the same gesture leaves it
    "none",
)

#: The haptic vocabulary: every cue the motor can play (see docs/haptics.md).
CUES: tuple[str, ...] = (
    "ready",
    "recording",
    "stopped",
    "error",
    "no-camera",
    "busy",
    "refused",
    "tick",
    "power-off",
    # shooting all day (docs/haptics.md, "The day's news")
    "limit-soon",
    "restarted",
    "low-card",
    "low-battery",
    "heat",
    "still",
    "sent",
    # focus mode (pitrigger/focus.py): one pulse of the rate train, and the mode's events
    "focus",
    "focus-on",
    "focus-off",
    "in-focus",
    "focus-lost",
)

#: How a start/stop reaches the camera: ``[camera] trigger`` (see :mod:`pitrigger.triggers`).
#: ``auto`` comes last: it picks one of the others for the body that is attached.
TRIGGERS: tuple[str, ...] = ("usb", "usb-half-press", "wired", "auto")


#: Why a body refused a command for good (``refused`` cue), and what the user must fix.
REFUSALS: dict[str, str] = {
    "card-full": "the card is full (or missing): free space or change the card",
    "battery-low": "the camera's battery is too low: change the battery",
    "remote-movie-refused": (
        "the body refuses a remote movie start: set the mode dial / menu to movie "
        "(5D Mark II: Live View/Movie func. set = Stills+movie, Movie display) and check "
        "`pitrigger probe`"
    ),
    "busy-too-long": (
        "the body answered busy to several presses in a row: it may be writing, in a menu "
        "or in playback; check the body, then `pitrigger probe`"
    ),
    "no-trigger-path": (
        "no trigger path works on this body ([camera] trigger = \"auto\" found no 0xD1B8 and "
        "no path proved by `pitrigger probe`): run the probe, or set the trigger"
    ),
    "focus-unavailable": (
        "focus mode could not start: the body gives no live-view frames (lens, mode, menu), "
        "or numpy/Pillow are missing (pip install 'pitrigger[focus]')"
    ),
    "unknown": "the body refused without saying why: run `pitrigger probe`",
}


class State(StrEnum):
    """The recording controller's states (the rows of its table)."""

    NO_CAMERA = "no-camera"
    IDLE = "idle"
    STARTING = "starting"
    RECORDING = "recording"
    STOPPING = "stopping"
    SYNCING = "syncing"  # a command failed or timed out: waiting for the camera's real state
    SHOOTING = "shooting"  # a still release in flight (EOS remote release)
    # A half-press / wired trigger was sent and nothing the camera reports confirms it: the
    # belief follows what was sent, and the motor says `sent`, never `recording`/`stopped`.
    RECORDING_UNCONFIRMED = "recording-unconfirmed"
    IDLE_UNCONFIRMED = "idle-unconfirmed"
    POWERING_OFF = "powering-off"
    FOCUSING = "focusing"  # focus mode: magnified live view scored, felt as a pulse rate


__all__ = ["ACTIONS", "CUES", "GESTURES", "HOLDS", "REFUSALS", "TRIGGERS", "State"]
