"""Line-aware YAML loading for plans, bench files and DUT profiles.

People edit these files by hand, so a mistake has to come back as
``file:line: field: message`` and not as a pydantic traceback. The loader
keeps the line of every mapping key, every sequence item and every value
while handing the models plain Python data (what ``yaml.safe_load`` gives),
and ``validate`` turns the first pydantic error into one ``InputFileError``
that points at the offending line.

A file may also be written as another file plus changes (``load_extending``:
``extends: base.yaml`` and only what differs). The merged document keeps,
for every node, the file and line it came from, so an error still names the
file the bad value is written in.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from yaml.reader import ReaderError

from rig.core.errors import InputFileError

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")

Loc = tuple[str | int, ...]

_MERGE_TAG = "tag:yaml.org,2002:merge"


class LocatedValueError(ValueError):
    """A validator's complaint about a node below the model it validates.

    Pydantic reports a model validator's error at the model itself; raising
    this instead names the node the problem is really about (``loc`` is
    relative to the model), so the report points at that line.
    """

    def __init__(self, loc: Loc, message: str) -> None:
        super().__init__(message)
        self.loc = tuple(loc)


@dataclass(frozen=True)
class YamlDocument:
    """A loaded YAML file (or several merged, ``merge_documents``): its plain data plus the line of every node."""

    path: Path
    data: dict[Any, Any]
    _key_lines: Mapping[Loc, int] = field(repr=False)
    _value_lines: Mapping[Loc, int] = field(repr=False)
    _files: Mapping[Loc, Path] = field(default_factory=dict, repr=False)
    """A merged document's: the file of every node (the locations of ``_key_lines``); empty: all ``path``."""
    _sources: tuple[Path, ...] = field(default=(), repr=False)

    @property
    def sources(self) -> tuple[Path, ...]:
        """Every file the document was read from: its own, then each one it extends, nearest first (what a
        record of the inputs has to keep for the document to be read again)."""
        return self._sources or (self.path,)

    def line_of(self, loc: Loc) -> int | None:
        """Line (1-based) of the node at ``loc``: a key's own line, or an item's line.

        Falls back to the nearest ancestor with a known line, so a location
        that does not exist in the file (a missing field) still gets one.
        """
        return _nearest(self._key_lines, tuple(loc))

    def file_of(self, loc: Loc) -> Path:
        """The file the node at ``loc`` is written in (its line is ``line_of``'s): for a merged document,
        the extending file's or one it extends; otherwise ``path``."""
        return _nearest(self._files, tuple(loc)) or self.path

    def _value_line_of(self, loc: Loc) -> int | None:
        """Line where the value at ``loc`` starts (differs from the key's for block values)."""
        return _nearest(self._value_lines, tuple(loc))


LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser where PyYAML was built with it (ten times faster on a long plan), the same nodes and marks."""


def load_document(path: Path | str) -> YamlDocument:
    """Read a YAML file whose top level is a mapping, keeping every node's line."""
    path = Path(path)
    text = _read_text(path)
    loader = LOADER(text)
    try:
        root = loader.get_single_node()
        if root is None:
            raise InputFileError(path, 1, None, "file is empty (expected a YAML mapping)")
        key_lines: dict[Loc, int] = {}
        value_lines: dict[Loc, int] = {}
        _index_lines(path, loader, root, (), key_lines, value_lines, set())
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = error.problem or error.context or "unreadable"
        raise InputFileError(path, line, None, f"not valid YAML: {problem}") from error
    except ReaderError as error:
        line = text[: error.position].count("\n") + 1
        raise InputFileError(path, line, None, f"not valid YAML: {error.reason}") from error
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        expected = "expected a mapping (key: value) at the top level"
        raise InputFileError(path, key_lines[()], None, f"{expected}, got {_show(data)}")
    return YamlDocument(path, data, key_lines, value_lines)


def validate(document: YamlDocument, model: type[M], *, context: dict[str, Any] | None = None) -> M:
    """Validate a document against ``model``; the first problem becomes one ``InputFileError``."""
    try:
        return model.model_validate(document.data, context=context)
    except ValidationError as error:
        problems = error.errors()
        first = _first_to_report(problems)
        raise _input_file_error(document, model, first, len(problems) - 1) from None


