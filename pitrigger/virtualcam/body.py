"""What the virtual body is: its identity as GetDeviceInfo tells it, its fixed limits, and
the bodies ("personalities") ``--body NAME`` picks from.

Sources: the operation lists are libgphoto2's camlibs/ptp2/cameras/canon-eos5dmark2.txt
(firmware 1.0.7) and canon-eos7d.txt (firmware 1.1.0); the limits are the 5D Mark II's
documented 4 GB / 29:59 caps. The clip rate, GUID and serial number are made up. Which
behaviour of each body is sourced and which assumed: docs/virtual-camera.md.
"""

from __future__ import annotations

from dataclasses import dataclass

from pitrigger.virtualcam import ptp

MODEL_NAME = "Canon EOS 5D Mark II"
MANUFACTURER = "Canon Inc."
DEVICE_VERSION = "3-1.0.7"
SERIAL_NUMBER = "0123456789abcdef0123456789abcdef"

# FAT32 caps a file just under 4 GiB; the body stops there by itself (no new file).
# Kept below 0xFFFFFFFF, which libgphoto2 reads as "size does not fit, ask MTP".
CLIP_MAX_BYTES = 0xFFFF0000
# 1080p H.264 at the rate that makes 4 GB last about 12 minutes.
MOVIE_BYTES_PER_S = CLIP_MAX_BYTES // 720
CLIP_MAX_S = 29 * 60 + 59
LOW_BATTERY_PERCENT = 5.0
STILL_SIZE_BYTES = 6_000_000  # for AvailableShots on the card
PC_AVAILABLE_SHOTS = 9999  # what AvailableShots reads after PCHDDCapacity

# The body's operation list (libgphoto2 camlibs/ptp2/cameras/canon-eos5dmark2.txt, fw 1.0.7).
OPERATIONS_5D2: tuple[int, ...] = (
    0x1014, 0x1015, 0x1016, 0x1001, 0x1002, 0x1003, 0x1006, 0x1004, 0x9101, 0x1005, 0x9102,
    0x1007, 0x1008, 0x9103, 0x1009, 0x9104, 0x100A, 0x101B, 0x9107, 0x100C, 0x100D, 0x100B,
    0x9105, 0x100F, 0x9106, 0x9110, 0x9127, 0x910B, 0x9108, 0x9109, 0x910C, 0x910E, 0x910F,
    0x9125, 0x9126, 0x9115, 0x9114, 0x9113, 0x9116, 0x9117, 0x9120, 0x91F0, 0x9118, 0x9121,
    0x91F1, 0x911D, 0x910A, 0x911B, 0x911C, 0x911E, 0x911A, 0x9153, 0x9154, 0x9160, 0x9155,
    0x9157, 0x9158, 0x9159, 0x915A, 0x911F, 0x91FE, 0x91FF, 0x9128, 0x9129, 0x9801, 0x9802,
    0x9803, 0x9804, 0x9805, 0x91C0, 0x91C1, 0x91C2, 0x91C3, 0x91C4, 0x91C5, 0x91C6, 0x91C7,
    0x91C8, 0x91C9, 0x91CA, 0x91CB, 0x91CC, 0x91CE, 0x91CF, 0x91E1, 0x91E2, 0x91E3, 0x91E4,
    0x91E5, 0x91E6, 0x91E7, 0x91E8, 0x91E9, 0x91EA, 0x91EB, 0x91EC, 0x91ED, 0x91F2, 0x91F3,
    0x91F4, 0x91F7, 0x9122, 0x9123, 0x9124, 0x91F5, 0x91F6, 0x9052, 0x9053, 0x9057, 0x9058,
    0x9059, 0x905A, 0x905F,
)
EVENTS_5D2 = (0x4009, 0x4004, 0x4005, 0x4003, 0x4002, 0x4007, 0xC101)
DEVICE_PROPS_5D2 = (
    ptp.PROP_DEVICE_FRIENDLY_NAME, ptp.PROP_PERCEIVED_DEVICE_TYPE,
    ptp.PROP_SESSION_INITIATOR_INFO,
)
CAPTURE_FORMATS_5D2 = (0x3801,)
IMAGE_FORMATS_5D2 = (0x3001, 0x3002, 0x3006, 0x300A, 0x3008, 0x3801, 0xB101, 0xB103, 0xBF02,
                     0x3800, 0xB104)
# GetDeviceInfoEx: the EOS event codes and properties; the third list's meaning is unknown,
# libgphoto2 only needs the reply to be well formed.
EOS_EVENTS = (0xC181, 0xC182, 0xC189, 0xC18A, 0xC18B, 0xC101)
EOS_UNKNOWN_LIST = (0x00000001,)

