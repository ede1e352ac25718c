"""Parse a condition text (Falco/sysdig filter syntax) into the tree of :mod:`sentry.rules.ast`.

Grammar (Falco 0.28 precedence: ``not`` binds tighter than ``and``, ``and`` than ``or``)::

    condition := or_expr
    or_expr   := and_expr ("or" and_expr)*
    and_expr  := not_expr ("and" not_expr)*
    not_expr  := "not" not_expr | primary
    primary   := "(" or_expr ")" | NAME | operand "exists"
               | operand VALUE_OP value | operand LIST_OP list
    operand   := FIELD | TRANSFORMER "(" operand ")"
    value     := QUOTED | BARE | "val(" FIELD ")"
    list      := "(" [item] ("," [item])* ")"      item := QUOTED | BARE | list

A FIELD has at least one dot (``proc.name``, ``evt.arg.fd``) and may carry an argument in
brackets that runs to the first ``]`` (``jevt.value[/a b/c]``). A NAME without a dot is a
macro reference. BARE words run to whitespace or a parenthesis (and a comma inside lists),
so ``/etc/passwd``, ``10.0.0.0/8``, ``<`` and ``-1`` need no quotes. Quoted strings take
either quote kind and C-like escapes (``\\n``, ``\\"``, ``\\x41``); an unknown escape is
kept as written, so regular expressions survive. Sysdig refuses ``a and b or c`` without
brackets; Falco (and we) read it as ``(a and b) or c``.

The scanner is a hand-written recursive descent over the text, because what a token is
depends on where it stands (``<`` is an operator after a field and a value after ``=``).
Errors are :class:`FilterSyntaxError` with the 1-based column of the offending character.
"""

from __future__ import annotations

from sentry.errors import FilterSyntaxError
from sentry.rules.ast import (
    LIST_OPERATORS,
    TRANSFORMERS,
    UNARY_OPERATORS,
    VALUE_OPERATORS,
    WORD_OPERATORS,
    And,
    Compare,
    Expr,
    FieldRef,
    FieldValue,
    Identifier,
    Not,
    Operand,
    Or,
    Rhs,
    Transform,
    Value,
    ValueList,
)

_SPACE = frozenset(" \t\r\n\f\v")
_WORD_START = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_WORD_REST = _WORD_START | frozenset("0123456789")
_FIELD_REST = _WORD_REST | frozenset(".")
_SYMBOL_OPERATORS = ("==", "!=", "<=", ">=", "=", "<", ">")  # longest first
_KEYWORDS = frozenset({"and", "or", "not"})
MAX_NESTING = 100  # parenthesis levels; far beyond real rules, well within Python's stack
_SIMPLE_ESCAPES = {
    "a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
    "\\": "\\", "'": "'", '"': '"', "\n": "\n", "\r": "\n",
}  # fmt: skip


def parse_condition(text: str) -> Expr:
    """Parse a whole condition; raise FilterSyntaxError (1-based column) when it does not."""
    return _Parser(text).parse()


