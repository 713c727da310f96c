"""The request log names the page, never the query string: a search term or an identifier in it
is patient data."""

from __future__ import annotations

import logging

import pytest
from django.core.servers.basehttp import WSGIRequestHandler


@pytest.mark.parametrize(
    "request_line",
    ["GET /studies/?q=MRN-77 HTTP/1.1", "GET /api/v1/studies/1/fhir/?patient_id=MRN-77 HTTP/1.1"],
)
def test_the_development_servers_request_line_is_logged_without_its_query(caplog, request_line):
    """Django's server logs the request line as its first argument (``log_message``)."""
    with caplog.at_level(logging.INFO, logger="django.server"):
        WSGIRequestHandler.log_message(_Handler(), '"%s" %s %s', request_line, "200", "512")
    assert "MRN-77" not in caplog.text
    path = request_line.split()[1].split("?")[0]
    assert f'"GET {path}?[query omitted] HTTP/1.1" 200 512' in caplog.text


class _Handler:
    """What ``WSGIRequestHandler.log_message`` reads of its handler."""

    request = None
    log_date_time_string = staticmethod(lambda: "03/Dec/2026 10:00:00")
