"""Card data of the four card types, code tables, GB 11643 check digit. Pure: no I/O.

Text block (256 bytes, UCS-2LE, padded with spaces ``20 00``), PROTOCOLS.md §1.5. The
character at byte 248 selects the layout:

* ``' '`` resident ID card (居民身份证)
* ``'J'`` HK/Macau/Taiwan residence permit (港澳台居民居住证): resident layout + pass number
  220–237, issue count 238–241
* ``'I'`` 2017 foreign permanent-residence card: English name 0–119, gender 120, 15-char
  permit number 122–151, nationality 152–157, Chinese name 158–187, valid from/to 188/204,
  birth 220–235, card version 236–239, issuing-authority code 240–247
* ``'Y'`` 2023 foreign permanent-residence card: Chinese name 0–29, gender 30, renewal
  count 32–35, birth 36–51, English name chars 1–35 at 52–121, 18-digit ID number 122–157,
  valid from/to 188/204, English name chars 36–46 at 220–241, nationality 242–247, link to
  the old permit number 250–255.

Personal data: every field of :class:`IdCard` except ``card_type``. Its ``repr``/``str``
are masked, :meth:`IdCard.as_dict` masks name, ID/permit/pass numbers and addresses unless
``reveal=True``, and :meth:`IdCard.wipe` drops the values at session end.

The check digit (ISO 7064 MOD 11-2, GB 11643-1999) is verified for resident, 'J' and 'Y'
cards, checksum only (no area-code table, so 81/82/83 and 9-prefixed numbers pass on their
check digit alone). The 2017 permit number has no MOD 11-2 digit and is not checked.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, fields
from datetime import date
from enum import StrEnum
from typing import Any

from devices.idcard.errors import BadCheckDigitError, CardDataError

TEXT_LEN = 256
PHOTO_LEN = 1024
#: Magic at the start of every public WLT photo dump ("WLf").
WLT_MAGIC = bytes.fromhex("574C66007E00320000FF85")
LONG_TERM = "长期"


class CardType(StrEnum):
    RESIDENT = "resident"
    HK_MO_TW_RESIDENCE = "hk_mo_tw_residence"
    FOREIGN_PERMANENT_2017 = "foreign_permanent_2017"
    FOREIGN_PERMANENT_2023 = "foreign_permanent_2023"

    @property
    def flag(self) -> str:
        return _FLAGS[self]


_FLAGS = {
    CardType.RESIDENT: " ",
    CardType.HK_MO_TW_RESIDENCE: "J",
    CardType.FOREIGN_PERMANENT_2017: "I",
    CardType.FOREIGN_PERMANENT_2023: "Y",
}
_BY_FLAG = {v: k for k, v in _FLAGS.items()}
FLAG_OFFSET = 248

#: GB 3304-91 nation codes, with 97 其他 and 98 外国血统中国籍人士 (nothing else).
NATIONS: dict[str, str] = {
    "01": "汉", "02": "蒙古", "03": "回", "04": "藏", "05": "维吾尔", "06": "苗", "07": "彝",
    "08": "壮", "09": "布依", "10": "朝鲜", "11": "满", "12": "侗", "13": "瑶", "14": "白",
    "15": "土家", "16": "哈尼", "17": "哈萨克", "18": "傣", "19": "黎", "20": "傈僳", "21": "佤",
    "22": "畲", "23": "高山", "24": "拉祜", "25": "水", "26": "东乡", "27": "纳西", "28": "景颇",
    "29": "柯尔克孜", "30": "土", "31": "达斡尔", "32": "仫佬", "33": "羌", "34": "布朗",
    "35": "撒拉", "36": "毛南", "37": "仡佬", "38": "锡伯", "39": "阿昌", "40": "普米",
    "41": "塔吉克", "42": "怒", "43": "乌孜别克", "44": "俄罗斯", "45": "鄂温克", "46": "德昂",
    "47": "保安", "48": "裕固", "49": "京", "50": "塔塔尔", "51": "独龙", "52": "鄂伦春",
    "53": "赫哲", "54": "门巴", "55": "珞巴", "56": "基诺",
    "97": "其他", "98": "外国血统中国籍人士",
}  # fmt: skip

#: GB/T 2261.1 gender codes.
GENDERS: dict[str, str] = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"
_ID_RE = re.compile(r"^\d{17}[\dX]$")


def mod11_2_check_char(digits: str) -> str:
    """ISO 7064 MOD 11-2 check character of a digit string (any length)."""
    if not digits.isdigit() or not digits.isascii():
        raise ValueError("MOD 11-2 needs decimal digits")
    total = 0
    for ch in digits:
        total = (total + int(ch)) * 2 % 11
    return "0123456789X"[(12 - total) % 11]


def gb11643_check_char(first17: str) -> str:
    """The 18th character of a citizen ID number (weights of GB 11643-1999)."""
    if len(first17) != 17 or not first17.isdigit() or not first17.isascii():
        raise ValueError("need the first 17 digits of the ID number")
    return _CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, _WEIGHTS, strict=True)) % 11]


def check_id_number(number: str) -> str:
    """Normalise an 18-character ID number and verify its check digit.

    Raises CardDataError for a malformed number and BadCheckDigitError for a wrong check
    digit. Messages never contain the number.
    """
    norm = number.strip().upper()
    if not _ID_RE.match(norm):
        raise CardDataError("ID number is not 17 digits followed by a digit or X")
    if gb11643_check_char(norm[:17]) != norm[17]:
        raise BadCheckDigitError("the ID number's check digit (GB 11643) is wrong")
    return norm


def synthetic_photo(seed: str) -> bytes:
    """A 1024-byte stand-in WLT blob: the WLT magic, then bytes derived from ``seed``."""
    out = bytearray(WLT_MAGIC)
    block = seed.encode()
    while len(out) < PHOTO_LEN:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:PHOTO_LEN])


# --- masking ------------------------------------------------------------------------------


def mask_name(value: str) -> str:
    """张三 → 张*, 欧阳娜娜 → 欧***; an English name keeps its first letter."""
    return value[:1] + "*" * (len(value) - 1) if value else value


def mask_number(value: str) -> str:
    """370102199001011234 → 370102********1234; short numbers keep 1 + 2 characters."""
    n = len(value)
    if n >= 14:
        return value[:6] + "*" * (n - 10) + value[-4:]
    if n >= 4:
        return value[:1] + "*" * (n - 3) + value[-2:]
    return "*" * n


def mask_address(value: str) -> str:
    """Keep the first six characters (province and city), star the rest."""
    return value[:6] + "*" * max(0, len(value) - 6)


# --- the card -----------------------------------------------------------------------------


@dataclass(eq=True)
class IdCard:
    """A card as read. Personal data: see the module docstring; never log an instance."""

    card_type: CardType
    name: str
    gender_code: str
    birth: date
    id_number: str
    valid_from: date
    #: None means 长期 (no expiry).
    valid_to: date | None
    nation_code: str | None = None
    address: str | None = None
    issuer: str | None = None
    photo: bytes = field(default=b"", repr=False)
    fingerprint: bytes = field(default=b"", repr=False)
    appended_address: str | None = None
    english_name: str | None = None
    nationality: str | None = None
    pass_number: str | None = None
    issue_count: str | None = None
    card_version: str | None = None
    renewal_count: str | None = None
    old_permit_link: str | None = None

    def __repr__(self) -> str:
        return f"IdCard({self.card_type.value}, {self.as_dict(reveal=False)!r})"

    __str__ = __repr__

    @property
    def gender(self) -> str:
        return GENDERS.get(self.gender_code, "未知")

    @property
    def nation(self) -> str | None:
        if self.nation_code is None:
            return None
        return NATIONS.get(self.nation_code)

    def as_dict(self, *, reveal: bool = False) -> dict[str, Any]:
        """The JSON shape of ``kiosk devices read-id`` (masked unless ``reveal``)."""

        def m(fn: Any, value: str | None) -> str | None:
            return value if reveal or value is None else str(fn(value))

        doc: dict[str, Any] = {
            "card_type": self.card_type.value,
            "name": m(mask_name, self.name),
            "gender": self.gender,
            "gender_code": self.gender_code,
            "nation": self.nation,
            "nation_code": self.nation_code,
            "birth": self.birth.isoformat(),
            "address": m(mask_address, self.address),
            "id_number": m(mask_number, self.id_number),
            "issuer": self.issuer,
            "valid_from": self.valid_from.isoformat(),
            "valid_to": LONG_TERM if self.valid_to is None else self.valid_to.isoformat(),
            "photo_bytes": len(self.photo),
            "fingerprint_bytes": len(self.fingerprint),
            "appended_address": m(mask_address, self.appended_address),
        }
        if self.card_type == CardType.HK_MO_TW_RESIDENCE:
            doc["pass_number"] = m(mask_number, self.pass_number)
            doc["issue_count"] = self.issue_count
        elif self.card_type == CardType.FOREIGN_PERMANENT_2017:
            doc["english_name"] = m(mask_name, self.english_name)
            doc["nationality"] = self.nationality
            doc["card_version"] = self.card_version
        elif self.card_type == CardType.FOREIGN_PERMANENT_2023:
            doc["english_name"] = m(mask_name, self.english_name)
            doc["nationality"] = self.nationality
            doc["renewal_count"] = self.renewal_count
            doc["old_permit_link"] = m(mask_number, self.old_permit_link)
        return doc

    def wipe(self) -> None:
        """Drop every personal value (session end). The object stays a valid shape."""
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and f.name != "card_type":
                setattr(self, f.name, "")
            elif isinstance(value, bytes):
                setattr(self, f.name, b"")
        self.birth = self.valid_from = date.min
        self.valid_to = None


# --- layouts ------------------------------------------------------------------------------

#: (field, byte offset, byte length) per card type; "flag" is checked separately.
_RESIDENT_FIELDS = (
    ("name", 0, 30),
    ("gender_code", 30, 2),
    ("nation_code", 32, 4),
    ("birth", 36, 16),
    ("address", 52, 70),
    ("id_number", 122, 36),
    ("issuer", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
)
LAYOUTS: dict[CardType, tuple[tuple[str, int, int], ...]] = {
    CardType.RESIDENT: _RESIDENT_FIELDS,
    CardType.HK_MO_TW_RESIDENCE: (
        *_RESIDENT_FIELDS,
        ("pass_number", 220, 18),
        ("issue_count", 238, 4),
    ),
    CardType.FOREIGN_PERMANENT_2017: (
        ("english_name", 0, 120),
        ("gender_code", 120, 2),
        ("id_number", 122, 30),
        ("nationality", 152, 6),
        ("name", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("birth", 220, 16),
        ("card_version", 236, 4),
        ("issuer", 240, 8),
    ),
    CardType.FOREIGN_PERMANENT_2023: (
        ("name", 0, 30),
        ("gender_code", 30, 2),
        ("renewal_count", 32, 4),
        ("birth", 36, 16),
        ("english_name", 52, 70),
        ("id_number", 122, 36),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("english_name_2", 220, 22),
        ("nationality", 242, 6),
        ("old_permit_link", 250, 6),
    ),
}
_DATE_FIELDS = ("birth", "valid_from", "valid_to")
#: Fields that every card has; an empty optional field reads as None.
_REQUIRED = frozenset({"name", "gender_code", "id_number", *_DATE_FIELDS})


def _parse_date(name: str, raw: str, *, allow_long_term: bool = False) -> date | None:
    if allow_long_term and raw.startswith(LONG_TERM):
        return None
    if len(raw) != 8 or not raw.isdigit() or not raw.isascii():
        raise CardDataError(f"{name} is not a YYYYMMDD date")
    try:
        return date(int(raw[:4]), int(raw[4:6]), int(raw[6:]))
    except ValueError as err:
        raise CardDataError(f"{name} is not a valid calendar date") from err


def card_type_of(text: bytes) -> CardType:
    if len(text) != TEXT_LEN:
        raise CardDataError(f"text block is {len(text)} bytes, expected {TEXT_LEN}")
    flag = text[FLAG_OFFSET : FLAG_OFFSET + 2]
    try:
        ch = flag.decode("utf-16-le")
    except UnicodeDecodeError as err:
        raise CardDataError("card-type flag at byte 248 is not UCS-2") from err
    card_type = _BY_FLAG.get(ch)
    if card_type is None:
        raise CardDataError(f"unknown card-type flag at byte 248 (U+{ord(ch):04X})")
    return card_type


def parse_card_text(
    text: bytes, photo: bytes = b"", fingerprint: bytes = b"", *, verify: bool = True
) -> IdCard:
    """Parse a 256-byte text block into an :class:`IdCard` (check digit verified)."""
    card_type = card_type_of(text)
    raw: dict[str, str] = {}
    for name, off, size in LAYOUTS[card_type]:
        try:
            value = text[off : off + size].decode("utf-16-le")
        except UnicodeDecodeError as err:
            raise CardDataError(f"{name} is not valid UCS-2") from err
        raw[name] = value
    if card_type == CardType.FOREIGN_PERMANENT_2023:
        raw["english_name"] = (raw["english_name"] + raw.pop("english_name_2")).rstrip(" \x00")
    values: dict[str, Any] = {k: v.strip(" \x00") for k, v in raw.items()}
    gender = values["gender_code"]
    if gender not in GENDERS:
        raise CardDataError("gender code is not one of 0, 1, 2, 9")
    if "nation_code" in values:
        nation = values["nation_code"]
        if nation == "" and card_type == CardType.HK_MO_TW_RESIDENCE:
            values["nation_code"] = None
        elif nation not in NATIONS:
            raise CardDataError("nation code is not in GB 3304")
    for name in _DATE_FIELDS:
        values[name] = _parse_date(name, values[name], allow_long_term=name == "valid_to")
    for name, value in values.items():
        if value == "" and name not in _REQUIRED:
            values[name] = None
    if not values["name"]:
        raise CardDataError("name is empty")
    if verify and card_type != CardType.FOREIGN_PERMANENT_2017:
        values["id_number"] = check_id_number(values["id_number"])
    elif not values["id_number"]:
        raise CardDataError("permit number is empty")
    return IdCard(card_type=card_type, photo=photo, fingerprint=fingerprint, **values)


def _put(buf: bytearray, name: str, off: int, size: int, value: str) -> None:
    raw = value.encode("utf-16-le")
    if len(raw) > size:
        raise ValueError(f"{name} is longer than its {size // 2}-character field")
    buf[off : off + size] = raw + " ".encode("utf-16-le") * ((size - len(raw)) // 2)


def encode_card_text(card: IdCard) -> bytes:
    """The 256-byte text block of ``card`` (inverse of :func:`parse_card_text`)."""
    buf = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    values: dict[str, str] = {}
    for name, _off, _size in LAYOUTS[card.card_type]:
        if name in _DATE_FIELDS:
            d = getattr(card, name)
            values[name] = LONG_TERM if d is None else d.strftime("%Y%m%d")
        elif name != "english_name_2":
            values[name] = getattr(card, name) or ""
    if card.card_type == CardType.FOREIGN_PERMANENT_2023:
        full = values["english_name"]
        values["english_name"], values["english_name_2"] = full[:35], full[35:]
    for name, off, size in LAYOUTS[card.card_type]:
        _put(buf, name, off, size, values[name])
    _put(buf, "flag", FLAG_OFFSET, 2, card.card_type.flag)
    return bytes(buf)


# --- synthetic card files ------------------------------------------------------------------


def _json_date(name: str, value: Any) -> date | None:
    if value == LONG_TERM and name == "valid_to":
        return None
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a date string")
    return _parse_date(name, value.replace("-", ""), allow_long_term=name == "valid_to")


def card_from_json(doc: dict[str, Any]) -> IdCard:
    """Build a card from a synthetic card file (see ``devices/idcard/cards/*.json``).

    Keys are those of :class:`IdCard` (dates as YYYY-MM-DD, ``valid_to`` may be 长期), plus
    ``photo_seed`` (a synthetic WLT blob is derived from it) and ``fingerprint_bytes`` (0,
    512 or 1024). The check digit is *not* verified here, so a file can hold a bad one.
    """
    doc = dict(doc)
    doc.pop("comment", None)
    seed = str(doc.pop("photo_seed", doc.get("id_number", "")))
    fp_len = int(doc.pop("fingerprint_bytes", 0))
    if fp_len not in (0, 512, 1024):
        raise ValueError("fingerprint_bytes must be 0, 512 or 1024")
    known = {f.name for f in fields(IdCard)}
    unknown = set(doc) - known
    if unknown:
        raise ValueError(f"unknown keys in card file: {', '.join(sorted(unknown))}")
    doc["card_type"] = CardType(doc["card_type"])
    for name in _DATE_FIELDS:
        doc[name] = _json_date(name, doc[name])
    fingerprint = hashlib.sha256(seed.encode()).digest() * (fp_len // 32)
    return IdCard(photo=synthetic_photo(seed), fingerprint=fingerprint, **doc)
