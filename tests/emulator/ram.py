"""AWS RAM in the emulator (restJson1: POST /createresourceshare, ...): CreateResourceShare, GetResourceShares,
AssociateResourceShare and GetResourceShareAssociations, each request validated against botocore's `ram` model.
A principal is a 12-digit account or an Organizations ARN (organization or OU); a resource must be an ARN the
share may hold. Shares are per region; every call is recorded in `emulator.calls`."""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from werkzeug.wrappers import Request, Response

from tests.emulator import ACCOUNT, ApiError, Emulator, validate

_SCOPE = re.compile(r"Credential=[^/]+/\d{8}/([a-z0-9-]+)/ram/")
_PRINCIPAL = re.compile(
    r"^(\d{12}|arn:aws[a-z-]*:organizations::\d{12}:(organization|ou)/o-[a-z0-9]+(/ou-[a-z0-9-]+)?)$"
)
_SHAREABLE = re.compile(r"^arn:aws[a-z-]*:(network-firewall|route53resolver):")
OPERATIONS = {
    "/createresourceshare": "CreateResourceShare",
    "/getresourceshares": "GetResourceShares",
    "/associateresourceshare": "AssociateResourceShare",
    "/getresourceshareassociations": "GetResourceShareAssociations",
}
NOW = 1795845600.0


def is_ram(request: Request) -> bool:
    return bool(_SCOPE.search(request.headers.get("Authorization", "")))


def _shares(emu: Emulator, region: str) -> dict[str, dict[str, Any]]:
    return emu.__dict__.setdefault("ram_shares", {}).setdefault(region, {})


def respond(emu: Emulator, request: Request) -> Response:
    import botocore.session

    region = _SCOPE.search(request.headers["Authorization"]).group(1)
    operation = OPERATIONS.get(request.path, request.path)
    params = json.loads(request.get_data() or b"{}")
    model = botocore.session.get_session().get_service_model("ram")
    try:
        with emu._lock:
            emu.calls.append((region, operation))
            if request.path not in OPERATIONS:
                raise ApiError("UnknownOperationException", f"{request.path} is not emulated", 404)
            emu._fault(region, operation, params)
            try:
                validate.check(params, model.operation_model(operation).input_shape)
            except validate.Invalid as exc:
                raise ApiError("InvalidParameterException", str(exc)) from None
            body, status = HANDLERS[operation](_shares(emu, region), region, params), 200
    except ApiError as exc:
        body, status = {"message": exc.message}, exc.status
        return Response(json.dumps(body), status=status, headers={"x-amzn-ErrorType": exc.code})
    return Response(json.dumps(body), status=status, content_type="application/json")


def _check(principals: list[str], resources: list[str]) -> None:
    for p in principals:
        if not _PRINCIPAL.match(p):
            raise ApiError("InvalidParameterException", f"Invalid principal: {p}")
    for r in resources:
        if not _SHAREABLE.match(r):
            raise ApiError("MalformedArnException", f"The resource {r} cannot be shared")


def _view(share: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in share.items() if k not in ("principals", "resources")}


def create(shares: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    _check(p.get("principals", []), p.get("resourceArns", []))
    if any(s["name"] == p["name"] for s in shares.values()):
        raise ApiError("IdempotentParameterMismatchException", f"A resource share named {p['name']} exists", 400)
    rid = hashlib.sha256(f"{region}/{p['name']}".encode()).hexdigest()[:32]
    arn = f"arn:aws:ram:{region}:{ACCOUNT}:resource-share/{rid}"
    share = {"resourceShareArn": arn, "name": p["name"], "owningAccountId": ACCOUNT, "status": "ACTIVE"}
    share |= {"allowExternalPrincipals": p.get("allowExternalPrincipals", True), "creationTime": NOW}
    share |= {"principals": list(p.get("principals", [])), "resources": list(p.get("resourceArns", []))}
    shares[arn] = share
    return {"resourceShare": _view(share)}


def get_shares(shares: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    rows = [
        _view(s)
        for s in shares.values()
        if p["resourceOwner"] == "SELF"
        and p.get("name") in (None, s["name"])
        and (not p.get("resourceShareArns") or s["resourceShareArn"] in p["resourceShareArns"])
    ]
    return {"resourceShares": rows}


def associate(shares: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    share = shares.get(p["resourceShareArn"])
    if share is None:
        raise ApiError("UnknownResourceException", f"Resource share {p['resourceShareArn']} not found", 400)
    _check(p.get("principals", []), p.get("resourceArns", []))
    out = []
    for kind, key, items in (
        ("PRINCIPAL", "principals", p.get("principals", [])),
        ("RESOURCE", "resources", p.get("resourceArns", [])),
    ):
        for item in items:
            if item not in share[key]:
                share[key].append(item)
            out.append(_association(share, kind, item))
    return {"resourceShareAssociations": out}


def _association(share: dict[str, Any], kind: str, entity: str) -> dict[str, Any]:
    external = kind == "PRINCIPAL" and entity.isdigit()
    return {
        "resourceShareArn": share["resourceShareArn"],
        "resourceShareName": share["name"],
        "associatedEntity": entity,
        "associationType": kind,
        "status": "ASSOCIATED",
        "external": external,
    }


def get_associations(shares: dict, region: str, p: dict[str, Any]) -> dict[str, Any]:
    key = {"PRINCIPAL": "principals", "RESOURCE": "resources"}.get(p["associationType"])
    rows = [
        _association(s, p["associationType"], e)
        for s in shares.values()
        if key and (not p.get("resourceShareArns") or s["resourceShareArn"] in p["resourceShareArns"])
        for e in s[key]
    ]
    return {"resourceShareAssociations": rows}


HANDLERS = {
    "CreateResourceShare": create,
    "GetResourceShares": get_shares,
    "AssociateResourceShare": associate,
    "GetResourceShareAssociations": get_associations,
}
