"""The shutter button, which several hands can hold: USB (EOS RemoteReleaseOn/Off) and the
N3 wired-remote lines press the same two contacts, half (focus) and full (release).

Pure bookkeeping: it says when a half-press ends without having gone fully down, which is
the moment Magic Lantern's "REC key: HalfShutter" acts (src/movtweaks.c waits for the
half-press to be let go). What a press does (a still, a movie toggle) is the model's call.
"""

from __future__ import annotations


class ShutterButton:
    """Who holds the button half down, and whether it went fully down since."""

    def __init__(self) -> None:
        self.half_holders: set[str] = set()  # "usb", "n3"
        self.full_down = False
        self._full_since_half = False

    def press_half(self, holder: str) -> None:
        if not self.half_holders:
            self._full_since_half = False
        self.half_holders.add(holder)

    def release_half(self, holder: str) -> bool:
        """Let go; True when this ends a half-press that never went fully down."""
        if holder not in self.half_holders:
            return False
        self.half_holders.discard(holder)
        return not self.half_holders and not self._full_since_half

    def press_full(self) -> None:
        self.full_down = True
        self._full_since_half = True

    def release_full(self) -> None:
        self.full_down = False
