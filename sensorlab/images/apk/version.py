"""apk version ordering, ported from apk-tools 2.x ``version.c``.

Versions look like ``1.2.3b_rc1_p2-r4``: dot-separated digits, an optional
letter, suffixes (``_alpha`` < ``_beta`` < ``_pre`` < ``_rc`` < release <
``_cvs`` < ``_svn`` < ``_git`` < ``_hg`` < ``_p``) and a ``-rN`` revision.
The token state machine is kept as in C so that edge cases (leading zeros,
a trailing letter, a pre-release suffix) order exactly as apk orders them.
"""

from __future__ import annotations

import functools

_INVALID, _DIGIT_OR_ZERO, _DIGIT, _LETTER, _SUFFIX, _SUFFIX_NO, _REVISION_NO, _END = range(-1, 7)
_PRE_SUFFIXES = ("alpha", "beta", "pre", "rc")
_POST_SUFFIXES = ("cvs", "svn", "git", "hg", "p")

LESS, EQUAL, GREATER = -1, 0, 1


class _Cursor:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.type = _DIGIT

    def left(self) -> int:
        return len(self.text) - self.pos

    def char(self, offset: int = 0) -> str:
        return self.text[self.pos + offset]


def _next_token(cur: _Cursor) -> None:
    kind = _INVALID
    if cur.left() == 0:
        kind = _END
    elif cur.type in (_DIGIT, _DIGIT_OR_ZERO) and cur.char().islower():
        kind = _LETTER
    elif cur.type == _LETTER and cur.char().isdigit():
        kind = _DIGIT
    elif cur.type == _SUFFIX and cur.char().isdigit():
        kind = _SUFFIX_NO
    else:
        ch = cur.char()
        if ch == ".":
            kind = _DIGIT_OR_ZERO
        elif ch == "_":
            kind = _SUFFIX
        elif ch == "-" and cur.left() > 1 and cur.char(1) == "r":
            kind = _REVISION_NO
            cur.pos += 1
        cur.pos += 1
    if kind < cur.type and not (
        (kind == _DIGIT_OR_ZERO and cur.type == _DIGIT)
        or (kind == _SUFFIX and cur.type == _SUFFIX_NO)
        or (kind == _DIGIT and cur.type == _LETTER)
    ):
        kind = _INVALID
    cur.type = kind


def _digits(cur: _Cursor, start: int) -> tuple[int, int]:
    i, value = start, 0
    while cur.pos + i < len(cur.text) and cur.text[cur.pos + i].isdigit():
        value = value * 10 + int(cur.text[cur.pos + i])
        i += 1
    return i, value


def _get_token(cur: _Cursor) -> int:
    if cur.left() <= 0:
        cur.type = _END
        return 0
    i, value, next_type = 0, 0, _INVALID
    if cur.type == _DIGIT_OR_ZERO and cur.char() == "0":
        # Leading zeros make a component sort as a fraction (1.001 < 1.01 < 1.1):
        # all but the last zero are consumed and counted negatively.
        while cur.pos + i + 1 < len(cur.text) and cur.text[cur.pos + i + 1] == "0":
            i += 1
        next_type, value = _DIGIT, -i
    elif cur.type in (_DIGIT_OR_ZERO, _DIGIT, _SUFFIX_NO, _REVISION_NO):
        i, value = _digits(cur, 0)
    elif cur.type == _LETTER:
        value, i = ord(cur.char()), 1
    elif cur.type == _SUFFIX:
        rest = cur.text[cur.pos:]
        for index, suffix in enumerate(_PRE_SUFFIXES):
            if rest.startswith(suffix):
                value, i = index - len(_PRE_SUFFIXES), len(suffix)
                break
        else:
            for index, suffix in enumerate(_POST_SUFFIXES):
                if rest.startswith(suffix):
                    value, i = index, len(suffix)
                    break
            else:
                cur.type = _INVALID
                return -1
    else:
        cur.type = _INVALID
        return -1
    cur.pos += i
    if cur.left() == 0:
        cur.type = _END
    elif next_type != _INVALID:
        cur.type = next_type
    else:
        _next_token(cur)
    return value


def compare(a: str, b: str, *, fuzzy: bool = False) -> int:
    """-1, 0 or 1 as ``a`` sorts before, equal to or after ``b``.

    ``fuzzy`` is apk's ``~`` match: equal when one is a prefix of the other
    in whole tokens (``1.2`` ~ ``1.2.7-r1``).
    """
    ca, cb = _Cursor(a), _Cursor(b)
    va = vb = 0
    while ca.type == cb.type and ca.type not in (_END, _INVALID) and va == vb:
        va = _get_token(ca)
        vb = _get_token(cb)
    if va < vb:
        return LESS
    if va > vb:
        return GREATER
    if ca.type == cb.type or fuzzy:
        return EQUAL
    # Equal so far: the longer one is newer unless it continues with a
    # pre-release suffix (1.0_rc1 < 1.0).
    if ca.type == _SUFFIX and _get_token(_copy(ca)) < 0:
        return LESS
    if cb.type == _SUFFIX and _get_token(_copy(cb)) < 0:
        return GREATER
    if ca.type > cb.type:
        return LESS
    if cb.type > ca.type:
        return GREATER
    return EQUAL


def _copy(cur: _Cursor) -> _Cursor:
    twin = _Cursor(cur.text)
    twin.pos, twin.type = cur.pos, cur.type
    return twin


def is_valid(version: str) -> bool:
    cur = _Cursor(version)
    while cur.type not in (_END, _INVALID):
        _get_token(cur)
    return cur.type == _END and version != ""


def matches(version: str, op: str, wanted: str) -> bool:
    """Does ``version`` satisfy ``<op> wanted`` (ops: = < > <= >= ~)?"""
    result = compare(version, wanted, fuzzy=op == "~")
    return {
        "=": result == EQUAL,
        "~": result == EQUAL,
        "<": result == LESS,
        ">": result == GREATER,
        "<=": result != GREATER,
        ">=": result != LESS,
    }[op]


sort_key = functools.cmp_to_key(compare)
