"""Turn pydantic's validation errors into short Problems with readable key paths."""

from __future__ import annotations

import difflib
import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel, ValidationError

from fraisier.config.errors import Problem
from fraisier.config.yamlsource import ParsedYaml

_TYPE_MESSAGES = {
    "missing": "required key is missing",
    "string_type": "expected a string",
    "int_type": "expected a whole number",
    "int_parsing": "expected a whole number",
    "int_from_float": "expected a whole number",
    "float_type": "expected a number",
    "float_parsing": "expected a number",
    "bool_type": "expected true or false",
    "bool_parsing": "expected true or false",
    "dict_type": "expected a mapping",
    "model_type": "expected a mapping",
    "model_attributes_type": "expected a mapping",
    "dataclass_type": "expected a mapping",
    "list_type": "expected a list",
    "tuple_type": "expected a list",
    "path_type": "expected a path",
    "finite_number": "expected a finite number (.inf and .nan are not allowed)",
}

_PREFIXES = ("Value error, ", "Assertion failed, ")


def clean_loc(loc: tuple[Any, ...], raw: Any) -> tuple[Any, ...]:
    """Drop what pydantic adds to a location that is not a key in the file.

    That is its internal tags (`[key]`, `function-before[...]`, `list[str]`) and
    the index 0 it reports when a single mapping was accepted in place of a list.
    """
    cleaned: list[Any] = []
    node, in_file = raw, True
    for part in loc:
        if in_file and _has(node, part):
            cleaned.append(part)
            node = node[part]
            continue
        is_tag = isinstance(part, str) and "[" in part
        is_phantom_index = in_file and isinstance(part, int) and isinstance(node, dict)
        if is_tag or is_phantom_index:
            continue
        cleaned.append(part)
        in_file = False
    return tuple(cleaned)


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _unwrap(tp: Any) -> Any:
    while True:
        origin = get_origin(tp)
        if origin is Annotated:
            tp = get_args(tp)[0]
        elif origin in (Union, types.UnionType):
            members = [arg for arg in get_args(tp) if arg is not type(None)]
            tp = members[0] if members else tp
            if len(members) <= 1:
                continue
            return tp
        else:
            return tp


def _model_at(root: type[BaseModel], loc: tuple[Any, ...]) -> type[BaseModel] | None:
    """The model class that owns the keys found at `loc`, if there is one."""
    tp: Any = root
    parts = list(loc)
    while True:
        tp = _unwrap(tp)
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if not parts:
                return tp
            field = tp.model_fields.get(parts.pop(0))
            if field is None:
                return None
            tp = field.annotation
            continue
        origin = get_origin(tp)
        if origin is dict and parts:
            parts.pop(0)
            tp = get_args(tp)[1]
        elif origin is list:
            if parts and isinstance(parts[0], int):
                parts.pop(0)
            tp = get_args(tp)[0]
        else:
            return None


def _message(error: Any, loc: tuple[Any, ...], root: type[BaseModel]) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    if kind == "extra_forbidden":
        owner = _model_at(root, loc[:-1]) if loc else None
        if owner is not None and isinstance(loc[-1], str):
            close = difflib.get_close_matches(loc[-1], list(owner.model_fields), n=1)
            if close:
                return f"unknown key (did you mean {close[0]!r}?)"
        return "unknown key"
    if kind in _TYPE_MESSAGES:
        return _TYPE_MESSAGES[kind]
    if kind == "greater_than":
        return f"must be greater than {ctx.get('gt')}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}"
    if kind == "less_than":
        return f"must be less than {ctx.get('lt')}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}"
    message = str(error["msg"])
    for prefix in _PREFIXES:
        message = message.removeprefix(prefix)
    return message.replace("Input should be ", "must be ")


def problems_from_validation(
    error: ValidationError, parsed: ParsedYaml, root: type[BaseModel]
) -> list[Problem]:
    problems = []
    for item in error.errors(include_url=False):
        loc = clean_loc(tuple(item["loc"]), parsed.data)
        problems.append(Problem.at(loc, _message(item, loc, root), parsed.line_of(loc)))
    return problems


def relocate(problems: list[Problem], parsed: ParsedYaml) -> list[Problem]:
    """Give Problems raised by the models themselves clean paths and line numbers."""
    located = []
    for problem in problems:
        loc = clean_loc(problem.loc, parsed.data)
        located.append(Problem.at(loc, problem.message, problem.line or parsed.line_of(loc)))
    return located
