"""OpenAPI 3.1 generated from the function catalogue (names, types, roles, COMMENTs)."""

from __future__ import annotations

from .catalogue import Function

_ERROR = {"$ref": "#/components/schemas/Error"}


def _schema(json_type: str) -> dict:
    return {} if json_type == "any" else {"type": json_type}


def _arg_schema(arg) -> dict:
    schema = _schema(arg.json_type)
    if arg.json_type != "any":
        schema = {"type": [arg.json_type, "null"]} if not arg.required else schema
    return {**schema, "description": f"Postgres type {arg.pgtype}"}


def _operation(fn: Function, method: str) -> dict:
    roles = ", ".join(fn.roles) or "nobody"
    op = {
        "operationId": f"{method}_{fn.name}",
        "summary": fn.comment.split(". ")[0][:120] if fn.comment else fn.name,
        "description": f"{fn.comment}\n\nRoles: {roles}.",
        "x-roles": fn.roles,
        "responses": {
            "200": {"description": "the function's result", "content": {"application/json": {"schema": {}}}},
            "default": {"description": "error", "content": {"application/json": {"schema": _ERROR}}},
        },
    }
    if "anon" not in fn.roles:
        op["security"] = [{"bearer": []}]
    if method == "post":
        op["requestBody"] = {
            "required": bool(fn.args),
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "additionalProperties": False,
                        "properties": {a.name: _arg_schema(a) for a in fn.args},
                        "required": [a.name for a in fn.args if a.required],
                    }
                }
            },
        }
    else:
        op["parameters"] = [
            {"name": a.name, "in": "query", "required": a.required, "schema": _arg_schema(a)} for a in fn.args
        ]
    return op


def document(functions: dict[str, Function]) -> dict:
    paths = {}
    for name, fn in sorted(functions.items()):
        item = {"post": _operation(fn, "post")}
        if fn.read_only:
            item["get"] = _operation(fn, "get")
        paths[f"/rpc/{name}"] = item
    paths["/health"] = {
        "get": {
            "summary": "database reachable",
            "responses": {"200": {"description": "ok"}, "503": {"description": "database unreachable"}},
        }
    }
    paths["/metrics"] = {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "kioskledger RPC",
            "version": "0.1.0",
            "description": "Every path calls the PostgreSQL function api.<name> with the body as named arguments.",
        },
        "paths": paths,
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["code", "message"],
                    "properties": {
                        "code": {"type": "string"},
                        "message": {"type": "string"},
                        "details": {},
                        "hint": {"type": ["string", "null"]},
                    },
                }
            },
        },
    }
