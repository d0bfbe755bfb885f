"""Benchmark of the notices search (« Annonces ») on PostgreSQL.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/marches_bench \\
        .venv/bin/python bench/notices_search.py [--count 100000] [--runs 20]

Loads ``--count`` online consultations into a dedicated buyer (once: a second run
reuses them), computes their search text and French tsvector in the database with
one UPDATE, runs VACUUM ANALYZE, then times ten typical keyword searches through the real
selector (``consultations.notices.notices_search``): the first page of 20 results
and the total count, as the notices page shows them. Prints the median and the
95th percentile per query and overall, and the query plan of one search.
Target: p95 under 50 ms. Figures are printed, never asserted.
"""

import argparse
import math
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import django  # noqa: E402

django.setup()

from django.core.paginator import Paginator  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import Organisation, User  # noqa: E402
from accounts.validators import luhn_is_valid  # noqa: E402
from consultations.models import Category, Consultation, ContractType, ProcedureType, State  # noqa: E402
from consultations.notices import PAGE_SIZE, NoticeFilters, NoticeResults, notices_search  # noqa: E402
from consultations.search import SEARCH_CONFIG  # noqa: E402

QUERIES = [
    "toiture",
    "nettoyage locaux",
    "fourniture de repas",
    "maintenance ascenseurs",
    "voirie",
    "élagage",
    "assurance",
    "informatique",
    "restauration scolaire",
    "éclairage public",
]
BENCH_SIRET_PREFIX = "9999999"
BATCH = 5000

# (category, title, object): « {site} » is a building, « {town} » a commune.
SUBJECTS = [
    (
        Category.WORKS,
        "Réfection de la toiture {site}",
        "Travaux de couverture, zinguerie et étanchéité {site}.",
    ),
    (Category.WORKS, "Travaux de voirie {town}", "Reprise de chaussée, trottoirs et signalisation {town}."),
    (Category.WORKS, "Rénovation énergétique {site}", "Isolation, menuiseries et ventilation {site}."),
    (Category.WORKS, "Remplacement des menuiseries extérieures {site}", "Fenêtres et portes {site}."),
    (Category.WORKS, "Aménagement d'un giratoire {town}", "Terrassement, bordures et enrobés {town}."),
    (Category.WORKS, "Réhabilitation du réseau d'assainissement {town}", "Canalisations et regards {town}."),
    (Category.WORKS, "Mise en accessibilité {site}", "Rampes, ascenseur et sanitaires adaptés {site}."),
    (Category.WORKS, "Travaux d'éclairage public {town}", "Remplacement des candélabres par des LED {town}."),
    (Category.WORKS, "Désamiantage et démolition {site}", "Retrait de matériaux amiantés {site}."),
    (Category.WORKS, "Travaux de peinture intérieure {site}", "Peinture des murs et plafonds {site}."),
    (Category.WORKS, "Extension {site}", "Construction de deux salles et d'un préau {site}."),
    (Category.SERVICES, "Nettoyage des locaux {site}", "Entretien courant et vitrerie des locaux {site}."),
    (
        Category.SERVICES,
        "Maintenance des ascenseurs {site}",
        "Entretien préventif et dépannage des ascenseurs.",
    ),
    (Category.SERVICES, "Élagage des arbres d'alignement {town}", "Taille et élagage des platanes {town}."),
    (Category.SERVICES, "Assurance dommages aux biens", "Contrat d'assurance des bâtiments et du mobilier."),
    (
        Category.SERVICES,
        "Assurance flotte automobile",
        "Assurance des véhicules et engins de la collectivité.",
    ),
    (
        Category.SERVICES,
        "Maintenance informatique {site}",
        "Assistance aux utilisateurs et maintenance du parc.",
    ),
    (
        Category.SERVICES,
        "Infogérance des serveurs",
        "Prestations informatiques d'exploitation et de sauvegarde.",
    ),
    (
        Category.SERVICES,
        "Restauration scolaire {town}",
        "Préparation et service des repas des écoles {town}.",
    ),
    (Category.SERVICES, "Transport scolaire {town}", "Circuits de ramassage des élèves {town}."),
    (
        Category.SERVICES,
        "Entretien des espaces verts {town}",
        "Tonte, taille des haies et désherbage {town}.",
    ),
    (Category.SERVICES, "Maîtrise d'œuvre {site}", "Mission de maîtrise d'œuvre pour la rénovation {site}."),
    (
        Category.SERVICES,
        "Collecte des déchets ménagers {town}",
        "Collecte en porte-à-porte et en apport volontaire.",
    ),
    (Category.SERVICES, "Maintenance des installations de chauffage {site}", "Chaufferies et ventilation."),
    (Category.SERVICES, "Gardiennage et surveillance {site}", "Rondes, télésurveillance et intervention."),
    (Category.SERVICES, "Formation des agents", "Formations bureautiques, sécurité et management."),
    (
        Category.SUPPLIES,
        "Fourniture de repas {town}",
        "Fourniture de repas en liaison froide pour les cantines.",
    ),
    (
        Category.SUPPLIES,
        "Fourniture de matériel informatique",
        "Ordinateurs portables, écrans et périphériques.",
    ),
    (Category.SUPPLIES, "Fourniture de mobilier scolaire", "Tables, chaises et armoires pour les classes."),
    (Category.SUPPLIES, "Fourniture de carburant", "Gazole et essence pour les véhicules de service."),
    (Category.SUPPLIES, "Acquisition de véhicules électriques", "Véhicules utilitaires légers électriques."),
    (
        Category.SUPPLIES,
        "Fourniture de produits d'entretien",
        "Produits et matériel de nettoyage écologiques.",
    ),
    (
        Category.SUPPLIES,
        "Fourniture de vêtements de travail",
        "Vêtements et équipements de protection individuelle.",
    ),
    (Category.SUPPLIES, "Fourniture de sel de déneigement", "Sel et saumure pour la viabilité hivernale."),
    (Category.SUPPLIES, "Fourniture de luminaires d'éclairage public", "Luminaires LED et mâts."),
    (
        Category.SUPPLIES,
        "Fourniture de papier et de fournitures de bureau",
        "Ramettes, classeurs et consommables.",
    ),
]
SITES = [
    "de l'école Jules Ferry",
    "du groupe scolaire Pasteur",
    "de la mairie",
    "du collège Jean Moulin",
    "de la médiathèque",
    "du centre technique municipal",
    "de la salle des fêtes",
    "du gymnase Colette Besson",
    "de l'hôtel de ville",
    "du conservatoire",
    "de la piscine intercommunale",
    "de l'EHPAD Les Tilleuls",
    "du musée des Beaux-Arts",
    "de la maison de santé",
    "du lycée Victor Hugo",
]
TOWNS = [
    "Rennes",
    "Brest",
    "Quimper",
    "Lorient",
    "Vannes",
    "Saint-Malo",
    "Saint-Brieuc",
    "Lannion",
    "Morlaix",
    "Fougères",
    "Vitré",
    "Dinan",
    "Concarneau",
    "Pontivy",
    "Redon",
    "Nantes",
    "Angers",
    "Le Mans",
    "Laval",
    "Caen",
    "Strasbourg",
    "Metz",
    "Colmar",
    "Mulhouse",
    "Lyon",
    "Grenoble",
    "Marseille",
    "Toulouse",
    "Bordeaux",
    "Lille",
]
PROCEDURES = [
    ProcedureType.ADAPTED_UNDER_40K,
    ProcedureType.ADAPTED_40K_90K,
    ProcedureType.ADAPTED_OVER_90K,
    ProcedureType.OPEN_TENDER,
    ProcedureType.RESTRICTED_TENDER,
    ProcedureType.NEGOTIATED,
]
CPV = {Category.WORKS: "45000000-7", Category.SERVICES: "50000000-5", Category.SUPPLIES: "30000000-9"}


