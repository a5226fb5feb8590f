#!/usr/bin/env python3
"""Checks docs/openapi.yaml: valid OpenAPI 3.1, exactly the contract's routes, sane responses,
examples that match their schemas. Optionally validates JSON documents against a named schema:

    python3 docs/check-openapi.py                      # check the spec
    python3 docs/check-openapi.py Job job.json ...     # also validate files against components/schemas/Job

Needs: pip install openapi-spec-validator (brings jsonschema, referencing, PyYAML).
"""
import json
import pathlib
import sys

import yaml
from jsonschema import Draft202012Validator, FormatChecker
from openapi_spec_validator import validate
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

SPEC = pathlib.Path(__file__).with_name("openapi.yaml")

# Every route of the contract (docs/api.md, "HTTP API v1"), method and path, with its security.
ROUTES = {
    ("GET", "/healthz"): None,
    ("GET", "/api/v1/version"): None,
    ("GET", "/metrics"): None,
    ("POST", "/api/v1/agents/register"): "agentSecret",
    ("POST", "/api/v1/agents/{uuid}/ping"): "agentSecret",
    ("GET", "/api/v1/agents/{uuid}/config"): "agentSecret",
    ("GET", "/api/v1/agents/{uuid}/next"): "agentSecret",
    ("POST", "/api/v1/jobs/{id}/state"): "agentSecret",
    ("POST", "/api/v1/jobs/{id}/log"): "agentSecret",
    ("GET", "/api/v1/agents"): "adminToken",
    ("PATCH", "/api/v1/agents"): "adminToken",
    ("GET", "/api/v1/agents/{uuid}"): "adminToken",
    ("PATCH", "/api/v1/agents/{uuid}"): "adminToken",
    ("DELETE", "/api/v1/agents/{uuid}"): "adminToken",
    ("POST", "/api/v1/agents/push"): "adminToken",
    ("POST", "/api/v1/jobs"): "adminToken",
    ("GET", "/api/v1/jobs"): "adminToken",
    ("GET", "/api/v1/jobs/{id}"): "adminToken",
    ("POST", "/api/v1/jobs/{id}/cancel"): "adminToken",
    ("POST", "/api/v1/jobs/{id}/rerun"): "adminToken",
    ("GET", "/api/v1/jobs/{id}/log"): "adminToken",
    ("GET", "/api/v1/config"): "adminToken",
    ("PUT", "/api/v1/config/{name}"): "adminToken",
    ("DELETE", "/api/v1/config/{name}"): "adminToken",
    ("GET", "/api/v1/events"): "adminToken",
    ("GET", "/api/v1/stats"): "adminToken",  # version 2, "Console, version 2"
    # Version 2: operators and the audit log.
    ("GET", "/api/v1/whoami"): "adminToken",
    ("GET", "/api/v1/operators"): "adminToken",
    ("POST", "/api/v1/operators"): "adminToken",
    ("DELETE", "/api/v1/operators/{name}"): "adminToken",
    ("GET", "/api/v1/audit"): "adminToken",
    # Version 2: agent self-upgrade (either scheme).
    ("GET", "/api/v1/agent-binary"): ["agentSecret", "adminToken"],
}

# The success status of each route that does not answer a plain 200.
SUCCESS = {
    ("POST", "/api/v1/agents/register"): {"200", "202"},
    ("GET", "/api/v1/agents/{uuid}/next"): {"200", "204"},
    ("DELETE", "/api/v1/agents/{uuid}"): {"204"},
    ("POST", "/api/v1/agents/push"): {"201"},
    ("POST", "/api/v1/jobs"): {"201"},
    ("POST", "/api/v1/jobs/{id}/cancel"): {"202"},
    ("POST", "/api/v1/jobs/{id}/rerun"): {"201"},
    ("DELETE", "/api/v1/config/{name}"): {"204"},
    ("POST", "/api/v1/operators"): {"201"},
    ("DELETE", "/api/v1/operators/{name}"): {"204"},
}

METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def load():
    with SPEC.open() as f:
        return yaml.safe_load(f)


