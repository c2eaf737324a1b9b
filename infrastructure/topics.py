"""Where aggregate classes used to live: the topics stored events name, mapped to the classes now.

A stored event names its class by topic (`module:Class.Event`) and is never rewritten, so when a
class moves its old topic is registered here, once per process, before any event is read. The
aggregate's topic is enough: its nested event and snapshot classes resolve through it.
`tests/e2e/test_old_store.py` fails if one is missing.
"""

from __future__ import annotations

from eventsourcing.utils import register_topic

from domain.keys.api_key import ApiKey
from domain.privacy.data_subject import DataSubject
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.tickets.fields import FieldCatalogue
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket

#: Old topic -> the class it names now (each moved when the domain was laid out by capability).
MOVED: dict[str, type] = {
    "domain.ticket:Ticket": Ticket,
    "domain.administration:ApiKey": ApiKey,
    "domain.administration:DataSubject": DataSubject,
    "domain.custom_fields:FieldCatalogue": FieldCatalogue,
    "domain.saved_view:SavedView": SavedView,
    "domain.sla_config:WorkCalendar": WorkCalendar,
    "domain.sla_config:SlaPolicy": SlaPolicy,
}


def register_moved_topics() -> None:
    """Let the old topics resolve (safe to call again: the same class is registered each time)."""
    for topic, cls in MOVED.items():
        register_topic(topic, cls)
