"""What a test or the command line may choose about the virtual body (``CameraSettings``)."""

from __future__ import annotations

from dataclasses import dataclass

from pitrigger.virtualcam.body import BODIES, DEFAULT_BODY, MOVIE_BYTES_PER_S

# How the remote movie start behaves: a body that supports it, one that never reports
# EVFRecordStatus (0xD1B8), and one that reports it but answers Device Busy to every set.
REMOTE_MOVIE_MODES = ("supported", "hidden", "busy")
STILL_FORMATS = ("jpg", "cr2")


@dataclass
class CameraSettings:
    """Everything a test or the CLI may choose; ``reset`` returns to these values."""

    body: str = DEFAULT_BODY  # a key of body.BODIES
    clip_limit_s: float | None = None  # None: the 4 GB file cap (about 12 minutes)
    clip_max_bytes: int | None = None  # None: the body's file cap (FAT32: just under 4 GiB)
    battery_percent: float = 100.0
    card_capacity_bytes: int = 32_270_778_368
    card_free_bytes: int = 16_126_214_144
    movie_mode: bool = True  # menu "Live View/Movie func. set." = Stills+movie
    remote_movie: str | None = None  # None: what the body does (Body.remote_movie)
    auto_poweroff_s: float | None = None  # None or 0: never
    # True: only KeepDeviceOn (0x911D), OpenSession and the body restart the idle timer;
    # False: any PTP operation does (which of the two the real body does is unverified).
    auto_poweroff_needs_keepalive: bool = False
    file_write_delay_s: float = 0.0  # from stop until the MOV appears (ObjectAddedEx)
    first_file_number: int = 1
    movie_bytes_per_s: int = MOVIE_BYTES_PER_S
    battery_drain_pct_per_min: float = 1.0  # while recording; idle drain is not modelled
    thm_files: bool = False  # also write and announce MVI_NNNN.THM after each MOV
    still_format: str = "jpg"  # IMG_NNNN.JPG or IMG_NNNN.CR2
    still_size_bytes: int = 6_000_000

    def validate(self) -> None:
        if self.body not in BODIES:
            raise ValueError(f"body must be one of {tuple(BODIES)}")
        if self.remote_movie is not None and self.remote_movie not in REMOTE_MOVIE_MODES:
            raise ValueError(f"remote_movie must be one of {REMOTE_MOVIE_MODES}")
        if self.clip_max_bytes is not None and self.clip_max_bytes <= 0:
            raise ValueError("clip_max_bytes must be positive")
        if self.still_format not in STILL_FORMATS:
            raise ValueError(f"still_format must be one of {STILL_FORMATS}")
        if self.still_size_bytes <= 0:
            raise ValueError("still_size_bytes must be positive")
        if self.clip_limit_s is not None and self.clip_limit_s <= 0:
            raise ValueError("clip_limit_s must be positive")
        if not 0 <= self.battery_percent <= 100:
            raise ValueError("battery_percent must be within 0..100")
        if self.card_free_bytes < 0 or self.card_free_bytes > self.card_capacity_bytes:
            raise ValueError("card_free_bytes must be within 0..card_capacity_bytes")
        if self.auto_poweroff_s is not None and self.auto_poweroff_s < 0:
            raise ValueError("auto_poweroff_s must be >= 0")
        if not 1 <= self.first_file_number <= 9999:
            raise ValueError("first_file_number must be within 1..9999")
        if self.movie_bytes_per_s <= 0 or self.file_write_delay_s < 0:
            raise ValueError("movie_bytes_per_s must be > 0 and file_write_delay_s >= 0")
        if self.battery_drain_pct_per_min < 0:
            raise ValueError("battery_drain_pct_per_min must be >= 0")
