"""The pages' query strings, as an attacker or a mangled link would send them: no server error.

Hypothesis draws the parameters the pages read (``q``, ``ids``, ``status``) and others, with any
text (superscript digits, digits past every integer column, NUL, surrogates escaped), and GETs
every page with them; each answer is below 500.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest
from django.urls import reverse
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from clinic import services
from tests.boneage.fuzz_files import FUZZ_SCALE

NAMES = st.sampled_from(["q", "ids", "status", "page", "next", "then", "format", "x"])
VALUES = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["²", "٣", "99999999999999999999999", "-1", "1,²,3", "0", "1e3", "\x00"]),
    st.lists(st.integers(min_value=-(2**70), max_value=2**70), max_size=4).map(
        lambda ids: ",".join(map(str, ids))
    ),
)


@pytest.mark.parametrize(
    "query",
    ["ids=²", "q=²", "ids=99999999999999999999999", "q=99999999999999999999999", "q=%00"],
)
def test_odd_query_strings_of_the_study_list_are_answered(client, user, query):
    """Each once answered 500 (``str.isdigit`` accepts "²", ``int()`` does not)."""
    client.force_login(user)
    assert client.get(f"{reverse('study-list')}?{query}").status_code == 200


def test_a_superscript_digit_does_not_find_a_study_by_its_number(client, user, upload):
    client.force_login(user)
    study = services.study_create(user=user, file=upload(), sex="F")
    listed = client.get(reverse("study-list"), {"q": str(study.pk)}).content.decode()
    assert f"#{study.pk}" in listed
    assert f"#{study.pk}" not in client.get(f"{reverse('study-list')}?q=²").content.decode()


def test_every_page_answers_any_query_string_without_a_server_error(client, user, upload):
    client.force_login(user)
    study = services.study_create(user=user, file=upload(), sex="F")
    pages = [
        reverse("study-list"),
        reverse("study-upload"),
        reverse("worklist"),
        reverse("study-report", args=[study.pk]),
        reverse("study-status", args=[study.pk]),
        reverse("reading", args=[study.pk]),
        reverse("study-file", args=[study.pk, "original"]),
        reverse("login"),
    ]
    answers: dict[int, int] = {}

    @examples(
        max_examples=100 * FUZZ_SCALE,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
    )
    @given(
        page=st.sampled_from(pages),
        query=st.lists(st.tuples(NAMES, VALUES), max_size=4),
    )
    def get(page: str, query: list[tuple[str, str]]) -> None:
        encoded = urlencode([(n, v.encode("utf-8", "surrogatepass")) for n, v in query])
        answer: Any = client.get(f"{page}?{encoded}")
        answers[answer.status_code] = answers.get(answer.status_code, 0) + 1
        assert answer.status_code < 500, (page, query)

    get()
    assert 200 in answers
