"""Reading codes from camera frames (OpenCV capture → ROI → zxing-cpp / pyzbar).

Modules: ``decode`` (decoders, ROI, grayscale), ``source`` (OpenCV captures, files),
``emulator`` (a camera made of image/video files), ``reader`` (the camera-as-scanner
device and one-shot helpers for frames and image files).
"""
