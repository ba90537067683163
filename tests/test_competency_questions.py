"""The eight competency questions of the knowledge graph, each answered by one stored query.

Every expected row below was read off the article (graph/source/nato-cuts-russian-mission-staff.txt), not
off the query's output. Terms are written as the Turtle files write them: kg:x for <base>id/x.
"""

from __future__ import annotations

import pyoxigraph as ox
import pytest

from nato_kg.data.store import load_dataset, native_store
from nato_kg.engine.stored_queries import load_catalogue

WD = "http://www.wikidata.org/entity/"


@pytest.fixture(scope="module")
def ask(settings):
    store = native_store(load_dataset(settings))
    catalogue = load_catalogue(settings.data_dir / "queries")

    def run(name: str) -> list[tuple[str | None, ...]]:
        results = store.query(catalogue[name].text, base_iri=settings.base_iri, use_default_graph_as_union=True)
        names = [v.value for v in results.variables]

        def term(value: ox.NamedNode | ox.Literal | None) -> str | None:
            if value is None:
                return None
            return value.value.replace(settings.base_iri + "id/", "kg:")

        return [tuple(term(solution[n]) for n in names) for solution in results]

    return run


def test_cq1_which_countries_expelled_how_many_and_which_gave_no_number(ask):
    assert ask("cq1-expelling-countries") == [
        ("kg:united-states", "United States", "60", "ordered"),
        ("kg:united-kingdom", "United Kingdom", "23", "ordered"),
        ("kg:france", "France", "4", "ordered"),
        ("kg:germany", "Germany", "4", "ordered"),
        ("kg:poland", "Poland", "4", "ordered"),
        ("kg:czech-republic", "Czech Republic", "3", "ordered"),
        ("kg:lithuania", "Lithuania", "3", "ordered"),
        ("kg:moldova", "Moldova", "3", "ordered"),
        ("kg:denmark", "Denmark", "2", "ordered"),
        ("kg:italy", "Italy", "2", "ordered"),
        ("kg:netherlands", "Netherlands", "2", "ordered"),
        ("kg:spain", "Spain", "2", "ordered"),
        ("kg:belgium", "Belgium", "1", "announced"),
        ("kg:croatia", "Croatia", "1", "planned"),
        ("kg:estonia", "Estonia", "1", "planned"),
        ("kg:finland", "Finland", "1", "planned"),
        ("kg:hungary", "Hungary", "1", "planned"),
        ("kg:ireland", "Ireland", "1", "announced"),
        ("kg:latvia", "Latvia", "1", "planned"),
        ("kg:romania", "Romania", "1", "planned"),
        ("kg:sweden", "Sweden", "1", "planned"),
        # "Outside the EU, Canada, Australia, Ukraine, Macedonia, and Norway also announced expulsions."
        ("kg:australia", "Australia", None, "announced"),
        ("kg:canada", "Canada", None, "announced"),
        ("kg:macedonia", "Macedonia", None, "announced"),
        ("kg:norway", "Norway", None, "announced"),
        ("kg:ukraine", "Ukraine", None, "announced"),
    ]


def test_cq2_what_nato_decided_on_march_27_and_the_mission_size(ask):
    assert ask("cq2-nato-decisions") == [
        ("kg:accreditation-denial-by-nato", "denial of accreditation",
         "NATO denies pending accreditation to three Russian staff", "3", None, None, "announced"),
        ("kg:expulsion-by-nato", "expulsion of diplomats",
         "NATO expels seven staff of the Russian mission", "7", None, None, "announced"),
        ("kg:downsizing-of-russian-mission-to-nato", "reduction of a mission's size",
         "NATO reduces the Russian mission from 30 to 20", None, "30", "20", "announced"),
    ]


def test_cq3_every_quote_by_boris_johnson_and_where_it_was_published(ask):
    times = "Boris Johnson's article in The Times"
    assert ask("cq3-johnson-quotes") == [
        ("kg:statement-johnson-blow-to-russian-intelligence",
         "blow from which Russian intelligence will need many years to recover", times),
        ("kg:statement-johnson-turning-point", "I believe that yesterday's events could become a turning point",
         times),
        ("kg:statement-johnson-never-before",
         "Never before have so many countries come together to expel Russian diplomats", times),
        ("kg:statement-johnson-decisive-action",
         "The Western alliance took decisive action and Britain's partners came together against the "
         "Kremlin's reckless ambitions.", times),
        ("kg:statement-johnson-reckless-behavior", "reckless behavior", times),
        ("kg:statement-johnson-common-thread",
         "The common thread is Putin's willingness to defy the essential rules on which the safety of every "
         "country depends", times),
        ("kg:statement-johnson-standing-firm",
         "Hence every responsible nation shares a vital interest in standing firm against him", times),
        ("kg:statement-johnson-sowing-doubt",
         "There was a time when this tactic of sowing doubt might have been effective, but no one is fooled "
         "any more. I believe yesterday was a moment when the cynicism of the propaganda machine was exposed "
         "for all to see", times),
    ]


