"""Where each key of a TOML document is: dotted key path to line number.

tomllib keeps no positions, so error reports find a key's line with this scanner of the raw
text. It never raises: a report must not die on a line-number hunt.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping

__all__ = ["BARE_KEY", "KeyPath", "KeyScanner", "key_lines", "line_of"]


KeyPath = tuple[str | int, ...]
BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


class KeyScanner:
    """Maps each dotted key of a TOML document to the line it starts on.

    tomllib keeps no positions, so this walks the text: comments, strings (all four kinds),
    table and array-of-table headers, dotted and quoted keys, arrays (each element) and inline
    tables. It is lenient and never raises; on text it cannot follow it keeps what it found.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1
        self.lines: dict[KeyPath, int] = {}
        self.duplicate: tuple[KeyPath, int, int] | None = None  # key, first line, again
        self._array_tables: dict[KeyPath, int] = {}
        self._defined: dict[KeyPath, int] = {}
        self._last_loop_pos = -1

    def scan(self) -> dict[KeyPath, int]:
        # Best effort: a good error report must not die on a line-number hunt.
        with contextlib.suppress(IndexError, ValueError, RecursionError):
            self._document()
        return self.lines

    # -- helpers

    def _peek(self, offset: int = 0) -> str:
        index = self.pos + offset
        return self.text[index] if index < len(self.text) else ""

    def _advance(self, count: int = 1) -> None:
        self.line += self.text.count("\n", self.pos, self.pos + count)
        self.pos += count

    def _skip_blank(self, newlines: bool) -> None:
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in " \t\r" or (newlines and char == "\n"):
                self._advance()
            elif char == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            else:
                return

    def _record(self, path: KeyPath, line: int, *, leaf: bool) -> None:
        """Remember the first line of ``path``; ``leaf``: this line defines it (a key or a
        table header), so a second definition is a duplicate."""
        if leaf:
            if path in self._defined and self.duplicate is None:
                self.duplicate = (path, self._defined[path], line)
            self._defined.setdefault(path, line)
        self.lines.setdefault(path, line)

    # -- grammar

    def _document(self) -> None:
        prefix: KeyPath = ()
        while True:
            self._skip_blank(newlines=True)
            if self.pos >= len(self.text):
                return
            line = self.line
            if self._peek() == "[":
                array = self._peek(1) == "["
                self._advance(2 if array else 1)
                header = self._key()
                for depth in range(1, len(header)):
                    self._record(header[:depth], line, leaf=False)
                if array:
                    index = self._array_tables.get(header, -1) + 1
                    self._array_tables[header] = index
                    self._record(header, line, leaf=False)
                    prefix = (*header, index)
                    self._record(prefix, line, leaf=False)
                else:
                    self._record(header, line, leaf=True)
                    prefix = header
                self._to_line_end()
                continue
            key = self._key()
            for depth in range(1, len(key)):
                self._record(prefix + key[:depth], line, leaf=False)
            self._record(prefix + key, line, leaf=True)
            self._skip_blank(newlines=False)
            if self._peek() != "=":
                self._to_line_end()
                continue
            self._advance()
            self._value(prefix + key)
            self._to_line_end()

    def _check_progress(self) -> None:
        # Text this lenient reader cannot follow must end the scan, never loop forever.
        if self.pos == self._last_loop_pos:
            raise ValueError("no progress")
        self._last_loop_pos = self.pos

    def _to_line_end(self) -> None:
        end = self.text.find("\n", self.pos)
        self.pos = len(self.text) if end < 0 else end

    def _key(self) -> KeyPath:
        parts: list[str] = []
        while True:
            self._skip_blank(newlines=False)
            char = self._peek()
            if char == '"':
                start = self.pos
                self._string()
                parts.append(_unescape(self.text[start + 1:self.pos - 1]))
            elif char == "'":
                start = self.pos
                self._string()
                parts.append(self.text[start + 1:self.pos - 1])
            else:
                match = BARE_KEY.match(self.text, self.pos)
                if match is None:
                    return tuple(parts)
                parts.append(match.group())
                self.pos = match.end()
            self._skip_blank(newlines=False)
            if self._peek() != ".":
                return tuple(parts)
            self._advance()

    def _string(self) -> None:
        quote = self._peek()
        if self.text.startswith(quote * 3, self.pos):
            end = self.text.find(quote * 3, self.pos + 3)
            while quote == '"' and end > 0 and _escaped(self.text, end):
                end = self.text.find(quote * 3, end + 1)
            end = len(self.text) if end < 0 else end + 3
            while self.text.startswith(quote, end):  # up to two quotes may end the content
                end += 1
            self._advance(end - self.pos)
            return
        index = self.pos + 1
        while index < len(self.text) and self.text[index] not in (quote, "\n"):
            index += 2 if quote == '"' and self.text[index] == "\\" else 1
        self._advance(min(index + 1, len(self.text)) - self.pos)

    def _value(self, path: KeyPath) -> None:
        self._skip_blank(newlines=False)
        char = self._peek()
        if char in "\"'":
            self._string()
        elif char == "[":
            self._advance()
            index = 0
            while True:
                self._skip_blank(newlines=True)
                if self._peek() in ("]", ""):
                    self._advance()
                    return
                self._check_progress()
                self._record((*path, index), self.line, leaf=False)
                self._value((*path, index))
                index += 1
                self._skip_blank(newlines=True)
                if self._peek() == ",":
                    self._advance()
        elif char == "{":
            self._advance()
            while True:
                self._skip_blank(newlines=True)
                if self._peek() in ("}", ""):
                    self._advance()
                    return
                self._check_progress()
                line = self.line
                key = self._key()
                if not key:
                    raise ValueError("unexpected text in an inline table")
                for depth in range(1, len(key)):
                    self._record(path + key[:depth], line, leaf=False)
                self._record(path + key, line, leaf=True)
                self._skip_blank(newlines=False)
                if self._peek() == "=":
                    self._advance()
                    self._value(path + key)
                self._skip_blank(newlines=True)
                if self._peek() == ",":
                    self._advance()
        else:
            while self._peek() not in ("", ",", "]", "}", "#", "\n"):
                self._advance()


