"""Face capture with active liveness (人证核验 at the kiosk).

Modules: ``liveness`` (the pure challenge state machine on per-frame metrics),
``metrics`` (landmarks → EAR, MAR, nose offset, parallax, yaw/pitch; exposure and
sharpness), ``landmarks`` (the offline MediaPipe face landmarker, sha256-checked model),
``bestframe`` (the frame sent to the 1:1 match), ``attempt`` (frames → landmarks →
metrics → machine → result), ``driver`` (the OpenCV camera device) and ``synthetic``
(rendered test sequences from a real photo shipped in scikit-image).
"""
