"""好差评 satisfaction levels and the two opposite code orders (PROTOCOLS.md §6).

The national 好差评 interface counts ``satisfaction`` 1 非常不满意 … 5 非常满意
(``five_is_best``); GB/T 39046-2020 table A.8 counts the other way, 1 非常满意 … 5 非常不满意
(``one_is_best``). A submission says which order its number uses; the platform stores the
*normalised* level, which is the national order. The mapping is data (``CODE_ORDERS``) so an
adapter for another platform adds its own order instead of flipping numbers in code.
"""

from __future__ import annotations

from typing import Final, Literal

CodeOrder = Literal["five_is_best", "one_is_best"]

#: Level texts by the normalised (national, five_is_best) value.
LEVEL_TEXT: Final[dict[int, str]] = {
    5: "非常满意",
    4: "满意",
    3: "基本满意",
    2: "不满意",
    1: "非常不满意",
}

#: For each code order: submitted number -> normalised level.
CODE_ORDERS: Final[dict[str, dict[int, int]]] = {
    "five_is_best": {1: 1, 2: 2, 3: 3, 4: 4, 5: 5},
    "one_is_best": {1: 5, 2: 4, 3: 3, 4: 2, 5: 1},
}


def normalise(satisfaction: int, code_order: str) -> int:
    """The national level (5 = 非常满意) of ``satisfaction`` read in ``code_order``."""
    try:
        return CODE_ORDERS[code_order][satisfaction]
    except KeyError:
        raise ValueError(f"no level {satisfaction} in code order {code_order!r}") from None
