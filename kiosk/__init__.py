"""The kiosk application (PySide6) and the ``kiosk`` command line: the composition root.

Only modules of this package import PySide6, and the CLI imports the Qt app lazily so a
technician's ``kiosk devices …`` starts in well under a second.
"""
