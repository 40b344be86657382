#!/usr/bin/env python3
"""Draw the wiring picture (docs/wiring.svg, docs/wiring.png) from pitrigger's defaults.

Pin numbers come from the built-in config (``pitrigger.config.Config()``): the button, the
motor and the wired trigger's optocoupler pins. The SVG is
deterministic (schemdraw's own SVG writer, text as ``<text>``), so a test regenerates it and
compares; the PNG is converted from it with ``rsvg-convert`` (Debian librsvg2-bin) or
CairoSVG when either is there.

    python docs/wiring.py            write docs/wiring.svg and docs/wiring.png
    python docs/wiring.py --check    exit 1 if docs/wiring.svg is not what the config gives

Needs schemdraw (in the ``test`` extra); never imported by the daemon.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import schemdraw
import schemdraw.elements as elm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pitrigger.config import Config  # noqa: E402

#: BCM GPIO number → physical pin on the 40-pin header (Pi Zero, Zero W, Zero 2 W alike).
HEADER_PIN = {0: 27, 1: 28, 2: 3, 3: 5, 4: 7, 5: 29, 6: 31, 7: 26, 8: 24, 9: 21, 10: 19,
              11: 23, 12: 32, 13: 33, 14: 8, 15: 10, 16: 36, 17: 11, 18: 12, 19: 35, 20: 38,
              21: 40, 22: 15, 23: 16, 24: 18, 25: 22, 26: 37, 27: 13}
PIN_3V3, PIN_GND = 1, 9

SVG = HERE / "wiring.svg"
PNG = HERE / "wiring.png"
FONT = 11


def gpio(bcm: int, what: str = "") -> str:
    return f"GPIO{bcm}{' ' + what if what else ''} · pin {HEADER_PIN[bcm]}"


def net(d: schemdraw.Drawing, at: object, text: str, *, direction: str = "left",
        length: float = 1.0) -> None:
    """A short wire ending in a dot named after the Pi pin it goes to (a net label)."""
    line = elm.Line().at(at).length(length)
    getattr(line, direction)()
    d += line
    d += elm.Dot(open=True).label(text, loc="left" if direction == "left" else "right",
                                  fontsize=FONT)


def title(d: schemdraw.Drawing, xy: tuple[float, float], text: str, note: str = "") -> None:
    d += elm.Label().at(xy).label(text, fontsize=FONT + 2, halign="left")
    if note:
        d += elm.Label().at((xy[0], xy[1] - 0.55)).label(note, fontsize=FONT - 1,
                                                          halign="left", color="#555555")


def box(d: schemdraw.Drawing, center: tuple[float, float], text: str, *,
        pin: str, side: str, size: tuple[float, float] = (3.6, 1.4)) -> elm.Ic:
    """A labelled box with one pin (a device at the end of a cable)."""
    part = elm.Ic(pins=[elm.IcPin(name=pin, side=side)], size=size, pinspacing=0.6)
    d += part.at(center).anchor("center").right()  # (an Ic turns with the last wire)
    d += elm.Label().at((center[0], center[1] + size[1] / 2 + 0.45)).label(text, fontsize=FONT)
    return part


def draw(config: Config) -> schemdraw.Drawing:
    button, motor = config.button.pin, config.haptics.pin
    focus, shutter = config.wired.focus_pin, config.wired.shutter_pin
    d = schemdraw.Drawing(show=False)
    d.config(fontsize=FONT, unit=2.5, lw=1.2)

    note = ("pin numbers from pitrigger.config defaults: "
            f"[button] pin = {button}, [haptics] pin = {motor}, "
            f"[wired] focus_pin = {focus}, shutter_pin = {shutter}")
    d += elm.Label().at((-16.0, 11.6)).label("pitrigger wiring", fontsize=FONT + 6,
                                              halign="left")
    d += elm.Label().at((-16.0, 10.8)).label(note, fontsize=FONT, halign="left",
                                              color="#555555")
    d += elm.Label().at((-16.0, 10.1)).label(
        "open circles: wires to the Pi's header pin of that name", fontsize=FONT,
        halign="left", color="#555555")

    # -- the Pi: the header pins used, top to bottom, and the two micro-USB ports ----------
    used = sorted({PIN_3V3: "3V3", HEADER_PIN[2]: "GPIO2 SDA", HEADER_PIN[3]: "GPIO3 SCL",
                   PIN_GND: "GND", HEADER_PIN[button]: f"GPIO{button} button",
                   HEADER_PIN[motor]: f"GPIO{motor} motor",
                   HEADER_PIN[focus]: f"GPIO{focus} focus",
                   HEADER_PIN[shutter]: f"GPIO{shutter} shutter"}.items(), reverse=True)
    pins = [elm.IcPin(name=name, pin=str(number), side="right") for number, name in used]
    pins += [elm.IcPin(name="PWR IN", side="left", anchorname="pwr"),
             elm.IcPin(name="USB (OTG)", side="left", anchorname="usb")]
    height = 0.9 * len(used) + 0.6
    pi = elm.Ic(pins=pins, size=(6.0, height), pinspacing=0.9)
    d += pi.at((-3.0, 1.0)).anchor("center").right()
    d += elm.Label().at((-3.0, 1.0 + height / 2 + 0.9)).label(
        "Raspberry Pi Zero / Zero W / Zero 2 W\n(40-pin header, pin numbers)", fontsize=FONT)

    # -- power bank and camera on the two micro-USB ports ---------------------------------
    usb, pwr = pi.absanchors["usb"], pi.absanchors["pwr"]
    cam = box(d, (-14.0, usb[1] + 1.6), "Canon EOS 5D Mark II", pin="USB mini-B",
              side="right")
    d += elm.Wire("-|").at(cam.absanchors["inR1"]).to((usb[0] - 1.0, usb[1]))
    d += elm.Line().right().tox(usb[0])
    d += elm.Label().at((-9.2, usb[1] + 2.3)).label(
        "OTG cable: micro-B on the Pi's 'USB'\nport (not 'PWR IN'), mini-B on the camera",
        fontsize=FONT - 1, color="#555555")
    bank = box(d, (-14.0, pwr[1] - 1.6), "USB power bank, 5 V ≥ 1 A", pin="5 V out",
               side="right")
    d += elm.Wire("-|").at(bank.absanchors["inR1"]).to((pwr[0] - 1.0, pwr[1]))
    d += elm.Line().right().tox(pwr[0])
    d += elm.Label().at((-9.2, pwr[1] - 2.4)).label("micro-USB cable to 'PWR IN'",
                                                    fontsize=FONT - 1, color="#555555")

    # -- 1. the button, to ground, on the internal pull-up -------------------------------
    x0, y = 8.0, 9.2
    title(d, (x0 - 4.0, y + 3.3), f"1. Button on {gpio(button)}",
          "momentary, to GND; the SoC's own pull-up (pull_up = true)")
    junction = (x0, y)
    d += elm.Dot().at(junction)
    net(d, junction, gpio(button), length=1.2)
    d += elm.Resistor().at(junction).up().length(1.5).linestyle("--").label(
        "pull-up inside\nthe SoC", loc="bottom", fontsize=FONT - 2)
    d += elm.Vdd().label("3V3", fontsize=FONT - 1)
    d += elm.Line().at(junction).right().length(1.2)
    d += elm.Button().down().length(2.0).label("button", loc="bottom", fontsize=FONT - 1)
    d += elm.Ground().label(f"GND · pin {PIN_GND}", loc="right", fontsize=FONT - 1)

    # -- 2. the ERM motor through a logic-level N-MOSFET, with flyback diode -------------
    x0, y = 8.0, -0.6
    title(d, (x0 - 4.0, y + 5.8), f"2. Vibration motor on {gpio(motor)}",
          "never from the pin itself (16 mA max): a low-side logic-level N-MOSFET "
          "(or a BC337 NPN with 1 kΩ base)")
    d += elm.Dot(open=True).at((x0 - 1.2, y)).label(gpio(motor), loc="left", fontsize=FONT)
    d += elm.Resistor().right().length(2.2).label("100 Ω", fontsize=FONT - 1)
    d += elm.Dot()
    d += elm.Resistor().down().length(1.8).label("100 kΩ: off\nwhile booting", loc="top",
                                                  fontsize=FONT - 2)
    d += elm.Ground()
    d += elm.Line().at((x0 + 1.0, y)).right().length(1.4)
    fet = elm.NFet().reverse().anchor("gate").at(d.here)
    d += fet
    d += elm.Label().at((fet.drain[0] + 0.5, fet.center[1])).label(
        "AO3400", fontsize=FONT - 2, halign="left")
    d += elm.Ground().at(fet.source)
    d += elm.Line().at(fet.drain).up().length(0.6)
    top = d.here
    d += elm.Dot()
    d += elm.Motor().up().length(2.2).label("ERM coin motor\n~3 V, ~60 mA", loc="top",
                                             fontsize=FONT - 2)
    supply = d.here
    d += elm.Dot()
    d += elm.Line().up().length(0.4)
    d += elm.Vdd().label(f"3V3 · pin {PIN_3V3}", fontsize=FONT - 1)
    d += elm.Line().at(top).right().length(2.2)
    d += elm.Diode().up().length(2.2).label("1N5819\ncathode to +", loc="bottom",
                                            fontsize=FONT - 2)
    d += elm.Line().left().tox(supply[0])

    # -- 3. optional DRV2605L haptic driver on I²C ---------------------------------------
    x0, y = 8.0, -6.5
    title(d, (x0 - 4.0, y + 2.4), "3. Optional: DRV2605L haptic driver (I²C address 0x5A)",
          "drives the motor instead of stage 2; no pitrigger sink uses it yet")
    drv = elm.Ic(pins=[elm.IcPin(name="SCL", side="left"), elm.IcPin(name="SDA", side="left"),
                       elm.IcPin(name="GND", side="left"), elm.IcPin(name="VIN", side="left"),
                       elm.IcPin(name="OUT−", side="right"),
                       elm.IcPin(name="OUT+", side="right")],
                 size=(3.6, 3.2), pinspacing=0.7)
    d += drv.at((x0 + 1.6, y - 1.4)).anchor("center").right()
    d += elm.Label().at((x0 + 1.6, y + 0.6)).label("DRV2605L board", fontsize=FONT)
    for anchor, text in (("inL4", f"3V3 · pin {PIN_3V3}"), ("inL3", f"GND · pin {PIN_GND}"),
                         ("inL2", gpio(2, "SDA")), ("inL1", gpio(3, "SCL"))):
        net(d, drv.absanchors[anchor], text, length=1.4)
    d += elm.Line().at(drv.absanchors["inR2"]).right().length(1.4)
    d += elm.Motor().down().length(2.0).label("ERM", loc="bottom", fontsize=FONT - 2)
    d += elm.Wire("-|").to(drv.absanchors["inR1"])

    # -- 4. optional optocouplers to the camera's N3 remote port -------------------------
    x0, y = 8.0, -13.2
    title(d, (x0 - 4.0, y + 2.6),
          "4. Optional: optocouplers to the camera's N3 remote port (trigger = \"wired\")",
          "PC817: ~4.5 mA through its LED from 3.3 V via 470 Ω; the camera's contact "
          "sits at 3.3 V, 68 µA to ground")
    for row, (bcm, line, plug) in enumerate(((focus, "focus", "ring"),
                                              (shutter, "shutter", "tip"))):
        yy = y - row * 3.3
        d += elm.Dot(open=True).at((x0 - 1.2, yy)).label(gpio(bcm, line), loc="left",
                                                          fontsize=FONT)
        d += elm.Resistor().right().length(2.2).label("470 Ω", fontsize=FONT - 1)
        opto = elm.Optocoupler().anchor("anode").label("PC817", loc="top", fontsize=FONT - 2)
        d += opto
        d += elm.Ground().at(opto.cathode)
        d += elm.Line().at(opto.collector).right().length(4.6).label(
            f"N3 {line} (2.5 mm plug: {plug})", loc="top", fontsize=FONT - 2)
        d += elm.Dot(open=True)
        d += elm.Line().at(opto.emitter).right().length(4.6).label(
            "N3 ground (2.5 mm plug: sleeve)", loc="bottom", fontsize=FONT - 2)
        d += elm.Dot(open=True)
    d += elm.Label().at((x0 - 4.0, y - 6.1)).label(
        "The camera side connects only to the camera: its ground is not the Pi's GND.",
        fontsize=FONT - 1, halign="left",
        color="#555555")
    d += elm.Label().at((x0 - 4.0, y - 6.7)).label(
        "N3: three contacts (ground, focus, shutter); find which is which with a meter "
        "(docs/wiring.md).", fontsize=FONT - 1, halign="left",
        color="#555555")
    # A frame: the picture's edges (schemdraw under-estimates the width of long labels).
    d += elm.Rect((-17.0, 13.4), (23.0, -21.4), color="#bbbbbb", lw=0.6).at((0, 0))
    return d


def svg_text(config: Config | None = None) -> str:
    schemdraw.use("svg")
    data = draw(config if config is not None else Config()).get_imagedata("svg")
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    # One element per line, so that a change of pin reads as a small diff.
    return text.replace("><", ">\n<").rstrip("\n") + "\n"


def write_png(svg: Path, png: Path) -> str:
    """Convert with rsvg-convert or CairoSVG; returns what was used ('' if neither)."""
    if shutil.which("rsvg-convert"):
        subprocess.run(["rsvg-convert", "--zoom", "1.0", "--background-color", "white",
                        "-o", str(png), str(svg)], check=True)
        return "rsvg-convert"
    try:
        import cairosvg  # type: ignore[import-not-found]
    except ImportError:
        return ""
    cairosvg.svg2png(url=str(svg), write_to=str(png), scale=1.0, background_color="white")
    return "cairosvg"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true",
                        help="compare docs/wiring.svg with a fresh drawing; write nothing")
    args = parser.parse_args(argv)
    text = svg_text()
    if args.check:
        same = SVG.exists() and SVG.read_text(encoding="utf-8") == text
        print("docs/wiring.svg is up to date" if same
              else "docs/wiring.svg differs: run python docs/wiring.py")
        return 0 if same else 1
    SVG.write_text(text, encoding="utf-8")
    used = write_png(SVG, PNG)
    print(f"wrote {SVG.relative_to(ROOT)}"
          + (f" and {PNG.relative_to(ROOT)} ({used})" if used
             else "; no PNG (install librsvg2-bin or cairosvg)"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