def test_cq4_who_blamed_whom_for_the_poisoning_and_who_denied_it(ask):
    assert ask("cq4-blame-and-denial") == [
        ("kg:statement-johnson-reckless-behavior", "accusation", "Boris Johnson", "Vladimir Putin", None),
        ("kg:statement-russia-blames-british-intelligence", "accusation", "Government of Russia",
         "British intelligence", None),
        ("kg:statement-london-blames-moscow", "accusation", "Government of the United Kingdom",
         "Government of Russia", None),
        ("kg:statement-western-officials-share-britains-assessment", "assessment", "Western officials", "Russia",
         None),
        ("kg:statement-russia-denies-the-charge", "denial", "Government of Russia", None,
         "London blames Moscow for the poisoning"),
    ]


def test_cq5_statements_made_on_march_27_by_whom_and_where(ask):
    assert ask("cq5-statements-on-march-27") == [
        ("kg:statement-stoltenberg-accreditation-and-mission-size", "Jens Stoltenberg", "Brussels"),
        ("kg:statement-stoltenberg-costs-and-consequences", "Jens Stoltenberg", None),
        ("kg:statement-may-significant-moment", "Theresa May", "British cabinet meeting of 27 March 2018"),
    ]


def test_cq6_victims_place_date_and_means_of_the_poisoning(ask):
    assert ask("cq6-poisoning") == [
        ("Sergei Skripal", "Salisbury", "2018-03-04", "nerve agent"),
        ("Yulia Skripal", "Salisbury", "2018-03-04", "nerve agent"),
    ]


def test_cq7_which_actions_answered_which(ask):
    poisoning = ("kg:poisoning-of-sergei-and-yulia-skripal", "Poisoning of Sergei and Yulia Skripal")
    assert ask("cq7-responses") == [
        ("kg:expulsion-by-united-kingdom", "Britain expels 23 Russian diplomats", *poisoning),
        ("kg:congratulation-of-putin-by-trump", "Donald Trump congratulates Vladimir Putin on his reelection",
         "kg:reelection-of-putin", "Vladimir Putin's reelection"),
        ("kg:mass-expulsion-2018", "Mass expulsion of Russian diplomats, March 2018", *poisoning),
        ("kg:accreditation-denial-by-nato", "NATO denies pending accreditation to three Russian staff",
         *poisoning),
        ("kg:expulsion-by-nato", "NATO expels seven staff of the Russian mission", *poisoning),
        ("kg:downsizing-of-russian-mission-to-nato", "NATO reduces the Russian mission from 30 to 20", *poisoning),
        ("kg:russian-retaliation", "Russia's vowed tit-for-tat response",
         "kg:mass-expulsion-2018", "Mass expulsion of Russian diplomats, March 2018"),
        ("kg:twitter-poll-by-russian-embassy",
         "Russian Embassy asks Twitter followers which U.S. consulate should be closed",
         "kg:closure-of-russian-consulate-seattle",
         "The United States closes the Russian Consulate-General in Seattle"),
    ]


def test_cq8_the_wikidata_item_of_each_expelling_country(ask):
    # IDs from graph/source/wikidata/items.tsv; the Netherlands is the Kingdom (Q29999), see wikidata-links.ttl.
    expected = {
        "Australia": "Q408", "Belgium": "Q31", "Canada": "Q16", "Croatia": "Q224", "Czech Republic": "Q213",
        "Denmark": "Q35", "Estonia": "Q191", "Finland": "Q33", "France": "Q142", "Germany": "Q183",
        "Hungary": "Q28", "Ireland": "Q27", "Italy": "Q38", "Latvia": "Q211", "Lithuania": "Q37",
        "Macedonia": "Q221", "Moldova": "Q217", "Netherlands": "Q29999", "Norway": "Q20", "Poland": "Q36",
        "Romania": "Q218", "Spain": "Q29", "Sweden": "Q34", "Ukraine": "Q212", "United Kingdom": "Q145",
        "United States": "Q30",
    }
    rows = ask("cq8-wikidata-items")
    assert [(label, item) for _, label, item in rows] == [(k, WD + v) for k, v in expected.items()]
    assert len(rows) == 26  # NATO and 26 named countries
