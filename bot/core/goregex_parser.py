"""Parse a Go regexp (regexp/syntax with the syntax.Perl flags regexp.Compile uses) into Python `re` source.

The walk follows Go's parser (src/regexp/syntax/parse.go) token by token, so a pattern is rejected
exactly where Go rejects it and with Go's error text. Flags are resolved while parsing and spelled
out per atom, because Go lets `(?i)` appear anywhere and scopes it to the rest of the enclosing group,
which Python 3.11 rejects. Every group the output contains is non-capturing except Go's own captures,
so Python's group numbers are Go's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.core import goregex_classes as classes
from bot.core.goregex_lexer import (
    ERR_CHAR_RANGE,
    ERR_ESCAPE,
    ERR_MISSING_BRACKET,
    ERR_MISSING_PAREN,
    ERR_MISSING_REPEAT,
    ERR_NAMED_CAPTURE,
    ERR_PERL_OP,
    ERR_REPEAT_OP,
    ERR_REPEAT_SIZE,
    ERR_UNEXPECTED_PAREN,
    MANGLED,
    MAX_REPEAT,
    GoRegexError,
    UnsupportedGoRegex,
    is_ascii_alnum,
    parse_escape,
    repeat_bounds,
)

_FOLD, _MULTILINE, _DOTNL, _UNGREEDY = 1, 2, 4, 8
_FLAG_BITS = {"i": _FOLD, "m": _MULTILINE, "s": _DOTNL, "U": _UNGREEDY}
_LIT, _ATOM, _ASSERT, _REPEAT = range(4)


@dataclass
class _Item:
    text: str
    kind: int
    fold: bool = False
    # Largest product of nested {n,m} counts inside, as Go's repeatIsValid measures it (leaves count 0).
    size: int = 0


@dataclass
class _Frame:
    head: str  # what opens the group in the output: "" for the whole pattern, "(", "(?P<n>", "(?:"
    flags: int  # the flags to restore when the group closes
    alts: list[list[_Item]] = field(default_factory=lambda: [[]])


def _join(items: list[_Item]) -> str:
    """Concatenate items, merging runs of literals that share case folding into one group."""
    out: list[str] = []
    i = 0
    while i < len(items):
        item = items[i]
        if item.kind != _LIT:
            out.append(item.text)
            i += 1
            continue
        j = i
        while j < len(items) and items[j].kind == _LIT and items[j].fold == item.fold:
            j += 1
        run = "".join(x.text for x in items[i:j])
        out.append(f"(?i:{run})" if item.fold else run)
        i = j
    return "".join(out)


class _Parser:
    def __init__(self, pattern: str) -> None:
        self.src = pattern
        self.flags = 0
        self.ncap = 0
        self.py_names: set[str] = set()
        self.stack = [_Frame("", 0)]

    @property
    def items(self) -> list[_Item]:
        return self.stack[-1].alts[-1]

    def error(self, code: str, start: int, end: int) -> GoRegexError:
        return GoRegexError(code, self.src[start:end])

    def translate(self) -> str:
        s, n, i = self.src, len(self.src), 0
        last_repeat = -1  # where the previous token started, when it was a repetition operator
        while i < n:
            c = s[i]
            if c in "*+?{":
                i, last_repeat = self.repetition(i, last_repeat)
                continue
            last_repeat = -1
            if c == "(":
                i = self.perl_group(i) if s.startswith("(?", i) else self.open_capture("", i + 1)
            elif c == "[":
                i = self.char_class(i)
            elif c == "\\":
                i = self.escape(i)
            else:
                self.simple(c)
                i += 1
        if len(self.stack) != 1:
            raise GoRegexError(ERR_MISSING_PAREN, s)
        return "|".join(_join(alt) for alt in self.stack[0].alts)

    def simple(self, c: str) -> None:
        """A one-character token: `|`, `)`, `^`, `$`, `.` or a literal."""
        if c == "|":
            self.stack[-1].alts.append([])
        elif c == ")":
            self.close()
        elif c == "^":
            self.items.append(_Item("(?m:^)" if self.flags & _MULTILINE else "^", _ASSERT))
        elif c == "$":
            # Go's $ without (?m) is the end of the text; Python's $ also matches before a final \n.
            self.items.append(_Item("(?m:$)" if self.flags & _MULTILINE else r"\Z", _ASSERT))
        elif c == ".":
            self.items.append(_Item("(?s:.)" if self.flags & _DOTNL else ".", _ATOM))
        else:
            self.literal(c)

    def repetition(self, i: int, last_repeat: int) -> tuple[int, int]:
        """`*` `+` `?` or `{...}` at `i`: the index after it and where it started (-1 if `{` was literal)."""
        if self.src[i] != "{":
            return self.repeat(i, i + 1, -1, -1, last_repeat), i
        bounds = repeat_bounds(self.src, i)
        if bounds is None:
            self.literal("{")  # Go reads a malformed {...} (including x{,n}) as literal text
            return i + 1, -1
        lo, hi, after = bounds
        if lo < 0 or lo > MAX_REPEAT or hi > MAX_REPEAT or (hi >= 0 and lo > hi):
            raise self.error(ERR_REPEAT_SIZE, i, after)
        return self.repeat(i, after, lo, hi, last_repeat), i

    # -- atoms ---------------------------------------------------------------------------------
    def literal(self, ch: str) -> None:
        fold = bool(self.flags & _FOLD) and (ch.lower() != ch or ch.upper() != ch)
        self.items.append(_Item(re.escape(ch), _LIT, fold=fold))

    def class_item(self, ranges: classes.Ranges, *, negated: bool = False) -> None:
        fold = bool(self.flags & _FOLD)
        ranges = classes.clean(ranges)
        if not fold and not negated and len(ranges) == 1 and ranges[0][0] == ranges[0][1]:
            self.literal(chr(ranges[0][0]))
            return
        self.items.append(_Item(classes.python_class(ranges, negated=negated, fold=fold), _ATOM))

    def escape(self, i: int) -> int:
        s = self.src
        if i + 1 < len(s):
            c = s[i + 1]
            if c in "AbBz":
                text = {"A": r"\A", "b": r"(?a:\b)", "B": r"(?a:\B)", "z": r"\Z"}[c]
                self.items.append(_Item(text, _ASSERT))
                return i + 2
            if c == "C":
                raise self.error(ERR_ESCAPE, i, i + 2)
            if c == "Q":
                end = s.find("\\E", i + 2)
                for ch in s[i + 2 : len(s) if end < 0 else end]:
                    self.literal(ch)
                return len(s) if end < 0 else end + 2
            # Negation is passed on rather than applied, so under (?i) Python folds before it
            # complements, as Go does.
            if c in "pP":
                ranges, negated, after = self.unicode_class(i)
                self.class_item(ranges, negated=negated)
                return after
            group = classes.PERL_GROUPS.get(c.lower())
            if group is not None:
                self.class_item(list(group), negated=c.isupper())
                return i + 2
        rune, after = parse_escape(self.src, i)
        self.literal(chr(rune))
        return after

    def unicode_class(self, i: int) -> tuple[classes.Ranges, bool, int]:
        """`\\pN`, `\\p{Name}`, `\\P{^Name}` at `i`: the ranges, whether negated, and the index after."""
        s = self.src
        negated = s[i + 1] == "P"
        if i + 2 < len(s) and s[i + 2] == "{":
            end = s.find("}", i)
            if end < 0:
                raise self.error(ERR_CHAR_RANGE, i, len(s))
            seq, name, after = s[i : end + 1], s[i + 3 : end], end + 1
        else:
            after = min(i + 3, len(s))
            seq, name = s[i:after], s[i + 2 : after]
        if name.startswith("^"):
            negated, name = not negated, name[1:]
        ranges = classes.unicode_group(name)
        if ranges is None:
            if not name:
                raise GoRegexError(ERR_CHAR_RANGE, seq)
            raise UnsupportedGoRegex(
                f"The bot cannot evaluate `{seq}`: Unicode scripts and long category names are not "
                "supported here (Go knows some of them and rejects others).",
                hint="Use an explicit character class such as [a-z] or a category such as \\pL.",
            )
        return ranges, negated, after

    def char_class(self, i: int) -> int:
        s, n = self.src, len(self.src)
        whole = s[i:]
        t, negated, first = i + 1, False, True
        if t < n and s[t] == "^":
            negated, t = True, t + 1
        ranges: classes.Ranges = []
        while t >= n or s[t] != "]" or first:
            first = False
            if n - t > 2 and s[t] == "[" and s[t + 1] == ":":
                end = s.find(":]", t + 2)
                if end >= 0:
                    group = classes.posix_group(s[t : end + 2])
                    if group is None:
                        raise self.error(ERR_CHAR_RANGE, t, end + 2)
                    ranges += group
                    t = end + 2
                    continue
            if n - t >= 2 and s[t] == "\\" and s[t + 1] in "pP":
                group, negated_group, t = self.unicode_class(t)
                ranges += classes.negate(classes.clean(group)) if negated_group else group
                continue
            perl = classes.perl_group(s[t + 1]) if n - t >= 2 and s[t] == "\\" else None
            if perl is not None:
                ranges += perl
                t += 2
                continue
            start = t
            lo, t = self.class_char(t, whole)
            hi = lo
            if n - t >= 2 and s[t] == "-" and s[t + 1] != "]":
                hi, t = self.class_char(t + 1, whole)
                if hi < lo:
                    raise self.error(ERR_CHAR_RANGE, start, t)
            ranges.append((lo, hi))
        self.class_item(ranges, negated=negated)
        return t + 1

    def class_char(self, t: int, whole: str) -> tuple[int, int]:
        if t >= len(self.src):
            raise GoRegexError(ERR_MISSING_BRACKET, whole)
        if self.src[t] == "\\":
            return parse_escape(self.src, t)
        return ord(self.src[t]), t + 1

    # -- repetition ----------------------------------------------------------------------------
    def repeat(self, start: int, after: int, lo: int, hi: int, last_repeat: int) -> int:
        """Apply `*` `+` `?` (lo = hi = -1) or `{lo,hi}` to the last item; return the index after it."""
        s = self.src
        op = s[start:after]
        ungreedy = bool(self.flags & _UNGREEDY)
        if after < len(s) and s[after] == "?":
            after += 1
            ungreedy = not ungreedy
        if last_repeat >= 0:
            raise self.error(ERR_REPEAT_OP, last_repeat, after)
        if not self.items:
            raise self.error(ERR_MISSING_REPEAT, start, after)
        sub = self.items[-1]
        if sub.kind == _LIT:
            base = f"(?i:{sub.text})" if sub.fold else sub.text
        elif sub.kind == _ATOM:
            base = sub.text
        else:
            base = f"(?:{sub.text})"  # Python refuses to repeat an assertion or a repetition directly
        size = sub.size
        if op[0] == "{":
            count = hi if hi >= 0 else lo
            size = 0 if hi == 0 else max(count, count * sub.size) if count > 0 else sub.size
            if (lo >= 2 or hi >= 2) and size > MAX_REPEAT:
                raise self.error(ERR_REPEAT_SIZE, start, after)
        self.items[-1] = _Item(base + op + ("?" if ungreedy else ""), _REPEAT, size=size)
        return after

    # -- groups --------------------------------------------------------------------------------
    def open_capture(self, name: str, after: int) -> int:
        self.ncap += 1
        if not name:
            head = "("
        else:
            valid = not name[0].isdigit() and name not in self.py_names and not MANGLED.fullmatch(name)
            py_name = name if valid else f"_go{self.ncap}_{name}"
            self.py_names.add(py_name)
            head = f"(?P<{py_name}>"
        self.stack.append(_Frame(head, self.flags))
        return after

    def perl_group(self, i: int) -> int:
        """`(?P<name>`, `(?<name>`, `(?flags)`, `(?flags:` at `i`; anything else is Go's Perl-syntax error."""
        s = self.src
        t = s[i:]
        if (len(t) > 4 and t[2] == "P" and t[3] == "<") or (len(t) > 3 and t[2] == "<"):
            end = t.find(">")
            if end < 0:
                raise GoRegexError(ERR_NAMED_CAPTURE, t)
            name = t[4 if t[2] == "P" else 3 : end]
            if not name or not all(ch == "_" or is_ascii_alnum(ch) for ch in name):
                raise GoRegexError(ERR_NAMED_CAPTURE, t[: end + 1])
            return self.open_capture(name, i + end + 1)
        j, flags, negative, saw_flag = i + 2, self.flags, False, False
        while j < len(s):
            c = s[j]
            j += 1
            if c in _FLAG_BITS:
                flags = flags & ~_FLAG_BITS[c] if negative else flags | _FLAG_BITS[c]
                saw_flag = True
            elif c == "-" and not negative:
                negative, saw_flag = True, False
            elif c in ":)" and (saw_flag or not negative):
                if c == ":":
                    self.stack.append(_Frame("(?:", self.flags))
                self.flags = flags
                return j
            else:
                break
        raise self.error(ERR_PERL_OP, i, j)

    def close(self) -> None:
        if len(self.stack) == 1:
            raise GoRegexError(ERR_UNEXPECTED_PAREN, self.src)
        frame = self.stack.pop()
        self.flags = frame.flags
        text = frame.head + "|".join(_join(alt) for alt in frame.alts) + ")"
        size = max((item.size for alt in frame.alts for item in alt), default=0)
        self.items.append(_Item(text, _ATOM, size=size))


def translate(pattern: str) -> str:
    """Python `re` source that matches what Go's regexp.Compile(pattern) matches; raises GoRegexError."""
    return _Parser(pattern).translate()
