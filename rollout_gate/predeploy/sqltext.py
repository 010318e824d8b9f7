"""Just enough SQL lexing for the lint: split a file into statements and read what they touch.

Comments are dropped and string literals and dollar-quoted bodies blanked in each statement's
`code`, so a rule never matches words inside a comment or a function body.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

IDENT = r'(?:"(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)'
QUALIFIED = rf"{IDENT}(?:\s*\.\s*{IDENT})?"
_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


@dataclass(frozen=True)
class Statement:
    text: str  # as written
    code: str  # comments removed, literals and function bodies blanked, whitespace collapsed
    start: int  # offsets into the file
    end: int
    line: int  # 1-based line of the first non-blank character


def split_statements(sql: str) -> list[Statement]:
    """Top-level statements of `sql`, split at semicolons outside comments, strings and bodies."""
    statements: list[Statement] = []
    code: list[str] = []
    start = 0
    first: int | None = None  # offset of the statement's first character that is not a comment
    i, n = 0, len(sql)
    while i < n:
        ch = sql[i]
        nxt = sql[i + 1] if i + 1 < n else ""
        if first is None and not ch.isspace() and not (ch == "-" and nxt == "-") and not (ch == "/" and nxt == "*"):
            first = i
        if ch == "-" and nxt == "-":
            end = sql.find("\n", i)
            i = n if end < 0 else end
            code.append(" ")
        elif ch == "/" and nxt == "*":
            i = _skip_block_comment(sql, i)
            code.append(" ")
        elif ch == "'":
            escaped = i > 0 and sql[i - 1] in "eE" and (i < 2 or not (sql[i - 2].isalnum() or sql[i - 2] == "_"))
            i = _skip_string(sql, i, backslash=escaped)
            code.append("''")
        elif ch == '"':
            end = i + 1
            while end < n:
                if sql[end] == '"':
                    if end + 1 < n and sql[end + 1] == '"':
                        end += 2
                        continue
                    break
                end += 1
            code.append(sql[i : end + 1])
            i = end + 1
        elif ch == "$" and (m := _DOLLAR_TAG.match(sql, i)) and not (i > 0 and _ident_char(sql[i - 1])):
            close = sql.find(m.group(0), m.end())
            i = n if close < 0 else close + len(m.group(0))
            code.append(" $$ ")
        elif ch == ";":
            _emit(statements, sql, start, i + 1, code, first)
            code, first = [], None
            start = i + 1
            i += 1
        else:
            code.append(ch)
            i += 1
    _emit(statements, sql, start, n, code, first)
    return statements


def _ident_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _skip_block_comment(sql: str, i: int) -> int:
    depth, i = 1, i + 2
    while i < len(sql) and depth:
        if sql.startswith("/*", i):
            depth, i = depth + 1, i + 2
        elif sql.startswith("*/", i):
            depth, i = depth - 1, i + 2
        else:
            i += 1
    return i


def _skip_string(sql: str, i: int, *, backslash: bool) -> int:
    i += 1
    while i < len(sql):
        if backslash and sql[i] == "\\":
            i += 2
            continue
        if sql[i] == "'":
            if i + 1 < len(sql) and sql[i + 1] == "'":
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _emit(statements: list[Statement], sql: str, start: int, end: int, code: list[str], first: int | None) -> None:
    text = " ".join("".join(code).split())
    if not text or first is None:
        return
    statements.append(Statement(sql[start:end], text, start, end, sql.count("\n", 0, first) + 1))


def offset_of(sql: str, line0: int, column: int) -> int:
    """File offset of a 0-based (line, column) position, as Squawk reports them."""
    offset = 0
    for _ in range(line0):
        nl = sql.find("\n", offset)
        if nl < 0:
            return len(sql)
        offset = nl + 1
    return offset + column


def statement_at(statements: list[Statement], offset: int) -> Statement | None:
    return next((s for s in statements if s.start <= offset < s.end), None)


def relation_name(raw: str, default_schema: str = "public") -> str:
    """`Public."My Table"` -> `public.My Table`; an unqualified name gets the default schema."""
    parts = [p.strip() for p in re.findall(IDENT, raw)]
    names = [p[1:-1].replace('""', '"') if p.startswith('"') else p.lower() for p in parts]
    if len(names) == 1:
        names.insert(0, default_schema)
    return ".".join(names[-2:])


_PATTERNS = {
    "create_table": re.compile(
        rf"^create\s+(?:(?:global|local)\s+)?(?:(?:temp|temporary|unlogged)\s+)?table\s+(?:if\s+not\s+exists\s+)?({QUALIFIED})",
        re.I,
    ),
    "alter_table": re.compile(rf"^alter\s+table\s+(?:if\s+exists\s+)?(?:only\s+)?({QUALIFIED})", re.I),
    "create_index": re.compile(rf"^create\s+(?:unique\s+)?index\b.*?\bon\s+(?:only\s+)?({QUALIFIED})", re.I),
    "reindex_table": re.compile(rf"^reindex\s+(?:\([^)]*\)\s*)?table\s+(?:concurrently\s+)?({QUALIFIED})", re.I),
    "index_ref": re.compile(
        rf"^(?:drop\s+index|reindex\s+(?:\([^)]*\)\s*)?index)\s+(?:concurrently\s+)?(?:if\s+exists\s+)?({QUALIFIED})",
        re.I,
    ),
    "maintenance": re.compile(rf"^(?:vacuum\s+(?:\([^)]*\)\s*)?full|cluster)\s+(?:verbose\s+)?({QUALIFIED})", re.I),
}


def created_table(stmt: Statement) -> str | None:
    m = _PATTERNS["create_table"].match(stmt.code)
    return relation_name(m.group(1)) if m else None


def altered_table(stmt: Statement) -> str | None:
    m = _PATTERNS["alter_table"].match(stmt.code)
    return relation_name(m.group(1)) if m else None


def touched_relation(stmt: Statement) -> tuple[str, bool] | None:
    """The relation a statement locks, and whether the name is an index's (not its table's)."""
    for kind in ("alter_table", "create_index", "reindex_table", "maintenance"):
        if m := _PATTERNS[kind].match(stmt.code):
            return relation_name(m.group(1)), False
    if m := _PATTERNS["index_ref"].match(stmt.code):
        return relation_name(m.group(1)), True
    return None


def column_names(stmt: Statement) -> set[str]:
    """Columns a CREATE TABLE defines, or an ALTER TABLE adds (lower-cased unless quoted)."""
    found: set[str] = set()
    if created_table(stmt):
        body = stmt.code[stmt.code.find("(") + 1 :]
        depth, current = 0, list[str]()
        for ch in body:
            if ch == "(":
                depth += 1
            elif ch == ")":
                if depth == 0:
                    break
                depth -= 1
            elif ch == "," and depth == 0:
                found.add(_first_word("".join(current)))
                current = []
                continue
            current.append(ch)
        found.add(_first_word("".join(current)))
    elif altered_table(stmt):
        for m in re.finditer(rf"\badd\s+(?:column\s+)?(?:if\s+not\s+exists\s+)?({IDENT})", stmt.code, re.I):
            if m.group(1).lower() not in {"constraint", "primary", "unique", "foreign", "check", "exclude"}:
                found.add(_unquote(m.group(1)))
    found.discard("")
    return found


def _first_word(text: str) -> str:
    m = re.match(rf"\s*({IDENT})", text)
    if not m or m.group(1).lower() in {"constraint", "primary", "unique", "foreign", "check", "exclude", "like"}:
        return ""
    return _unquote(m.group(1))


def _unquote(ident: str) -> str:
    return ident[1:-1].replace('""', '"') if ident.startswith('"') else ident.lower()
