"""`PlainText`: the one string type of every request field, query, path and header parameter.

Text that PostgreSQL cannot store (NUL) or that no person types (the other C0 control characters
but tab, line feed and carriage return; lone surrogates) is refused at the edge with 422 naming
the field. The rule itself is the domain's (`domain.values.unstorable`), so the CLI and every
other client of `HelpDesk` meet the same one; this type only applies it before a request gets
that far, and says so in the OpenAPI as a `pattern`, so clients and schema-driven tests know.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, GetJsonSchemaHandler, StringConstraints
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema

from domain.actors import CHANNEL_PATTERN, IDENTIFIER_PATTERN
from domain.values import EMAIL_PATTERN as DOMAIN_EMAIL_PATTERN
from domain.values import FIELD_TEXT_MAX, SLUG_PATTERN, unstorable

#: The OpenAPI (ECMA-262) form of the rule: no C0 control but tab, LF, CR. Lone surrogates cannot
#: be written in a JSON Schema pattern that every tool reads alike; the server refuses them too.
PLAIN_TEXT_PATTERN = r"^[^\x00-\x08\x0B\x0C\x0E-\x1F]*$"
_PLAIN = r"[^\x00-\x08\x0B\x0C\x0E-\x1F]"
#: Plain text with something in it besides white space (what the domain strips: NEL too).
NON_BLANK_PATTERN = rf"^{_PLAIN}*[^\s\x00-\x1F\x85]{_PLAIN}*$"
#: The shape the domain checks an e-mail address for, with what it strips around one allowed.
EMAIL_PATTERN = rf"^[ \t\r\n]*{DOMAIN_EMAIL_PATTERN.strip('^$')}[ \t\r\n]*$"


def _plain(value: str) -> str:
    """Refuse text the domain would not store, as a validation error naming the field."""
    reason = unstorable(value)
    if reason is not None:
        raise ValueError(reason)
    return value


class DocumentedPattern:
    """Sets a string's JSON Schema `pattern`: the rule the server applies, for clients to read.

    Only documents: the check itself is `_plain` and, for the narrower patterns, the domain's
    (`identifier`, `slug`, `channel`, `title`, ...), which answer with their own messages.
    """

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern

    def __get_pydantic_json_schema__(self, core_schema: CoreSchema, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema: dict[str, Any] = handler(core_schema)
        if schema.get("type") == "string" and "enum" not in schema:
            schema["pattern"] = self.pattern
        return schema


#: A string a person could have typed: no NUL, no other C0 control but tab, LF, CR, no lone surrogate.
PlainText = Annotated[str, AfterValidator(_plain), DocumentedPattern(PLAIN_TEXT_PATTERN)]
#: Plain text that is not blank (titles, comment bodies, names).
NonBlankText = Annotated[PlainText, DocumentedPattern(NON_BLANK_PATTERN)]
#: An id of an agent, group, requester or organisation (`domain.actors.identifier`).
Identifier = Annotated[PlainText, DocumentedPattern(IDENTIFIER_PATTERN)]
#: A tag, type, custom field name, enum option or view name (`domain.values.slug`).
Slug = Annotated[PlainText, DocumentedPattern(SLUG_PATTERN)]
#: A channel such as web or email (`domain.actors.channel`), or nothing: then the default applies.
ChannelOrEmpty = Annotated[PlainText, DocumentedPattern(f"^(?:{CHANNEL_PATTERN.strip('^$')})?$")]
#: An e-mail address (`domain.values.email`).
Email = Annotated[PlainText, DocumentedPattern(EMAIL_PATTERN)]

# Parameters no domain command checks (list filters) are checked here, against the same patterns.
#: An identifier, checked at the edge.
IdentifierParam = Annotated[str, StringConstraints(pattern=IDENTIFIER_PATTERN)]
#: A channel, checked at the edge.
ChannelParam = Annotated[str, StringConstraints(pattern=CHANNEL_PATTERN)]
#: A custom-field filter of a list, `name:value`: a field name (a slug), a colon, plain text (read as the field's kind).
FIELD_FILTER_PATTERN = rf"^{SLUG_PATTERN.strip('^$')}:{_PLAIN}*$"
FieldFilterParam = Annotated[
    str, StringConstraints(pattern=FIELD_FILTER_PATTERN, max_length=65 + FIELD_TEXT_MAX), AfterValidator(_plain)
]
#: An opaque page cursor: base64url. One that was not handed out is refused with 422 all the same.
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,512}$"
Cursor = Annotated[str, StringConstraints(pattern=CURSOR_PATTERN)]
