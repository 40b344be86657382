"""pitrigger: a screenless strap remote for a tethered camera.

A button on GPIO starts and stops movie recording on a USB-tethered Canon EOS 5D Mark II
(through python-gphoto2); a vibration motor confirms, but only once the camera itself
reports that it records.

The package is split the h11 way: a pure, clock-driven core (:mod:`pitrigger.gestures`,
:mod:`pitrigger.controller`, :mod:`pitrigger.haptics`) and adapters at the edge
(:mod:`pitrigger.buttons`, :mod:`pitrigger.motors`, :mod:`pitrigger.cameras`,
:mod:`pitrigger.journal`) picked by name from the config. :mod:`pitrigger.daemon` wires them;
:mod:`pitrigger.service` builds them from the config.

Nothing heavy is imported here: the Pi Zero pays for every module on the start-up path.
"""

__version__ = "0.1.0"
