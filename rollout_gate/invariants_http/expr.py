"""A tiny, safe expression grammar for `invariants.http` checks (no eval).

    comparison := sum OP sum            OP: == != >= <= > <
    sum        := term (('+' | '-') term)*
    term       := ['-'] (NAME | INTEGER | '(' sum ')')
    NAME       := a letter or _, then letters, digits, _ and dots (`counts.organizations` reads nested JSON)

Names are looked up in the endpoint's JSON answer; a missing name or a value that is not a number is
`Unknown` (the check is inconclusive), never zero.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

_TOKEN = re.compile(r"\s*(?:(?P<num>\d+)|(?P<name>[A-Za-z_][A-Za-z0-9_.]*)|(?P<op>==|!=|>=|<=|>|<|\+|-|\(|\)))")
COMPARISONS: dict[str, Callable[[int | float, int | float], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


class ExpressionError(ValueError):
    """The text is not an expression of the grammar; the message says where."""


class Unknown(LookupError):
    """A name the answer does not hold as a number; the message names the field."""


@dataclass(frozen=True)
class Num:
    value: int


@dataclass(frozen=True)
class Name:
    name: str


@dataclass(frozen=True)
class Neg:
    operand: Node


@dataclass(frozen=True)
class BinOp:
    op: str  # + or -
    left: Node
    right: Node


Node = Num | Name | Neg | BinOp


@dataclass(frozen=True)
class Comparison:
    text: str
    op: str
    left: Node
    right: Node

    @property
    def names(self) -> list[str]:
        out: list[str] = []
        for side in (self.left, self.right):
            _names(side, out)
        return list(dict.fromkeys(out))

    def evaluate(self, values: Mapping[str, Any]) -> Outcome:
        """Whether it holds over `values` (the endpoint's JSON), with the value of each name it read."""
        read = {name: lookup(values, name) for name in self.names}
        left, right = _value(self.left, read), _value(self.right, read)
        return Outcome(COMPARISONS[self.op](left, right), read)


@dataclass(frozen=True)
class Outcome:
    holds: bool
    values: dict[str, int | float]

    def describe(self) -> str:
        return ", ".join(f"{k} = {_show(v)}" for k, v in self.values.items())


def parse(text: str) -> Comparison:
    tokens = _tokenize(text)
    parser = _Parser(text, tokens)
    left = parser.sum()
    op = parser.take()
    if op is None or op not in COMPARISONS:
        raise ExpressionError(f"{text!r}: expected a comparison ({' '.join(COMPARISONS)}) after {_describe(left)}")
    right = parser.sum()
    if parser.pos != len(tokens):
        raise ExpressionError(f"{text!r}: unexpected {tokens[parser.pos]!r} (one comparison per check)")
    return Comparison(text.strip(), op, left, right)


def lookup(values: Mapping[str, Any], name: str) -> int | float:
    """`a.b` -> values["a"]["b"], which must be a JSON number (not a bool, a string or null)."""
    current: Any = values
    for part in name.split("."):
        if not isinstance(current, Mapping) or part not in current:
            raise Unknown(f"field {name} is missing from the answer")
        current = current[part]
    if isinstance(current, bool) or not isinstance(current, (int, float)):
        raise Unknown(f"field {name} is not a number ({type(current).__name__}: {str(current)[:40]!r})")
    if isinstance(current, float) and current != current:  # NaN compares false with everything
        raise Unknown(f"field {name} is not a number (NaN)")
    return current


def _tokenize(text: str) -> list[str]:
    tokens, pos, stripped = [], 0, text.rstrip()
    while pos < len(stripped):
        match = _TOKEN.match(stripped, pos)
        if match is None or match.end() == pos:
            raise ExpressionError(f"{text!r}: cannot read {stripped[pos:].strip()[:20]!r} (names, integers, + - and "
                                  "comparisons only)")  # fmt: skip
        tokens.append(match.group(match.lastgroup or 0))
        pos = match.end()
    if not tokens:
        raise ExpressionError("an empty expression")
    return tokens


class _Parser:
    def __init__(self, text: str, tokens: list[str]) -> None:
        self.text, self.tokens, self.pos = text, tokens, 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str | None:
        token = self.peek()
        if token is not None:
            self.pos += 1
        return token

    def sum(self) -> Node:
        node = self.term()
        while self.peek() in ("+", "-"):
            op = self.take()
            assert op is not None
            node = BinOp(op, node, self.term())
        return node

    def term(self) -> Node:
        token = self.take()
        if token == "-":
            return Neg(self.term())
        if token == "(":
            node = self.sum()
            if self.take() != ")":
                raise ExpressionError(f"{self.text!r}: a '(' is not closed")
            return node
        if token is not None and token.isdigit():
            return Num(int(token))
        if token is not None and (token[0].isalpha() or token[0] == "_"):
            if token.endswith(".") or ".." in token:
                raise ExpressionError(f"{self.text!r}: {token!r} is not a field name")
            return Name(token)
        raise ExpressionError(f"{self.text!r}: expected a name or an integer, not {token or 'the end'!r}")


def _names(node: Node, out: list[str]) -> None:
    if isinstance(node, Name):
        out.append(node.name)
    elif isinstance(node, Neg):
        _names(node.operand, out)
    elif isinstance(node, BinOp):
        _names(node.left, out)
        _names(node.right, out)


def _value(node: Node, read: Mapping[str, int | float]) -> int | float:
    if isinstance(node, Num):
        return node.value
    if isinstance(node, Name):
        return read[node.name]
    if isinstance(node, Neg):
        return -_value(node.operand, read)
    left, right = _value(node.left, read), _value(node.right, read)
    return left + right if node.op == "+" else left - right


def _describe(node: Node) -> str:
    return node.name if isinstance(node, Name) else "the left side"


def _show(value: int | float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"
