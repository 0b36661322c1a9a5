"""The document camera (高拍仪): paper materials photographed at the kiosk.

Modules: ``quality`` (sharpness, blank/dark/blur checks and the JPEG encoder, pure functions
over frames), ``driver`` (the OpenCV device: frames from the camera_codes sources, the
capture command), ``emulator`` (a platen made of one image file, with place/remove and fault
switches) and ``synthetic`` (a sample A4 page with Chinese text, no real person's data).
"""
