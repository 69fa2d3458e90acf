"""Names and structure for the markup Datasette and datasette-dashboards write themselves.

Registered by ``leftbehind.site.register()``. Two things, both
used by the templates in ``templates/``:

1. The filter ``accessible_controls``. Datasette 0.65 writes its table filters, the
   phone-only sort menu, the SQL editor, the column descriptions and its
   sub-headings inside its ``content`` block, with no smaller block to override.
   ``templates/table.html``, ``query.html`` and ``database.html`` pass that block's
   rendered HTML (``super()``) through this filter, which

   - names every filter control (WCAG 4.1.2): ``aria-label="Filter 1: column"``,
     ``"Filter 1: condition"``, ``"Filter 1: value"``, ``"New filter: ..."``;
   - names the sort menu shown on phones and the SQL editor's text area;
   - puts the scrolling column descriptions in a named region that takes keyboard
     focus, so they can be scrolled without a mouse (WCAG 2.1.1), folded in a
     ``<details>`` that is open on a wide screen and closed on a phone, where the
     rows should come first;
   - makes Datasette's ``<h3>`` sub-headings ``<h2>``: they follow the ``<h1>``
     directly (WCAG 1.3.1, headings in order); site.css keeps their size.

   Each rule matches Datasette's own markup exactly, so it changes nothing else;
   tests/test_accessible_markup.py checks every rule against pages Datasette renders,
   so an upgrade that changes the markup fails there, not silently.

2. The template prefix ``datasette-dashboards:``. datasette-dashboards' templates
   have no ``default:``-style name of their own, so a template of ours with the same
   name could only replace them, never extend them. This prefix lets
   ``templates/dashboard_view.html`` (and ``_chart``, ``_list``) extend the plugin's
   own templates and override their blocks, as ours do with Datasette's.
"""

from __future__ import annotations

import re
from pathlib import Path

from datasette import hookimpl
from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader
from markupsafe import Markup

DASHBOARDS_PREFIX = "datasette-dashboards"

FILTER_CONTROL = re.compile(r'<(?:select|input type="text") name="_filter_(column|op|value)(?:_(\d+))?"')
FILTER_PARTS = {"column": "column", "op": "condition", "value": "value"}
SORT_MENU = '<select name="_sort" id="sort_by"'
SQL_EDITOR = '<textarea id="sql-editor" name="sql"'
COLUMN_DESCRIPTIONS = re.compile(r'<dl class="column-descriptions">.*?</dl>', re.DOTALL)
SUB_HEADING = re.compile(r"<h3>(.*?)</h3>", re.DOTALL)


def _filter_label(match: re.Match) -> str:
    part, number = match.group(1), match.group(2)
    which = f"Filter {number}" if number else "New filter"
    return f'{match.group(0)} aria-label="{which}: {FILTER_PARTS[part]}"'


# Closes the <details> it sits in on a phone, as the page is parsed (before it is drawn).
FOLD_ON_PHONE = '<script>if (matchMedia("(max-width: 576px)").matches) document.currentScript.parentElement.open = false;</script>'


def _scroll_region(match: re.Match) -> str:
    return (
        f'<details class="lb-column-help" open>{FOLD_ON_PHONE}<summary>What each column holds</summary>'
        '<div class="lb-scroll-region lb-column-descriptions" role="region" tabindex="0" '
        f'aria-label="What each column holds">{match.group(0)}</div></details>'
    )


def accessible_controls(html: str) -> Markup:
    """Datasette's rendered ``content`` block with names for its controls and regions."""
    html = FILTER_CONTROL.sub(_filter_label, str(html))
    html = html.replace(SORT_MENU, SORT_MENU + ' aria-label="Sort rows by"')
    html = html.replace(SQL_EDITOR, SQL_EDITOR + ' aria-label="SQL query"')
    html = COLUMN_DESCRIPTIONS.sub(_scroll_region, html)
    html = SUB_HEADING.sub(r'<h2 class="lb-subheading">\1</h2>', html)
    return Markup(html)


def dashboards_templates() -> Path | None:
    """The folder of datasette-dashboards' own templates, if it is installed."""
    try:
        import datasette_dashboards
    except ImportError:
        return None
    folder = Path(datasette_dashboards.__file__).parent / "templates"
    return folder if folder.is_dir() else None


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["accessible_controls"] = accessible_controls
    env.globals["fold_on_phone"] = Markup(FOLD_ON_PHONE)
    folder = dashboards_templates()
    if folder is not None and isinstance(env.loader, ChoiceLoader):
        prefix = PrefixLoader({DASHBOARDS_PREFIX: FileSystemLoader(str(folder))}, delimiter=":")
        env.loader.loaders.append(prefix)
