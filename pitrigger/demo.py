"""``pitrigger demo``: the product on a desktop, no hardware.

Starts the virtual 5D Mark II in a child process and runs the real daemon against it over
real libgphoto2, with the terminal as button and motor. Type Enter to press, a gesture name
for a gesture, ``camera …`` to poke the camera (``camera help``). It also runs from a script:
``pitrigger demo < script.txt`` ends once the input ends and the camera has settled.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import tempfile
from pathlib import Path
from typing import Any

from pitrigger.config import Config, ConfigError, load_config

CAMERA_HELP = """camera commands:
  camera state                 what the virtual camera is doing
  camera button                press the record button on the camera body
  camera off | camera on       pull the battery / put it back
  camera FAULT [key=value ...] inject a fault (see docs/virtual-camera.md), e.g.
                               camera busy count=3 | camera drop | camera stall
                               camera refuse_movie | camera card_full | camera battery_low"""


def demo_config(base: Config, port: str, workdir: Path) -> Config:
    """``base`` with the demo's camera port, terminal I/O and files in ``workdir``."""
    return base.model_copy(update={
        "camera": base.camera.model_copy(update={"port": port, "backend": "gphoto2"}),
        "button": base.button.model_copy(update={"source": "terminal"}),
        "haptics": base.haptics.model_copy(update={"sink": "terminal"}),
        "journal": base.journal.model_copy(update={"path": str(workdir / "journal.jsonl")}),
        "power": base.power.model_copy(update={"request_path": str(workdir / "poweroff")}),
        "daemon": base.daemon.model_copy(update={"last_good_path": str(workdir / "last.toml")}),
    })


def _parse_value(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return text


def camera_command(control: Any, out: Any = sys.stdout) -> Any:
    """The handler for ``camera …`` lines."""

    def handle(rest: str) -> None:
        word, *args = rest.split()
        if word == "help":
            print(CAMERA_HELP, file=out, flush=True)
            return
        if word == "state":
            print("camera " + json.dumps(control.state(), sort_keys=True), file=out, flush=True)
            return
        if word == "button":
            control.press_body_button()
        elif word in ("on", "off"):
            control.power(word == "on")
        else:
            params = dict(arg.split("=", 1) for arg in args if "=" in arg)
            control.inject(word, **{k: _parse_value(v) for k, v in params.items()})
        print(f"camera: {rest} done", file=out, flush=True)

    return handle


def main_demo(args: argparse.Namespace) -> int:
    from pitrigger.buttons import TERMINAL_HELP, TerminalButton
    from pitrigger.service import build_daemon, configure_logging
    from pitrigger.virtualcam import spawn

    configure_logging()
    try:
        base = load_config(args.config) if args.config else Config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    options = {} if args.clip_limit is None else {"clip_limit_s": args.clip_limit}
    with tempfile.TemporaryDirectory(prefix="pitrigger-demo-") as tmp, spawn(**options) as vc:
        config = demo_config(base, vc.port_string, Path(tmp))
        interactive = sys.stdin.isatty()
        if interactive:
            print(f"pitrigger demo: virtual Canon EOS 5D Mark II on {vc.port_string}\n"
                  f"  {TERMINAL_HELP}\n  camera help: poke the camera; Ctrl-D ends",
                  flush=True)
        daemon_box: list[Any] = []
        button = TerminalButton(
            sys.stdin,
            extra={"camera": camera_command(vc.control)},
            on_eof=lambda: daemon_box[0].stop_when_settled(),
        )
        daemon = build_daemon(config, button=button)
        button.wait_for = daemon.first_report  # a script's first press must not race the connection
        daemon_box.append(daemon)
        try:
            daemon.run()
        except KeyboardInterrupt:
            daemon.stop()
        state = vc.control.state()
        clips = ", ".join(f"{c['name']} ({c['duration_s']:.1f} s)" for c in state["clips"])
        print(f"demo over: camera {'RECORDING' if state['recording'] else 'idle'}; "
              f"clips: {clips or 'none'}", flush=True)
    logging.shutdown()
    return 0
