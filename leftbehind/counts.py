"""Every count the site's prose states, one query each: README, the home page and About.

README cannot run code, so ``leftbehind.readme`` writes these counts into it from the built
database; the home page and About read them from the served database when the server starts
(``leftbehind/site/site_facts.py``). Both take them from here, so a count is defined once.
Each query gives one value: a number, or text (a list of tied ranks).
"""

from __future__ import annotations

COUNTS: dict[str, str] = {
    "wards": "select count(*) from wards",
    "left_behind_2019": "select wards from left_behind_sets where id = '2019'",
    "left_behind_2020": "select wards from left_behind_sets where id = '2020'",
    "flagged_wards": "select count(*) from wards where left_behind_2019 = 1 or left_behind_2020 = 1",
    "outlines": "select count(*) from ward_outlines",
    "points_inside_outlines": "select sum(point_inside) from ward_outlines",
    "lsoa_centroid_points": (
        "select count(*) from wards where location_method = 'population-weighted mean of LSOA centroids'"
    ),
    "low_precision_points": "select count(*) from wards where location_precision like 'rounded%'",
    "wards_without_population": "select count(*) from wards where population is null",
    "renamed_councils_2020": "select count(*) from wards where left_behind_2020 = 1 and lad24_name != lad_name",
    "overlapping_2024_wards_2020": "select count(*) from wards where left_behind_2020 = 1 and wards24_count >= 2",
    "imd_share_zero_2020": (
        "select count(*) from wards where left_behind_2020 = 1 and population_share_in_imd_decile_1_lsoas = 0"
    ),
    "cni_rank_ties": (
        "select group_concat(printf('%,d', cni_rank), ', ') from "
        "(select cni_rank from wards group by cni_rank having count(*) > 1 order by cni_rank)"
    ),
    "engaged_community_rank_ties": (
        "select group_concat(printf('%,d', engaged_community_rank), ', ') from (select engaged_community_rank "
        "from wards group by engaged_community_rank having count(*) > 1 order by engaged_community_rank)"
    ),
    # Deprivation by ward, the definition reproduced, the indicative 2025 re-run (issue 23).
    "cni2019_line": "select line from ten_percent_lines where id = 'cni2019'",
    "imd2019_line": "select line from ten_percent_lines where id = 'imd2019'",
    "imd2019_wards_ranked": "select wards_ranked from ten_percent_lines where id = 'imd2019'",
    "reproduced_2020": "select count(*) from wards where reproduced_2020 = 1",
    "reproduced_official_2020": "select count(*) from wards where reproduced_2020 = 1 and left_behind_2020 = 1",
    "official_not_reproduced_2020": (
        "select count(*) from wards where left_behind_2020 = 1 and reproduced_2020 = 0"
    ),
    "reproduced_not_official_2020": (
        "select count(*) from wards where left_behind_2020 = 0 and reproduced_2020 = 1"
    ),
    # The same test with the IMD line drawn at a tenth of all wards, those without a figure too.
    "reproduced_2020_line_of_all_wards": (
        "select count(*) from wards where cni_rank <= (select line from ten_percent_lines where id = 'cni2019') "
        "and imd2019_ward_rank <= (select count(*) / 10 from wards)"
    ),
    "indicative_2025": "select count(*) from wards where indicative_2025 = 1",
    "left_behind_2020_cni2023": (
        "select cni2023_within_line from left_behind_2020_in_2025_by_region where region_name = 'England'"
    ),
    "left_behind_2020_imd2025": (
        "select imd2025_within_line from left_behind_2020_in_2025_by_region where region_name = 'England'"
    ),
    "left_behind_2020_indicative_2025": (
        "select indicative_2025 from left_behind_2020_in_2025_by_region where region_name = 'England'"
    ),
    "source_corrections": "select count(distinct correction_id) from source_corrections",
}
