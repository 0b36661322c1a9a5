"""Card model: four card types, code tables, GB 11643 check digit, masking, round trips."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from config.exit_codes import ExitCode
from devices.idcard.emulator import BUILTIN_CARDS, load_card
from devices.idcard.errors import BadCheckDigitError, CardDataError
from devices.idcard.model import (
    GENDERS,
    LONG_TERM,
    NATIONS,
    WLT_MAGIC,
    CardType,
    IdCard,
    card_type_of,
    check_id_number,
    encode_card_text,
    gb11643_check_char,
    mask_address,
    mask_name,
    mask_number,
    mod11_2_check_char,
    parse_card_text,
    synthetic_photo,
)
from tests.devices.idcard.helpers import CARDS, DATA, VECTORS

ID_VECTORS: dict[str, Any] = json.loads((VECTORS / "gb11643_id_numbers.json").read_text())


@pytest.mark.parametrize("vector", ID_VECTORS["cn_ric"], ids=lambda v: v["number"])
def test_gb11643_public_vectors(vector: dict[str, Any]) -> None:
    number = vector["number"]
    if not number[:17].isdigit():
        with pytest.raises(CardDataError):
            check_id_number(number)
        assert vector["mod11_2_check_digit_ok"] is False
        return
    ok = gb11643_check_char(number[:17]) == number[17].upper()
    assert ok == vector["mod11_2_check_digit_ok"]
    if ok:
        assert check_id_number(number) == number.upper()
    else:
        with pytest.raises(BadCheckDigitError) as info:
            check_id_number(number)
        assert info.value.exit_code == ExitCode.BAD_CHECK_DIGIT
        assert number not in str(info.value)


def test_iso7064_mod_11_2_vectors() -> None:
    for v in ID_VECTORS["iso7064_mod_11_2"]:
        if "input" in v:
            assert mod11_2_check_char(v["input"]) == v["calc_check_digit"]
        else:
            assert mod11_2_check_char(v["valid"][:-1]) == v["valid"][-1]


@settings(max_examples=200)
@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_both_check_digit_formulas_agree(first17: str) -> None:
    assert gb11643_check_char(first17) == mod11_2_check_char(first17)


def test_checksum_only_for_hk_mo_tw_and_foreigner_numbers() -> None:
    # No area-code table: 81/82/83 and 9-prefixed numbers pass on their check digit.
    for first17 in ("81000019950101234", "82000019881212456", "83000020000229789"):
        check_id_number(first17 + gb11643_check_char(first17))
    check_id_number("93315619850614002" + gb11643_check_char("93315619850614002"))
    with pytest.raises(BadCheckDigitError):
        check_id_number("810000199501012345")


def test_nation_table_is_gb3304_with_97_and_98() -> None:
    assert len(NATIONS) == 58
    assert [f"{i:02d}" for i in range(1, 57)] + ["97", "98"] == list(NATIONS)
    assert NATIONS["97"] == "其他"
    assert NATIONS["98"] == "外国血统中国籍人士"
    # the pitfalls listed in PROTOCOLS.md §1.5
    for wrong in ("57", "58", "81", "99"):
        assert wrong not in NATIONS
    assert NATIONS["36"] == "毛南" and NATIONS["20"] == "傈僳" and NATIONS["46"] == "德昂"
    assert GENDERS == {"0": "未知", "1": "男", "2": "女", "9": "未说明"}


EXPECTED_TYPES = {
    "resident": (CardType.RESIDENT, " "),
    "resident_long_term": (CardType.RESIDENT, " "),
    "hk_mo_tw_residence": (CardType.HK_MO_TW_RESIDENCE, "J"),
    "foreign_permanent_2017": (CardType.FOREIGN_PERMANENT_2017, "I"),
    "foreign_permanent_2023": (CardType.FOREIGN_PERMANENT_2023, "Y"),
}


@pytest.mark.parametrize("name", BUILTIN_CARDS)
def test_shipped_cards_round_trip_through_the_text_block(name: str) -> None:
    assert (CARDS / f"{name}.json").is_file()
    card = load_card(name)
    text = encode_card_text(card)
    assert len(text) == 256
    card_type, flag = EXPECTED_TYPES[name]
    assert text[248:250] == flag.encode("utf-16-le")
    assert card_type_of(text) == card_type
    parsed = parse_card_text(text, card.photo, card.fingerprint)
    parsed.appended_address = card.appended_address
    assert parsed == card
    assert len(parsed.photo) == 1024 and parsed.photo.startswith(WLT_MAGIC)


def test_all_four_card_types_are_shipped() -> None:
    types = {load_card(n).card_type for n in BUILTIN_CARDS}
    assert types == set(CardType)


def test_resident_fields_and_json_shape() -> None:
    card = parse_card_text(encode_card_text(load_card("resident")), synthetic_photo("x"))
    doc = card.as_dict(reveal=True)
    assert doc == {
        "card_type": "resident",
        "name": "张三",
        "gender": "男",
        "gender_code": "1",
        "nation": "汉",
        "nation_code": "01",
        "birth": "1990-03-07",
        "address": "山东省济南市历下区泉城路188号",
        "id_number": "370102199003071238",
        "issuer": "济南市公安局历下分局",
        "valid_from": "2015-06-01",
        "valid_to": "2035-06-01",
        "photo_bytes": 1024,
        "fingerprint_bytes": 0,
        "appended_address": None,
    }


def test_long_term_validity_and_nation_97() -> None:
    card = load_card("resident_long_term")
    parsed = parse_card_text(encode_card_text(card))
    assert parsed.valid_to is None
    assert parsed.as_dict()["valid_to"] == LONG_TERM
    assert parsed.nation == "其他"
    text = encode_card_text(card)
    assert text[204:212] == "长期".encode("utf-16-le") + " ".encode("utf-16-le") * 2


def test_type_specific_fields() -> None:
    j = parse_card_text(encode_card_text(load_card("hk_mo_tw_residence"))).as_dict(reveal=True)
    assert j["pass_number"] == "H01234567" and j["issue_count"] == "01"
    assert j["id_number"].startswith("810000") and j["nation"] is None
    i = parse_card_text(encode_card_text(load_card("foreign_permanent_2017"))).as_dict(reveal=True)
    assert i["english_name"] == "SMITH, JOHN" and i["nationality"] == "USA"
    assert i["id_number"] == "USA370090101234" and i["card_version"] == "02"
    assert i["name"] == "约翰" and i["birth"] == "1980-12-01"
    y = parse_card_text(encode_card_text(load_card("foreign_permanent_2023"))).as_dict(reveal=True)
    # 40 characters: split over bytes 52-121 and 220-241 and joined again
    assert y["english_name"] == "VAN DER BERG, MARIA ALEXANDRA CHRISTINA"
    assert y["id_number"].startswith("9") and y["nationality"] == "NLD"
    assert y["renewal_count"] == "00"


def test_bad_check_digit_is_a_specific_error() -> None:
    card = load_card(str(DATA / "resident_bad_check_digit.json"))
    text = encode_card_text(card)
    with pytest.raises(BadCheckDigitError) as info:
        parse_card_text(text)
    assert info.value.exit_code == ExitCode.BAD_CHECK_DIGIT
    assert card.id_number not in str(info.value)
    # The 2017 permit number has no MOD 11-2 digit: not checked.
    permit = load_card("foreign_permanent_2017")
    permit.id_number = "USA370090101239"
    assert parse_card_text(encode_card_text(permit)).id_number == "USA370090101239"


def _with(text: bytes, offset: int, value: str) -> bytes:
    raw = value.encode("utf-16-le")
    return text[:offset] + raw + text[offset + len(raw) :]


def test_malformed_text_blocks_are_card_data_errors() -> None:
    good = encode_card_text(load_card("resident"))
    cases = {
        "unknown flag": _with(good, 248, "Z"),
        "bad date": _with(good, 36, "19901307"),
        "date not digits": _with(good, 36, "1990-3-7"),
        "bad gender": _with(good, 30, "5"),
        "nation 99": _with(good, 32, "99"),
        "nation 81": _with(good, 32, "81"),
        "id not digits": _with(good, 122, "37010A"),
        "short": good[:200],
        "bad utf16": good[:248] + b"\x00\xd8" + good[250:],
    }
    for why, text in cases.items():
        with pytest.raises(CardDataError):
            parse_card_text(text)
        assert why  # each case raised


def test_masking_and_repr_never_show_personal_data() -> None:
    assert mask_name("张三") == "张*"
    assert mask_name("欧阳娜娜") == "欧***"
    assert mask_number("37010219900307123X") == "370102********123X"
    assert mask_number("H01234567") == "H******67"
    assert mask_address("山东省济南市历下区泉城路188号") == "山东省济南市" + "*" * 10
    card = load_card("resident")
    masked = card.as_dict()
    assert masked["name"] == "张*"
    assert masked["id_number"] == "370102********1238"
    assert masked["address"].startswith("山东省济南市") and "泉城路" not in masked["address"]
    for text in (repr(card), str(card), f"{card}"):
        assert "张三" not in text and "370102199003071238" not in text and "泉城路" not in text
    y = load_card("foreign_permanent_2023").as_dict()
    assert y["english_name"].startswith("V*") and "MARIA" not in y["english_name"]


def test_wipe_drops_every_personal_value() -> None:
    card = load_card("resident_long_term")
    card.wipe()
    assert card.name == "" and card.id_number == "" and card.address == ""
    assert card.photo == b"" and card.fingerprint == b"" and card.appended_address == ""
    assert card.birth == date.min and card.valid_to is None
    assert card.card_type == CardType.RESIDENT


# --- generated cards ----------------------------------------------------------------------

_han = st.characters(min_codepoint=0x4E00, max_codepoint=0x9FA5)
_dates = st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31))
_upper = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ", min_size=3, max_size=3)


@st.composite
def id_numbers(draw: st.DrawFn, prefix: str = "") -> str:
    rest = draw(
        st.text(alphabet="0123456789", min_size=17 - len(prefix), max_size=17 - len(prefix))
    )
    first17 = prefix + rest
    return first17 + gb11643_check_char(first17)


@st.composite
def cards(draw: st.DrawFn) -> IdCard:
    card_type = draw(st.sampled_from(list(CardType)))
    common: dict[str, Any] = {
        "card_type": card_type,
        "name": draw(st.text(_han, min_size=1, max_size=15)),
        "gender_code": draw(st.sampled_from(sorted(GENDERS))),
        "birth": draw(_dates),
        "valid_from": draw(_dates),
        "valid_to": draw(st.none() | _dates),
        "photo": synthetic_photo(draw(st.text(max_size=5))),
    }
    if card_type in (CardType.RESIDENT, CardType.HK_MO_TW_RESIDENCE):
        common |= {
            "address": draw(st.text(_han, min_size=1, max_size=35)),
            "issuer": draw(st.text(_han, min_size=1, max_size=15)),
        }
    if card_type == CardType.RESIDENT:
        return IdCard(
            id_number=draw(id_numbers()), nation_code=draw(st.sampled_from(list(NATIONS))), **common
        )
    if card_type == CardType.HK_MO_TW_RESIDENCE:
        return IdCard(
            id_number=draw(id_numbers(draw(st.sampled_from(["81", "82", "83"])))),
            pass_number=draw(st.from_regex(r"[HMT][0-9]{8}", fullmatch=True)),
            issue_count=draw(st.from_regex(r"[0-9]{2}", fullmatch=True)),
            **common,
        )
    english = st.from_regex(r"[A-Z][A-Z ,]{0,44}[A-Z]", fullmatch=True)
    if card_type == CardType.FOREIGN_PERMANENT_2017:
        return IdCard(
            id_number=draw(st.from_regex(r"[A-Z]{3}[0-9]{12}", fullmatch=True)),
            english_name=draw(english),
            nationality=draw(_upper),
            card_version=draw(st.from_regex(r"[0-9]{2}", fullmatch=True)),
            issuer=draw(st.from_regex(r"[0-9]{4}", fullmatch=True)),
            **common,
        )
    return IdCard(
        id_number=draw(id_numbers("9")),
        english_name=draw(english),
        nationality=draw(_upper),
        renewal_count=draw(st.from_regex(r"[0-9]{2}", fullmatch=True)),
        **common,
    )


@settings(max_examples=200, deadline=None)
@given(cards())
def test_generated_cards_round_trip(card: IdCard) -> None:
    text = encode_card_text(card)
    assert len(text) == 256
    assert parse_card_text(text, card.photo) == card


@settings(max_examples=300, deadline=2000)
@given(st.binary(min_size=256, max_size=256))
def test_random_text_blocks_never_crash(text: bytes) -> None:
    try:
        card = parse_card_text(text)
    except (CardDataError, BadCheckDigitError):
        return
    assert isinstance(card, IdCard)
