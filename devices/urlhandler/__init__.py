"""pyserial URL handlers of this project (``sim://``), registered by ``devices.transport``."""
