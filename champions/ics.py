"""iCalendar (RFC 5545) files for study sessions, written by hand: no dependency.

- Lines end with CRLF and are folded at 75 octets (continuation lines start with a space).
- TEXT values escape backslash, semicolon, comma and new lines.
- DTSTART / DTEND / DTSTAMP are UTC ("...Z"), so every calendar shows the right local time.
- UID is stable per session (`session-<id>@<domain>`), so downloading again updates the
  event instead of duplicating it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.utils.translation import gettext as _

from champions.models import StudySession

CRLF = "\r\n"
PRODID = "-//LearnHub//Study groups//EN"
MAX_LINE_OCTETS = 75


def ics_escape(text: str) -> str:
    """Escape a TEXT value (RFC 5545 3.3.11)."""
    return (
        text.replace("\\", "\\\\")
        .replace(";", "\\;")
        .replace(",", "\\,")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def ics_fold(line: str) -> str:
    """Fold a content line at 75 octets (RFC 5545 3.1), never inside a UTF-8 character."""
    out: list[str] = []
    current, size, limit = "", 0, MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            out.append(current)
            current, size, limit = " ", 1, MAX_LINE_OCTETS
        current += char
        size += width
    out.append(current)
    return CRLF.join(out)


def ics_datetime(value: dt.datetime) -> str:
    """An aware datetime as a UTC DATE-TIME: 20260301T170000Z."""
    return value.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")


def session_uid(session: StudySession, *, domain: str) -> str:
    return f"session-{session.pk}@{domain}"


def _event_lines(session: StudySession, *, domain: str, stamp: dt.datetime) -> list[str]:
    group = session.group
    summary = f"{group.name}: {session.topic}" if session.topic else group.name
    location = session.location or group.location
    description_parts = [group.description] if group.description else []
    if group.video_url:
        description_parts.append(_("Video link: %(url)s") % {"url": group.video_url})
    lines = [
        "BEGIN:VEVENT",
        f"UID:{session_uid(session, domain=domain)}",
        f"DTSTAMP:{ics_datetime(stamp)}",
        f"DTSTART:{ics_datetime(session.starts_at)}",
        f"DTEND:{ics_datetime(session.ends_at)}",
        f"SUMMARY:{ics_escape(summary)}",
    ]
    if location:
        lines.append(f"LOCATION:{ics_escape(location)}")
    if description_parts:
        lines.append(f"DESCRIPTION:{ics_escape(chr(10).join(description_parts))}")
    if group.video_url:
        lines.append(f"URL:{group.video_url}")
    lines.append("END:VEVENT")
    return lines


def sessions_calendar(*, sessions: Iterable[StudySession], domain: str, stamp: dt.datetime, name: str) -> str:
    """A VCALENDAR with one VEVENT per session. `stamp` (aware) is the DTSTAMP of every
    event: the moment the file was made."""
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        f"PRODID:{PRODID}",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        f"X-WR-CALNAME:{ics_escape(name)}",
    ]
    for session in sessions:
        lines.extend(_event_lines(session, domain=domain, stamp=stamp))
    lines.append("END:VCALENDAR")
    return "".join(ics_fold(line) + CRLF for line in lines)
