"""The agent's built-in tools.

Their results are plain strings, formatted exactly as the TypeScript runtime formats them,
so both runtimes send the LLM the same conversation.
"""

from __future__ import annotations

import math
import re

import orjson

TOOL_DEFINITIONS = [
    {
        "type": "function",
        "function": {
            "name": "calculator",
            "description": "Evaluate an arithmetic expression with + - * / and parentheses.",
            "parameters": {
                "type": "object",
                "properties": {"expression": {"type": "string"}},
                "required": ["expression"],
            },
        },
    },
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "description": "Look up a city in the reference table.",
            "parameters": {
                "type": "object",
                "properties": {"key": {"type": "string"}},
                "required": ["key"],
            },
        },
    },
]

CITIES = {
    "amsterdam": "Amsterdam: country Netherlands, population 931298",
    "berlin": "Berlin: country Germany, population 3878100",
    "lisbon": "Lisbon: country Portugal, population 567131",
    "madrid": "Madrid: country Spain, population 3416771",
    "paris": "Paris: country France, population 2113705",
    "rome": "Rome: country Italy, population 2755309",
    "vienna": "Vienna: country Austria, population 2005760",
    "warsaw": "Warsaw: country Poland, population 1863056",
}

MAX_EXPRESSION_LENGTH = 200
MAX_RESULT = 1e15
NUMBER = re.compile(r"\d+(\.\d+)?")


class ToolError(Exception):
    pass


class _Parser:
    """expr = term (('+'|'-') term)*, term = factor (('*'|'/') factor)*,
    factor = ('+'|'-') factor | number | '(' expr ')'."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.position = 0

    def peek(self) -> str | None:
        while self.position < len(self.text) and self.text[self.position] == " ":
            self.position += 1
        return self.text[self.position] if self.position < len(self.text) else None

    def expression(self) -> float:
        value = self.term()
        while (op := self.peek()) in ("+", "-"):
            self.position += 1
            right = self.term()
            value = value + right if op == "+" else value - right
        return value

    def term(self) -> float:
        value = self.factor()
        while (op := self.peek()) in ("*", "/"):
            self.position += 1
            right = self.factor()
            if op == "/" and right == 0:
                raise ToolError("division by zero")
            value = value * right if op == "*" else value / right
        return value

    def factor(self) -> float:
        following = self.peek()
        if following in ("+", "-"):
            self.position += 1
            value = self.factor()
            return -value if following == "-" else value
        if following == "(":
            self.position += 1
            value = self.expression()
            if self.peek() != ")":
                raise ToolError("missing closing parenthesis")
            self.position += 1
            return value
        match = NUMBER.match(self.text, self.position)
        if not match:
            raise ToolError(f"unexpected input at position {self.position}")
        self.position = match.end()
        return float(match.group(0))


def evaluate(expression: str) -> float:
    parser = _Parser(expression)
    value = parser.expression()
    if parser.peek() is not None:
        raise ToolError(f"unexpected input at position {parser.position}")
    return value


def format_number(value: float) -> str:
    """Rounded to 6 decimals; integers without a decimal point; no exponent notation."""
    rounded = math.floor(value * 1e6 + 0.5) / 1e6
    if rounded.is_integer():
        return f"{rounded:.0f}"
    return f"{rounded:.6f}".rstrip("0")


def calculator(args: dict) -> str:
    expression = args.get("expression")
    if not isinstance(expression, str) or not expression:
        return "error: 'expression' must be a non-empty string"
    if len(expression) > MAX_EXPRESSION_LENGTH:
        return "error: expression too long"
    try:
        value = evaluate(expression)
    except ToolError as error:
        return f"error: {error}"
    if not math.isfinite(value) or abs(value) >= MAX_RESULT:
        return "error: result out of range"
    return format_number(value)


def lookup(args: dict) -> str:
    key = args.get("key")
    if not isinstance(key, str) or not key:
        return "error: 'key' must be a non-empty string"
    return CITIES.get(key.lower(), f"error: no entry for '{key}'")


def run_tool(name: str, raw_arguments: str) -> str:
    try:
        args = orjson.loads(raw_arguments)
    except orjson.JSONDecodeError:
        return "error: arguments are not valid JSON"
    if not isinstance(args, dict):
        return "error: arguments must be an object"
    if name == "calculator":
        return calculator(args)
    if name == "lookup":
        return lookup(args)
    return f"error: unknown tool '{name}'"
