"""Places on the earth for field service (上门服务): where a ticket is to be served and where agents are.

Distances are great-circle (haversine) distances on a sphere of the earth's mean radius: a fair
stand-in for travel distance when choosing the nearest engineer, and a pure function, so routing
decisions that use it are the same wherever they are made.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain import values
from domain.errors import InvalidValueError

#: The earth's mean radius in kilometres (IUGG).
EARTH_RADIUS_KM = 6371.0088
#: An address's longest text.
ADDRESS_MAX = 500
#: The travel speed assumed where a group sets none, in km/h (a city's traffic, door to door).
DEFAULT_SPEED_KMH = 30.0
#: The fastest travel speed a group may set, in km/h, and the widest radius it may dispatch in, in km.
SPEED_MAX_KMH = 1_000.0
RADIUS_MAX_KM = 20_100.0  # half the earth's circumference: every place is within it


@dataclass(frozen=True, slots=True)
class Place:
    """A point (decimal degrees, WGS 84) and, optionally, its address as people write it."""

    latitude: float
    longitude: float
    address: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as events store them."""
        return {"latitude": self.latitude, "longitude": self.longitude, "address": self.address}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Place:
        """Rebuild from `as_dict` values."""
        return cls(float(data["latitude"]), float(data["longitude"]), data.get("address"))


def place(latitude: float, longitude: float, address: str | None = None) -> Place:
    """A checked place: latitude -90..90, longitude -180..180, an address of bounded length."""
    lat, lon = _degrees(latitude, "latitude", 90.0), _degrees(longitude, "longitude", 180.0)
    text = None if address is None else values.text(address, "address")
    if text is not None and len(text) > ADDRESS_MAX:
        msg = f"address must be at most {ADDRESS_MAX} characters (got {len(text)})"
        raise InvalidValueError(msg)
    return Place(lat, lon, text)


def _degrees(value: float, what: str, bound: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        msg = f"{what} must be a number of degrees"
        raise InvalidValueError(msg)
    if not -bound <= value <= bound:
        msg = f"{what} must be from {-bound:g} to {bound:g} degrees (got {value})"
        raise InvalidValueError(msg)
    return float(value)


def distance_km(a: Place, b: Place) -> float:
    """The great-circle distance between two places, in kilometres (haversine formula)."""
    lat1, lat2 = math.radians(a.latitude), math.radians(b.latitude)
    dlat, dlon = lat2 - lat1, math.radians(b.longitude - a.longitude)
    h = math.sin(dlat / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def arrival(departing: datetime, kilometres: float, speed_kmh: float) -> datetime:
    """When someone leaving at `departing` arrives, covering `kilometres` at `speed_kmh` (to the second)."""
    return departing + timedelta(seconds=round(kilometres / speed_kmh * 3600))


def positive(value: float, what: str, most: float) -> float:
    """A setting that is a positive number of at most `most` (a radius, a speed)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= most:
        msg = f"{what} must be a number above 0 and at most {most:g}"
        raise InvalidValueError(msg)
    return float(value)
