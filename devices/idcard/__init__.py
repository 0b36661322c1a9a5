"""Resident ID-card readers speaking the SAM serial protocol (PROTOCOLS.md §1).

``protocol`` frames and parses bytes, ``model`` holds the card data and code tables,
``driver`` is the :class:`~devices.idcard.driver.SamIdCardReader` device, ``emulator`` a
reader that speaks the same bytes over a pty or ``sim://idcard``; ``cards/`` holds
synthetic cards of all four types.
"""