def bench_siret() -> str:
    base = BENCH_SIRET_PREFIX + "0000"
    siren = next(base[:8] + str(k) for k in range(10) if luhn_is_valid(base[:8] + str(k)))
    return next(siren + "0001" + str(k) for k in range(10) if luhn_is_valid(siren + "0001" + str(k)))


def bench_buyer() -> tuple[Organisation, User]:
    organisation, _created = Organisation.objects.get_or_create(
        siret=bench_siret(),
        defaults={
            "name": "Banc d'essai de la recherche d'annonces",
            "street": "1 rue du Banc",
            "postal_code": "35000",
            "city": "Rennes",
            "department_code": "35",
        },
    )
    user = User.objects.filter(email="banc-essai@exemple.invalid").first()
    if user is None:
        user = User.objects.create_user(
            email="banc-essai@exemple.invalid", password=None, first_name="Banc", last_name="Essai"
        )
    return organisation, user


def load(count: int) -> None:
    organisation, user = bench_buyer()
    existing = Consultation.objects.filter(organisation=organisation).count()
    if existing >= count:
        print(f"{existing} consultations du banc d'essai déjà chargées.")
        return
    print(f"Chargement de {count - existing} consultations (par lots de {BATCH})…", flush=True)
    started = time.perf_counter()
    rng = random.Random(20260302 + existing)  # noqa: S311 (test data, not secrets)
    now = timezone.now()
    for start in range(existing, count, BATCH):
        rows = []
        for n in range(start, min(start + BATCH, count)):
            category, title, obj = rng.choice(SUBJECTS)
            site, town = rng.choice(SITES), rng.choice(TOWNS)
            place = f"à {town}"
            fill = {"site": f"{site} de {town}", "town": place}
            rows.append(
                Consultation(
                    organisation=organisation,
                    created_by=user,
                    state=State.ONLINE,
                    contract_type=ContractType.CONTRACT,
                    procedure_type=rng.choice(PROCEDURES),
                    identification_locked=True,
                    category=category,
                    reference=f"BANC-{n:06d}",
                    title=title.format(**fill),
                    object=obj.format(**fill),
                    cpv_code=CPV[category],
                    place_of_execution=town,
                    published_at=now - timedelta(days=rng.randint(1, 30)),
                    deadline=now + timedelta(days=rng.randint(1, 90), hours=rng.randint(0, 23)),
                )
            )
        with transaction.atomic():
            Consultation.objects.bulk_create(rows)
        print(f"  {min(start + BATCH, count)} / {count}", flush=True)
    print(f"Insertion : {time.perf_counter() - started:.1f} s. Calcul du texte de recherche…", flush=True)
    started = time.perf_counter()
    # The same document as consultations.search.search_refresh, computed by PostgreSQL in one statement.
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            UPDATE {Consultation._meta.db_table} AS c
               SET search_text = lower(unaccent(concat_ws(' ', c.reference, c.title, c.object, o.name,
                                                          c.place_of_execution, c.cpv_code))),
                   search_vector =
                       setweight(to_tsvector(%s, concat_ws(' ', c.reference, c.title)), 'A')
                    || setweight(to_tsvector(%s, concat_ws(' ', c.object, o.name, c.place_of_execution,
                                                           c.cpv_code)), 'B')
              FROM {Organisation._meta.db_table} AS o
             WHERE o.id = c.organisation_id AND c.organisation_id = %s AND c.search_vector IS NULL
            """,  # noqa: S608 (table names from the models, values bound)
            [SEARCH_CONFIG, SEARCH_CONFIG, organisation.pk],
        )
        print(f"  {cursor.rowcount} lignes en {time.perf_counter() - started:.1f} s.", flush=True)


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile: the smallest value with ``share`` of the values at or below it."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def search_once(query: str) -> tuple[float, int]:
    started = time.perf_counter()
    page = Paginator(NoticeResults(notices_search(NoticeFilters(q=query))), PAGE_SIZE).page(1)
    list(page.object_list)
    count = page.paginator.count
    return (time.perf_counter() - started) * 1000, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="consultations à charger (100 000)")
    parser.add_argument("--runs", type=int, default=20, help="mesures par requête (20)")
    args = parser.parse_args()

    if connection.vendor != "postgresql":
        print(
            "Ce banc d'essai mesure la recherche plein texte de PostgreSQL : définissez DATABASE_URL "
            "(par exemple postgres://postgres@127.0.0.1:5432/marches_bench) ; SQLite n'est pas mesuré.",
            file=sys.stderr,
        )
        return 2

    load(args.count)
    with connection.cursor() as cursor:
        # As autovacuum would have done on a live database: statistics and the visibility map.
        cursor.execute(f"VACUUM ANALYZE {Consultation._meta.db_table}")
        cursor.execute("SELECT count(*) FROM consultations_consultation WHERE state = 'online'")
        online = cursor.fetchone()[0]
        cursor.execute("SELECT version()")
        version = cursor.fetchone()[0].split(",")[0]
    print(f"\n{online} consultations en ligne ; {version}.")
    print(
        f"Première page ({PAGE_SIZE} résultats) et nombre total : "
        f"{args.runs} mesures par requête après un essai à blanc.\n"
    )

    print(f"{'requête':<26}{'résultats':>10}{'médiane (ms)':>15}{'p95 (ms)':>11}")
    everything = []
    for query in QUERIES:
        search_once(query)
        timings, count = [], 0
        for _ in range(args.runs):
            elapsed, count = search_once(query)
            timings.append(elapsed)
        everything.extend(timings)
        print(f"{query:<26}{count:>10}{statistics.median(timings):>15.1f}{percentile(timings, 0.95):>11.1f}")
    overall_p95 = percentile(everything, 0.95)
    print(f"{'ensemble':<26}{'':>10}{statistics.median(everything):>15.1f}{overall_p95:>11.1f}")
    verdict = "atteinte" if overall_p95 < 50 else "NON atteinte"
    print(f"\nCible p95 < 50 ms : {verdict}.")

    # The very statements the page runs (count, then the first page), explained.
    with CaptureQueriesContext(connection) as captured:
        search_once("toiture")
    with connection.cursor() as cursor:
        titles = ["comptage", "identifiants de la page", "lignes de la page"]
        for title, statement in zip(titles, captured.captured_queries, strict=True):
            cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {statement['sql']}")
            print(f"\nPlan ({title}, « toiture ») :")
            print("\n".join(row[0] for row in cursor.fetchall()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