def validate_part(document: YamlDocument, at: Loc, model: type[M]) -> M:
    """Validate the node at ``at`` (absent: an empty mapping) against ``model``, as ``validate`` does a whole
    document: for a part whose model depends on another part (a driver's options on its driver), the first
    problem names its place in the whole file."""
    data = _value_at(document.data, at)
    try:
        return model.model_validate({} if data is None else data)
    except ValidationError as error:
        problems = error.errors()
        raise _input_file_error(document, model, _first_to_report(problems), len(problems) - 1, at=at) from None


def load_model(path: Path | str, model: type[M], *, context: dict[str, Any] | None = None) -> M:
    """Load a YAML file and validate it against ``model`` (errors name file:line)."""
    return validate(load_document(path), model, context=context)


def load_extending(path: Path | str, key: str = "extends") -> YamlDocument:
    """Read a YAML file that may be another file plus changes: ``extends: <file>`` (under ``key``, relative
    to the file's own directory) names the file it extends, and the document is that one (itself possibly
    extending another) merged with this file's other keys (``merge_documents``).

    A chain is followed to its end. An ``extends`` that is not a file name, names no file, or closes a cycle
    is one ``InputFileError`` at that ``extends`` line.
    """
    return _load_chain(Path(path), key, ())


def merge_documents(base: YamlDocument, changes: YamlDocument) -> YamlDocument:
    """``base`` with ``changes`` applied, every node keeping the file and line it came from.

    The rules (RFC 7386, JSON merge patch, plus one for named lists), so that a file extending another
    states only what differs:

    - a mapping is merged key by key, recursively; a key only in ``base`` is kept, one only in ``changes``
      is added (in the order ``changes`` gives its keys, then ``base``'s others: the order a harmonics
      mapping is written in is the order it is summed in);
    - ``key: null`` removes the key, whatever ``base`` has there: the merged document lacks it, so the
      schema's default applies (``waveform: null``: no distortion);
    - a scalar or a list replaces ``base``'s whole value;
    - a list of mappings each with a unique ``name`` (protection stages) may be changed by a mapping keyed
      by name instead: ``protection: {O/F: {delay_s: 0.3}}`` changes one field of that stage in place,
      ``{O/F: null}`` removes the stage, and a name the list lacks appends a new stage
      (``{Vector shift: {quantity: vector_shift, ...}}``). To reorder the stages, give the whole list.

    An error in the merged document names the file (and line) its value came from; a location the merge
    made (a stage's index) names its list item, at the line that set it. The result's ``path`` is
    ``changes``' own.
    """
    origins = _Origins()
    data = _merge(_At(base, (), base.data), _At(changes, (), changes.data), (), origins)
    sources = tuple(dict.fromkeys((*changes.sources, *base.sources)))
    return YamlDocument(changes.path, data, origins.key_lines, origins.value_lines, origins.files, sources)


# --- reading and indexing -------------------------------------------------


