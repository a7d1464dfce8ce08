"""The shapes of everything the API takes and gives.

Input schemas reject unknown fields, bound every string and list and use the core's own
parsers, so a value the API accepts is one /etc/config/dualnat accepts. Output schemas
pick the documented keys from the core's objects and dictionaries.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, fields

from ..model import (
    NAME_RE,
    DhcpMode,
    DropsInvalid,
    KeepSource,
    MasqueradeMode,
    PortRange,
    Proto,
    TargetGateway,
)
from ..options import (
    MAX_ALLOW_SOURCES,
    MAX_DESCRIPTION,
    parse_ipv4,
    parse_public_address,
    parse_source,
)
from ..vendors import vendor_ids
from .fields import BoundedList, Choice, Parsed, Port, StrictBool, Text

NAME_ERROR = "value.name"  # the template (catalogue table [problems])
MAX_FORWARDS = 1000  # in one PUT /forwards; the planner is measured at this size
PORT_CHARS = len("65535-65535")
IPV4_CHARS = len("255.255.255.255")


class Strict(Schema):
    class Meta:
        unknown = RAISE


def ipv4(**kwargs: Any) -> Parsed:
    return Parsed(parse_ipv4, IPV4_CHARS, **kwargs)


def name_field(**kwargs: Any) -> Text:
    return Text(32, pattern=NAME_RE.pattern, pattern_error=NAME_ERROR, **kwargs)


class SettingsSchema(Strict):
    """``config dualnat 'main'``. Absent fields take their default (the option is removed);
    null or "" clears the optional ones."""

    enabled = StrictBool()
    lan_interface = Text(32, pattern=r"[A-Za-z0-9_]{1,32}", pattern_error="value.not_interface")
    bypass_ip = ipv4(allow_none=True, blank_is_none=True)
    main_router_ip = ipv4(allow_none=True, blank_is_none=True)
    main_router_vendor = Choice(vendor_ids())
    public_address = Parsed(parse_public_address, 253, allow_none=True, blank_is_none=True)
    masquerade = Choice(m.value for m in MasqueradeMode)
    disable_redirects = StrictBool()
    firewall_drops_invalid = Choice(d.value for d in DropsInvalid)
    dhcp = Choice(d.value for d in DhcpMode)
    dhcp_dns = StrictBool()
    bypass_dhcp = StrictBool()


class ForwardSchema(Strict):
    """``config forward '<name>'`` with its options; `name` is the section name."""

    name = name_field()
    enabled = StrictBool()
    proto = Choice(p.value for p in Proto)
    external_port = Port(PortRange.parse, PORT_CHARS, required=True)
    internal_ip = ipv4(required=True)
    internal_port = Port(PortRange.parse, PORT_CHARS, allow_none=True, blank_is_none=True)
    target_gateway = Choice(t.value for t in TargetGateway)
    keep_source_ip = Choice(k.value for k in KeepSource)
    hairpin = StrictBool()
    allow_source = BoundedList(Parsed(parse_source, len("255.255.255.255/32")), MAX_ALLOW_SOURCES)
    bypass_port = Port(PortRange.parse, PORT_CHARS, allow_none=True, blank_is_none=True)
    description = Text(MAX_DESCRIPTION, allow_none=True, blank_is_none=True)


class NewForwardSchema(ForwardSchema):
    """A forward to create: the name is required."""

    name = name_field(required=True)


class ForwardListSchema(Schema):
    forwards = fields.List(fields.Nested(ForwardSchema))


class DeletedSchema(Schema):
    deleted = fields.String()


class WriteQuerySchema(Strict):
    """The query string of the writes: ``?check=1`` validates as a write would, writes
    nothing; ``lang`` is the language of the answer (see lang.py)."""

    check = Choice(("0", "1"), load_default="0")
    lang = Text(16, allow_none=True, blank_is_none=True)


class ApplyRequestSchema(Strict):
    dry_run = StrictBool(load_default=False)


class ApplyResultSchema(Schema):
    dry_run = fields.Boolean()
    changed = fields.Boolean()
    changes = fields.Integer()
    diff = fields.String()
    messages = fields.List(fields.String())


class MainRouterForwardSchema(Schema):
    name = fields.String()
    proto = fields.String()
    external_port = fields.String()
    internal_ip = fields.String()
    internal_port = fields.String()


class MainRouterSchema(Schema):
    bypass_ip = fields.String()
    vendor = fields.String()
    port_forwards = fields.List(fields.Nested(MainRouterForwardSchema))
    dhcp = fields.Dict(keys=fields.String())
    notes = fields.List(fields.String())


class MessagePartSchema(Schema):
    """One template of a sentence (dualnat.i18n.parts): a finding's message or fix
    (dualnat.doctor.messages.TEMPLATES), a plan item's reason or a plan warning
    (dualnat.reasons.TEMPLATES)."""

    id = fields.String()
    params = fields.Dict(keys=fields.String(), values=fields.String())


class PlanSchema(Schema):
    """`dualnat plan --json`: every item has `reason` and `reason_parts` (see dualnat.plan)."""

    enabled = fields.Boolean()
    network = fields.Dict(keys=fields.String())
    items = fields.List(fields.Dict(keys=fields.String()))
    main_router = fields.Nested(MainRouterSchema)
    warnings = fields.List(fields.String())
    warning_parts = fields.List(fields.List(fields.Nested(MessagePartSchema)))


class FindingSchema(Schema):
    code = fields.String()
    severity = fields.String()
    forward = fields.String(allow_none=True)
    title = fields.String()
    message = fields.String()
    fix = fields.String()
    message_parts = fields.List(fields.Nested(MessagePartSchema))
    fix_parts = fields.List(fields.Nested(MessagePartSchema))
    evidence = fields.List(fields.String())


class DoctorSchema(Schema):
    """`dualnat doctor --json` (see dualnat.doctor)."""

    version = fields.Integer()
    severity = fields.String()
    findings = fields.List(fields.Nested(FindingSchema))
    forwards = fields.Dict(keys=fields.String())
    sysctls = fields.Dict(keys=fields.String())
    ruleset = fields.String()
    rulesets_loaded = fields.List(fields.String())
    conntrack = fields.Dict(keys=fields.String())


class ForwardCountSchema(Schema):
    total = fields.Integer()
    enabled = fields.Integer()


class PublicAddressSchema(Schema):
    mode = fields.String()  # none | fixed | auto
    address = fields.String(allow_none=True)
    found_at = fields.Float(allow_none=True)
    tried_at = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)


class StatusSchema(Schema):
    """`firewall`: applied (/etc/config/firewall has the planned sections and every planned
    rule is loaded), pending (the config differs from the plan: apply is needed), broken
    (the config has them, rules are not loaded) or unknown (invalid configuration, or the
    loaded rules cannot be read); `firewall_reason`: the doctor's findings about the loaded
    rules (forward.rules_missing, system.masquerade_missing, system.ruleset_unreadable),
    empty when they are loaded; `ruleset`: how they are loaded, as the doctor's `ruleset`
    (see api/views/status.py)."""

    version = fields.String()
    config_dir = fields.String()
    live = fields.Boolean()
    valid = fields.Boolean()
    problems = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    enabled = fields.Boolean(allow_none=True)
    forwards = fields.Nested(ForwardCountSchema, allow_none=True)
    firewall = fields.String()  # applied | pending | broken | unknown
    firewall_reason = fields.List(fields.Nested(FindingSchema))
    ruleset = fields.String()  # fw4 | nft | iptables | none | unknown
    public_address = fields.Nested(PublicAddressSchema)
