"""The scoring engine against the règlement of seed 003, article 6.

« Prix des prestations, 75 % (75 x montant moins-disant / montant de l'offre jugée) ;
valeur technique, 20 % (8 % + 7 % + 3 % + 2 %) ; environnement, 5 %. En cas d'égalité de
point, le candidat le mieux classé sur le critère ayant la pondération la plus forte sera
privilégié. » The seed gives no worked numbers: the offers below are ours, and each expected
figure is worked out by hand in the test.
"""

from decimal import Decimal as D

import pytest

from awards.models import CriterionKind, PriceFormula
from awards.services.scoring import (
    CriterionSpec,
    OfferInput,
    ScoringError,
    offers_rank,
    offers_score,
    price_points,
    weights_check,
)

PRICE = CriterionSpec(
    key="price",
    label="Prix des prestations",
    weight=D("75"),
    kind=CriterionKind.PRICE,
    price_formula=PriceFormula.PROPORTIONAL,
)
METHODS = CriterionSpec(key="methods", label="Qualité des modalités et méthodes", weight=D("8"))
PLANNING = CriterionSpec(key="planning", label="Cohérence du planning et du phasage", weight=D("7"))
SOPAQ = CriterionSpec(key="sopaq", label="Qualité du SOPAQ", weight=D("3"))
SAFETY = CriterionSpec(key="safety", label="Qualité des mesures sécuritaires", weight=D("2"))
TECHNICAL = CriterionSpec(
    key="technical",
    label="Valeur technique de l'offre",
    weight=D("20"),
    children=(METHODS, PLANNING, SOPAQ, SAFETY),
)
ENVIRONMENT = CriterionSpec(key="environment", label="Protection de l'environnement (SOSED)", weight=D("5"))
SEED_GRID = (PRICE, TECHNICAL, ENVIRONMENT)


def offer(label, amount, methods, planning, sopaq, safety, environment):
    notes = {"methods": methods, "planning": planning, "sopaq": sopaq, "safety": safety}
    notes["environment"] = environment
    return OfferInput(key=label, label=label, amount=D(amount), notes={k: D(v) for k, v in notes.items()})


def ranking_of(grid, offers):
    return [
        (ranked.rank, ranked.result.label, ranked.result.total)
        for ranked in offers_rank(grid, offers_score(grid, offers))
    ]


def test_the_seed_grid_scores_four_offers_exactly_and_ranks_them_by_total():
    # GIVEN the seed's grid and four offers; the lowest price is C's 90 000,00 € HT
    offers = [
        offer("A", "100000.00", "8", "6", "3", "2", "5"),
        offer("B", "120000.00", "8", "7", "3", "2", "5"),
        offer("C", "90000.00", "4", "4", "2", "1", "2"),
        offer("D", "95000.00", "5", "5", "2", "1", "3"),
    ]
    # WHEN scored
    results = {result.label: result for result in offers_score(SEED_GRID, offers)}
    # THEN price = 75 × 90 000 / price of the offer, to the hundredth:
    #   A 75 × 90 000 / 100 000 = 67,50 ; B 75 × 90 000 / 120 000 = 56,25 ;
    #   C 75 × 90 000 / 90 000 = 75,00 ; D 75 × 90 000 / 95 000 = 71,0526… → 71,05
    assert {label: r.points["price"] for label, r in results.items()} == {
        "A": D("67.50"),
        "B": D("56.25"),
        "C": D("75.00"),
        "D": D("71.05"),
    }
    # technical = 8 + 7 + 3 + 2 sub-criteria: A 8+6+3+2 = 19 ; B 20 ; C 4+4+2+1 = 11 ; D 5+5+2+1 = 13
    assert {label: r.points["technical"] for label, r in results.items()} == {
        "A": D("19"),
        "B": D("20"),
        "C": D("11"),
        "D": D("13"),
    }
    # totals: A 67,50 + 19 + 5 = 91,50 ; B 56,25 + 20 + 5 = 81,25 ;
    #         C 75,00 + 11 + 2 = 88,00 ; D 71,05 + 13 + 3 = 87,05
    assert ranking_of(SEED_GRID, offers) == [
        (1, "A", D("91.50")),
        (2, "C", D("88.00")),
        (3, "D", D("87.05")),
        (4, "B", D("81.25")),
    ]


