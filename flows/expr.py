"""Restricted condition expressions for flow documents (``when:`` and ``next: [{if: …}]``).

Grammar (a subset of Python's expression syntax, parsed with :mod:`ast` and *interpreted* by
this module — never ``eval``/``exec``, no calls, no subscripts, no dunder access)::

    expr    := expr "or" expr | expr "and" expr | "not" expr | compare
    compare := operand (("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not in") operand)*
    operand := NAME ("." NAME)* | STRING | NUMBER | True | False | None | "[" literal, … "]"

A name path starts at one of :data:`ROOTS` (``item.category``, ``materials.waived``,
``online``). Evaluation looks names up in nested mappings; a missing key is ``None``.
Ordering comparisons involving ``None`` or mismatched types are false rather than errors,
so a condition can never crash a session. Expressions are compiled once, when a flow is
loaded, into closures.
"""

from __future__ import annotations

import ast
import operator
from collections.abc import Callable, Mapping
from typing import Any

#: Names an expression may start with; the engine provides these in its context.
ROOTS = frozenset(
    {"item", "identity", "form", "materials", "results", "online", "consent", "session"}
)

Context = Mapping[str, Any]
Compiled = Callable[[Context], Any]


class ExpressionError(ValueError):
    """An expression is not in the restricted grammar; the message says why."""


_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], bool]] = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


def _safe_compare(op: Callable[[Any, Any], bool], left: Any, right: Any) -> bool:
    try:
        return bool(op(left, right))
    except TypeError:  # None < 3, "a" in 5, …: a false condition, not a crash
        return False


def _path(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Name):
        return [node.id]
    if isinstance(node, ast.Attribute):
        return [*_path(node.value), node.attr]
    raise ExpressionError(f"unsupported syntax {type(node).__name__!s} in a name path")


def _compile(node: ast.expr) -> Compiled:
    if isinstance(node, ast.BoolOp):
        parts = [_compile(v) for v in node.values]
        if isinstance(node.op, ast.And):
            return lambda ctx: all(p(ctx) for p in parts)
        return lambda ctx: any(p(ctx) for p in parts)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        inner = _compile(node.operand)
        return lambda ctx: not inner(ctx)
    if isinstance(node, ast.Compare):
        first = _compile(node.left)
        ops = []
        for op_node, right_node in zip(node.ops, node.comparators, strict=True):
            op = _COMPARE.get(type(op_node))
            if op is None:
                raise ExpressionError(f"operator {type(op_node).__name__} is not allowed")
            ops.append((op, _compile(right_node)))
        if len(ops) == 1:  # the common case, kept fast
            op1, right1 = ops[0]
            return lambda ctx: _safe_compare(op1, first(ctx), right1(ctx))

        def compare(ctx: Context) -> bool:
            left = first(ctx)
            for op, right_fn in ops:
                right = right_fn(ctx)
                if not _safe_compare(op, left, right):
                    return False
                left = right
            return True

        return compare
    if isinstance(node, ast.Constant):
        value = node.value
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise ExpressionError(f"constant {value!r} is not allowed")
        return lambda ctx: value
    if isinstance(node, ast.List | ast.Tuple):
        items = []
        for elt in node.elts:
            if not isinstance(elt, ast.Constant) or isinstance(elt.value, bytes):
                raise ExpressionError("a list may hold only literal strings and numbers")
            items.append(elt.value)
        frozen = tuple(items)
        return lambda ctx: frozen
    if isinstance(node, ast.Name | ast.Attribute):
        path = _path(node)
        if path[0] not in ROOTS:
            raise ExpressionError(
                f"unknown name {path[0]!r} (an expression may use {', '.join(sorted(ROOTS))})"
            )
        if any(p.startswith("_") for p in path):
            raise ExpressionError("names starting with '_' are not allowed")
        head, rest = path[0], tuple(path[1:])

        def lookup(ctx: Context) -> Any:
            value: Any = ctx.get(head)
            for key in rest:
                try:
                    value = value.get(key)
                except (AttributeError, TypeError):  # not a mapping: the name is absent
                    return None
            return value

        return lookup
    raise ExpressionError(f"{type(node).__name__} is not allowed in a condition")


def roots_of(source: str) -> frozenset[str]:
    """The root names an (already valid) expression reads, e.g. ``{"item"}``."""
    tree = ast.parse(source.strip(), mode="eval")
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and n.id in ROOTS)


def compile_expression(source: str) -> Compiled:
    """Compile ``source``; raise :class:`ExpressionError` with the reason if it is not allowed."""
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("empty expression")
    if len(source) > 500:
        raise ExpressionError("expression longer than 500 characters")
    try:
        tree = ast.parse(source.strip(), mode="eval")
    except SyntaxError as exc:
        raise ExpressionError(f"syntax error: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"cannot parse: {type(exc).__name__}") from None
    try:
        return _compile(tree.body)
    except RecursionError:
        raise ExpressionError("expression nested too deeply") from None
