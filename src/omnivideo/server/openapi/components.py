"""The document's ``components/schemas``: every type it shows, turned into JSON Schema together.

Pydantic models (the contract's requests) and TypedDicts (:mod:`.wire`) are generated in one
pass, so a type used by several routes or faces is one component that each of them references.
"""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter
from pydantic.json_schema import JsonSchemaMode

REF = "#/components/schemas/{model}"


def ref(name: str) -> dict[str, str]:
    return {"$ref": REF.format(model=name)}


def ref_name(schema: dict[str, Any]) -> str:
    return str(schema["$ref"]).rsplit("/", 1)[-1]


class Components:
    """Collect types with :meth:`add`, then :meth:`build` once and read :meth:`schema`."""

    def __init__(self) -> None:
        self._inputs: list[tuple[int, JsonSchemaMode, TypeAdapter[Any]]] = []
        self._index: dict[tuple[Any, JsonSchemaMode], int] = {}
        self._schemas: dict[int, dict[str, Any]] = {}
        #: name -> JSON Schema, for ``components/schemas``
        self.definitions: dict[str, Any] = {}

    def add(self, kind: Any, mode: JsonSchemaMode) -> None:
        """``mode``: "validation" for what clients send, "serialization" for what they read."""
        key = (kind, mode)
        if key not in self._index:
            self._index[key] = len(self._inputs)
            self._inputs.append((len(self._inputs), mode, TypeAdapter(kind)))

    def build(self) -> None:
        mapping, definitions = TypeAdapter.json_schemas(self._inputs, ref_template=REF)
        self._schemas = {key: schema for (key, _), schema in mapping.items()}
        self.definitions = definitions.get("$defs", {})

    def schema(self, kind: Any, mode: JsonSchemaMode) -> dict[str, Any]:
        """The schema to use for ``kind``: a reference, or inline for a union of them."""
        return self._schemas[self._index[(kind, mode)]]
