"""Device drivers and their protocol emulators. No Qt here.

Every driver implements the contract in :mod:`devices.base` (one worker thread per
device, events out, status snapshots, errors with remediation) and opens its device by
URL through :mod:`devices.transport`. Each device class is a package with ``protocol.py``
(pure framing and parsing), ``driver.py`` and ``emulator.py``.
"""
