"""The screens: home (categories, search), a flow step drawn from its view-model, out of
service. Widgets only draw and turn taps into events; they hold no flow logic.

Every screen that shows personal data clears it in :meth:`wipe` (the session controller
calls it before the home screen shows again). Text comes in both languages from the
view-models; the chrome strings are in :data:`CHROME`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QImage, QPixmap
from PySide6.QtWidgets import (
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from flows.model import Text
from kiosk.app.search import SearchEntry, build_index, search
from kiosk.app.theme import Theme
from kiosk.app.widgets.keypad import KeypadInput

if TYPE_CHECKING:  # imported where used: the home screen's first paint needs no flow engine
    from flows import events as ev
    from flows.model import Availability
    from flows.views import ChoiceView, FieldView, StepView

#: Home categories in display order: (key, zh_CN, en, catalogue categories shown there).
CATEGORIES: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("yijianshi", "一件事", "One-thing bundles", ("yijianshi", "benefit", "cross_region")),
    ("self_service", "24小时自助", "24-hour self-service", ("self_service_24h", "query")),
    ("tax", "泉税驿站", "Tax station", ("tax",)),
    ("certificate", "证明打印", "Certificates", ("certificate",)),
    ("query", "查询", "Look up", ("query",)),
]

CHROME: dict[str, Text] = {
    "welcome": Text("欢迎使用政务服务自助终端", "Welcome to the government service kiosk"),
    "choose": Text("请选择您要办理的事项", "Choose a service"),
    "search": Text("搜索事项（汉字、拼音或首字母）", "Search (name, pinyin or initials)"),
    "elder": Text("长辈版", "Large print"),
    "standard": Text("标准版", "Standard"),
    "language": Text("English", "中文"),
    "offline": Text(
        "网络中断：可继续办理，申请将在网络恢复后自动提交",
        "Offline: you can still apply; it is sent when the link returns",
    ),
    "offline_full": Text(
        "网络中断且待提交申请已满，暂停受理新申请",
        "Offline and the queue is full: no new applications",
    ),
    "out_of_service": Text(
        "暂停服务，请联系大厅工作人员", "Out of service — please ask a member of staff"
    ),
    "continue": Text("继续办理", "I need more time"),
    "still_there": Text("还需要更多时间吗？", "Do you need more time?"),
    "busy": Text("正在处理，请稍候…", "Working, please wait…"),
    "back_home": Text("返回首页", "Home"),
    "all": Text("全部", "All"),
    "print_preview": Text("打印预览", "Print preview"),
    "assistant_calling": Text("正在呼叫工作人员…", "Calling for help…"),
    "assistant_connected": Text("工作人员正在协助您", "A member of staff is helping you"),
    "seconds": Text("秒", "s"),
    "prev_page": Text("上一页", "Previous"),
    "next_page": Text("下一页", "Next"),
    "capture": Text("拍照", "Photograph"),
    "retake": Text("重拍", "Retake"),
    "capturing": Text(
        "正在拍摄，请保持材料平放不动…", "Photographing: keep the page flat and still…"
    ),
    "waive": Text("容缺办理", "Defer"),
    "place_page": Text(
        "需提交纸质材料的，请将材料平放在高拍仪拍摄区域，再点击“拍照”",
        "For a paper document, lay it flat under the document camera, then tap Photograph",
    ),
    "mat.licence": Text("✔ 电子证照（免提交）", "✔ E-licence (nothing to hand in)"),
    "mat.captured": Text("✔ 已拍摄", "✔ Photographed"),
    "mat.waived": Text("容缺（承诺后补交）", "Deferred under a commitment"),
    "mat.missing": Text("✘ 未提供", "✘ Missing"),
}

ATTRACT = [
    Text("请刷身份证或出示鲁通码开始办理", "Tap a service, then use your ID card or 鲁通码"),
    Text("新生儿出生、退休等“一件事”一次办", "Birth, retirement… one form, one submission"),
    Text("24小时证明自助打印", "Certificates printed 24 hours a day"),
    Text("泉税驿站：个税、社保费自助办理", "Tax station: income tax and contributions"),
]


def _press(action: str, value: str | None = None) -> ev.Press:
    from flows import events as ev

    return ev.Press(action, value)


def _input(field_id: str, value: str) -> ev.Input:
    from flows import events as ev

    return ev.Input(field_id, value)


def tr(text: Text | None, language: str) -> str:
    if text is None:
        return ""
    return text.zh_CN if language == "zh_CN" else text.en


class Pages:
    """A slot whose content is rebuilt as a whole: each redraw builds a fresh page widget
    and the previous page is hidden and deleted (by the event loop: ``deleteLater``), so
    no widget of an old screen — and none of the data it showed — lingers."""

    def __init__(self, outer: QVBoxLayout | QHBoxLayout, stretch: int = 0) -> None:
        self._outer = outer
        self._stretch = stretch
        self.page: QWidget | None = None

    def new(self, layout_type: type[Any] = QVBoxLayout) -> Any:
        """Swap in an empty page; return its layout."""
        page = QWidget()
        layout = layout_type(page)
        layout.setContentsMargins(0, 0, 0, 0)
        self._outer.addWidget(page, self._stretch)
        self.clear()
        self.page = page
        return layout

    def clear(self) -> None:
        old, self.page = self.page, None
        if old is not None:
            old.hide()
            self._outer.removeWidget(old)
            # Scrub now: the deletion itself waits for the event loop (a button of this
            # page may be the one whose click is being handled).
            for label in old.findChildren(QLabel):
                label.clear()
            for button in old.findChildren(QPushButton):
                button.setText("")
            for pad in old.findChildren(KeypadInput):
                pad.clear()
            old.deleteLater()


def big_button(text: str, *, name: str = "", enabled: bool = True) -> QPushButton:
    button = QPushButton(text)
    if name:
        button.setObjectName(name)
    button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    button.setEnabled(enabled)
    return button


def qr_pixmap(payload: str, size: int = 220) -> QPixmap:
    """A QR code drawn with the ``qrcode`` package (printing extra) into a QPixmap."""
    import qrcode  # type: ignore[import-untyped]  # no stubs published

    matrix = qrcode.QRCode(border=2, box_size=1)
    matrix.add_data(payload)
    matrix.make(fit=True)
    cells = matrix.get_matrix()
    n = len(cells)
    image = QImage(n, n, QImage.Format.Format_Mono)
    image.fill(0)
    for y, row in enumerate(cells):
        for x, dark in enumerate(row):
            image.setPixel(x, y, 1 if not dark else 0)
    return QPixmap.fromImage(image).scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio)


class HomeItem(Protocol):
    """What the home screen needs of a catalogue item: a validated
    :class:`flows.catalogue.CatalogItem`, or a :class:`flows.shipped.HomeEntry` for the
    first screen."""

    @property
    def code(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def name_en(self) -> str: ...
    @property
    def category(self) -> str: ...
    @property
    def keywords(self) -> tuple[str, ...]: ...


class HomeScreen(QWidget):
    """Categories, the services of the chosen one, search, elder mode and language."""

    item_chosen = Signal(str)  # item code
    elder_toggled = Signal()
    language_toggled = Signal()

    def __init__(self, language: Callable[[], str], theme: Callable[[], Theme]) -> None:
        super().__init__()
        self._language = language
        self._theme = theme
        self._items: list[HomeItem] = []
        self._availability: dict[str, Availability] = {}
        self._index: list[SearchEntry] | None = None
        self._index_for: tuple[str, ...] = ()
        self.category = CATEGORIES[0][0]
        self.query = ""
        self.page = 0
        self.pages = 1
        self._attract_i = 0
        layout = QVBoxLayout(self)
        top = QHBoxLayout()
        self.title = QLabel()
        self.title.setObjectName("title")
        top.addWidget(self.title, 1)
        self.elder_button = big_button("")
        self.elder_button.clicked.connect(self.elder_toggled.emit)
        self.language_button = big_button("")
        self.language_button.clicked.connect(self.language_toggled.emit)
        top.addWidget(self.elder_button)
        top.addWidget(self.language_button)
        layout.addLayout(top)
        self.attract = QLabel()
        self.attract.setObjectName("banner")
        layout.addWidget(self.attract)
        cat_holder = QWidget()  # the category row is rebuilt in place, here, on each redraw
        cat_layout = QVBoxLayout(cat_holder)
        cat_layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(cat_holder)
        self._categories = Pages(cat_layout)
        self.search_label = QLabel()
        layout.addWidget(self.search_label)
        self.search_button = big_button("")
        self.search_button.clicked.connect(self._toggle_search)
        layout.addWidget(self.search_button)
        self.search_pad = KeypadInput("letters")
        self.search_pad.changed.connect(self._search_changed)
        self.search_pad.submitted.connect(lambda _v: self.search_pad.hide())
        self.search_pad.hide()
        layout.addWidget(self.search_pad)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        holder = QWidget()
        holder_layout = QVBoxLayout(holder)
        holder_layout.setContentsMargins(0, 0, 0, 0)
        scroll.setWidget(holder)
        layout.addWidget(scroll, 1)
        self._grid = Pages(holder_layout, 1)
        self.grid = QGridLayout()
        self.item_buttons: dict[str, QPushButton] = {}
        self.columns = 3

    def set_items(self, items: Sequence[HomeItem], avail: Sequence[Availability]) -> None:
        self._items = list(items)
        self._availability = {a.item_code: a for a in avail}
        self.redraw()

    def next_attract(self) -> None:
        self._attract_i = (self._attract_i + 1) % len(ATTRACT)
        self.attract.setText(tr(ATTRACT[self._attract_i], self._language()))

    def _toggle_search(self) -> None:
        self.search_pad.setVisible(not self.search_pad.isVisible())

    def _search_changed(self, value: str) -> None:
        self.query = value
        self.page = 0
        self.redraw()

    def choose_category(self, key: str) -> None:
        self.category = key
        self.query = ""
        self.page = 0
        self.search_pad.clear()
        self.redraw()

    def reset(self) -> None:
        self.choose_category(CATEGORIES[0][0])
        self.search_pad.hide()

    def _codes(self) -> tuple[str, ...]:
        return tuple(i.code for i in self._items)

    def index(self) -> list[SearchEntry]:
        """The pinyin index of the current catalogue (built now if the warm-up has not)."""
        index = self._index
        if index is None or self._index_for != self._codes():
            index = self._build_index()
        return index

    def _build_index(self) -> list[SearchEntry]:
        items = list(self._items)
        index = build_index((i.code, i.name, i.keywords) for i in items)
        self._index, self._index_for = index, tuple(i.code for i in items)
        return index

    def warm_index(self) -> None:
        """Build the index on a background thread (pure computation, touches no widget)."""
        threading.Thread(target=self._build_index, name="pinyin-index", daemon=True).start()

    def visible_codes(self) -> list[str]:
        if self.query:
            return search(self.index(), self.query)
        cats = next(c[3] for c in CATEGORIES if c[0] == self.category)
        return [i.code for i in self._items if i.category in cats]

    def redraw(self) -> None:
        lang = self._language()
        theme = self._theme()
        self.title.setText(tr(CHROME["welcome"], lang))
        self.elder_button.setText(
            tr(CHROME["standard" if theme.name == "elder" else "elder"], lang)
        )
        self.language_button.setText(tr(CHROME["language"], lang))
        self.attract.setText(tr(ATTRACT[self._attract_i], lang))
        self.search_button.setText(tr(CHROME["search"], lang))
        self.search_label.setText(self.query)
        categories = self._categories.new(QHBoxLayout)
        for key, zh, en, _cats in CATEGORIES:
            b = big_button(zh if lang == "zh_CN" else en, name="category")
            b.setCheckable(True)
            b.setChecked(key == self.category and not self.query)
            b.clicked.connect(lambda _=False, k=key: self.choose_category(k))
            categories.addWidget(b)
        self.grid = self._grid.new(QGridLayout)
        self.item_buttons = {}
        by_code = {i.code: i for i in self._items}
        columns = self.columns = 2 if theme.name == "elder" else 3
        every = self.visible_codes()
        per = theme.items_per_page  # fewer, bigger buttons per screen in elder mode
        self.pages = max(1, -(-len(every) // per))
        self.page = min(self.page, self.pages - 1)
        codes = every[self.page * per : (self.page + 1) * per]
        for n, code in enumerate(codes):
            item = by_code[code]
            avail = self._availability.get(code)
            ok = avail is None or avail.available
            label = item.name if lang == "zh_CN" else (item.name_en or item.name)
            if not ok and avail is not None:
                label += "\n" + tr(avail.reason_text, lang)
            b = big_button(label, enabled=ok)
            b.clicked.connect(lambda _=False, c=code: self.item_chosen.emit(c))
            self.grid.addWidget(b, n // columns, n % columns)
            self.item_buttons[code] = b
        if self.pages > 1:
            row = -(-len(codes) // columns)
            self.prev_button = big_button(tr(CHROME["prev_page"], lang), enabled=self.page > 0)
            self.prev_button.clicked.connect(lambda: self.turn_page(-1))
            self.next_button = big_button(
                tr(CHROME["next_page"], lang), enabled=self.page < self.pages - 1
            )
            self.next_button.clicked.connect(lambda: self.turn_page(1))
            pager = QLabel(f"{self.page + 1} / {self.pages}")
            pager.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(self.prev_button, row, 0)
            self.grid.addWidget(pager, row, 1 if columns > 2 else 0, 1, 1)
            self.grid.addWidget(self.next_button, row, columns - 1)

    def turn_page(self, step: int) -> None:
        self.page = max(0, min(self.pages - 1, self.page + step))
        self.redraw()


class StepScreen(QWidget):
    """Draws one :class:`StepView`; taps become ``Press``/``Input`` events."""

    acted = Signal(object)  # flows.events.Press | flows.events.Input

    def __init__(self, language: Callable[[], str]) -> None:
        super().__init__()
        self._language = language
        self.view: StepView | None = None
        self._editing: str | None = None
        self.keypad: KeypadInput | None = None
        self.buttons: dict[str, QPushButton] = {}
        self.choice_buttons: dict[tuple[str, str], QPushButton] = {}
        self.field_labels: dict[str, QLabel] = {}
        #: The preview JPEG of a captured page by its ref (the runtime's; set after boot).
        self.page_preview: Callable[[str], bytes | None] = lambda _ref: None
        #: Material code → the preview shown (for tests and the tour).
        self.previews: dict[str, QLabel] = {}
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        #: Live directions during face capture ("请眨眨眼"), drawn above the step's page.
        self.guidance = QLabel()
        self.guidance.setObjectName("banner")
        self.guidance.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.guidance.hide()
        outer.addWidget(self.guidance)
        self._pages = Pages(outer, 1)
        self._layout = QVBoxLayout()

    def wipe(self) -> None:
        """Forget the view (it may hold personal data) and every widget drawn from it."""
        self.view = None
        self._editing = None
        self.keypad = None
        self.buttons = {}
        self.choice_buttons = {}
        self.field_labels = {}
        self.previews = {}
        self.set_guidance(None)
        self._pages.clear()

    def set_guidance(self, text: str | None) -> None:
        if text:
            self.guidance.setText(text)
            self.guidance.show()
        else:
            self.guidance.clear()
            self.guidance.hide()

    def show_view(self, view: StepView) -> None:
        if self.view is None or view.step_id != self.view.step_id:
            self._editing = None
        if view.phase != "waiting_face":
            self.set_guidance(None)
        self.view = view
        self.redraw()

    def redraw(self) -> None:
        view = self.view
        if view is None:
            return
        lang = self._language()
        self.buttons = {}
        self.choice_buttons = {}
        self.field_labels = {}
        self.previews = {}
        self.keypad = None
        self._layout = self._pages.new()
        head = QHBoxLayout()
        item = QLabel(tr(view.item_name, lang))
        head.addWidget(item, 1)
        progress = QLabel(f"{view.progress.index}/{view.progress.total}")
        head.addWidget(progress)
        self._layout.addLayout(head)
        title = QLabel(tr(view.title, lang))
        title.setObjectName("title")
        title.setWordWrap(True)
        self._layout.addWidget(title)
        if view.assistant in ("calling", "connected"):
            banner = QLabel(tr(CHROME[f"assistant_{view.assistant}"], lang))
            banner.setObjectName("banner")
            self._layout.addWidget(banner)
        if view.countdown.state == "warning":
            self._add_countdown(view, lang)
        if view.prompt is not None:
            prompt = QLabel(tr(view.prompt, lang))
            prompt.setWordWrap(True)
            self._layout.addWidget(prompt)
        if view.error is not None:
            error = QLabel(tr(view.error, lang))
            error.setObjectName("faultBanner")
            error.setWordWrap(True)
            self._layout.addWidget(error)
        if view.busy:
            busy = QLabel(tr(CHROME["busy"], lang))
            busy.setObjectName("banner")
            self._layout.addWidget(busy)
        body = QWidget()
        body_layout = QVBoxLayout(body)
        if view.text is not None:
            text = QLabel(tr(view.text, lang))
            text.setWordWrap(True)
            text.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
            body_layout.addWidget(text)
        for row in view.summary:
            value = tr(row.value_text, lang) if row.value_text is not None else row.value
            body_layout.addWidget(QLabel(f"{tr(row.label, lang)}：{value}"))
        for field in view.fields:
            self._add_field(body_layout, field, lang)
        if view.materials:
            self._add_materials(body_layout, view, lang)
        if view.choices:
            self._add_choices(body_layout, view.choices, None, lang)
        if view.payment is not None:
            body_layout.addWidget(QLabel(view.payment.amount_text))
            qr = QLabel()
            qr.setPixmap(qr_pixmap(view.payment.qr))
            body_layout.addWidget(qr)
        if isinstance(view.result, dict) and view.step_type not in ("print",):
            for key, value in view.result.items():
                if isinstance(value, str | int | float):
                    body_layout.addWidget(QLabel(f"{key}：{value}"))
        body_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(body)
        self._layout.addWidget(scroll, 1)
        if self._editing is not None:
            self._add_keypad(view, lang)
        bar = QHBoxLayout()
        for b in view.buttons:
            button = big_button(tr(b.label, lang), name="primary" if b.primary else "")
            button.setEnabled(b.enabled and not (view.busy and b.action not in ("help", "cancel")))
            button.clicked.connect(
                lambda _=False, a=b.action, v=b.value: self.acted.emit(_press(a, v))
            )
            bar.addWidget(button)
            self.buttons[b.action] = button
        self._layout.addLayout(bar)

    def _add_countdown(self, view: StepView, lang: str) -> None:
        box = QHBoxLayout()
        remaining = view.countdown.remaining_s
        secs = "" if remaining is None else f" {int(remaining)}{tr(CHROME['seconds'], lang)}"
        label = QLabel(tr(CHROME["still_there"], lang) + secs)
        label.setObjectName("countdown")
        box.addWidget(label, 1)
        more = big_button(tr(CHROME["continue"], lang), name="primary")
        more.clicked.connect(lambda: self.acted.emit(_press("continue")))
        box.addWidget(more)
        self.buttons["continue_banner"] = more
        self._layout.addLayout(box)

    def _add_field(self, layout: QVBoxLayout, field: FieldView, lang: str) -> None:
        line = QHBoxLayout()
        name = tr(field.label, lang) + ("*" if field.required else "")
        line.addWidget(QLabel(name))
        shown = field.display or ""
        value = QLabel(shown)
        value.setTextInteractionFlags(Qt.TextInteractionFlag.NoTextInteraction)
        self.field_labels[field.id] = value
        line.addWidget(value, 1)
        keypad_kinds = {"text", "number", "money", "date", "year", "phone", "id_number", "code"}
        if field.editable and field.kind in keypad_kinds:
            edit = big_button("✎")
            edit.clicked.connect(lambda _=False, f=field.id: self._edit(f))
            self.buttons[f"edit:{field.id}"] = edit
            line.addWidget(edit)
        layout.addLayout(line)
        if field.editable and field.choices:
            self._add_choices(layout, field.choices, field, lang)
        if field.error is not None:
            err = QLabel(tr(field.error, lang))
            err.setObjectName("faultBanner")
            layout.addWidget(err)

    def _add_materials(self, layout: QVBoxLayout, view: StepView, lang: str) -> None:
        """One row per material: its state, 拍照 / 重拍 with the page's preview, 容缺."""
        enabled = view.phase == "collect" and not view.busy
        if view.phase == "capturing":
            busy = QLabel(tr(CHROME["capturing"], lang))
            busy.setObjectName("banner")
            layout.addWidget(busy)
        if any(m.can_capture for m in view.materials):
            hint = QLabel(tr(CHROME["place_page"], lang))
            hint.setWordWrap(True)
            layout.addWidget(hint)
        for m in view.materials:
            row = QHBoxLayout()
            name = tr(m.name, lang) + ("*" if m.required else "")
            label = QLabel(f"{name}　{tr(CHROME.get(f'mat.{m.status}'), lang)}")
            label.setWordWrap(True)
            row.addWidget(label, 1)
            jpeg = self.page_preview(m.ref) if m.status == "captured" and m.ref else None
            if jpeg:
                image = QImage.fromData(jpeg)  # the format is read from the bytes
                if not image.isNull():
                    preview = QLabel()
                    preview.setPixmap(
                        QPixmap.fromImage(image).scaledToHeight(
                            140, Qt.TransformationMode.SmoothTransformation
                        )
                    )
                    self.previews[m.code] = preview
                    row.addWidget(preview)
            if m.can_capture:
                key = "retake" if m.status == "captured" else "capture"
                self._material_button(row, "capture", m.code, tr(CHROME[key], lang), enabled)
            if m.waivable and m.status == "missing":
                self._material_button(row, "waive", m.code, tr(CHROME["waive"], lang), enabled)
            layout.addLayout(row)

    def _material_button(
        self, row: QHBoxLayout, action: str, code: str, text: str, enabled: bool
    ) -> None:
        button = big_button(text, enabled=enabled)
        button.clicked.connect(lambda _=False: self.acted.emit(_press(action, code)))
        row.addWidget(button)
        self.choice_buttons[(action, code)] = button

    def _add_choices(
        self,
        layout: QVBoxLayout,
        choices: Sequence[ChoiceView],
        field: FieldView | None,
        lang: str,
    ) -> None:
        grid = QGridLayout()
        for n, c in enumerate(choices):
            text = tr(c.label, lang)
            if c.reason is not None and not c.enabled:
                text += f"（{tr(c.reason, lang)}）"
            button = big_button(("● " if c.selected else "") + text, enabled=c.enabled)
            button.clicked.connect(lambda _=False, c=c, f=field: self._choose(c, f))
            grid.addWidget(button, n // 3, n % 3)
            self.choice_buttons[(c.action, c.value)] = button
        layout.addLayout(grid)

    def _choose(self, choice: ChoiceView, field: FieldView | None) -> None:
        if field is None:
            self.acted.emit(_press(choice.action, choice.value))
            return
        if field.kind == "multi_choice":
            picked = [c.value for c in field.choices if c.selected]
            if choice.value in picked:
                picked.remove(choice.value)
            else:
                picked.append(choice.value)
            self.acted.emit(_input(field.id, ",".join(picked)))
        else:
            self.acted.emit(_input(field.id, choice.value))

    def _edit(self, field_id: str) -> None:
        self._editing = None if self._editing == field_id else field_id
        self.redraw()

    def _add_keypad(self, view: StepView, lang: str) -> None:
        field = next((f for f in view.fields if f.id == self._editing), None)
        if field is None:
            self._editing = None
            return
        kind = {
            "id_number": "id_number",
            "phone": "phone",
            "number": "digits",
            "money": "digits",
            "year": "digits",
            "date": "digits",
        }.get(field.kind, "letters")
        pad = KeypadInput(kind)
        pad.set_value(field.value or "")
        pad.submitted.connect(lambda value, f=field.id: self._submit_field(f, value))
        self.keypad = pad
        self._layout.addWidget(pad)

    def _submit_field(self, field_id: str, value: str) -> None:
        self._editing = None
        self.acted.emit(_input(field_id, value))


class OutOfServiceScreen(QWidget):
    def __init__(self, language: Callable[[], str]) -> None:
        super().__init__()
        self._language = language
        layout = QVBoxLayout(self)
        self.label = QLabel()
        self.label.setObjectName("title")
        self.label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.label.setWordWrap(True)
        layout.addWidget(self.label, 1)
        self.detail = QLabel()
        self.detail.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.detail.setWordWrap(True)
        layout.addWidget(self.detail)

    def set_reason(self, detail: str) -> None:
        self.label.setText(tr(CHROME["out_of_service"], self._language()))
        self.detail.setText(detail)
