"""Field service in the API: places (tickets', agents'), a group's dispatch settings, a sent agent's arrival."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from api.plain_text import NonBlankText
from domain.directory.geo import ADDRESS_MAX, Place
from domain.tickets.ticket import Ticket
from domain.tickets.visits import on_site


class LocationIn(BaseModel):
    """A place: a point in decimal degrees (WGS 84) and, optionally, its address as people write it."""

    model_config = ConfigDict(extra="forbid")

    latitude: float = Field(ge=-90, le=90, allow_inf_nan=False, strict=True, examples=[31.2304])
    longitude: float = Field(ge=-180, le=180, allow_inf_nan=False, strict=True, examples=[121.4737])
    address: NonBlankText | None = Field(
        default=None, min_length=1, max_length=ADDRESS_MAX, examples=["上海市黄浦区人民大道 200 号"]
    )

    def to_domain(self) -> Place:
        """The place as the domain takes it."""
        return Place(self.latitude, self.longitude, self.address)

    @classmethod
    def shown(cls, stored: dict[str, Any] | None) -> LocationIn | None:
        """A stored place (`Place.as_dict`), or None."""
        return None if stored is None else cls.model_validate(stored)


class DispatchPublic(BaseModel):
    """Who nearest-agent routing sent, from how far, and when they should arrive."""

    agent: str
    distance_km: float = Field(description="Great-circle distance from the agent's place to the ticket's, in km.")
    speed_kmh: float = Field(description="The group's travel speed the estimate was made at.")
    arrival_due: datetime = Field(description="The estimated arrival: the moment of the decision plus the travel time.")


class VisitPublic(BaseModel):
    """One on-site visit: who, from check-in to check-out (none: still there)."""

    agent: str
    arrived_at: datetime
    left_at: datetime | None


class OnSitePublic(BaseModel):
    """On-site work on the ticket: its visits and what they add up to."""

    visits: list[VisitPublic]
    on_site_now: str | None = Field(description="The agent checked in and not out yet, if any.")
    time_to_arrive_seconds: int | None = Field(
        description="From the dispatch (or, without one, the opening) to the first check-in; none before it."
    )
    time_on_site_seconds: int = Field(description="Every finished visit, check-in to check-out, added up.")

    @classmethod
    def none(cls) -> OnSitePublic:
        """No visit yet."""
        return cls(visits=[], on_site_now=None, time_to_arrive_seconds=None, time_on_site_seconds=0)

    @classmethod
    def from_ticket(cls, ticket: Ticket) -> OnSitePublic:
        """The figures of a ticket's visits."""
        since = (ticket.dispatch or {}).get("sent_at") or ticket.created_on
        figures = on_site(ticket.visits, since=since)
        return cls(
            visits=[VisitPublic.model_validate(v) for v in ticket.visits],
            on_site_now=figures.on_site_now,
            time_to_arrive_seconds=figures.time_to_arrive_seconds,
            time_on_site_seconds=figures.time_on_site_seconds,
        )
