"""Touch widgets: on-screen keypads, big buttons, the countdown banner."""
