"""CPV codes: eight digits, a dash and a check digit; checked wherever a buyer types one."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from consultations.forms import CpvListField
from consultations.models import Consultation
from consultations.validators import cpv_check_digit, validate_cpv


@pytest.mark.parametrize("code", ["45000000-7", "45261000-4", "03000000-1", "72000000-5"])
def test_valid_codes_pass(code):
    validate_cpv(code)


def test_an_empty_code_is_left_to_the_required_check():
    validate_cpv("")


@pytest.mark.parametrize("code", ["45000000-8", "45261000-5", "03000000-0"])
def test_a_wrong_check_digit_is_refused_with_its_own_message(code):
    with pytest.raises(ValidationError) as raised:
        validate_cpv(code)

    assert raised.value.code == "cpv_check_digit"
    assert code in raised.value.messages[0]
    assert "chiffre de contrôle" in raised.value.messages[0]


@pytest.mark.parametrize(
    "code", ["45000000", "4500000-7", "45000000_7", "ABCDEFGH-1", "45000000-77", " 45000000-7"]
)
def test_a_badly_written_code_is_refused_with_an_example(code):
    with pytest.raises(ValidationError) as raised:
        validate_cpv(code)

    assert raised.value.code == "cpv_format"
    assert "exemple : 45000000-7" in raised.value.messages[0]


def test_the_check_digit_weights_the_digits_3_7_1():
    # 4×3 + 5×7 = 47 → 7
    assert cpv_check_digit("45000000") == 7


def test_additional_codes_are_split_on_commas_semicolons_and_spaces_once_each():
    field = CpvListField(required=False)

    assert field.clean("45000000-7, 45261000-4;03000000-1  45000000-7") == [
        "45000000-7",
        "45261000-4",
        "03000000-1",
    ]
    assert field.clean("") == []


def test_each_bad_additional_code_is_named_in_the_error():
    field = CpvListField(required=False)

    with pytest.raises(ValidationError) as raised:
        field.clean("45000000-7, 45000000-8, 4500")

    messages = " ".join(raised.value.messages)
    assert "45000000-8" in messages and "4500" in messages
    assert len(raised.value.messages) == 2


@pytest.fixture
def logged_buyer(client, buyer):
    client.force_login(buyer.user)
    return buyer


def _identification(**overrides):
    return {
        "contract_type": "contract",
        "procedure_type": "open_tender",
        "category": "works",
        "reference": "2026-CPV",
        "title": "Travaux",
        "object": "Travaux divers.",
        "cpv_code": "45000000-7",
        "cpv_additional": "",
        "next": "stay",
        **overrides,
    }


@pytest.mark.parametrize(
    ("field", "value"),
    [("cpv_code", "45000000-8"), ("cpv_code", "450000007"), ("cpv_additional", "45261000-4 45000000-8")],
)
def test_the_identification_tab_shows_a_bad_cpv_on_its_field(client, logged_buyer, field, value):
    response = client.post(reverse("consultations:buyer_create"), _identification(**{field: value}))

    assert response.status_code == 200
    assert list(response.context["form"].errors) == [field]
    assert not Consultation.objects.exists()


def test_the_identification_tab_accepts_valid_cpv_codes(client, logged_buyer, clock):
    response = client.post(
        reverse("consultations:buyer_create"), _identification(cpv_additional="45261000-4, 03000000-1")
    )

    assert response.status_code == 302
    assert Consultation.objects.get().cpv_additional == ["45261000-4", "03000000-1"]
