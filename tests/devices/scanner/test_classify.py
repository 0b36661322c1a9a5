"""Classification rules and the masking of scanned codes."""

from __future__ import annotations

import pytest

from devices.scanner.classify import Classifier, CodeKind, ScannedCode, rule_from_mapping
from devices.scanner.protocol import decode_payload


def kind_of(text: str, classifier: Classifier | None = None) -> tuple[CodeKind, str | None]:
    return (classifier or Classifier()).classify(decode_payload(text.encode()))


@pytest.mark.parametrize(
    ("text", "kind", "ref"),
    [
        ("JN2026112800001", CodeKind.RECEIPT, "JN2026112800001"),
        ("https://zwfw.example.cn/q/cases/JN2026112800001", CodeKind.RECEIPT, "JN2026112800001"),
        ("LTM1.Zk3_aQ-9xXr2bL0pQwErTyUiOpAsDfGh", CodeKind.LUTONG, None),
        ("ESSC0123456789abcdef", CodeKind.SOCIAL_SECURITY, None),
        ("ELIC.licence-4711-abcdef", CodeKind.ELICENCE, None),
        ("https://www.jinan.gov.cn/", CodeKind.URL, None),
        ("HTTP://EXAMPLE.ORG/X", CodeKind.URL, None),
        ("JN20261128", CodeKind.TEXT, None),  # too short for a case number
        ("LTM1", CodeKind.TEXT, None),
        ("随便一段文字", CodeKind.TEXT, None),
    ],
)
def test_default_rules(text: str, kind: CodeKind, ref: str | None) -> None:
    got_kind, got_ref = kind_of(text)
    assert got_kind is kind
    if kind is CodeKind.RECEIPT:
        assert got_ref == ref


def test_binary_is_its_own_kind() -> None:
    assert Classifier().classify(decode_payload(b"\x00\x01\x02")) == (CodeKind.BINARY, None)


def test_configured_rules_replace_the_defaults_in_order() -> None:
    clf = Classifier.from_options(
        [
            {"kind": "lutong", "prefix": "SDLT:"},
            {"kind": "receipt", "pattern": r"QB:(?P<ref>\d{6})"},
            {"kind": "url", "prefix": "http"},
        ]
    )
    assert kind_of("SDLT:opaque", clf) == (CodeKind.LUTONG, "SDLT:opaque")
    assert kind_of("QB:123456", clf) == (CodeKind.RECEIPT, "123456")
    assert kind_of("LTM1.abcdefghijkl", clf)[0] is CodeKind.TEXT  # defaults are gone
    assert kind_of("https://x", clf)[0] is CodeKind.URL


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"prefix": "x"}, "needs a 'kind'"),
        ({"kind": "nope", "prefix": "x"}, "unknown code kind"),
        ({"kind": "url"}, "needs a prefix or a pattern"),
        ({"kind": "url", "pattern": "("}, "bad pattern"),
        ({"kind": "url", "prefix": "h", "colour": "red"}, "unknown key"),
    ],
)
def test_bad_rules_are_named(rule: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        rule_from_mapping(rule)


def test_identity_tokens_are_masked_even_with_reveal() -> None:
    token = "LTM1.secret-token-value-0001"
    kind, ref = kind_of(token)
    code = ScannedCode(kind, "qrcode", decode_payload(token.encode()), ref, "serial")
    assert token not in repr(code)
    for reveal in (False, True):
        doc = code.as_dict(reveal=reveal)
        assert token not in str(doc)
        assert doc["text"] == f"<lutong, {len(token)} characters>" and doc["masked"] is True


def test_other_codes_are_revealed_on_request_only() -> None:
    url = "https://www.jinan.gov.cn/"
    code = ScannedCode(CodeKind.URL, "qrcode", decode_payload(url.encode()), None, "camera")
    assert code.as_dict()["text"] == "<url, 25 characters>"
    assert code.as_dict(reveal=True)["text"] == url
    binary = ScannedCode(CodeKind.BINARY, "unknown", decode_payload(b"\x00\xff"), None, "serial")
    assert binary.as_dict(reveal=True)["text"] == "00ff"
    assert binary.as_dict()["text"] == "<binary, 2 bytes>"
