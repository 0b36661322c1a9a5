"""What a scanned code is: 鲁通码, 电子社保卡, e-licence code, our receipt QR, URL, text.

Pure: no I/O. Rules are data — an ordered list of ``{kind, prefix?, pattern?}`` — because
no public spec fixes the payload formats of 鲁通码, 电子社保卡 or 亮证码 (PROTOCOLS.md §3):
a site configures them (device option ``classify_rules``); the defaults here match the
kiosk's own receipt QR, the sandbox platform's synthetic codes and generic URLs. The first
matching rule wins; a rule's ``pattern`` may name a group ``ref`` (the part the kiosk uses,
e.g. the case number in a receipt QR).

A 鲁通码 is an opaque, short-lived token (SZSD 0056.1—2024): it is never parsed beyond
matching a rule, never stored and never logged; :class:`ScannedCode` does not show its text
in ``repr`` and :meth:`ScannedCode.masked` is what technician output shows.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from devices.scanner.protocol import Payload


class CodeKind(StrEnum):
    LUTONG = "lutong"  # 鲁通码: verify online, then user info after consent
    SOCIAL_SECURITY = "essc"  # 电子社保卡
    ELICENCE = "elicence"  # 电子证照 亮证/用证码
    RECEIPT = "receipt"  # the kiosk's own receipt QR → case status lookup
    URL = "url"
    TEXT = "text"
    BINARY = "binary"


#: Kinds whose text is an identity token: always masked, never stored, never logged.
SECRET_KINDS = frozenset({CodeKind.LUTONG, CodeKind.SOCIAL_SECURITY, CodeKind.ELICENCE})


@dataclass(frozen=True)
class Rule:
    kind: CodeKind
    prefix: str = ""
    pattern: re.Pattern[str] | None = None

    def match(self, text: str) -> str | None:
        """The ``ref`` (or the whole text) when this rule matches, else None."""
        if self.prefix and not text.startswith(self.prefix):
            return None
        if self.pattern is None:
            return text
        m = self.pattern.fullmatch(text)
        if m is None:
            return None
        return m.group("ref") if "ref" in self.pattern.groupindex else text


def rule_from_mapping(data: Mapping[str, Any]) -> Rule:
    """``{"kind": "lutong", "prefix": "…", "pattern": "…"}`` → Rule (ValueError if bad)."""
    unknown = set(data) - {"kind", "prefix", "pattern"}
    if unknown:
        raise ValueError(f"unknown key(s) in a classify rule: {', '.join(sorted(unknown))}")
    try:
        kind = CodeKind(str(data["kind"]))
    except KeyError as err:
        raise ValueError("a classify rule needs a 'kind'") from err
    except ValueError as err:
        known = ", ".join(k.value for k in CodeKind)
        raise ValueError(f"unknown code kind {data['kind']!r} (known: {known})") from err
    prefix = str(data.get("prefix", ""))
    raw_pattern = data.get("pattern")
    pattern = None
    if raw_pattern is not None:
        try:
            pattern = re.compile(str(raw_pattern))
        except re.error as err:
            raise ValueError(f"bad pattern for kind {kind.value}: {err}") from err
    if not prefix and pattern is None:
        raise ValueError(f"the rule for kind {kind.value} needs a prefix or a pattern")
    return Rule(kind, prefix, pattern)


#: Case numbers as the platform issues them (docs/platform-api.md: JN + date + sequence).
CASE_NUMBER = r"JN\d{13}"

DEFAULT_RULES: tuple[Rule, ...] = (
    # The kiosk's receipt QR carries the case number, bare or as a status URL.
    Rule(CodeKind.RECEIPT, pattern=re.compile(rf"(?P<ref>{CASE_NUMBER})")),
    Rule(
        CodeKind.RECEIPT,
        pattern=re.compile(rf"https?://[^\s/]+(?:/[^\s?#]*)?/cases/(?P<ref>{CASE_NUMBER})/?"),
    ),
    # Placeholders for tokens whose public format is unknown: sites configure their own.
    Rule(CodeKind.LUTONG, pattern=re.compile(r"LTM[0-9A-Za-z_\-.]{8,256}")),
    Rule(CodeKind.SOCIAL_SECURITY, pattern=re.compile(r"ESSC[0-9A-Za-z_\-.]{8,256}")),
    Rule(CodeKind.ELICENCE, pattern=re.compile(r"ELIC[0-9A-Za-z_\-.]{8,256}")),
    Rule(CodeKind.URL, pattern=re.compile(r"(?i)https?://\S+")),
)


@dataclass(frozen=True)
class Classifier:
    rules: Sequence[Rule] = DEFAULT_RULES

    @classmethod
    def from_options(cls, rules: Iterable[Mapping[str, Any]] | None) -> Classifier:
        """Configured rules replace the defaults; None keeps the defaults."""
        if rules is None:
            return cls()
        return cls(tuple(rule_from_mapping(r) for r in rules))

    def classify(self, payload: Payload) -> tuple[CodeKind, str | None]:
        """(kind, ref). Binary payloads are BINARY; unmatched text is TEXT."""
        if payload.text is None:
            return CodeKind.BINARY, None
        text = payload.text.strip()
        for rule in self.rules:
            ref = rule.match(text)
            if ref is not None:
                return rule.kind, ref
        return CodeKind.TEXT, None


@dataclass(frozen=True)
class ScannedCode:
    """One scan, decoded and classified. ``text``/``raw`` never appear in ``repr``."""

    kind: CodeKind
    symbology: str
    payload: Payload = field(repr=False)
    #: The part of the text the kiosk uses (a receipt's case number); None otherwise.
    ref: str | None = field(default=None, repr=False)
    source: str = ""  # "serial", "wedge", "camera", "image"

    @property
    def text(self) -> str | None:
        return self.payload.text

    @property
    def raw(self) -> bytes:
        return self.payload.raw

    def masked(self, reveal: bool = False) -> str:
        """Technician view: identity tokens are always masked; others unless ``reveal``."""
        if reveal and self.kind not in SECRET_KINDS:
            return self.text if self.text is not None else self.raw.hex()
        n = len(self.text) if self.text is not None else len(self.raw)
        unit = "characters" if self.text is not None else "bytes"
        return f"<{self.kind.value}, {n} {unit}>"

    def as_dict(self, reveal: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "symbology": self.symbology,
            "text": self.masked(reveal),
            "kind": self.kind.value,
            "encoding": self.payload.encoding,
            "masked": not (reveal and self.kind not in SECRET_KINDS),
        }
        if self.kind is CodeKind.RECEIPT and self.ref is not None:
            out["case_number"] = self.ref
        return out
