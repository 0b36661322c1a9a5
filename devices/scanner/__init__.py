"""Code scanners: serial (USB-CDC / RS-232) and keyboard-wedge (evdev) drivers, framing,
classification, 鲁通码 verification adapter, and the scanner emulator (PROTOCOLS.md §3).

Modules: ``protocol`` (framing, payload decoding, trigger commands — pure), ``keymap``
(evdev key codes → characters — pure), ``classify`` (kinds of code — pure), ``core`` (the
shared device pipeline and ``CodeScanned``), ``driver_serial``, ``driver_wedge``,
``emulator`` (``sim://scanner`` and a pty), ``verify`` (``CodeVerifier``).
"""
