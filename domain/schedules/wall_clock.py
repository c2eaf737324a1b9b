"""What a schedule's local wall-clock time means as a moment, across changes of the zone's UTC offset.

The rule is business calendars' (domain/sla/calendar.py): a local time stands for the first moment
at which the zone's clocks read it or later. So an 08:00 Europe/Berlin occurrence is at 08:00 local
on both sides of a change; a time the clocks skip (02:30 on the night they are turned forward) is
the moment they jump (03:00 CEST); a time they show twice (02:30 on the night they are turned back)
is its first showing. The rule keeps the order of wall times, so occurrences stay in order.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.sla.microseconds import EPOCH, ONE_US
from domain.sla.zone_offsets import wall_moment


def moment_of(local: datetime, zone: ZoneInfo) -> datetime:
    """The moment (UTC) a naive local wall-clock time in `zone` stands for."""
    day = local.date()
    local_midnight = datetime.combine(day, time(), tzinfo=zone)
    midnight = (datetime.combine(day, time(), tzinfo=UTC) - EPOCH) // ONE_US
    return EPOCH + timedelta(
        microseconds=wall_moment(
            zone, local_midnight, midnight, local - local.replace(hour=0, minute=0, second=0, microsecond=0)
        )
    )


def local_of(moment: datetime, zone: ZoneInfo) -> datetime:
    """The naive local wall-clock time the zone's clocks show at `moment` (aware)."""
    return moment.astimezone(zone).replace(tzinfo=None, fold=0)
