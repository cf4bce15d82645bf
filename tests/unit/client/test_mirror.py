"""``client/_async.py`` mirrors ``client/_sync.py`` by design: the same classes, the same methods with
the same signatures, ``async def`` where the sync one does I/O. Nothing generates one from the other,
so this compares their syntax trees: a method added to, removed from or changed in one file only fails
here instead of surfacing as a missing feature of the other client."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pixelmill.client

SOURCES = Path(pixelmill.client.__file__).parent

# Names that differ between the two files by design; everything else must be spelled the same.
ASYNC_TO_SYNC = {
    "AsyncClient": "Client",
    "AsyncIterator": "Iterator",
    "AsyncBaseTransport": "BaseTransport",
    "__aenter__": "__enter__",
    "__aexit__": "__exit__",
}
_ASYNC_NAME = re.compile(r"\b(" + "|".join(map(re.escape, ASYNC_TO_SYNC)) + r")\b")

# The only methods of the async client that are plain ``def``: they do no I/O.
PLAIN_IN_ASYNC = {("Client", "__init__"), ("Client", "build"), ("_Resource", "__init__")}

Function = ast.FunctionDef | ast.AsyncFunctionDef


def _sync_spelling(text: str) -> str:
    return _ASYNC_NAME.sub(lambda match: ASYNC_TO_SYNC[match.group(1)], text)


def _signature(function: Function) -> str:
    returns = ast.unparse(function.returns) if function.returns is not None else "None"
    return _sync_spelling(f"({ast.unparse(function.args)}) -> {returns}")


def _surface(source: str) -> dict[str, dict[str, tuple[bool, str]]]:
    """Class (or ``<module>``) -> function name -> (is async, signature), in sync spelling."""
    surface: dict[str, dict[str, tuple[bool, str]]] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.ClassDef):
            methods = surface.setdefault(_sync_spelling(node.name), {})
            methods["<bases>"] = (False, _sync_spelling(", ".join(ast.unparse(base) for base in node.bases)))
            for item in node.body:
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef):
                    methods[_sync_spelling(item.name)] = (isinstance(item, ast.AsyncFunctionDef), _signature(item))
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            surface.setdefault("<module>", {})[node.name] = (isinstance(node, ast.AsyncFunctionDef), _signature(node))
    return surface


def differences(sync_source: str, async_source: str) -> list[str]:
    """Every way the async file fails to mirror the sync one; empty when they match."""
    found: list[str] = []
    sync, mirror = _surface(sync_source), _surface(async_source)
    for owner in sorted(sync.keys() | mirror.keys()):
        if owner not in mirror or owner not in sync:
            found.append(f"{owner}: only in {'_sync.py' if owner in sync else '_async.py'}")
            continue
        for name in sorted(sync[owner].keys() | mirror[owner].keys()):
            if name not in mirror[owner] or name not in sync[owner]:
                found.append(f"{owner}.{name}: only in {'_sync.py' if name in sync[owner] else '_async.py'}")
                continue
            (sync_async, sync_signature), (mirror_async, mirror_signature) = sync[owner][name], mirror[owner][name]
            if sync_signature != mirror_signature:
                found.append(f"{owner}.{name}: {sync_signature} in _sync.py, {mirror_signature} in _async.py")
            if sync_async:
                found.append(f"{owner}.{name}: async def in _sync.py")
            plain = owner == "<module>" or name == "<bases>" or (owner, name) in PLAIN_IN_ASYNC
            if mirror_async == plain:
                found.append(f"{owner}.{name}: {'async def' if mirror_async else 'plain def'} in _async.py")
    return found


def _sources() -> tuple[str, str]:
    return (SOURCES / "_sync.py").read_text(), (SOURCES / "_async.py").read_text()


def test_the_async_client_mirrors_the_sync_client() -> None:
    sync_source, async_source = _sources()
    assert differences(sync_source, async_source) == []


def test_the_comparison_sees_every_resource_and_method() -> None:
    sync_source, _ = _sources()
    surface = _surface(sync_source)
    assert {"Client", "RunsResource", "GenerationsResource", "FilesResource", "ModelsResource"} <= surface.keys()
    assert {"create", "get", "wait", "events", "download_outputs"} <= surface["RunsResource"].keys()


def test_a_method_added_to_one_client_only_is_reported() -> None:
    sync_source, async_source = _sources()
    anchor = "class GenerationsResource(_Resource):\n"
    extra = "    def retry(self, generation_id: str) -> Generation:\n        raise NotImplementedError\n\n"
    assert anchor in sync_source
    assert differences(sync_source.replace(anchor, anchor + extra), async_source) == [
        "GenerationsResource.retry: only in _sync.py"
    ]


def test_a_changed_signature_and_a_missing_async_are_reported() -> None:
    sync_source, async_source = _sources()
    old = "    async def get(self, run_id: str) -> Run:\n"
    assert old in async_source
    changed = async_source.replace(old, "    def get(self, run_id: str, *, fresh: bool = False) -> Run:\n")
    assert differences(sync_source, changed) == [
        "RunsResource.get: (self, run_id: str) -> Run in _sync.py, (self, run_id: str, *, fresh: bool=False) -> Run"
        " in _async.py",
        "RunsResource.get: plain def in _async.py",
    ]
