"""The shapes of everything the API takes and gives.

Input schemas reject unknown fields, bound every string and list and use the core's own
parsers, so a value the API accepts is one /etc/config/dualnat accepts; the settings and
forward schemas are made from the option table (options.py), a field per option by its
kind. Output schemas pick the documented keys from the core's objects and dictionaries.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields

from ..errors import says
from ..model import NAME_RE, PortRange
from ..options import (
    FORWARD_TYPE,
    INTERFACE_RE,
    MAX_DESCRIPTION,
    MAX_PATH,
    MAX_USER,
    OPTIONS,
    SETTINGS_TYPE,
    URL_CHARS,
    Option,
    parse_ipv4,
    parse_ipv6_suffix,
    parse_lease,
    parse_path,
    parse_public_address,
    parse_router_url,
    parse_source,
    parse_user,
)
from .fields import BoundedList, Choice, Parsed, Port, Seconds, StrictBool, Text

NAME_ERROR = "value.name"  # the template (catalogue table [problems])
MAX_FORWARDS = 1000  # in one PUT /forwards; the planner is measured at this size
PORT_CHARS = len("65535-65535")
IPV6_CHARS = len("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255")
IPV4_CHARS = len("255.255.255.255")


class Strict(Schema):
    class Meta:
        unknown = RAISE


def ipv4(**kwargs: Any) -> Parsed:
    return Parsed(parse_ipv4, IPV4_CHARS, **kwargs)


def name_field(**kwargs: Any) -> Text:
    return Text(32, pattern=NAME_RE.pattern, pattern_error=NAME_ERROR, **kwargs)


def _nullable(option: Option) -> dict[str, Any]:
    """An optional option without a value of its own: null or "" clears it."""
    if option.required:
        return {"required": True}
    unset = option.default is None or option.default == ""
    return {"allow_none": True, "blank_is_none": True} if unset else {}


# the field of each kind of option (options.Option.kind)
FIELD_OF_KIND: dict[str, Callable[[Option], fields.Field]] = {
    "bool": lambda o: StrictBool(),
    "choice": lambda o: Choice(o.choices),
    "vendor": lambda o: Choice(o.choices),
    "ipv4": lambda o: ipv4(**_nullable(o)),
    "ports": lambda o: Port(PortRange.parse, PORT_CHARS, **_nullable(o)),
    "address": lambda o: Parsed(parse_public_address, 253, **_nullable(o)),
    "interface": lambda o: Text(
        32, pattern=INTERFACE_RE.pattern, pattern_error="value.not_interface"
    ),
    "text": lambda o: Text(MAX_DESCRIPTION, **_nullable(o)),
    "network": lambda o: BoundedList(Parsed(parse_source, len("255.255.255.255/32")), o.max_items),
    "url": lambda o: Parsed(parse_router_url, URL_CHARS, **_nullable(o)),
    "user": lambda o: Parsed(parse_user, MAX_USER, **_nullable(o)),
    "path": lambda o: Parsed(parse_path, MAX_PATH, **_nullable(o)),
    "seconds": lambda o: Seconds(parse_lease, len("604800")),
    "suffix": lambda o: Parsed(parse_ipv6_suffix, IPV6_CHARS, **_nullable(o)),
}


def _fields(section_type: str) -> dict[str, fields.Field]:
    """A field for every option of the section type, as the option table describes it."""
    return {name: FIELD_OF_KIND[o.kind](o) for name, o in OPTIONS[section_type].items()}


# ``config dualnat 'main'``. Absent fields take their default (the option is removed);
# null or "" clears the optional ones.
SettingsSchema = Strict.from_dict(_fields(SETTINGS_TYPE), name="SettingsSchema")
# ``config forward '<name>'`` with its options; `name` is the section name.
ForwardSchema = Strict.from_dict(
    {"name": name_field(), **_fields(FORWARD_TYPE)}, name="ForwardSchema"
)
# A forward to create: the name is required.
NewForwardSchema = ForwardSchema.from_dict(
    {"name": name_field(required=True)}, name="NewForwardSchema"
)


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
    """`main_router`: what became of the main router's push (main_router_control):
    "started" (it runs in the background; see /main-router/status), "queued", "done", or
    "none" (nothing to push: manual, or a dry run)."""

    dry_run = fields.Boolean()
    changed = fields.Boolean()
    changes = fields.Integer()
    diff = fields.String()
    messages = fields.List(fields.String())
    main_router = fields.String()


class SecretRequestSchema(Strict):
    """The main router's password or API secret (never answered back); "" deletes it."""

    kind = Choice(("", "openwrt", "opnsense", "ikuai"), load_default="")
    secret = Text(256, required=True)


class MainRouterStatusSchema(Schema):
    """`/main-router/status` (see api/views/mainrouter.py): `control` (kind, router, url,
    user, lease, ca, insecure, secret_set), `runner` (running, queued, next_at), `last`
    (the last push or removal: mainrouter.control.Result, each forward's reason in the
    caller's language and a failed forward's manual `steps`), `pushed_to` (the main
    router dualnat last pushed to), and for a push `request` (started, queued, done)."""

    control = fields.Dict(keys=fields.String())
    runner = fields.Dict(keys=fields.String())
    last = fields.Dict(keys=fields.String(), allow_none=True)
    pushed_to = fields.Dict(keys=fields.String(), allow_none=True)
    request = fields.String()