_ESCAPE = re.compile(r"\\(u[0-9A-Fa-f]{4}|U[0-9A-Fa-f]{8}|.)", re.DOTALL)
_SIMPLE_ESCAPES = {"b": "\b", "t": "\t", "n": "\n", "f": "\f", "r": "\r", '"': '"', "\\": "\\"}


def _unescape(body: str) -> str:
    """The value of a TOML basic string's body (as tomllib would read it)."""

    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) > 1:
            return chr(int(code[1:], 16))
        return _SIMPLE_ESCAPES.get(code, code)

    return _ESCAPE.sub(one, body)


def _escaped(text: str, index: int) -> bool:
    """An odd number of backslashes right before ``index``."""
    count = 0
    while index - count - 1 >= 0 and text[index - count - 1] == "\\":
        count += 1
    return count % 2 == 1


def key_lines(text: str) -> dict[KeyPath, int]:
    """Line (1-based) of every key, table header and array element in a TOML document.

    >>> lines = key_lines('[a]\\nb = 1\\nc.d = [\\n  1,\\n  2,\\n]\\ne = { f = 2 }\\n')
    >>> lines[("a", "b")], lines[("a", "c", "d")], lines[("a", "c", "d", 1)], lines[("a", "e", "f")]
    (2, 3, 5, 7)
    """
    return KeyScanner(text).scan()


def line_of(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    """The line of ``path`` or of its nearest enclosing key present in the file."""
    for length in range(len(path), 0, -1):
        line = lines.get(path[:length])
        if line is not None:
            return line
    return None
