"""No admin URL shows or changes another institution's records, at any permission level.

The walk enumerates ``admin.site._registry``, so a model registered later is walked too (and fails
the test until it has a record of hospital A below, or is one of the site's shared models). For
every record of hospital A it opens, as a staff user of hospital B, the list (plain and searched
for A's identifiers), the change page, the history, each history version and its revert, the
delete page, each action and each autocomplete; it GETs and POSTs. Nothing of A may appear in a
body, and A's rows and their history must be exactly as before.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import ForeignKey, Model, OneToOneField
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from clinic import access, services, signing
from clinic.api.models import ApiToken
from clinic.api.tokens import api_token_create
from clinic.models import Institution, Membership, Report, Review, Study
from clinic.pacs.models import Delivery, DicomNode

MARK = "zq-x"
"""In every name, identifier and reason of hospital A, and nowhere else (the hyphen keeps it out of
random tokens, such as the forms' CSRF token, which are letters and digits)."""


def institution_of(obj: Model) -> Institution | None:
    """The institution a record belongs to, found along its foreign keys (None: shared)."""
    if isinstance(obj, Institution):
        return obj
    if isinstance(obj, get_user_model()):
        membership = getattr(obj, "membership", None)
        return membership.institution if membership else None
    username = getattr(obj, "username", None)  # django-axes' records name a username
    if isinstance(username, str):
        user = get_user_model().objects.filter(username=username).first()
        return institution_of(user) if user is not None else None
    for field in obj._meta.concrete_fields:
        if isinstance(field, ForeignKey | OneToOneField):
            related = getattr(obj, field.name)
            if related is not None and (found := institution_of(related)) is not None:
                return found
    return None


def _hospital(make_user: Any, upload: Any, fake_engine: Any, name: str, mark: str) -> Any:
    """An institution with a clinician, a signed correction, an unsigned report and a token."""
    institution = Institution.objects.create(name=f"{name} {mark} Hospital")
    clinician = make_user(f"{mark}-clinician", institution, first_name=f"{mark}first")
    signed, unsigned = (
        services.study_create(
            user=clinician, file=upload(name=f"{mark}-{n}.png"), sex="F",
            chronological_age_months=120, patient_name=f"{mark} patient {n}",
            patient_id=f"{mark}-MRN-{n}", accession_number=f"{mark}-ACC-{n}",
        )
        for n in (1, 2)
    )  # fmt: skip
    for study in (signed, unsigned):
        services.run_assessment(study_id=study.pk)
    report = Report.objects.get(study=signed)
    signing.review_sign(
        report=report,
        reviewer=clinician,
        corrected_age_months=130,
        reason=f"{mark} reason: the patient {mark}-MRN-1 has a cast",
    )
    token, _ = api_token_create(user=clinician, name=f"{mark}-pacs")
    # Its PACS (after the assessments, so that no delivery is sent) and a failed delivery to it.
    pacs = DicomNode.objects.create(
        institution=institution, name=f"{mark} PACS", role=DicomNode.Role.DESTINATION,
        ae_title=f"{mark.upper()[:8]}PACS", host="127.0.0.1", port=1,
    )  # fmt: skip
    Delivery.objects.create(
        study=signed, destination=pacs, kind=Delivery.Kind.UNSIGNED,
        status=Delivery.Status.FAILED, attempts=4, last_error=f"{mark} association refused",
        sr_series_uid="1.2.3.1", sr_instance_uid="1.2.3.2", sc_series_uid="1.2.3.3",
        sc_instance_uid="1.2.3.4",
    )  # fmt: skip
    # A login, then two wrong passwords: the login throttle's records of the username.
    Client().post(reverse("login"), {"username": clinician.username, "password": "pw"})
    for _ in range(2):
        Client().post(reverse("login"), {"username": clinician.username, "password": "wrong"})
    return institution, token


@pytest.fixture
def hospitals(make_user: Any, upload: Any, fake_engine: Any) -> dict[str, Any]:
    a, a_token = _hospital(make_user, upload, fake_engine, "Alpha", MARK)
    b, _ = _hospital(make_user, upload, fake_engine, "Beta", "bbb")
    return {"a": a, "b": b, "a_token": a_token}


def _staff_of_b(make_user: Any, b: Institution, level: str) -> Any:
    if level == "superuser":
        return make_user("b-root", b, is_staff=True, is_superuser=True)
    staff = make_user(f"b-{level}", b, is_staff=True)
    perms = Permission.objects.all()
    staff.user_permissions.set(
        perms.filter(codename__startswith="view_") if level == "view" else perms
    )
    return staff


def _request_as(user: Any) -> Any:
    request = RequestFactory().get("/admin/")
    request.user = user
    return request


def _records_of(model_admin: Any, institution: Institution) -> list[Model]:
    """The records of ``institution`` in an admin (a proxy's admin, the review queue, shows a
    part of its model's: the part a member of the institution sees there)."""
    model = model_admin.model
    records = [o for o in model._default_manager.all() if institution_of(o) == institution]
    if model._meta.proxy:
        member = Membership.objects.filter(institution=institution).first().user
        shown = model_admin.get_queryset(_request_as(member))
        records = [r for r in records if shown.filter(pk=r.pk).exists()]
    return records


def _snapshot() -> dict[str, Any]:
    """Every row of every model the admin shows, and their history: what a POST could change."""
    rows: dict[str, Any] = {}
    for model in {m._meta.concrete_model for m in admin.site._registry}:
        rows[model._meta.label] = sorted(map(repr, model._default_manager.values()))
    for model in (Report, Review):
        rows[f"{model._meta.label} history"] = model.history.count()
    return rows


def _url(name: str, *args: Any) -> str | None:
    try:
        return reverse(f"admin:{name}", args=args)
    except NoReverseMatch:
        return None


def _requests(model: type[Model], model_admin: Any, obj: Model) -> list[tuple[str, str, dict]]:
    """(method, url, data) of every admin URL that touches ``obj``."""
    info = f"{model._meta.app_label}_{model._meta.model_name}"
    pk = obj.pk
    changelist = reverse(f"admin:{info}_changelist")
    found: list[tuple[str, str, dict]] = [("GET", changelist, {})]
    found += [("GET", changelist, {"q": term}) for term in (MARK, str(pk), f"{MARK}-MRN-1")]
    for name in ("change", "history", "delete"):
        found += [("GET", _url(f"{info}_{name}", pk), {}), ("POST", _url(f"{info}_{name}", pk), {})]
    found.append(("POST", _url(f"{info}_delete", pk), {"post": "yes"}))
    history = getattr(model, "history", None)
    if history is not None:
        for record in history.filter(id=pk):
            url = _url(f"{info}_simple_history", pk, record.history_id)
            found += [("GET", url, {}), ("POST", url, {}), ("POST", url, {"_change_history": "1"})]
    actions = [*(model_admin.actions or []), "delete_selected"]
    for action in actions:
        data = {"action": action, "_selected_action": [pk], "index": 0}
        found += [("POST", changelist, data), ("POST", changelist, {**data, "post": "yes"})]
    for field in model_admin.autocomplete_fields:
        query = {"app_label": model._meta.app_label, "model_name": model._meta.model_name,
                 "field_name": field, "term": MARK}  # fmt: skip
        found.append(("GET", reverse("admin:autocomplete"), query))
    return [(method, url, data) for method, url, data in found if url]


def _object_urls(model: type[Model], obj: Model) -> list[str]:
    info = f"{model._meta.app_label}_{model._meta.model_name}"
    return [u for n in ("change", "history", "delete") if (u := _url(f"{info}_{n}", obj.pk))]


PATIENT_DATA = {Study, Report, Review}


@pytest.mark.parametrize("level", ["view", "change", "superuser"])
def test_no_admin_url_shows_or_changes_another_institutions_records(
    client: Any, make_user: Any, hospitals: dict[str, Any], level: str
) -> None:
    client.force_login(_staff_of_b(make_user, hospitals["b"], level))
    before = _snapshot()
    walked = set()
    for model, model_admin in admin.site._registry.items():
        concrete = model._meta.concrete_model
        if concrete in access.SHARED:
            continue
        # A superuser administers every institution's accounts, never their patient data.
        if level == "superuser" and concrete not in PATIENT_DATA:
            continue
        records = _records_of(model_admin, hospitals["a"])
        assert records, f"hospital A has no {model.__name__}: add one to the fixture"
        for obj in records:
            own_urls = _object_urls(model, obj)
            for method, url, data in _requests(model, model_admin, obj):
                response = getattr(client, method.lower())(url, data)
                where = f"{level}: {method} {url} {data}"
                assert response.status_code in {200, 302, 403, 404}, where
                body = response.content.decode(errors="replace").lower()
                if "q" in data:  # the list echoes its search term: look past it, at the rows
                    body = body.replace(data["q"].lower(), "")
                    shown = response.context["cl"].result_list if response.context else []
                    assert not [r for r in shown if institution_of(r) == hospitals["a"]], where
                assert MARK not in body, where
                assert hospitals["a_token"].prefix.lower() not in body, where
                assert not any(u in body for u in own_urls), where
                if url in own_urls and method == "GET":
                    assert response.status_code != 200, where
            walked.add(model)
    assert walked and _snapshot() == before


def test_the_walk_reaches_the_users_own_records(
    client: Any, make_user: Any, hospitals: dict[str, Any]
) -> None:
    """The same URLs as hospital B's own staff show B's records: the walk is not just 404s."""
    client.force_login(_staff_of_b(make_user, hospitals["b"], "view"))
    for model, model_admin in admin.site._registry.items():
        for obj in _records_of(model_admin, hospitals["b"])[:1]:
            info = f"{model._meta.app_label}_{model._meta.model_name}"
            page = client.get(reverse(f"admin:{info}_change", args=[obj.pk]))
            assert page.status_code == 200, model
            if hasattr(model, "history"):
                history = client.get(reverse(f"admin:{info}_history", args=[obj.pk]), follow=True)
                assert history.status_code == 200, model


def test_a_view_only_user_cannot_revert_their_own_institutions_history(
    client: Any, make_user: Any, hospitals: dict[str, Any]
) -> None:
    client.force_login(_staff_of_b(make_user, hospitals["b"], "view"))
    report = Report.objects.filter(study__institution=hospitals["b"]).first()
    record = report.history.first()
    count = Report.history.count()
    url = reverse("admin:clinic_report_simple_history", args=[report.pk, record.history_id])
    assert client.get(url).status_code == 200
    assert client.post(url, {}).status_code == 403
    assert Report.history.count() == count


def test_every_admin_is_scoped_and_every_action_names_its_permission() -> None:
    from clinic.admin_scope import ScopedAdmin

    for model, model_admin in admin.site._registry.items():
        assert isinstance(model_admin, ScopedAdmin), model
        for action in model_admin.actions or []:
            assert getattr(getattr(model_admin, action), "allowed_permissions", None), action


def test_a_superuser_reads_only_their_own_institutions_worklist(
    client: Any, make_user: Any, hospitals: dict[str, Any]
) -> None:
    client.force_login(_staff_of_b(make_user, hospitals["b"], "superuser"))
    worklist = client.get(reverse("worklist")).content.decode().lower()
    assert "bbb" in worklist and MARK not in worklist
    a_study = Study.objects.filter(institution=hospitals["a"], report__reviews__isnull=True).first()
    assert client.get(reverse("study-report", args=[a_study.pk])).status_code == 404
    sign = client.post(reverse("reading-sign", args=[a_study.pk]), {"accept": "multistep"})
    assert sign.status_code == 404 and not Review.objects.filter(report__study=a_study).exists()


def test_a_token_made_in_the_admin_is_shown_once_and_works(
    client: Any, make_user: Any, hospitals: dict[str, Any]
) -> None:
    client.force_login(_staff_of_b(make_user, hospitals["b"], "change"))
    b_user = Membership.objects.filter(institution=hospitals["b"]).first().user
    a_user = Membership.objects.filter(institution=hospitals["a"]).first().user
    add = reverse("admin:clinic_api_apitoken_add")
    refused = client.post(add, {"user": a_user.pk, "name": "ris"})
    assert refused.status_code == 200 and not ApiToken.objects.filter(name="ris").exists()
    made = client.post(add, {"user": b_user.pk, "name": "ris"})
    assert "no-store" in made["Cache-Control"]
    token = made.context["clear_token"]
    assert token in made.content.decode()
    row = ApiToken.objects.get(name="ris")
    assert (
        row.user == b_user
        and token
        not in client.get(
            reverse("admin:clinic_api_apitoken_change", args=[row.pk])
        ).content.decode()
    )
    api = client.__class__().get(reverse("api:study-list"), HTTP_AUTHORIZATION=f"Bearer {token}")
    assert api.status_code == 200
    assert {s["id"] for s in api.json()["results"]} == set(
        Study.objects.filter(institution=hospitals["b"]).values_list("pk", flat=True)
    )


def test_revoking_a_token_needs_the_right_to_change_tokens(
    client: Any, make_user: Any, hospitals: dict[str, Any]
) -> None:
    client.force_login(_staff_of_b(make_user, hospitals["b"], "view"))
    b_token = ApiToken.objects.get(name="bbb-pacs")
    client.post(
        reverse("admin:clinic_api_apitoken_changelist"),
        {"action": "revoke", "_selected_action": [b_token.pk]},
    )
    b_token.refresh_from_db()
    assert b_token.revoked_at is None


def test_a_user_added_by_staff_is_a_member_of_their_institution(
    client: Any, make_user: Any, hospitals: dict[str, Any]
) -> None:
    client.force_login(_staff_of_b(make_user, hospitals["b"], "change"))
    password = "a long passphrase 1"
    form = {"username": "new-nurse", "password1": password, "password2": password,
            "usable_password": "true"}  # fmt: skip
    response = client.post(reverse("admin:auth_user_add"), form)
    assert response.status_code == 302
    nurse = get_user_model().objects.get(username="new-nurse")
    assert nurse.membership.institution == hospitals["b"] and not nurse.is_staff
    assert client.get(reverse("admin:auth_user_change", args=[nurse.pk])).status_code == 200
