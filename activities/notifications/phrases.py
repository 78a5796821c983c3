"""The words the notification context is made of, per language (English, Finnish, Swedish).

The templates (``templates/``, ``templates/fi/``, ``templates/sv/``) hold the letters; the values put into
them (dates, durations, stages, who still has to sign, the next step, the hours so far) are phrases too,
and come from here in the recipient's language. Finnish values are written to stand in the nominative
(after a colon, as a subject), so that the templates need no inflected forms of them. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from domain.partnership import Stage
from domain.people import Language


@dataclass(frozen=True)
class Phrases:
    """The words of one language; every ``{...}`` is filled by ``rendering``."""

    language: Language
    decimal: str
    weekdays: tuple[str, ...]
    """Monday first."""
    months: tuple[str, ...]
    date_format: str
    """``{weekday} {day} {month} {year} {time}`` and ``{tz}``."""
    time_zone: str
    not_set: str
    units: dict[str, tuple[str, str]]
    """day, hour, minute, second -> (one, many)."""
    cadence: str
    """``{span}`` is :attr:`cadence_units`."""
    cadence_units: dict[str, tuple[str, str]]
    cadence_unknown: str
    stages: dict[Stage, str]
    not_started: str
    parties: dict[str, str]
    nobody: str
    and_: str
    to_be_agreed: str
    counterpart_labels: dict[str, str]
    """mentee -> what the mentee calls the other party (``your mentor``); ``pair`` for the coordinator."""
    counterpart_described: str
    """``{name}`` and ``{label}``."""
    no_mentor: str
    your_field: str
    one_of_you: str
    pause_length_unknown: str
    no_reason: str
    until: str
    until_further_notice: str
    hours_account: str
    hours_short: str
    hours_within: str
    hours_above: str
    meetings_word: tuple[str, str]
    checkin_answer: str
    """A check-in answer in words: ``{score}`` of 5 and ``{as_planned}`` (:attr:`yes_no`)."""
    yes_no: tuple[str, str]
    checkin_party: str
    """Who answered, when the notice is not about one answer."""
    next_sign_yourself: str
    next_sign_others: str
    next_meet: str
    next_review_yourself: str
    next_review_others: str
    next_paused: str
    next_awaiting_match: str
    next_other: str
    nudge_by_coordinator: str
    nudge_reminder: str
    roles: dict[str, str]
    gathering_kinds: dict[str, str]
    """group, collective, and ``unknown`` (a gathering without its plan)."""
    the_gathering: str
    participants: tuple[str, str]


EN = Phrases(
    language=Language.EN,
    decimal=".",
    weekdays=("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"),
    months=("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"),
    date_format="{weekday} {day} {month} {year} {time} ({tz})",
    time_zone="Finnish time",
    not_set="not set",
    units={
        "day": ("day", "days"),
        "hour": ("hour", "hours"),
        "minute": ("minute", "minutes"),
        "second": ("second", "seconds"),
    },
    cadence="every {span}",
    cadence_units={
        "day": ("day", "days"),
        "hour": ("hour", "hours"),
        "minute": ("minute", "minutes"),
        "second": ("second", "seconds"),
    },
    cadence_unknown="about once a month",
    stages={
        Stage.APPLIED: "application received",
        Stage.AWAITING_MATCH: "waiting for a mentor",
        Stage.AWAITING_SIGNATURES: "waiting for both signatures on the agreement",
        Stage.ACTIVE: "active",
        Stage.PAUSED: "paused",
        Stage.CLOSING_REVIEW: "closing review",
        Stage.COMPLETED: "completed",
        Stage.WITHDRAWN: "ended: the mentee withdrew",
        Stage.REJECTED: "application not accepted",
        Stage.ENDED_EARLY: "ended early",
    },
    not_started="not started",
    parties={"mentee": "the mentee", "mentor": "the mentor"},
    nobody="nobody",
    and_="and",
    to_be_agreed="to be agreed together",
    counterpart_labels={"mentee": "your mentor", "mentor": "your mentee", "pair": "the pair"},
    counterpart_described="{name} ({label})",
    no_mentor="none",
    your_field="your field",
    one_of_you="one of you",
    pause_length_unknown="the length of the pause",
    no_reason="no reason was recorded",
    until="until {when}",
    until_further_notice="until further notice from your coordinator",
    hours_account=(
        "So far {meeting_hours} of pair meetings ({meetings}) and {gathering_hours} at group and collective "
        "meetings have been recorded: {total} in total, against the programme's target of {low}-{high} h "
        "(about 2-3 working days)."
    ),
    hours_short="That is {short} short of the {low} h minimum.",
    hours_within="That is within the target.",
    hours_above="That is above the target: well done, and mind your own time too.",
    meetings_word=("{n} meeting", "{n} meetings"),
    checkin_answer="how it is going {score} of 5; meeting as planned: {as_planned}",
    yes_no=("yes", "no"),
    checkin_party="a party",
    next_sign_yourself="Next step: please sign the Mentoring Partnership Agreement by {due}.",
    next_sign_others="Next step: the agreement is waiting for {parties} to sign, by {due}.",
    next_meet=(
        "Next step: hold your next pair meeting by {due} and log it afterwards (date, length and the topics you "
        "covered)."
    ),
    next_review_yourself="Next step: please submit your closing review by {due}.",
    next_review_others="Next step: the closing review is waiting for {parties}, by {due}.",
    next_paused="The partnership is paused {until}; no meetings are expected until it resumes.",
    next_awaiting_match="Next step: the programme coordinator is looking for a mentor; you will hear from us.",
    next_other="The partnership is now: {stage}.",
    nudge_by_coordinator=(
        "Your programme coordinator asks us to remind you to keep your mentoring partnership moving, with this "
        "note: {reason}"
    ),
    nudge_reminder=(
        "A friendly reminder from EntryPoint: your next pair meeting with {counterpart} was due by {due}, and we "
        "have not seen it logged yet. If you have already met, please log the meeting (date, length and the "
        "topics you covered) so that it counts."
    ),
    roles={"mentee": "mentee", "mentor": "mentor", "coordinator": "coordinator"},
    gathering_kinds={"group": "subject group", "collective": "collective", "unknown": "programme"},
    the_gathering="the gathering",
    participants=("{n} participant", "{n} participants"),
)

FI = Phrases(
    language=Language.FI,
    decimal=",",
    weekdays=("ma", "ti", "ke", "to", "pe", "la", "su"),
    months=("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"),
    date_format="{weekday} {day}.{month}.{year} klo {time} ({tz})",
    time_zone="Suomen aikaa",
    not_set="ei tiedossa",
    units={
        "day": ("päivä", "päivää"),
        "hour": ("tunti", "tuntia"),
        "minute": ("minuutti", "minuuttia"),
        "second": ("sekunti", "sekuntia"),
    },
    cadence="{span} välein",
    cadence_units={
        "day": ("päivän", "päivän"),
        "hour": ("tunnin", "tunnin"),
        "minute": ("minuutin", "minuutin"),
        "second": ("sekunnin", "sekunnin"),
    },
    cadence_unknown="noin kerran kuukaudessa",
    stages={
        Stage.APPLIED: "hakemus vastaanotettu",
        Stage.AWAITING_MATCH: "odottaa mentoria",
        Stage.AWAITING_SIGNATURES: "sopimus odottaa molempien allekirjoitusta",
        Stage.ACTIVE: "käynnissä",
        Stage.PAUSED: "tauolla",
        Stage.CLOSING_REVIEW: "loppuarviointi",
        Stage.COMPLETED: "päättynyt onnistuneesti",
        Stage.WITHDRAWN: "päättynyt: mentoroitava vetäytyi",
        Stage.REJECTED: "hakemusta ei hyväksytty",
        Stage.ENDED_EARLY: "päättynyt ennenaikaisesti",
    },
    not_started="ei alkanut",
    parties={"mentee": "mentoroitava", "mentor": "mentori"},
    nobody="ei kukaan",
    and_="ja",
    to_be_agreed="sovitaan yhdessä",
    counterpart_labels={"mentee": "mentorisi", "mentor": "mentoroitavasi", "pair": "pari"},
    counterpart_described="{name}",
    no_mentor="ei mentoria",
    your_field="oma alasi",
    one_of_you="toinen teistä",
    pause_length_unknown="sovitun ajan",
    no_reason="syytä ei kirjattu",
    until="{when} asti",
    until_further_notice="toistaiseksi, kunnes koordinaattori ilmoittaa toisin",
    hours_account=(
        "Tähän mennessä on kirjattu {meeting_hours} paritapaamisia ({meetings}) ja {gathering_hours} ryhmä- ja "
        "yhteistapaamisia, yhteensä {total}. Ohjelman tavoite on {low}-{high} h (noin 2-3 työpäivää)."
    ),
    hours_short="Vähimmäistavoitteeseen ({low} h) on vielä matkaa {short}.",
    hours_within="Olette tavoitteen sisällä.",
    hours_above="Olette ylittäneet tavoitteen: hienoa, mutta muista huolehtia myös omasta ajastasi.",
    meetings_word=("{n} tapaaminen", "{n} tapaamista"),
    checkin_answer="miten menee: {score}/5; tavataanko suunnitellusti: {as_planned}",
    yes_no=("kyllä", "ei"),
    checkin_party="osapuoli",
    next_sign_yourself="Seuraava vaihe: allekirjoita mentorointisopimus viimeistään {due}.",
    next_sign_others="Seuraava vaihe: sopimus odottaa allekirjoitusta (allekirjoittamatta: {parties}), "
    "viimeistään {due}.",
    next_meet=(
        "Seuraava vaihe: pitäkää seuraava paritapaaminen viimeistään {due} ja kirjatkaa se jälkikäteen "
        "(päivämäärä, kesto ja käsitellyt aiheet)."
    ),
    next_review_yourself="Seuraava vaihe: lähetä loppuarviointisi viimeistään {due}.",
    next_review_others="Seuraava vaihe: loppuarviointi odottaa vielä (puuttuu: {parties}), viimeistään {due}.",
    next_paused="Mentorointikumppanuus on tauolla {until}; tapaamisia ei odoteta ennen kuin se jatkuu.",
    next_awaiting_match="Seuraava vaihe: ohjelman koordinaattori etsii sinulle mentoria; kuulet meistä pian.",
    next_other="Mentorointikumppanuuden tila on nyt: {stage}.",
    nudge_by_coordinator=(
        "Ohjelman koordinaattori pyysi meitä muistuttamaan, että mentorointikumppanuutenne pysyisi liikkeessä. "
        "Koordinaattorin viesti: {reason}"
    ),
    nudge_reminder=(
        "Ystävällinen muistutus EntryPointilta: seuraavan tapaamisesi parisi ({counterpart}) kanssa piti olla "
        "viimeistään {due}, emmekä ole vielä nähneet sitä kirjattuna. Jos olette jo tavanneet, kirjaa "
        "tapaaminen (päivämäärä, kesto ja käsitellyt aiheet), jotta se lasketaan mukaan."
    ),
    roles={"mentee": "mentoroitava", "mentor": "mentori", "coordinator": "koordinaattori"},
    gathering_kinds={"group": "teemaryhmän", "collective": "koko ohjelman yhteinen", "unknown": "ohjelman"},
    the_gathering="tapaaminen",
    participants=("{n} osallistuja", "{n} osallistujaa"),
)

SV = Phrases(
    language=Language.SV,
    decimal=",",
    weekdays=("mån", "tis", "ons", "tors", "fre", "lör", "sön"),
    months=("1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "11", "12"),
    date_format="{weekday} {day}.{month}.{year} kl. {time} ({tz})",
    time_zone="finsk tid",
    not_set="inte angivet",
    units={
        "day": ("dag", "dagar"),
        "hour": ("timme", "timmar"),
        "minute": ("minut", "minuter"),
        "second": ("sekund", "sekunder"),
    },
    cadence="med {span} mellanrum",
    cadence_units={
        "day": ("dags", "dagars"),
        "hour": ("timmes", "timmars"),
        "minute": ("minuts", "minuters"),
        "second": ("sekunds", "sekunders"),
    },
    cadence_unknown="ungefär en gång i månaden",
    stages={
        Stage.APPLIED: "ansökan mottagen",
        Stage.AWAITING_MATCH: "väntar på en mentor",
        Stage.AWAITING_SIGNATURES: "avtalet väntar på båda underskrifterna",
        Stage.ACTIVE: "aktivt",
        Stage.PAUSED: "pausat",
        Stage.CLOSING_REVIEW: "slututvärdering",
        Stage.COMPLETED: "slutfört",
        Stage.WITHDRAWN: "avslutat: adepten drog sig ur",
        Stage.REJECTED: "ansökan inte godkänd",
        Stage.ENDED_EARLY: "avslutat i förtid",
    },
    not_started="inte påbörjat",
    parties={"mentee": "adepten", "mentor": "mentorn"},
    nobody="ingen",
    and_="och",
    to_be_agreed="bestäms tillsammans",
    counterpart_labels={"mentee": "din mentor", "mentor": "din adept", "pair": "paret"},
    counterpart_described="{name} ({label})",
    no_mentor="ingen",
    your_field="ditt område",
    one_of_you="en av er",
    pause_length_unknown="den överenskomna tiden",
    no_reason="inget skäl angavs",
    until="fram till {when}",
    until_further_notice="tills vidare, tills din koordinator meddelar något annat",
    hours_account=(
        "Hittills har {meeting_hours} i parträffar ({meetings}) och {gathering_hours} i grupp- och "
        "gemensamma träffar registrerats: {total} sammanlagt, mot programmets mål på {low}-{high} h "
        "(ungefär 2-3 arbetsdagar)."
    ),
    hours_short="Det är {short} kvar till minimimålet på {low} h.",
    hours_within="Det ligger inom målet.",
    hours_above="Det är över målet: bra jobbat, och tänk också på din egen tid.",
    meetings_word=("{n} träff", "{n} träffar"),
    checkin_answer="hur det går: {score} av 5; träffas som planerat: {as_planned}",
    yes_no=("ja", "nej"),
    checkin_party="parten",
    next_sign_yourself="Nästa steg: underteckna mentorskapsavtalet senast {due}.",
    next_sign_others="Nästa steg: avtalet väntar på en underskrift av {parties}, senast {due}.",
    next_meet=(
        "Nästa steg: håll er nästa parträff senast {due} och registrera den efteråt (datum, längd och de ämnen "
        "ni tog upp)."
    ),
    next_review_yourself="Nästa steg: skicka in din slututvärdering senast {due}.",
    next_review_others="Nästa steg: slututvärderingen väntar på {parties}, senast {due}.",
    next_paused="Mentorskapet är pausat {until}; inga träffar väntas förrän det fortsätter.",
    next_awaiting_match="Nästa steg: programmets koordinator söker en mentor åt dig; du hör av oss.",
    next_other="Mentorskapets läge är nu: {stage}.",
    nudge_by_coordinator=(
        "Din programkoordinator har bett oss påminna dig om att hålla ert mentorskap i gång, med följande "
        "meddelande: {reason}"
    ),
    nudge_reminder=(
        "En vänlig påminnelse från EntryPoint: er nästa parträff med {counterpart} skulle ha hållits senast {due}, "
        "och vi har ännu inte sett den registreras. Om ni redan har träffats, registrera träffen (datum, längd och "
        "de ämnen ni tog upp) så att den räknas."
    ),
    roles={"mentee": "adept", "mentor": "mentor", "coordinator": "koordinator"},
    gathering_kinds={"group": "temagruppens", "collective": "hela programmets gemensamma", "unknown": "programmets"},
    the_gathering="träffen",
    participants=("{n} deltagare", "{n} deltagare"),
)

PHRASES: dict[Language, Phrases] = {p.language: p for p in (EN, FI, SV)}


def phrases(language: Language | str | None) -> Phrases:
    """The words of ``language`` (English when None)."""
    return PHRASES[Language(language) if language else Language.EN]


def number(value: float, p: Phrases) -> str:
    """``1.5`` in English, ``1,5`` in Finnish and Swedish."""
    return f"{value:g}".replace(".", p.decimal)


def hours(value: float, p: Phrases = EN) -> str:
    return f"{number(value, p)} h"


def duration(span: timedelta, p: Phrases = EN, units: dict[str, tuple[str, str]] | None = None) -> str:
    """``30 days``, ``1 day``, ``12 hours``, ``1.5 hours``, ``45 seconds``: the largest unit that fits."""
    words = units or p.units
    seconds = span.total_seconds()
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = round(seconds / size, 1)
            return f"{number(count, p)} {words[unit][0 if count == 1 else 1]}"
    return f"{number(seconds, p)} {words['second'][0 if seconds == 1 else 1]}"


def date_time(local: datetime, p: Phrases, tz_name: str | None = None) -> str:
    """A local date and time for people: ``Mon 2 Mar 2026 10:00 (Finnish time)``, ``ma 2.3.2026 klo 10.00``."""
    clock = f"{local:%H:%M}" if p.language == Language.EN else f"{local:%H.%M}"
    return p.date_format.format(
        weekday=p.weekdays[local.weekday()],
        day=local.day,
        month=p.months[local.month - 1],
        year=local.year,
        time=clock,
        tz=tz_name or p.time_zone,
    )


def counted(n: int, forms: tuple[str, str]) -> str:
    return forms[0 if n == 1 else 1].format(n=n)
