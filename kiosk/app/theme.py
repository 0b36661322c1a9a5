"""Look of the kiosk: a normal theme and the elder mode (长辈版).

Elder mode: fonts ≥ 1.5×, higher contrast (black on white, thick borders), fewer items
per screen, longer timeouts (applied by the session controller), voice prompts on.
"""

from __future__ import annotations

from dataclasses import dataclass

BASE_FONT_PX = 22


@dataclass(frozen=True)
class Theme:
    name: str
    font_scale: float
    items_per_page: int
    timeout_factor: float
    voice: bool

    @property
    def font_px(self) -> int:
        return round(BASE_FONT_PX * self.font_scale)

    def stylesheet(self) -> str:
        f = self.font_px
        if self.name == "elder":
            fg, bg, accent, border = "#000000", "#ffffff", "#b00000", "3px solid #000000"
        else:
            fg, bg, accent, border = "#1d2733", "#f3f6fa", "#c8102e", "1px solid #c5cdd8"
        return f"""
QWidget {{ font-family: "WenQuanYi Micro Hei"; font-size: {f}px; color: {fg};
           background: {bg}; }}
QPushButton {{ min-height: {round(f * 2.6)}px; border: {border}; border-radius: 10px;
               background: #ffffff; padding: 6px 14px; }}
QPushButton:pressed {{ background: #dde6f0; }}
QPushButton:disabled {{ color: #8a96a3; background: #eceff3; }}
QPushButton#primary {{ background: {accent}; color: #ffffff; font-weight: bold; }}
QPushButton#category {{ font-size: {round(f * 1.3)}px; min-height: {round(f * 4)}px; }}
QLabel#title {{ font-size: {round(f * 1.6)}px; font-weight: bold; }}
QLabel#banner {{ background: #fff3cd; color: #5c4400; padding: 8px; }}
QLabel#faultBanner {{ background: #fde2e1; color: #8a1010; padding: 8px; }}
QLabel#keypadDisplay {{ font-size: {round(f * 1.5)}px; border: {border}; background: #ffffff; }}
QLabel#countdown {{ font-size: {round(f * 1.4)}px; color: {accent}; }}
"""


NORMAL = Theme("normal", font_scale=1.0, items_per_page=12, timeout_factor=1.0, voice=False)
ELDER = Theme("elder", font_scale=1.6, items_per_page=6, timeout_factor=2.0, voice=True)
