"""Logging filters: what a log line must never carry.

A request line's query string holds search terms (``/studies/?q=<patient name>``) and
identifiers (``?patient_id=…``, ``?accession_number=…``): patient data, which the logs never
hold. The path alone says which page was asked for.
"""

from __future__ import annotations

import logging
import re

OMITTED = "?[query omitted]"
_QUERY = re.compile(r"\?(?!\[query omitted\])\S*")
"""A query string not yet omitted: a record filtered twice (a logger configured twice) keeps
one mark."""


def without_query(request_line: str) -> str:
    """``GET /studies/?q=Roe HTTP/1.1`` → ``GET /studies/?[query omitted] HTTP/1.1``."""
    return _QUERY.sub(OMITTED, request_line, count=1)


class QueryStringOmitted(logging.Filter):
    """Drops the query string from the request line that Django's development server logs as
    its record's first argument (``django.server``)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args and isinstance(record.args[0], str):
            record.args = (without_query(record.args[0]), *record.args[1:])
        return True
