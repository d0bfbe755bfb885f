import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st

from accounts.validators import (
    LA_POSTE_SIREN,
    luhn_is_valid,
    normalize_siret,
    siret_is_valid,
    validate_siret,
)
from tests.factories import siret_from

VALID = "73282932000074"  # a real SIRET (published), both keys valid


def test_a_real_siret_is_accepted():
    validate_siret(VALID)


def test_a_wrong_check_digit_is_refused_with_a_french_message():
    with pytest.raises(ValidationError) as error:
        validate_siret("73282932000075")
    assert error.value.code == "siret_checksum"
    assert "clé de contrôle" in error.value.messages[0]


@pytest.mark.parametrize("value", ["7328293200007", "732829320000741", ""])
def test_a_siret_of_the_wrong_length_is_refused(value):
    with pytest.raises(ValidationError) as error:
        validate_siret(value)
    assert error.value.code in {"siret_length", "siret_digits"}


@pytest.mark.parametrize("value", ["7328293200007A", "7328 2932 0000", "７３２８２９３２００００７４"])
def test_non_digits_are_refused(value):
    with pytest.raises(ValidationError) as error:
        validate_siret(value)
    assert error.value.code == "siret_digits"


def test_spaces_and_dots_typed_by_users_are_removed_before_checking():
    assert normalize_siret("732 829 320 00074") == VALID
    assert normalize_siret("732.829.320.00074") == VALID


def test_la_poste_establishments_are_checked_by_the_sum_of_their_digits():
    # La Poste numbers its establishments past what the Luhn key allows.
    assert siret_is_valid("35600000000048")  # head office: ordinary Luhn key
    assert siret_is_valid("35600000012341")  # digit sum 25, a multiple of 5
    assert not siret_is_valid("35600000012342")


def test_the_siren_key_is_checked_too():
    # 14th digit chosen so that the whole number passes Luhn, but the SIREN does not.
    siren = "732829321"
    assert not luhn_is_valid(siren)
    whole = next(siren + "0000" + str(k) for k in range(10) if luhn_is_valid(siren + "0000" + str(k)))
    assert not siret_is_valid(whole)


def test_siren_is_the_first_nine_digits(db):
    from tests.factories import CompanyFactory

    company = CompanyFactory(siret=VALID)
    assert company.siren == "732829320"


sirets = st.integers(min_value=0, max_value=10**8 - 1).map(siret_from)


@given(sirets)
def test_generated_sirets_with_both_keys_are_valid(siret):
    assert siret_is_valid(siret)


@given(sirets, st.integers(min_value=0, max_value=13), st.integers(min_value=1, max_value=9))
def test_any_single_mistyped_digit_is_detected(siret, position, shift):
    mistyped = siret[:position] + str((int(siret[position]) + shift) % 10) + siret[position + 1 :]
    assume(not mistyped.startswith(LA_POSTE_SIREN))
    assert not siret_is_valid(mistyped)
