"""STS AssumeRole for the emulator (awsquery): temporary credentials for any well-formed role ARN, so
`rulec drift --accounts` can be tested with roles to assume. The assumed roles are recorded on the emulator."""

from __future__ import annotations

import re

from werkzeug.wrappers import Response

_ROLE = re.compile(r"^arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]+$")


def assume(emulator, form: dict[str, list[str]]) -> Response:
    role = form.get("RoleArn", [""])[0]
    session = form.get("RoleSessionName", [""])[0]
    if not _ROLE.match(role) or not 2 <= len(session) <= 64:
        body = (
            '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
            "<Code>ValidationError</Code><Message>RoleArn or RoleSessionName is not valid</Message></Error>"
            "</ErrorResponse>"
        )
        return Response(body, status=400, content_type="text/xml")
    emulator.__dict__.setdefault("assumed_roles", []).append(role)
    account = role.split(":")[4]
    body = (
        '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
        "<Credentials><AccessKeyId>ASIARULECTEST</AccessKeyId><SecretAccessKey>secret</SecretAccessKey>"
        "<SessionToken>token</SessionToken><Expiration>2099-01-01T00:00:00Z</Expiration></Credentials>"
        f"<AssumedRoleUser><AssumedRoleId>AROARULECTEST:{session}</AssumedRoleId>"
        f"<Arn>arn:aws:sts::{account}:assumed-role/{role.rpartition('/')[2]}/{session}</Arn></AssumedRoleUser>"
        "</AssumeRoleResult><ResponseMetadata><RequestId>00000000-0000-0000-0000-000000000001</RequestId>"
        "</ResponseMetadata></AssumeRoleResponse>"
    )
    return Response(body, content_type="text/xml")