class _Parser:
    """One parse of one text; ``i`` is the 0-based index of the next unread character."""

    def __init__(self, text: str):
        self.text = text
        self.n = len(text)
        self.i = 0
        self.depth = 0  # open parentheses around the cursor

    # Scanning helpers ---------------------------------------------------------------------

    def error(self, message: str, index: int | None = None) -> FilterSyntaxError:
        at = self.i if index is None else index
        return FilterSyntaxError(message, text=self.text, column=at + 1)

    def skip_space(self) -> None:
        text, n, i = self.text, self.n, self.i
        while i < n and text[i] in _SPACE:
            i += 1
        self.i = i

    def peek(self) -> str:
        return self.text[self.i] if self.i < self.n else ""

    def describe_here(self) -> str:
        if self.i >= self.n:
            return "end of condition"
        word = self.word_at(self.i)
        return f"'{word or self.text[self.i]}'"

    def word_at(self, i: int) -> str:
        """The identifier starting at ``i`` ('' if none): letters, digits, underscores."""
        text, n = self.text, self.n
        if i >= n or text[i] not in _WORD_START:
            return ""
        j = i + 1
        while j < n and text[j] in _WORD_REST:
            j += 1
        return text[i:j]

    def keyword_here(self) -> str:
        """``and``/``or``/``not`` at the cursor as a whole word, else ''."""
        word = self.word_at(self.i)
        if word in _KEYWORDS:
            end = self.i + len(word)
            if end >= self.n or self.text[end] not in _FIELD_REST:
                return word
        return ""

    def enter(self, at: int) -> None:
        """One more parenthesis level (group, transformer or nested list), within bounds."""
        if self.depth >= MAX_NESTING:
            raise self.error(f"parentheses nested deeper than {MAX_NESTING} levels", at)
        self.depth += 1

    def expect(self, char: str, what: str) -> None:
        self.skip_space()
        if self.peek() != char:
            raise self.error(f"expected {what}, found {self.describe_here()}")
        self.i += 1

    # Boolean structure ---------------------------------------------------------------------

    def parse(self) -> Expr:
        self.skip_space()
        if self.i >= self.n:
            raise self.error("empty condition")
        expr = self.or_expr()
        self.skip_space()
        if self.i < self.n:
            if self.peek() == ")":
                raise self.error("unbalanced ')'")
            raise self.error(
                f"expected 'and', 'or' or end of condition, found {self.describe_here()}"
            )
        return expr

    def or_expr(self) -> Expr:
        self.skip_space()
        start = self.i
        args = [self.and_expr()]
        while True:
            self.skip_space()
            if self.keyword_here() != "or":
                break
            self.i += 2
            args.append(self.and_expr())
        return args[0] if len(args) == 1 else Or(tuple(args), start + 1)

    def and_expr(self) -> Expr:
        self.skip_space()
        start = self.i
        args = [self.not_expr()]
        while True:
            self.skip_space()
            if self.keyword_here() != "and":
                break
            self.i += 3
            args.append(self.not_expr())
        return args[0] if len(args) == 1 else And(tuple(args), start + 1)

    def not_expr(self) -> Expr:
        # A loop, not recursion, and "not not x" is x: a long chain costs no stack.
        first, count = 0, 0
        while True:
            self.skip_space()
            if self.keyword_here() != "not":
                break
            if not count:
                first = self.i
            count += 1
            self.i += 3
        expr = self.primary()
        if not count % 2:
            return expr
        return expr.arg if isinstance(expr, Not) else Not(expr, first + 1)

    def primary(self) -> Expr:
        self.skip_space()
        start = self.i
        char = self.peek()
        if char == "(":
            self.enter(start)
            self.i += 1
            inner = self.or_expr()
            self.depth -= 1
            self.skip_space()
            if self.peek() != ")":
                if self.i >= self.n:
                    raise self.error(f"the '(' at column {start + 1} is never closed")
                raise self.error(f"expected 'and', 'or' or ')', found {self.describe_here()}")
            self.i += 1
            return inner
        if not char:
            raise self.error("condition ends where a comparison or macro was expected")
        word = self.word_at(start)
        if not word:
            raise self.error(f"expected a field, macro or '(', found '{char}'")
        if word in _KEYWORDS:
            raise self.error(f"'{word}' cannot start a comparison")
        after = start + len(word)
        next_char = self.text[after] if after < self.n else ""
        if word in TRANSFORMERS and self._next_nonspace(after) == "(":
            return self.comparison(self.operand())
        if next_char == "." or next_char == "[":
            return self.comparison(self.operand())
        # A bare identifier: a macro reference, unless an operator follows (then a typo'd field).
        self.i = after
        self.skip_space()
        if self._operator_here():
            raise self.error(f"'{word}' is not a field name (fields look like 'class.name')", start)
        self.i = after
        return Identifier(word, start + 1)

    def _next_nonspace(self, i: int) -> str:
        while i < self.n and self.text[i] in _SPACE:
            i += 1
        return self.text[i] if i < self.n else ""

    # Comparisons ---------------------------------------------------------------------------

    def operand(self) -> Operand:
        """A field, or transformers wrapped around one: ``tolower(basename(fd.name))``."""
        self.skip_space()
        start = self.i
        word = self.word_at(start)
        if word in TRANSFORMERS and self._next_nonspace(start + len(word)) == "(":
            self.i = start + len(word)
            self.skip_space()
            self.enter(start)
            self.i += 1  # the '('
            inner = self.operand()
            self.depth -= 1
            self.expect(")", f"')' to close {word}(")
            return Transform(word, inner, start + 1)
        return self.field_ref()

    def field_ref(self) -> FieldRef:
        self.skip_space()
        start = self.i
        text, n = self.text, self.n
        if start >= n or text[start] not in _WORD_START:
            raise self.error(f"expected a field name, found {self.describe_here()}")
        j = start + 1
        while j < n and text[j] in _FIELD_REST:
            j += 1
        name = text[start:j]
        if "." not in name:
            raise self.error(f"'{name}' is not a field name (fields look like 'class.name')", start)
        if name.endswith("."):
            raise self.error(f"field name '{name}' ends with a dot", j - 1)
        arg = None
        if j < n and text[j] == "[":
            close = text.find("]", j + 1)
            if close < 0:
                raise self.error(f"missing ']' after '{name}['", j)
            arg = text[j + 1 : close]
            if not arg.strip():
                raise self.error(f"empty argument in '{name}[]'", j)
            j = close + 1
        self.i = j
        return FieldRef(name, arg, start + 1)

    def _operator_here(self) -> str:
        """The comparison operator at the cursor ('' if none); does not move."""
        text, i = self.text, self.i
        for sym in _SYMBOL_OPERATORS:
            if text.startswith(sym, i):
                return sym
        word = self.word_at(i)
        end = i + len(word)
        if word in WORD_OPERATORS and (end >= self.n or self.text[end] not in _FIELD_REST):
            return word
        return ""

    def comparison(self, lhs: Operand) -> Compare:
        self.skip_space()
        op_at = self.i
        op = self._operator_here()
        if not op:
            raise self.error(
                f"expected a comparison operator after '{_operand_name(lhs)}', "
                f"found {self.describe_here()}"
            )
        self.i += len(op)
        if op == "==":
            op = "="
        rhs: Rhs
        if op in UNARY_OPERATORS:
            rhs = None
        elif op in LIST_OPERATORS:
            self.skip_space()
            if self.peek() != "(":
                raise self.error(f"'{op}' needs a parenthesised list, found {self.describe_here()}")
            rhs = self.value_list()
        else:
            assert op in VALUE_OPERATORS
            rhs = self.value(op)
        return Compare(lhs, op, rhs, _operand_pos(lhs, op_at))

    def value(self, op: str) -> Value | FieldValue:
        self.skip_space()
        start = self.i
        char = self.peek()
        if not char:
            raise self.error(f"expected a value after '{op}', found end of condition")
        if char in "\"'":
            return Value(self.quoted(), True, start + 1)
        if char in "()":
            raise self.error(f"expected a value after '{op}', found '{char}'")
        if self.text.startswith("val(", start):
            self.i = start + 4
            ref = self.field_ref()
            self.expect(")", "')' to close val(")
            return FieldValue(ref, start + 1)
        return Value(self.bare(in_list=False), False, start + 1)

    def value_list(self) -> ValueList:
        """``(a, "b c", (d, e))``: nested lists flatten; empty items (``a,,b``) are skipped."""
        start = self.i
        self.i += 1  # the '('
        items: list[Value] = []
        while True:
            self.skip_space()
            char = self.peek()
            if char == ")":
                self.i += 1
                return ValueList(tuple(items), start + 1)
            if not char:
                raise self.error(f"the list opened at column {start + 1} is never closed")
            if char == ",":
                self.i += 1
                continue
            if char == "(":
                self.enter(self.i)
                items.extend(self.value_list().items)
                self.depth -= 1
            elif char in "\"'":
                at = self.i
                items.append(Value(self.quoted(), True, at + 1))
            else:
                at = self.i
                items.append(Value(self.bare(in_list=True), False, at + 1))
            self.skip_space()
            if self.peek() not in (",", ")"):
                if not self.peek():
                    raise self.error(f"the list opened at column {start + 1} is never closed")
                raise self.error(f"expected ',' or ')' in list, found {self.describe_here()}")

    def bare(self, *, in_list: bool) -> str:
        text, n = self.text, self.n
        start = j = self.i
        while j < n:
            char = text[j]
            if char in _SPACE or char == "(" or char == ")" or (in_list and char == ","):
                break
            j += 1
        self.i = j
        return text[start:j]

    def quoted(self) -> str:
        text, n = self.text, self.n
        start = self.i
        quote = text[start]
        out: list[str] = []
        j = start + 1
        while j < n:
            char = text[j]
            if char == quote:
                self.i = j + 1
                return "".join(out)
            if char == "\\" and j + 1 < n:
                nxt = text[j + 1]
                if nxt in _SIMPLE_ESCAPES:
                    out.append(_SIMPLE_ESCAPES[nxt])
                    j += 2
                    continue
                if nxt == "x" and _is_hex(text[j + 2 : j + 4]):
                    out.append(chr(int(text[j + 2 : j + 4], 16)))
                    j += 4
                    continue
                out.append(char + nxt)  # unknown escape: keep as written (regexes)
                j += 2
                continue
            out.append(char)
            j += 1
        raise self.error(f"unterminated string starting with {quote}", start)


def _is_hex(pair: str) -> bool:
    return len(pair) == 2 and all(c in "0123456789abcdefABCDEF" for c in pair)


def _operand_name(operand: Operand) -> str:
    while isinstance(operand, Transform):
        operand = operand.operand
    return operand.name if operand.arg is None else f"{operand.name}[{operand.arg}]"


def _operand_pos(operand: Operand, fallback: int) -> int:
    return operand.pos or fallback + 1