def validator_for(doc, name):
    """A JSON Schema 2020-12 validator for components/schemas/NAME, resolving refs inside the spec."""
    registry = Registry().with_resource("urn:mms:openapi", Resource(contents=doc, specification=DRAFT202012))
    schema = {"$ref": f"urn:mms:openapi#/components/schemas/{name}"}
    return Draft202012Validator(schema, registry=registry, format_checker=FormatChecker())


def check_routes(doc, problems):
    found = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            if method in METHODS:
                found[(method.upper(), path)] = op
    for route in sorted(set(ROUTES) - set(found)):
        problems.append(f"missing from the spec: {route[0]} {route[1]}")
    for route in sorted(set(found) - set(ROUTES)):
        problems.append(f"in the spec but not in the contract: {route[0]} {route[1]}")
    for route, op in found.items():
        if route not in ROUTES:
            continue
        want = ROUTES[route]
        security = op.get("security")
        if want is None:
            if security != []:
                problems.append(f"{route[0]} {route[1]}: open route must have security: []")
        elif security != ([{w: []} for w in want] if isinstance(want, list) else [{want: []}]):
            problems.append(f"{route[0]} {route[1]}: security must be {want}")
        statuses = set(op.get("responses", {}))
        success = {s for s in statuses if s.startswith("2")}
        if success != SUCCESS.get(route, {"200"}):
            problems.append(f"{route[0]} {route[1]}: success statuses {sorted(success)}")
        if want is not None and "401" not in statuses:
            problems.append(f"{route[0]} {route[1]}: no 401")
        if "requestBody" in op and not {"400", "413"} <= statuses:
            problems.append(f"{route[0]} {route[1]}: a body needs 400 and 413")
        if "{" in route[1] and route[0] != "PUT" and "404" not in statuses:
            problems.append(f"{route[0]} {route[1]}: a path parameter needs 404")


def check_examples(doc, problems):
    for name, schema in doc["components"]["schemas"].items():
        examples = schema.get("examples", [])
        v = validator_for(doc, name)
        for i, ex in enumerate(examples):
            for err in v.iter_errors(ex):
                problems.append(f"schemas.{name}.examples[{i}]: {err.message}")


PUSH_SPEC = pathlib.Path(__file__).with_name("openapi-push-agent.yaml")
PUSH_ROUTES = {("GET", "/is_alive"), ("GET", "/status"), ("POST", "/jobs"), ("GET", "/jobs/{id}"),
               ("GET", "/jobs/{id}/log"), ("POST", "/jobs/{id}/cancel")}


def check_push_agent_spec(problems):
    """docs/openapi-push-agent.yaml: the API of `mms-agent serve`, valid and with exactly its routes."""
    with PUSH_SPEC.open() as f:
        doc = yaml.safe_load(f)
    try:
        validate(doc)
    except Exception as e:  # noqa: BLE001
        problems.append(f"{PUSH_SPEC.name}: not valid OpenAPI 3.1: {e}")
    found = {(m.upper(), p) for p, item in doc["paths"].items() for m in item if m in METHODS}
    for route in sorted(found ^ PUSH_ROUTES):
        problems.append(f"{PUSH_SPEC.name}: route {route[0]} {route[1]} is not the push agent's")
    check_examples(doc, problems)


def main(argv):
    doc = load()
    problems = []
    try:
        validate(doc)
    except Exception as e:  # noqa: BLE001 - report whatever the validator found
        problems.append(f"not valid OpenAPI 3.1: {e}")
    check_routes(doc, problems)
    check_examples(doc, problems)
    if len(argv) > 1:
        v = validator_for(doc, argv[1])
        for path in argv[2:]:
            with open(path) as f:
                instance = json.load(f)
            for err in v.iter_errors(instance):
                loc = "/".join(str(p) for p in err.absolute_path)
                problems.append(f"{path} ({argv[1]}) at /{loc}: {err.message}")
    check_push_agent_spec(problems)
    for p in problems:
        print(p)
    if problems:
        print(f"{len(problems)} problem(s)")
        return 1
    print(f"{SPEC.name}: OK ({len(ROUTES)} routes); {PUSH_SPEC.name}: OK ({len(PUSH_ROUTES)} routes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
