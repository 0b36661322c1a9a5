"""The shipped catalogue's items as the home screen lists them, read without validation.

``kiosk run`` draws its home screen before pydantic is imported (kiosk.app.launch), so the
first screen lists the items of ``flows/catalogue.json`` from here: the file is JSON we
ship and test (tests/flows), read with :mod:`json` only. The validated catalogue
(:func:`flows.catalogue.shipped_catalogue`, or the platform's) replaces it when the
runtime boots.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class HomeEntry:
    """What the home screen shows of a catalogue item (see flows.catalogue.CatalogItem)."""

    code: str
    name: str
    name_en: str
    category: str
    keywords: tuple[str, ...] = ()


@functools.cache
def shipped_home_entries() -> tuple[HomeEntry, ...]:
    text = resources.files("flows").joinpath("catalogue.json").read_text("utf-8")
    return tuple(
        HomeEntry(
            code=item["code"],
            name=item["name"],
            name_en=item["name_en"],
            category=item["category"],
            keywords=tuple(item.get("keywords", ())),
        )
        for item in json.loads(text)["items"]
    )
