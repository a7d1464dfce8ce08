"""Schemas of ``/instructions``, apart so that the instructions package (message
catalogues, vendor labels) is only imported when instructions are asked for."""

from __future__ import annotations

from marshmallow import Schema, fields

from ..instructions import FORMATS, normalize_lang
from ..vendors import vendor_ids
from .fields import Choice, Parsed
from .schemas import Strict


class InstructionsQuerySchema(Strict):
    """``?vendor=&lang=&format=``; an empty value means the default."""

    vendor = Choice(vendor_ids(), allow_none=True, blank_is_none=True)
    lang = Parsed(normalize_lang, 16, allow_none=True, blank_is_none=True)
    format = Choice(FORMATS, allow_none=True, blank_is_none=True)


class InstructionsSchema(Schema):
    """`dualnat instructions --format json` (see dualnat.instructions)."""

    schema = fields.Integer()
    lang = fields.String()
    vendor = fields.Dict(keys=fields.String())
    bypass_ip = fields.String()
    main_router_ip = fields.String()
    title = fields.String()
    intro = fields.String()
    sections = fields.List(fields.Dict(keys=fields.String()))
    warnings = fields.List(fields.Dict(keys=fields.String()))


class InstructionsTextSchema(Schema):
    """Instructions as text or markdown, wrapped in an object (ubus replies are objects)."""

    format = fields.String()
    lang = fields.String()
    vendor = fields.String()
    text = fields.String()


QUERY = InstructionsQuerySchema()
INSTRUCTIONS = InstructionsSchema()
TEXT = InstructionsTextSchema()
