"""What a route declares: method, path, who may call it, its query, body and answer (declared in
`chalicelib.schema`), its success status and the refusals it documents. The same declaration
validates the request, shapes the answer and writes the route into the OpenAPI document."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from chalicelib.schema import Obj, Schema, Str

PUBLIC, TOKEN, OPTIONAL_TOKEN, ADMIN = "public", "token", "optional-token", "admin"
ID_PARAM = Str(64, check=str.isprintable)


@dataclass(frozen=True)
class RouteSpec:
    """One route of the contract."""

    method: str
    path: str
    auth: str
    summary: str
    status: int = 200
    body: Obj | None = None
    query: dict[str, Schema] = field(default_factory=dict)
    answer: Schema | None = None
    refusals: tuple[int, ...] = ()
    content_types: tuple[str, ...] = ()
    path_schemas: dict[str, Schema] = field(default_factory=dict)
    tag: str = ""

    @property
    def params(self) -> dict[str, Schema]:
        """Declarations of the path parameters (ids unless the route says otherwise)."""
        return {name: self.path_schemas.get(name, ID_PARAM) for name in re.findall(r"{(\w+)}", self.path)}


ROUTES: list[RouteSpec] = []