class MainRouterForwardSchema(Schema):
    name = fields.String()
    proto = fields.String()
    external_port = fields.String()
    internal_ip = fields.String()
    internal_port = fields.String()


class PinholeSchema(Schema):
    """An IPv6 rule for the main router (dualnat.plan.MainRouterPinhole)."""

    name = fields.String()
    proto = fields.String()
    port = fields.String()
    device = fields.String()
    suffix = fields.String(allow_none=True)
    match = fields.String(allow_none=True)
    addresses = fields.List(fields.String())
    stable = fields.Boolean()
    found = fields.String()


class Ipv6AdviceSchema(Schema):
    """Each forward's IPv6 path and pinhole (dualnat.plan.Ipv6Advice)."""

    path = fields.String()
    prefixes = fields.List(fields.String())
    router = fields.String(allow_none=True)
    pinholes = fields.List(fields.Nested(PinholeSchema))
    missing = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))
    notes = fields.List(fields.String())


class MainRouterSchema(Schema):
    bypass_ip = fields.String()
    vendor = fields.String()
    port_forwards = fields.List(fields.Nested(MainRouterForwardSchema))
    dhcp = fields.Dict(keys=fields.String())
    notes = fields.List(fields.String())
    ipv6 = fields.Nested(Ipv6AdviceSchema)


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
    proxies = fields.List(fields.Dict(keys=fields.String()))


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
    no_public = fields.String(allow_none=True)  # auto: the main router that reports none
    found_at = fields.Float(allow_none=True)
    tried_at = fields.Float(allow_none=True)
    error = fields.String(allow_none=True)


class ProxyStatusSchema(Schema):
    """A transparent proxy found on the bypass router (see api/views/status.py)."""

    proxy = fields.String()
    name = fields.String()
    installed = fields.Boolean()
    enabled = fields.Boolean()
    running = fields.Boolean()
    tcp = fields.String(allow_none=True)  # redirect | tproxy | tun
    udp = fields.String(allow_none=True)
    fake_ip = fields.Boolean()
    live = fields.List(fields.String())
    evidence = fields.List(fields.String())
    state = fields.String()  # applied | pending | manual | off | none
    reason = fields.String()
    entries = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))
    missing = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))
    remove = fields.List(fields.Dict(keys=fields.String(), values=fields.String()))
    warnings = fields.List(fields.String())


class StatusSchema(Schema):
    """`firewall`: applied (/etc/config/firewall has the planned sections and every planned
    rule is loaded), pending (the config differs from the plan: apply is needed), broken
    (the config has them, rules are not loaded) or unknown (invalid configuration, or the
    loaded rules cannot be read); `firewall_reason`: the doctor's findings about the loaded
    rules (forward.rules_missing, system.masquerade_missing, system.ruleset_unreadable),
    empty when they are loaded, at most 20 of them (`firewall_reason_more`: how many the
    doctor has besides); `ruleset`: how they are loaded, as the doctor's `ruleset` (see
    api/views/status.py)."""

    version = fields.String()
    config_dir = fields.String()
    live = fields.Boolean()
    valid = fields.Boolean()
    problems = fields.Dict(keys=fields.String(), values=fields.List(fields.String()))
    enabled = fields.Boolean(allow_none=True)
    forwards = fields.Nested(ForwardCountSchema, allow_none=True)
    firewall = fields.String()  # applied | pending | broken | unknown
    firewall_reason = fields.List(fields.Nested(FindingSchema))
    firewall_reason_more = fields.Integer()
    ruleset = fields.String()  # fw4 | nft | iptables | none | unknown
    public_address = fields.Nested(PublicAddressSchema)
    proxies = fields.List(fields.Nested(ProxyStatusSchema))


class TestSecondsField(fields.Field):
    """How long a live test watches: a JSON integer, 0 for the default, else within the
    bounds (ubus passes it as INT32)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> int:
        from ..live.limits import DEFAULT_SECONDS, MAX_SECONDS, MIN_SECONDS

        ok = isinstance(value, int) and not isinstance(value, bool)
        if not ok or not (value == 0 or MIN_SECONDS <= value <= MAX_SECONDS):
            raise ValidationError(
                says(
                    "value.test_seconds",
                    default=DEFAULT_SECONDS,
                    min=MIN_SECONDS,
                    max=MAX_SECONDS,
                )
            )
        return value or DEFAULT_SECONDS


class TestStartSchema(Strict):
    """``POST /forwards/<id>/test``: how long to watch, and whether to run the self-test."""

    seconds = TestSecondsField(load_default=0)
    self_test = StrictBool(load_default=False)


class LiveEventSchema(Schema):
    at = fields.Float()
    attempt = fields.Integer()
    path = fields.String()
    code = fields.String()
    text = fields.String(allow_none=True)


class LiveTestSchema(Schema):
    """A live test of one forward (see dualnat.live.state), every sentence in the
    caller's language; `request` says what a start did (started, running)."""

    forward = fields.String()
    target = fields.String()
    state = fields.String()
    running = fields.Boolean()
    seconds = fields.Float()
    elapsed = fields.Float()
    left = fields.Float()
    events = fields.List(fields.Nested(LiveEventSchema))
    omitted = fields.Integer()
    self_test = fields.Dict(keys=fields.String(), allow_none=True)
    verdict = fields.Dict(keys=fields.String(), allow_none=True)
    error = fields.String(allow_none=True)
    request = fields.String()
