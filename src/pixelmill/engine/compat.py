"""Which output field may feed which input field, judged from their type annotations.

The rules are strict on purpose, so a graph that validates does not fail later on a type:

- the same type; a subclass (``ImageRef`` feeds ``MediaRef``); ``int`` feeds ``float``;
- a ``Literal`` feeds the type of its values (``Literal["png", "jpeg"]`` feeds ``str``), and a
  ``Literal`` input accepts only a ``Literal`` output whose values it allows;
- ``T`` feeds ``list[T]`` (the executor wraps the value in a one-item list); ``list[S]`` feeds
  ``list[T]`` when ``S`` feeds ``T``; dicts likewise by key and value types;
- an optional output (``T | None``) does not feed a required ``T`` input: every member of an
  output union must fit, and it must fit the same way (all direct, or all wrapped);
- ``Any`` on either side is accepted and checked at run time by the node's own pydantic model.

Everything else is a mismatch (``bool`` does not feed ``int``, ``float`` does not feed ``int``).
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from pixelmill.engine.node import BaseNode
from pixelmill.engine.values import AudioRef, ImageRef, MediaRef, OutputType, VideoRef

Conversion = Literal["direct", "wrap"]


def _strip(tp: Any) -> Any:
    """Drop ``Annotated`` metadata and give bare ``list``/``dict`` their ``Any`` arguments."""
    while get_origin(tp) is Annotated:
        tp = get_args(tp)[0]
    if tp is list:
        return list[Any]
    if tp is dict:
        return dict[Any, Any]
    return tp


def _is_union(tp: Any) -> bool:
    return get_origin(tp) in (Union, types.UnionType)


def _literal_value_fits(value: object, target: Any) -> bool:
    if get_origin(target) is Literal:
        return value in get_args(target)
    return edge_conversion(type(value), target) == "direct"


def edge_conversion(source: Any, target: Any) -> Conversion | None:
    """How a value of annotation ``source`` reaches an input of annotation ``target``, or None."""
    source, target = _strip(source), _strip(target)
    if source is Any or target is Any:
        return "direct"
    if _is_union(source):
        ways = {edge_conversion(member, target) for member in get_args(source)}
        return ways.pop() if len(ways) == 1 else None
    if _is_union(target):
        ways = {edge_conversion(source, member) for member in get_args(target)}
        return "direct" if "direct" in ways else ("wrap" if "wrap" in ways else None)
    if get_origin(source) is Literal:
        return "direct" if all(_literal_value_fits(v, target) for v in get_args(source)) else None
    if get_origin(target) is Literal:
        return None
    if source == target:
        return "direct"
    source_origin, target_origin = get_origin(source), get_origin(target)
    if target_origin is list:
        (target_item,) = get_args(target)
        if source_origin is list:
            (source_item,) = get_args(source)
            return "direct" if edge_conversion(source_item, target_item) == "direct" else None
        return "wrap" if edge_conversion(source, target_item) == "direct" else None
    if source_origin is dict and target_origin is dict:
        pairs = zip(get_args(source), get_args(target), strict=True)
        return "direct" if all(edge_conversion(s, t) == "direct" for s, t in pairs) else None
    if isinstance(source, type) and isinstance(target, type) and source_origin is None and target_origin is None:
        if source is int and target is float:
            return "direct"
        if issubclass(source, bool) != issubclass(target, bool):
            return None
        return "direct" if issubclass(source, target) else None
    return None


def type_label(tp: Any) -> str:
    """A short, stable name for an annotation, shown in schemas and edge errors (``list[image]``)."""
    tp = _strip(tp)
    if tp is Any:
        return "any"
    if tp is type(None):
        return "null"
    if _is_union(tp):
        return " | ".join(type_label(member) for member in get_args(tp))
    if get_origin(tp) is Literal:
        return "literal[" + ", ".join(repr(value) for value in get_args(tp)) + "]"
    origin = get_origin(tp)
    if origin is not None:
        args = ", ".join(type_label(arg) for arg in get_args(tp))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    for ref, label in ((ImageRef, "image"), (VideoRef, "video"), (AudioRef, "audio"), (MediaRef, "media")):
        if isinstance(tp, type) and issubclass(tp, ref):
            return label
    return getattr(tp, "__name__", str(tp))


def _without_none(tp: Any) -> Any:
    tp = _strip(tp)
    if _is_union(tp):
        members = [m for m in get_args(tp) if m is not type(None)]
        if len(members) == 1:
            return _strip(members[0])
    return tp


def output_type_for(annotation: Any) -> OutputType:
    """The run-output type of a field: ImageRef -> image, list[ImageRef] -> images, str -> text …"""
    tp = _without_none(annotation)
    if get_origin(tp) is list:
        (item,) = get_args(tp)
        item = _without_none(item)
        return "images" if isinstance(item, type) and issubclass(item, ImageRef) else "json"
    if isinstance(tp, type):
        for ref, kind in ((ImageRef, "image"), (VideoRef, "video"), (AudioRef, "audio")):
            if issubclass(tp, ref):
                return kind  # type: ignore[return-value]
        if tp is str:
            return "text"
    return "json"


def input_annotation(cls: type[BaseNode], field: str) -> Any:
    return cls.model_fields[field].annotation


def output_annotation(cls: type[BaseNode], field: str) -> Any:
    return cls.outputs_model.model_fields[field].annotation


def primary_output(cls: type[BaseNode]) -> str:
    """The output field shown as the node's result: ``primary_output`` or the first field."""
    model: type[BaseModel] = cls.outputs_model
    if cls.primary_output is not None:
        if cls.primary_output not in model.model_fields:
            raise TypeError(f"{cls.__name__}.primary_output names no field of {model.__name__}")
        return cls.primary_output
    if not model.model_fields:
        raise TypeError(f"{model.__name__} has no fields")
    return next(iter(model.model_fields))


def node_output_type(cls: type[BaseNode]) -> OutputType:
    return output_type_for(output_annotation(cls, primary_output(cls)))
