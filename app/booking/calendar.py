"""The .ics attachment of booking emails: the camp as a calendar event in Asia/Shanghai."""
from __future__ import annotations

import functools
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from flask import current_app
from icalendar import Calendar, Event, Timezone

from app.booking.tickets import ticket_url
from app.catalog.models import CampSession
from app.common.time import utcnow


def registration_ics(registration_id: int, camp: CampSession) -> bytes:
    zone = ZoneInfo(current_app.config["BABEL_DEFAULT_TIMEZONE"])
    calendar = Calendar()
    calendar.add("prodid", "-//Xicheng Group//Camp booking//ZH")
    calendar.add("version", "2.0")
    calendar.add("method", "PUBLISH")
    event = Event()
    # Stable per registration: a re-sent invitation updates the same calendar entry.
    domain = urlsplit(current_app.config["SITE_URL"]).hostname or "localhost"
    event.add("uid", f"registration-{registration_id}@{domain}")
    event.add("summary", camp.course.title + (f" {camp.label}" if camp.label else ""))
    event.add("dtstart", camp.starts_at.astimezone(zone))
    event.add("dtend", camp.ends_at.astimezone(zone))
    event.add("dtstamp", utcnow())
    event.add("location", " ".join(part for part in (camp.city, camp.venue, camp.address) if part))
    event.add("description", f"{camp.course.title} · {camp.course.duration_label}")
    event.add("url", ticket_url(registration_id))  # the ticket page, on SITE_URL
    calendar.add_component(event)
    calendar.add_component(_vtimezone(zone.key))  # so every calendar app shows Shanghai time
    return calendar.to_ical()


@functools.cache
def _vtimezone(zone_name: str) -> Timezone:
    """The VTIMEZONE block, built once per process: icalendar derives it by walking the zone's
    transitions since 1970, which takes about 50 ms each time."""
    return Timezone.from_tzid(zone_name)