# Live view (pitrigger/virtualcam/liveview.py): the 5D2's frame (libgphoto2#136), the
# magnifications it offers, and the sensor in whose pixels a zoom position is given
# (an assumption: libgphoto2 only passes the two numbers of eoszoomposition through).
LIVE_VIEW_SIZE = (1024, 680)
ZOOM_LEVELS = (1, 5, 10)
SENSOR_SIZE = (5616, 3744)
ZOOM_CENTRE = (SENSOR_SIZE[0] // 2, SENSOR_SIZE[1] // 2)


def battery_level(percent: float) -> int:
    """EOS BatteryPower level for a charge (libgphoto2 shows Low/25%/50%/75%/100%)."""
    if percent >= 88:
        return ptp.BATTERY_LEVEL_100
    if percent >= 63:
        return ptp.BATTERY_LEVEL_75
    if percent >= 38:
        return ptp.BATTERY_LEVEL_50
    if percent >= 13:
        return ptp.BATTERY_LEVEL_25
    return ptp.BATTERY_LEVEL_LOW


# The 7D's operation list (libgphoto2 camlibs/ptp2/cameras/canon-eos7d.txt, firmware 1.1.0):
# the 5D Mark II 1.0.7 list plus 0x912B-0x9134 (movie select among them), 0x91D0-0x91D2,
# 0x91EE/0x91EF and 0x91F8/0x91F9. That capture lists 0xD1B8 among its EOS properties.
OPERATIONS_7D: tuple[int, ...] = (
    0x1014, 0x1015, 0x1016, 0x1001, 0x1002, 0x1003, 0x1006, 0x1004, 0x9101, 0x1005, 0x9102,
    0x1007, 0x1008, 0x9103, 0x1009, 0x9104, 0x100A, 0x101B, 0x9107, 0x100C, 0x100D, 0x100B,
    0x9105, 0x100F, 0x9106, 0x9110, 0x9127, 0x910B, 0x9108, 0x9109, 0x910C, 0x910E, 0x910F,
    0x9125, 0x9126, 0x9115, 0x9114, 0x9113, 0x9116, 0x9117, 0x9120, 0x91F0, 0x9118, 0x9121,
    0x91F1, 0x911D, 0x910A, 0x911B, 0x911C, 0x911E, 0x911A, 0x9153, 0x9154, 0x9160, 0x9155,
    0x9157, 0x9158, 0x9159, 0x915A, 0x911F, 0x91FE, 0x91FF, 0x9128, 0x9129, 0x912D, 0x912E,
    0x912F, 0x912C, 0x9130, 0x9131, 0x9132, 0x9133, 0x9134, 0x912B, 0x9801, 0x9802, 0x9803,
    0x9804, 0x9805, 0x91C0, 0x91C1, 0x91C2, 0x91C3, 0x91C4, 0x91C5, 0x91C6, 0x91C7, 0x91C8,
    0x91C9, 0x91CA, 0x91CB, 0x91CC, 0x91CE, 0x91CF, 0x91D0, 0x91D1, 0x91D2, 0x91E1, 0x91E2,
    0x91E3, 0x91E4, 0x91E5, 0x91E6, 0x91E7, 0x91E8, 0x91E9, 0x91EA, 0x91EB, 0x91EC, 0x91ED,
    0x91EE, 0x91EF, 0x91F8, 0x91F9, 0x91F2, 0x91F3, 0x91F4, 0x91F7, 0x9122, 0x9123, 0x9124,
    0x91F5, 0x91F6, 0x9052, 0x9053, 0x9057, 0x9058, 0x9059, 0x905A, 0x905F,
)


@dataclass(frozen=True)
class Body:
    """One body the virtual camera can be: what GetDeviceInfo says and how it records."""

    name: str  # the --body value
    summary: str
    model: str
    device_version: str
    operations: tuple[int, ...]
    events: tuple[int, ...]
    device_props: tuple[int, ...]
    folder_name: str  # DCIM/100EOS5D
    # The remote movie start (0xD1B8) unless --remote-movie says otherwise: "supported",
    # "hidden" (never reported, a set answers 0x200A) or "busy" (reported, sets answer 0x2019).
    remote_movie: str
    # Magic Lantern's Movie menu "REC key: HalfShutter": the release of a half-press (USB
    # RemoteReleaseOn/Off or the N3 focus line) starts or stops a movie.
    ml_rec_key: bool = False


BODIES: dict[str, Body] = {
    body.name: body for body in (
        Body("5d2", "5D Mark II that accepts a remote movie start over 0xD1B8 (unverified on "
             "a real body; the default)", MODEL_NAME, DEVICE_VERSION, OPERATIONS_5D2,
             EVENTS_5D2, DEVICE_PROPS_5D2, "100EOS5D", "supported"),
        Body("5d2-no-usb-movie", "5D Mark II firmware without 0xD1B8: no remote movie over "
             "USB", MODEL_NAME, DEVICE_VERSION, OPERATIONS_5D2, EVENTS_5D2, DEVICE_PROPS_5D2,
             "100EOS5D", "hidden"),
        Body("5d2-ml", "5D Mark II without 0xD1B8, running Magic Lantern with 'REC key: "
             "HalfShutter'", MODEL_NAME, DEVICE_VERSION, OPERATIONS_5D2, EVENTS_5D2,
             DEVICE_PROPS_5D2, "100EOS5D", "hidden", ml_rec_key=True),
        Body("7d", "EOS 7D: reports 0xD1B8 and records on a remote start", "Canon EOS 7D",
             "3-1.1.0", OPERATIONS_7D, (), (), "100EOS7D", "supported"),
    )
}
DEFAULT_BODY = "5d2"
