"""STS GetCallerIdentity for the emulator (awsquery protocol: form-encoded request, XML response)."""

from __future__ import annotations

from urllib.parse import parse_qs

from werkzeug.wrappers import Request, Response

ARN = "arn:aws:iam::{account}:user/rulec-test"


def is_sts(request: Request) -> bool:
    return "/sts/aws4_request" in request.headers.get("Authorization", "")


def respond(emulator, request: Request) -> Response:
    from tests.emulator import ACCOUNT

    form = parse_qs(request.get_data(as_text=True))
    action = form.get("Action", [""])[0]
    emulator.calls.append(("sts", action))
    if action == "AssumeRole":  # tests/emulator/sts_roles.py
        from tests.emulator import sts_roles

        return sts_roles.assume(emulator, form)
    if action != "GetCallerIdentity":
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            f"<Code>InvalidAction</Code><Message>{action} is not emulated</Message></Error></ErrorResponse>"
        )
        return Response(body, status=400, content_type="text/xml")
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">'
        f"<GetCallerIdentityResult><Arn>{ARN.format(account=ACCOUNT)}</Arn><UserId>AIDARULECTEST</UserId>"
        f"<Account>{ACCOUNT}</Account></GetCallerIdentityResult>"
        "<ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000000</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return Response(body, content_type="text/xml")