def _read_text(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputFileError(path, None, None, "file not found") from None
    except IsADirectoryError:
        raise InputFileError(path, None, None, "is a directory, not a YAML file") from None
    except OSError as error:
        raise InputFileError(path, None, None, f"cannot read: {error.strerror or error}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = raw[: error.start].count(b"\n") + 1
        raise InputFileError(path, line, None, "not UTF-8 text") from None


def _index_lines(
    path: Path,
    loader: yaml.SafeLoader,
    node: yaml.Node,
    loc: Loc,
    key_lines: dict[Loc, int],
    value_lines: dict[Loc, int],
    active: set[int],
) -> None:
    """Record the line of every key, item and value below ``node``; refuse duplicate keys.

    Runs before construction, which rewrites merge (``<<``) mappings in
    place; keys pulled in by a merge fall back to the merging mapping's line.
    A duplicate key is refused because YAML would silently keep only the
    last one, which in a bench envelope would hide a limit.
    """
    key_lines.setdefault(loc, node.start_mark.line + 1)
    value_lines[loc] = node.start_mark.line + 1
    if id(node) in active:  # a recursive alias: already being indexed
        return
    active.add(id(node))
    if isinstance(node, yaml.MappingNode):
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG or not isinstance(key_node, yaml.ScalarNode):
                continue  # merges are indexed at their anchor; complex keys fail at construction
            key = loader.construct_object(key_node)
            child = (*loc, key)
            line = key_node.start_mark.line + 1
            if child in key_lines:
                raise InputFileError(
                    path, line, _dotted(child), f"duplicate key (first at line {key_lines[child]})"
                )
            key_lines[child] = line
            _index_lines(path, loader, value_node, child, key_lines, value_lines, active)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _index_lines(path, loader, item, (*loc, index), key_lines, value_lines, active)
    active.discard(id(node))


def _nearest(found: Mapping[Loc, T], loc: Loc) -> T | None:
    for end in range(len(loc), -1, -1):
        value = found.get(loc[:end])
        if value is not None:
            return value
    return None


# --- extending: a file as another file plus changes --------------------------


def _load_chain(path: Path, key: str, extending: tuple[Path, ...]) -> YamlDocument:
    """``path``'s document, merged onto what it extends; ``extending``: the files that led here (a cycle)."""
    document = load_document(path)
    if key not in document.data:
        return document
    base_path = _extended_path(document, key)
    chain = (*extending, path.resolve())
    if base_path.resolve() in chain:
        names = " -> ".join(p.name for p in (*chain, base_path))
        raise InputFileError(path, document.line_of((key,)), key, f"the files extend each other in a cycle: {names}")
    base = _load_chain(base_path, key, chain)
    changes = dataclasses.replace(document, data={k: v for k, v in document.data.items() if k != key})
    return merge_documents(base, changes)


def _extended_path(document: YamlDocument, key: str) -> Path:
    """The file ``document`` extends: a file name, relative to the document's directory, of a file that exists."""
    name = document.data[key]
    line = document.line_of((key,))
    if not isinstance(name, str) or not name.strip():
        raise InputFileError(document.path, line, key, f"expected the name of the file it extends, got {_show(name)}")
    path = document.path.parent / name
    if not path.is_file():
        raise InputFileError(document.path, line, key, f"no such file: {path}")
    return path


@dataclass(frozen=True)
class _At:
    """A node of a source document: the document, where in it, and its value."""

    source: YamlDocument
    loc: Loc
    value: Any

    def child(self, key: str | int) -> "_At":
        return _At(self.source, (*self.loc, key), self.value[key])


@dataclass
class _Origins:
    """Where every node of a merged document was written, filled in as the merge builds it."""

    key_lines: dict[Loc, int] = field(default_factory=dict)
    value_lines: dict[Loc, int] = field(default_factory=dict)
    files: dict[Loc, Path] = field(default_factory=dict)

    def record(self, node: _At, loc: Loc) -> None:
        """``node`` is at ``loc`` in the merged document (a node the source has no line for, such as one a
        YAML merge key brought in, falls back to its parent's)."""
        key_line = node.source._key_lines.get(node.loc)
        if key_line is None:
            return
        self.key_lines[loc] = key_line
        self.value_lines[loc] = node.source._value_lines.get(node.loc, key_line)
        self.files[loc] = node.source.file_of(node.loc)

    def copy(self, node: _At, loc: Loc) -> Any:
        """``node``'s value, unchanged, at ``loc``."""
        self.record(node, loc)
        value = node.value
        if isinstance(value, (dict, list)):
            for key in (value if isinstance(value, dict) else range(len(value))):
                self.copy(node.child(key), (*loc, key))
        return value


def _merge(base: _At | None, changes: _At, loc: Loc, origins: _Origins) -> Any:
    """``changes`` applied to ``base`` (None: nothing there) at ``loc`` of the merged document."""
    if not isinstance(changes.value, dict):
        return origins.copy(changes, loc)
    if base is not None and _is_named_list(base.value):
        return _merge_named(base, changes, loc, origins)
    origins.record(changes, loc)  # a mapping merged from both is where the changing file wrote it
    below = base.value if base is not None and isinstance(base.value, dict) else {}
    merged: dict[Any, Any] = {}
    for key in [*changes.value, *(k for k in below if k not in changes.value)]:
        inherited = base.child(key) if base is not None and key in below else None
        if key not in changes.value:
            assert inherited is not None  # a key only the base has
            merged[key] = origins.copy(inherited, (*loc, key))
        elif changes.value[key] is not None:
            merged[key] = _merge(inherited, changes.child(key), (*loc, key), origins)
    return merged


def _merge_named(base: _At, changes: _At, loc: Loc, origins: _Origins) -> list[Any]:
    """A list of named mappings changed by a mapping keyed by name: changed in place, removed (null) or
    appended (a new name), in the list's order."""
    origins.record(changes, loc)
    names = [item["name"] for item in base.value]
    merged: list[Any] = []
    for index, name in enumerate(names):
        if name not in changes.value:
            merged.append(origins.copy(base.child(index), (*loc, len(merged))))
        elif changes.value[name] is not None:
            merged.append(_merge(base.child(index), changes.child(name), (*loc, len(merged)), origins))
    for name, item in changes.value.items():
        if name not in names and item is not None:
            named = _At(changes.source, (*changes.loc, name), {"name": name})  # the name is its key
            merged.append(_merge(named, changes.child(name), (*loc, len(merged)), origins))
    return merged


def _is_named_list(value: Any) -> bool:
    """A non-empty list whose items are mappings each with its own ``name`` (so a change can address one by name)."""
    if not isinstance(value, list) or not value or not all(isinstance(item, dict) and "name" in item for item in value):
        return False
    names = [item["name"] for item in value]
    return all(isinstance(name, str) for name in names) and len(set(names)) == len(names)


# --- turning a pydantic error into a file:line message ---------------------


def _first_to_report(problems: list[ErrorDetails]) -> ErrorDetails:
    """The first problem, except that a misspelt key beats the field it fails to provide.

    A typo such as ``adress:`` yields both "address missing" and "adress
    unknown"; the unknown key (with the allowed names) is what tells the
    author how to fix it.
    """
    first = problems[0]
    if first["type"] == "missing":
        for problem in problems:
            if problem["type"] == "extra_forbidden" and problem["loc"][:-1] == first["loc"][:-1]:
                return problem
    return first


def _input_file_error(
    document: YamlDocument, model: type[BaseModel], problem: ErrorDetails, more: int, *, at: Loc = ()
) -> InputFileError:
    """``at``: where in the document the part ``model`` validated lies (the whole document: ``()``)."""
    kind = problem["type"]
    ctx = problem.get("ctx") or {}
    relative = tuple(problem["loc"])
    cause = ctx.get("error")
    absent = kind == "missing"
    if isinstance(cause, LocatedValueError):
        relative = relative + cause.loc
    loc = at + relative
    if isinstance(cause, LocatedValueError):
        # a validator may name a key the file lacks (a section it requires): report that key, at its parent's line
        absent = _in_data(document.data, loc, keep_last=False) != _in_data(document.data, loc, keep_last=True)
    where = _in_data(document.data, loc, keep_last=absent)
    node = _value_at(document.data, where)
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tag = str(ctx.get("discriminator", "")).strip("'")
        if isinstance(node, dict) and tag in node:
            where = (*where, tag)
        elif kind == "union_tag_not_found":
            where, kind = (*where, tag), "missing"

    shown = where[:-1] if absent else where  # the node whose line the report gives
    if absent or kind == "extra_forbidden" or isinstance(node, (dict, list)):
        line = document.line_of(shown)
    else:
        line = document._value_line_of(shown)
    message = _message(kind, problem, model, relative)
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return InputFileError(document.file_of(shown), line, _dotted(where) or None, message)


def _in_data(data: Any, loc: Loc, *, keep_last: bool) -> Loc:
    """The part of a pydantic loc that exists in the file.

    Pydantic adds elements the file does not have (a discriminated union's
    tag, a union member's type name, ``[key]``); they are skipped. The last
    element is kept for a missing field, which by definition is not there.
    """
    found: list[str | int] = []
    node = data
    for position, element in enumerate(loc):
        if isinstance(node, dict) and element in node:
            node = node[element]
            found.append(element)
        elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            node = node[element]
            found.append(element)
        elif keep_last and position == len(loc) - 1:
            found.append(element)
    return tuple(found)


def _value_at(data: Any, where: Loc) -> Any:
    node = data
    for element in where:
        if isinstance(node, dict) and element in node:
            node = node[element]
        elif isinstance(node, list) and isinstance(element, int) and 0 <= element < len(node):
            node = node[element]
        else:
            return None
    return node


_EXPECTED = {
    "float_type": "a number",
    "float_parsing": "a number",
    "finite_number": "a finite number",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "string_type": "text",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
    "tuple_type": "a list",
    "date_type": "a date (YYYY-MM-DD)",
    "date_parsing": "a date (YYYY-MM-DD)",
    "date_from_datetime_parsing": "a date (YYYY-MM-DD)",
}


def _message(kind: str, problem: ErrorDetails, model: type[BaseModel], loc: Loc) -> str:
    ctx = problem.get("ctx") or {}
    given = problem.get("input")
    if kind == "missing":
        return "missing required field"
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, loc[:-1])
        return f"unknown key (allowed: {', '.join(allowed)})" if allowed else "unknown key"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, got {_show(given)}"
    if kind in ("literal_error", "enum"):
        return f"expected {ctx['expected']}, got {_show(given)}"
    if kind == "union_tag_invalid":
        tag_name = str(ctx["discriminator"]).strip("'")
        return f"unknown {tag_name} {ctx['tag']!r} (expected {ctx['expected_tags']})"
    if kind in ("value_error", "assertion_error") and "error" in ctx:
        return str(ctx["error"])
    text = problem["msg"]
    if text.startswith("Input should be "):
        return f"must be {text.removeprefix('Input should be ')}, got {_show(given)}"
    return text[:1].lower() + text[1:]


def _allowed_keys(model: type[BaseModel], loc: Loc) -> list[str] | None:
    """The keys the model accepts at ``loc``, when that resolves to one model."""
    models = _models_at(model, loc)
    if len(models) != 1:
        return None
    (found,) = models
    return [info.alias or name for name, info in found.model_fields.items()]


def _models_at(tp: Any, loc: Loc) -> set[type[BaseModel]]:
    """Follow a pydantic loc through type annotations to the model(s) it lands in."""
    origin = typing.get_origin(tp)
    if origin is typing.Annotated:
        return _models_at(typing.get_args(tp)[0], loc)
    if origin in (typing.Union, types.UnionType):
        members = [m for m in typing.get_args(tp) if m is not type(None)]
        tagged = [m for m in members if loc and _is_tag_of(m, loc[0])]
        if tagged:
            return set().union(*(_models_at(m, loc[1:]) for m in tagged))
        return set().union(*(_models_at(m, loc) for m in members))
    is_model = isinstance(tp, type) and issubclass(tp, BaseModel)
    if not loc:
        return {tp} if is_model else set()
    head, rest = loc[0], loc[1:]
    if is_model:
        for name, info in tp.model_fields.items():
            if head in (name, info.alias):
                return _models_at(info.annotation, rest)
        return set()
    args = typing.get_args(tp)
    if isinstance(origin, type) and issubclass(origin, Mapping) and len(args) == 2:
        return _models_at(args[1], rest)
    if isinstance(origin, type) and issubclass(origin, Sequence) and args and _is_index(head):
        return _models_at(args[0], rest)
    return set()


def _is_tag_of(member: Any, element: str | int) -> bool:
    """Whether ``element`` is the tag pydantic puts in a loc for this union member."""
    if not (isinstance(element, str) and isinstance(member, type) and issubclass(member, BaseModel)):
        return False
    if element == member.__name__:
        return True
    return any(
        typing.get_origin(info.annotation) is typing.Literal and element in typing.get_args(info.annotation)
        for info in member.model_fields.values()
    )


def _is_index(element: object) -> bool:
    return isinstance(element, int) and not isinstance(element, bool)


def _dotted(loc: Loc) -> str:
    """``('cases', 3, 'params', 'hold_s')`` -> ``cases[3].params.hold_s``."""
    text = ""
    for element in loc:
        if _is_index(element):
            text += f"[{element}]"
        else:
            text += f".{element}" if text else str(element)
    return text


def _show(value: Any) -> str:
    """A value as the YAML author wrote it, for 'expected ..., got ...'."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return repr(value)
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return str(value)
