"""Parse YAML safely and remember which line every key came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import yaml

from fraisier.config.errors import ConfigError, Problem

_MERGE_TAG = "tag:yaml.org,2002:merge"

# A configuration has hundreds of values, a large one a few thousand. Aliases (`*name`) let a
# few hundred bytes stand for billions of values ("billion laughs"): every later stage (line
# map, `${VAR}` substitution, validation) walks the expanded tree, so it is measured first and
# refused past this many values.
MAX_EXPANDED_VALUES = 100_000

# Key paths are stored with every part as text so that a pydantic location
# (which may carry ints for list indexes) can be looked up the same way.
LineKey = tuple[str, ...]


@dataclass
class ParsedYaml:
    data: Any
    lines: dict[LineKey, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)  # non-fatal: duplicate keys

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest part of `loc` that exists in the file."""
        key = tuple(str(part) for part in loc)
        while key:
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return None


def parse_yaml(text: str) -> ParsedYaml:
    """Safe-load `text`; raise ConfigError with the line on a syntax error."""
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        parsed = ParsedYaml(data=None)
        if node is not None:
            expanded = _expanded_size(node, {}, set())
            if expanded > MAX_EXPANDED_VALUES:
                raise ConfigError([Problem(
                    "", f"the document expands to more than {MAX_EXPANDED_VALUES} values "
                    "through YAML aliases (`*name`); refusing to expand it: write the "
                    "repeated settings out or reuse fewer anchors", 1)])
            # Walk before constructing: construction flattens `<<` merges in place,
            # which would make merged keys look like duplicates.
            _walk(node, (), parsed, set())
            parsed.data = loader.construct_document(node)
        return parsed
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = exc.problem or exc.context or "malformed document"
        raise ConfigError(
            [Problem("", f"invalid YAML: {detail}", mark.line + 1 if mark else None)]
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError([Problem("", f"invalid YAML: {exc}")]) from None
    except RecursionError:
        # PyYAML composes and constructs recursively: thousands of nested `[[[...` end here.
        raise ConfigError([Problem("", "invalid YAML: nested too deeply", 1)]) from None
    finally:
        loader.dispose()


def _expanded_size(node: yaml.Node, sizes: dict[int, int], active: set[int]) -> int:
    """How many values `node` stands for once every alias is expanded.

    Memoized per node, so a chain of aliases is measured in time proportional to the
    document, not to its expansion. Stops counting once past the limit.
    """
    known = sizes.get(id(node))
    if known is not None:
        return known
    if id(node) in active:  # a recursive alias: constructed as a cycle, not expanded
        return 1
    active.add(id(node))
    total = 1
    children: list[yaml.Node] = []
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            children += (key_node, value_node)
    elif isinstance(node, yaml.SequenceNode):
        children = list(node.value)
    for child in children:
        total += _expanded_size(child, sizes, active)
        if total > MAX_EXPANDED_VALUES:
            break
    active.discard(id(node))
    sizes[id(node)] = total
    return total


def _walk(node: yaml.Node, path: LineKey, parsed: ParsedYaml, active: set[int]) -> None:
    if id(node) in active:  # a recursive alias; nothing more to learn
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            child = (*path, key)
            if key in first_seen:
                parsed.problems.append(Problem.at(
                    child, f"duplicate key (first defined at line {first_seen[key]})", line
                ))
            else:
                first_seen[key] = line
                parsed.lines[child] = line
            _walk(value_node, child, parsed, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            child = (*path, str(index))
            parsed.lines[child] = item.start_mark.line + 1
            _walk(item, child, parsed, active)
    active.discard(id(node))
