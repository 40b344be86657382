#!/usr/bin/env bash
# The slow firmware check (not part of ./dev test): build the emulator image, then boot it
# (boot-test.sh) and drive its GPIO through QEMU's qtest socket (gpio-test.sh).
# Run as root from a clean clone; host tools are installed with apt. Times are printed.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
t0=${SECONDS}
nice -n 10 "${here}/build-offline.sh"
t1=${SECONDS}
"${here}/boot-test.sh"
t2=${SECONDS}
"${here}/gpio-test.sh"
echo "build-and-boot-test: build $((t1 - t0)) s, boot test $((t2 - t1)) s, gpio test $((SECONDS - t2)) s, total $((SECONDS - t0)) s"
