"""The citizen-facing PySide6 application.

Threading contract: the GUI thread only draws and routes events. Device commands run on
each device's own worker (devices.base); their events reach the GUI through
:class:`kiosk.app.qt_bridge.EventBridge`, a queued Qt signal. Platform calls and the
outbox sender run on their own threads (offline/). A citizen's answer is an event into the
flow engine, never a blocking wait.
"""
