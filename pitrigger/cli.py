"""The ``pitrigger`` command line.

Each subcommand imports its module only when chosen, so ``pitrigger run`` on a Pi Zero never
pays for the virtual camera or the demo.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

# The trigger names are a plain tuple (no imports behind them): cheap for every subcommand.
from pitrigger.names import TRIGGERS

TRIGGER_PATHS = TRIGGERS[:-1]  # "auto" is a choice among paths, not one to try


def _run(args: argparse.Namespace) -> int:
    from pitrigger.service import main_run

    return main_run(args.config)


def _check_config(args: argparse.Namespace) -> int:
    from pitrigger.config import main_check_config

    return main_check_config(args.path)


def _haptics(args: argparse.Namespace) -> int:
    from pitrigger.service import main_haptics

    return main_haptics(args.config, args.names, pause_s=args.pause)


def _demo(args: argparse.Namespace) -> int:
    from pitrigger.demo import main_demo

    return main_demo(args)


def _probe(args: argparse.Namespace) -> int:
    from pitrigger.probe import main_probe

    return main_probe(args.config, args.port, try_record=not args.no_record,
                      out_dir=args.out, stop_service=args.stop_service,
                      paths=args.paths.split(",") if args.paths else TRIGGER_PATHS,
                      record_s=args.clip_seconds)


def _paths(text: str) -> str:
    unknown = [p for p in text.split(",") if p not in TRIGGER_PATHS]
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown trigger path(s) {', '.join(unknown)}; choose from {', '.join(TRIGGER_PATHS)}")
    return text


def _journal(args: argparse.Namespace) -> int:
    import time

    from pitrigger.daybook import main_journal

    path = args.path
    if path is None:
        from pitrigger.config import ConfigError, find_config, load_config

        try:
            path = load_config(find_config(args.config)).journal.path
        except ConfigError as exc:
            print(exc, file=sys.stderr)
            return 2
    return main_journal(path, args.since, args.json, now=time.time())


def package_version() -> str:
    """The installed distribution's version (its metadata), else the source tree's."""
    from importlib import metadata  # only for --version: ~20 ms of imports

    import pitrigger

    try:
        return metadata.version("pitrigger")
    except metadata.PackageNotFoundError:
        return f"{pitrigger.__version__} (not installed)"


class _VersionAction(argparse.Action):
    # argparse's own "version" action wants the text when the parser is built, which would
    # make every `pitrigger run` pay for importlib.metadata; this one looks it up when asked.
    def __init__(self, option_strings: Sequence[str], dest: str = argparse.SUPPRESS,
                 default: str = argparse.SUPPRESS, help: str | None = None) -> None:
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        print(f"pitrigger {package_version()}")
        parser.exit()


def _seconds(text: str) -> float:
    import math

    value = float(text)
    if not (math.isfinite(value) and 0 <= value <= 60):
        raise argparse.ArgumentTypeError(f"must be 0 to 60 seconds, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pitrigger",
        description="Screenless strap remote for a tethered camera.",
    )
    parser.add_argument("--version", action=_VersionAction, help="print the version and exit")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(
        name: str, func: Callable[[argparse.Namespace], int], help: str
    ) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=help, description=help)
        p.set_defaults(func=func)
        return p

    p = add("run", _run, "run the daemon")
    p.add_argument("--config", metavar="PATH", help="config file (default: search path)")

    p = add("check-config", _check_config, "validate a config file; exit 2 naming every error")
    p.add_argument("path", metavar="PATH")

    p = add("haptics", _haptics, "play the haptic vocabulary (or the named patterns)")
    p.add_argument("--config", metavar="PATH")
    p.add_argument("--pause", type=_seconds, default=0.8, metavar="SECONDS",
                   help="extra stillness between two patterns, on top of the configured "
                        "haptics.min_gap_ms (default 0.8; 0 = back to back, as the daemon)")
    p.add_argument("names", nargs="*", metavar="NAME")

    p = add(
        "demo",
        _demo,
        "run the daemon against the virtual 5D Mark II with terminal button and haptics",
    )
    p.add_argument("--config", metavar="PATH", help="extra config overrides (TOML)")
    p.add_argument("--clip-limit", type=float, default=None, metavar="SECONDS",
                   help="virtual camera clip limit (default: the real body's 4 GB)")

    # Parsed by pitrigger.virtualcam.server itself; listed here for --help.
    sub.add_parser("virtual-camera", help="run the virtual Canon EOS 5D Mark II (PTP/IP)")

    p = add("journal", _journal,
            "the day so far: clips, stills, errors, camera losses and copies")
    p.add_argument("--config", metavar="PATH", help="config naming the journal's path")
    p.add_argument("--path", metavar="FILE", help="journal file (overrides the config)")
    p.add_argument("--since", metavar="WHEN", help="30m, 2h, 1d, HH:MM or an ISO date/time")
    p.add_argument("--json", action="store_true", help="one JSON object per row")

    p = add("probe", _probe, "the pre-trip check: which trigger paths work on this camera, "
                             "one verdict line, the config lines to paste (exit codes: "
                             "docs/remote-movie.md)")
    p.add_argument("--config", metavar="PATH")
    p.add_argument("--port", metavar="PORT", help="camera port, overrides the config")
    p.add_argument("--no-record", action="store_true",
                   help="only report the body, do not try any trigger path")
    p.add_argument("--paths", metavar="LIST", type=_paths,
                   help=f"comma-separated trigger paths to try (default: all of "
                        f"{','.join(TRIGGER_PATHS)})")
    p.add_argument("--clip-seconds", type=float, default=2.0, metavar="S",
                   help="length of each test clip (default 2)")
    p.add_argument("--out", metavar="DIR",
                   help="where to write the report (default: [camera] probe_dir)")
    p.add_argument("--stop-service", action="store_true",
                   help="stop the pitrigger service for the probe, start it again after")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["virtual-camera"]:
        # The responder owns its options; it runs as its own process (see its docs).
        from pitrigger.virtualcam.server import main as vc_main

        return vc_main(argv[1:])
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