def test_equal_totals_are_separated_by_the_price_the_criterion_with_the_highest_weight():
    # GIVEN X at 100 000 (lowest): 75,00 + (4 + 3,5 + 2 + 1) + 2 = 87,50
    #   and Y at 120 000: 75 × 100 000 / 120 000 = 62,50, + 20 + 5 = 87,50
    offers = [
        offer("Y", "120000", "8", "7", "3", "2", "5"),
        offer("X", "100000", "4", "3.5", "2", "1", "2"),
    ]
    # WHEN ranked, THEN X, better on the price (75 %), comes first
    ranked = offers_rank(SEED_GRID, offers_score(SEED_GRID, offers))
    assert [(r.rank, r.result.label, r.result.total) for r in ranked] == [
        (1, "X", D("87.50")),
        (2, "Y", D("87.50")),
    ]
    assert ranked[1].decided_by == "Prix des prestations"


def test_equal_totals_and_prices_are_separated_by_the_technical_value_then_ex_aequo():
    # GIVEN three offers at the same price (75,00 each) and the same total 95,00:
    #   P technical 18 + environment 2 ; Q technical 15 + environment 5 ; R same as Q
    offers = [
        offer("Q", "100000", "6", "5", "2", "2", "5"),
        offer("R", "100000", "6", "5", "2", "2", "5"),
        offer("P", "100000", "8", "6", "2", "2", "2"),
    ]
    ranked = offers_rank(SEED_GRID, offers_score(SEED_GRID, offers))
    # THEN P first on the technical value (20 % before 5 %); Q and R share the second rank
    assert [(r.rank, r.result.label, r.result.total) for r in ranked] == [
        (1, "P", D("95.00")),
        (2, "Q", D("95.00")),
        (2, "R", D("95.00")),
    ]
    assert [r.decided_by for r in ranked] == ["", "Valeur technique de l'offre", ""]


def test_weights_not_totalling_100_percent_are_refused_in_french():
    environment_4 = CriterionSpec(key="environment", label="Environnement", weight=D("4"))
    with pytest.raises(ScoringError) as refused:
        weights_check((PRICE, TECHNICAL, environment_4))
    assert refused.value.message == "Les pondérations des critères totalisent 99 % au lieu de 100 %."


def test_sub_criteria_not_totalling_their_parent_weight_are_refused_in_french():
    safety_1_5 = CriterionSpec(key="safety", label="Qualité des mesures sécuritaires", weight=D("1.5"))
    technical = CriterionSpec(
        key="technical",
        label="Valeur technique de l'offre",
        weight=D("20"),
        children=(METHODS, PLANNING, SOPAQ, safety_1_5),
    )
    with pytest.raises(ScoringError) as refused:
        offers_score((PRICE, technical, ENVIRONMENT), [])
    assert refused.value.message == (
        "Les sous-critères de « Valeur technique de l'offre » totalisent 19,5 % au lieu de 20 %, "
        "la pondération de ce critère."
    )


def test_the_seed_grid_itself_is_accepted():
    weights_check(SEED_GRID)


@pytest.mark.parametrize("note", ["8.01", "-1"])
def test_a_note_outside_its_scale_is_refused_in_french(note):
    offers = [offer("A", "100000", note, "6", "3", "2", "5")]
    with pytest.raises(ScoringError) as refused:
        offers_score(SEED_GRID, offers)
    assert refused.value.message == (
        f"La note {note.replace('.', ',')} sur le critère « Qualité des modalités et méthodes » "
        "sort de son échelle : elle doit être comprise entre 0 et 8."
    )


