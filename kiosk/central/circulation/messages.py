"""The library's own message on the kiosks' Welcome screen (issue 17, item 7), one per
language ("Closed on Monday 25th"), as staff set it in the console. Each change enters
the change log (``Entity.MESSAGE``, keyed by the language), which takes it to every
kiosk's mirror; a message cleared is a tombstone. On a kiosk, the messages set here
stand in for kiosk.toml's ``[library.message]`` whenever staff have set any.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kiosk.central import audit
from kiosk.central.circulation.changes import ChangeLog
from kiosk.central.models import LibraryMessage
from kiosk.common.catalogs import LANGUAGE_NAMES
from kiosk.sync.protocol import MESSAGE_LENGTH, Entity, MessageRow


def messages(db: Session) -> dict[str, str]:
    """The message in each language staff have set one in."""
    rows = db.execute(select(LibraryMessage.language, LibraryMessage.text)).all()
    return {row.language: row.text for row in rows}


def problems(texts: Mapping[str, str]) -> dict[str, str]:
    """What is wrong with each language's text, by language: an unknown language, too
    long, or characters a screen cannot show (control characters). Empty: none."""
    found: dict[str, str] = {}
    for language, text in texts.items():
        name = LANGUAGE_NAMES.get(language)
        if name is None:
            found[language] = f"{language!r} is not one of the kiosks' languages"
        elif len(text.strip()) > MESSAGE_LENGTH:
            found[language] = f"The message in {name} must be {MESSAGE_LENGTH} characters or fewer"
        elif any(unicodedata.category(char) in ("Cc", "Cs") for char in text.strip()):
            found[language] = f"The message in {name} must be one line of plain text"
    return found


def set_messages(
    db: Session, texts: Mapping[str, str], now: datetime, *, actor: str, origin: str
) -> bool:
    """Put the messages ``texts`` (by language; an empty text clears that language's) in
    force, each change in the change log and audited, all in one commit. Refused with
    ValueError when ``problems`` finds any; False when nothing changed."""
    found = problems(texts)
    if found:
        raise ValueError("; ".join(found.values()))
    log = ChangeLog(db)
    log.lock()
    changed = False
    try:
        for language, text in sorted(texts.items()):
            text = text.strip()  # noqa: PLW2901 - the text as it is kept
            row = db.get(LibraryMessage, language)
            if (row.text if row else "") == text:
                continue
            changed = True
            if not text:
                assert row is not None
                db.delete(row)
                log.remove(Entity.MESSAGE, language)
            elif row is None:
                db.add(LibraryMessage(language=language, text=text, set_at=now, set_by=actor))
            else:
                row.text, row.set_at, row.set_by = text, now, actor
            if text:
                log.put(Entity.MESSAGE, language, MessageRow(language=language, text=text))
            audit.record(
                db,
                now,
                actor=actor,
                action="message.set" if text else "message.clear",
                target=f"kiosks' message ({language})",
                origin=origin,
                detail=text[:400],
            )
        db.commit()
    except BaseException:
        db.rollback()
        raise
    return changed