def test_a_note_on_a_scale_of_ten_is_converted_to_points():
    # GIVEN the methods noted out of 10: 7,5 / 10 × 8 = 6,00 points
    methods_on_10 = CriterionSpec(key="methods", label="Méthodes", weight=D("8"), scale=D("10"))
    technical = CriterionSpec(
        key="technical",
        label="Valeur technique",
        weight=D("20"),
        children=(methods_on_10, PLANNING, SOPAQ, SAFETY),
    )
    [result] = offers_score((PRICE, technical, ENVIRONMENT), [offer("A", "1000", "7.5", "7", "3", "2", "5")])
    # THEN 75 + (6 + 7 + 3 + 2) + 5 = 98,00 ; a 10 is accepted, an 11 is not
    assert result.points["methods"] == D("6.00")
    assert result.total == D("98.00")
    with pytest.raises(ScoringError, match="entre 0 et 10"):
        offers_score((PRICE, technical, ENVIRONMENT), [offer("A", "1000", "11", "7", "3", "2", "5")])


def test_the_linear_gap_formula_takes_points_in_proportion_to_the_gap_floored_at_zero():
    # weight × (1 − (offer − lowest) / lowest), lowest 100 000:
    #   110 000 → 75 × 0,9 = 67,50 (the proportional formula gives 75 × 100/110 = 68,18)
    #   125 000 → 75 × 0,75 = 56,25 ; 200 000 → 0 ; 250 000 → 75 × (−0,5) floored at 0
    def linear(amount):
        return price_points(
            weight=D("75"), formula=PriceFormula.LINEAR_GAP, lowest=D("100000"), amount=D(amount)
        )

    assert linear("100000") == D("75.00")
    assert linear("110000") == D("67.50")
    assert linear("125000") == D("56.25")
    assert linear("200000") == D("0.00")
    assert linear("250000") == D("0.00")
    proportional = price_points(
        weight=D("75"), formula=PriceFormula.PROPORTIONAL, lowest=D("100000"), amount=D("110000")
    )
    assert proportional == D("68.18")


def test_the_chosen_formula_can_change_the_ranking():
    # GIVEN two offers: M cheap and weak, N dearer and strong
    #   M 100 000 : technical 10, environment 1 ; N 125 000 : technical 20, environment 5
    offers = [offer("M", "100000", "4", "3", "2", "1", "1"), offer("N", "125000", "8", "7", "3", "2", "5")]
    # proportional: M 75 + 10 + 1 = 86,00 ; N 75 × 0,8 = 60,00 + 20 + 5 = 85,00 → M first
    assert ranking_of(SEED_GRID, offers) == [(1, "M", D("86.00")), (2, "N", D("85.00"))]
    # linear gap: N 75 × (1 − 0,25) = 56,25 + 25 = 81,25 → M still first, by a wider margin
    linear_price = CriterionSpec(
        key="price",
        label="Prix",
        weight=D("75"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.LINEAR_GAP,
    )
    assert ranking_of((linear_price, TECHNICAL, ENVIRONMENT), offers) == [
        (1, "M", D("86.00")),
        (2, "N", D("81.25")),
    ]


def test_a_missing_note_or_amount_is_refused_in_french():
    incomplete = OfferInput(key="A", label="Bâtiment Ouest", amount=D("1000"), notes={"methods": D("8")})
    with pytest.raises(ScoringError) as refused:
        offers_score(SEED_GRID, [incomplete])
    assert refused.value.message == (
        "L'offre de Bâtiment Ouest n'est pas notée sur le critère « Cohérence du planning et du phasage »."
    )
    with pytest.raises(ScoringError) as refused:
        offers_score(SEED_GRID, [OfferInput(key="A", label="Bâtiment Ouest", amount=D("0"))])
    assert refused.value.message == "Le montant de l'offre de Bâtiment Ouest doit être supérieur à 0 € HT."


def test_a_price_criterion_without_formula_or_two_price_criteria_are_refused():
    no_formula = CriterionSpec(key="price", label="Prix", weight=D("75"), kind=CriterionKind.PRICE)
    with pytest.raises(ScoringError, match="Choisissez la formule de notation du critère de prix « Prix »"):
        weights_check((no_formula, TECHNICAL, ENVIRONMENT))
    second_price = CriterionSpec(
        key="env",
        label="Coût",
        weight=D("5"),
        kind=CriterionKind.PRICE,
        price_formula=PriceFormula.PROPORTIONAL,
    )
    with pytest.raises(ScoringError, match="un seul critère de prix"):
        weights_check((PRICE, TECHNICAL, second_price))
