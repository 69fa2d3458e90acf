"""The rows of a table page written by Python, not by Jinja: the same bytes, a fraction of the time.

A table page of 100 rows has 1,500 to 2,500 cells. Datasette's ``_table.html`` writes each through
Jinja (an attribute look-up for the column, the ``to_css_class`` filter, the type, the value
escaped), and the map page first rebuilt every row without its ``popup`` column with Jinja's
``rejectattr``: together the larger part of a table page's time. Here:

- ``templates/_table.html`` asks ``lean_table()`` for the table, and includes Datasette's own
  ``_table.html`` when it answers None: in Jinja's async mode (Datasette's own rendering,
  which ``leftbehind/site/plain_templates.py`` leaves some pages to), without rows, or
  without the site's plugins;
- ``lean_table`` renders Datasette's ``_table.html`` itself, with the same context but one
  empty row (its header, its wrapper and its "0 records" logic stay Datasette's), and puts the
  rows, written as that template writes them, in place of the empty one. Columns named in
  ``hidden_columns`` are left out of the rows and the header: the map page's template
  (``_table-table-leftbehind-left_behind_neighbourhoods.html``) hides ``popup`` so, where it
  rebuilt every row with Jinja's ``rejectattr``. When Datasette's template does not
  write the empty row as expected (another Datasette version), it answers None and Jinja writes
  the table as before.

tests/test_lean_table.py renders every table, view and row page both ways and compares them
byte for byte.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import markupsafe
from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils import await_me_maybe, format_bytes, is_url, path_from_row_pks, tilde_encode, truncate_url
from datasette.views import table as table_view
from datasette.views.base import ureg
from datasette.views.table import LINK_WITH_LABEL, LINK_WITH_VALUE, Row
from jinja2 import pass_context
from markupsafe import Markup, escape
try:  # pluggy's own caller: only when the hook runs through it may this module call the functions itself
    from pluggy._callers import _multicall
except ImportError:  # (a pluggy that moved it: every cell goes through pluggy, as Datasette does)
    _multicall = None

datasette_display_columns_and_rows = table_view.display_columns_and_rows  # before use_lean_cells()

DATASETTE_TABLE = "default:_table.html"
# How Datasette 0.65's _table.html writes its rows (autoescape on, Jinja's default whitespace).
ROWS_START, ROWS_END = "\n        ", "\n        "
ROW_START, ROW_END = "\n            <tr>\n                ", "\n            </tr>\n        "
CELL_START, CELL_END = '\n                    <td class="col-{css} type-{kind}">', "</td>\n                "


def html_text(value) -> str:
    """``value`` as Jinja's autoescape writes it: markup as it is, anything else escaped (most
    cells, numbers and plain words, need no escaping; checking is quicker than escaping)."""
    if type(value) is str:
        text = value
    elif isinstance(value, Markup):
        return str.__str__(value)
    elif hasattr(value, "__html__"):
        return str.__str__(Markup(value.__html__()))
    else:
        text = str(value)
    if "&" in text or "<" in text or ">" in text or '"' in text or "'" in text:
        return str.__str__(escape(text))
    return text


def rows_html(rows, hidden: frozenset[str], css_class) -> str:
    """Every row's ``<tr>``, as Datasette's ``_table.html`` writes it, without the ``hidden`` columns."""
    parts = [ROWS_START]
    starts: dict[tuple[str, str], str] = {}  # (column, type) -> the cell's start tag, written once
    for row in rows:
        parts.append(ROW_START)
        for cell in row:
            column = cell["column"]
            if column in hidden:
                continue
            key = (column, cell["value_type"])
            start = starts.get(key)
            if start is None:
                start = starts[key] = CELL_START.format(css=html_text(css_class(column)), kind=html_text(key[1]))
            parts.append(start + html_text(cell["value"]) + CELL_END)
        parts.append(ROW_END)
    parts.append(ROWS_END)
    return "".join(parts)


@lru_cache(maxsize=None)
def empty_body() -> str:
    """``<tbody>`` as Datasette's template writes it for one row without cells."""
    return "<tbody>" + rows_html([[]], frozenset(), str) + "</tbody>"


@pass_context
def lean_table(context, hidden_columns=()) -> Markup | None:
    """The table Datasette's ``_table.html`` would write for this context (with its ``display_rows``
    and ``display_columns`` less the ``hidden_columns``), or None to let Jinja write it."""
    environment = context.environment
    rows = context.get("display_rows")
    if environment.is_async or not rows:
        return None
    hidden = frozenset(hidden_columns)
    shell_context = context.get_all()
    shell_context["display_rows"] = [[]]
    if hidden:
        shell_context["display_columns"] = [c for c in context.get("display_columns") or [] if c["name"] not in hidden]
    shell = environment.get_template(DATASETTE_TABLE).render(shell_context)
    before, found, after = shell.partition(empty_body())
    if not found:
        return None
    body = rows_html(rows, hidden, environment.filters["to_css_class"])
    return Markup(before + "<tbody>" + body + "</tbody>" + after)


# How Datasette 0.65's query.html writes a query's rows (a canned query's page, or ?sql=).
QUERY_TEMPLATE = "query.html"
QUERY_ROWS_START, QUERY_ROWS_END = "\n    ", "\n    "
QUERY_ROW_START, QUERY_ROW_END = "\n        <tr>\n            ", "\n        </tr>\n    "
QUERY_CELL_START, QUERY_CELL_END = '\n                <td class="col-{css}">', "</td>\n            "


def query_rows_html(columns: list, rows, css_class) -> str:
    """Every row's ``<tr>``, as Datasette's ``query.html`` writes them (``zip(columns, row)``)."""
    starts = [QUERY_CELL_START.format(css=html_text(css_class(column))) for column in columns]
    parts = [QUERY_ROWS_START]
    for row in rows:
        parts.append(QUERY_ROW_START)
        for start, value in zip(starts, row):
            parts.append(start + html_text(value) + QUERY_CELL_END)
        parts.append(QUERY_ROW_END)
    parts.append(QUERY_ROWS_END)
    return "".join(parts)


def render_plainly(template, context: dict) -> str:
    """``template.render(context)``; for a query page, with its rows written by ``query_rows_html``.

    The page is rendered with as many rows as it has, each without cells (its heading counts
    them), and the rows are put in place of those empty ones. When the page does not hold them
    exactly once as ``query.html`` writes them (another template), it is rendered as it is.
    """
    rows, columns = context.get("display_rows"), context.get("columns")
    if template.name != QUERY_TEMPLATE or not rows or type(rows) is not list or type(columns) is not list:
        return template.render(context)
    empty = [()] * len(rows)
    html = template.render({**context, "display_rows": empty})
    marker = "<tbody>" + query_rows_html(columns, empty, str) + "</tbody>"
    before, found, after = html.partition(marker)
    if not found or marker in after:
        return template.render(context)
    body = query_rows_html(columns, rows, template.environment.filters["to_css_class"])
    return before + "<tbody>" + body + "</tbody>" + after


@hookimpl
def extra_template_vars(view_name: str) -> dict[str, Any]:
    if view_name in ("table", "row"):
        return {"lean_table": lean_table}
    return {}


# -- The cells: Datasette's display_columns_and_rows, asking render_cell only where a plugin may answer.

ANSWERS = "leftbehind_answers"  # attribute of a render_cell function: (datasette, database, table, column) -> bool


def column_renderers(datasette, database: str, table: str, columns: list[str]) -> dict[str, list] | None:
    """column -> the render_cell functions to call for its cells, in pluggy's order (each with the
    names of the arguments it takes); None when only pluggy itself may call them (a wrapper, keyword-only
    arguments, or pluggy's call monitoring).

    A function marked with ``ANSWERS`` is left out for the columns it says it never renders
    (``cells.render_cell``, the scoped ``render_markdown``): their answer there is always None,
    which Datasette would skip. Every other plugin's is called for every cell, as pluggy calls it.
    """
    implementations = called_directly(pm.hook.render_cell.get_hookimpls())
    if implementations is None or not pluggy_calls_plainly():
        return None
    renderers: dict[str, list] = {}
    for column in columns:
        renderers[column] = [
            (i.function, i.argnames) for i in implementations
            if getattr(i.function, ANSWERS, None) is None or getattr(i.function, ANSWERS)(datasette, database, table, column)
        ]
    return renderers


def pluggy_calls_plainly() -> bool:
    """Whether pluggy's hooks run through its own caller: not under its call monitoring (tracing)."""
    return _multicall is not None and getattr(pm, "_inner_hookexec", None) is _multicall


def called_directly(hook_implementations: list) -> list | None:
    """The implementations in the order pluggy calls them (the last registered first), when pluggy
    would do no more than call each in turn: None for a wrapper or keyword-only arguments, when
    only pluggy itself may call them. (Whether pluggy is monitored is ``pluggy_calls_plainly``.)"""
    implementations = list(reversed(hook_implementations))
    if any(i.hookwrapper or i.wrapper or i.kwargnames for i in implementations):
        return None
    return implementations


class DirectRenderCell:
    """``pm.hook.render_cell`` for every caller (a query page's cells, a row page's), calling the
    implementations as pluggy's ``_multicall`` does, without its per-call work: a query page
    of 40 rows makes some 200 calls, and pluggy's own machinery was a fifth of its CPU.

    Everything but the call is pluggy's hook caller's own (registering and listing plugins
    reach it through this). Which functions to call is decided again whenever its list of
    implementations changes; when pluggy would do more than call them (``called_directly``
    says None, the hook's specification gives defaults, or pluggy is monitored), or a caller
    leaves out an argument, the call is pluggy's.
    """

    def __init__(self, caller) -> None:
        self.caller = caller
        self.seen: list | None = None
        self.plan: list | None = None

    def __getattr__(self, name: str):
        return getattr(self.caller, name)

    def __call__(self, **kwargs):
        if self.caller._hookimpls != self.seen:
            self.seen = list(self.caller._hookimpls)
            direct = called_directly(self.seen)
            spec = self.caller.spec
            plain = direct is not None and spec is not None and not spec.kwargnames
            self.plan = [(i.function, i.argnames) for i in direct] if plain else None
        if self.plan is None or not pluggy_calls_plainly():
            return self.caller(**kwargs)
        results = []
        try:
            for function, argnames in self.plan:
                result = function(*[kwargs[name] for name in argnames])
                if result is not None:
                    results.append(result)
        except KeyError:
            if all(name in kwargs for _, argnames in self.plan for name in argnames):
                raise  # (the implementation's own)
            return self.caller(**kwargs)  # an argument left out: pluggy's call says so
        return results


async def display_columns_and_rows(
    datasette,
    database_name,
    table_name,
    description,
    rows,
    link_column=False,
    truncate_cells=0,
    sortable_columns=None,
):
    """Datasette 0.65.5's ``display_columns_and_rows`` (datasette/views/table.py), cell for cell,
    with ``render_cell`` asked only where a plugin may answer (``column_renderers``) and what is
    the same for every cell of a column (its units) looked up once."""
    sortable_columns = sortable_columns or set()
    db = datasette.databases[database_name]
    table_metadata = datasette.table_metadata(database_name, table_name)
    column_descriptions = table_metadata.get("columns") or {}
    column_details = {col.name: col for col in await db.table_column_details(table_name)}
    pks = await db.primary_keys(table_name)
    pks_for_display = pks
    if not pks_for_display:
        pks_for_display = ["rowid"]

    columns = []
    for r in description:
        if r[0] == "rowid" and "rowid" not in column_details:
            type_ = "integer"
            notnull = 0
        else:
            type_ = column_details[r[0]].type
            notnull = column_details[r[0]].notnull
        columns.append(
            {
                "name": r[0],
                "sortable": r[0] in sortable_columns,
                "is_pk": r[0] in pks_for_display,
                "type": type_,
                "notnull": notnull,
                "description": column_descriptions.get(r[0]),
            }
        )

    column_to_foreign_key_table = {fk["column"]: fk["other_table"] for fk in await db.foreign_keys_for_table(table_name)}

    renderers = column_renderers(datasette, database_name, table_name, [c["name"] for c in columns])
    units = table_metadata.get("units", {})
    cell_rows = []
    base_url = datasette.setting("base_url")
    for row in rows:
        cells = []
        # Unless we are a view, the first column is a link - either to the rowid
        # or to the simple or compound primary key
        if link_column:
            is_special_link_column = len(pks) != 1
            pk_path = path_from_row_pks(row, pks, not pks, False)
            cells.append(
                {
                    "column": pks[0] if len(pks) == 1 else "Link",
                    "value_type": "pk",
                    "is_special_link_column": is_special_link_column,
                    "raw": pk_path,
                    "value": markupsafe.Markup(
                        '<a href="{table_path}/{flat_pks_quoted}">{flat_pks}</a>'.format(
                            base_url=base_url,
                            table_path=datasette.urls.table(database_name, table_name),
                            flat_pks=str(markupsafe.escape(pk_path)),
                            flat_pks_quoted=path_from_row_pks(row, pks, not pks),
                        )
                    ),
                }
            )

        for value, column_dict in zip(row, columns):
            column = column_dict["name"]
            if link_column and len(pks) == 1 and column == pks[0]:
                # If there's a simple primary key, don't repeat the value as it's
                # already shown in the link column.
                continue

            # First let the plugins have a go: those that may answer for this column.
            plugin_display_value = None
            if renderers is None:
                candidates = pm.hook.render_cell(
                    row=row, value=value, column=column, table=table_name, database=database_name, datasette=datasette
                )
            elif renderers[column]:
                arguments = {
                    "row": row, "value": value, "column": column, "table": table_name,
                    "database": database_name, "datasette": datasette,
                }
                candidates = []
                for function, argnames in renderers[column]:
                    result = function(*[arguments[name] for name in argnames])
                    if result is not None:
                        candidates.append(result)
            else:
                candidates = ()
            for candidate in candidates:
                candidate = await await_me_maybe(candidate)
                if candidate is not None:
                    plugin_display_value = candidate
                    break
            if plugin_display_value:
                display_value = plugin_display_value
            elif isinstance(value, bytes):
                formatted = format_bytes(len(value))
                display_value = markupsafe.Markup(
                    '<a class="blob-download" href="{}"{}>&lt;Binary:&nbsp;{:,}&nbsp;byte{}&gt;</a>'.format(
                        datasette.urls.row_blob(
                            database_name,
                            table_name,
                            path_from_row_pks(row, pks, not pks),
                            column,
                        ),
                        (' title="{}"'.format(formatted) if "bytes" not in formatted else ""),
                        len(value),
                        "" if len(value) == 1 else "s",
                    )
                )
            elif isinstance(value, dict):
                # It's an expanded foreign key - display link to other row
                label = value["label"]
                value = value["value"]
                # The table we link to depends on the column
                other_table = column_to_foreign_key_table[column]
                link_template = LINK_WITH_LABEL if (label != value) else LINK_WITH_VALUE
                display_value = markupsafe.Markup(
                    link_template.format(
                        database=database_name,
                        base_url=base_url,
                        table=tilde_encode(other_table),
                        link_id=tilde_encode(str(value)),
                        id=str(markupsafe.escape(value)),
                        label=str(markupsafe.escape(label)) or "-",
                    )
                )
            elif value in ("", None):
                display_value = markupsafe.Markup("&nbsp;")
            # A number's text never starts with http:// (SQLite gives int, float, str, bytes or None).
            elif not isinstance(value, (int, float)) and is_url(str(value).strip()):
                display_value = markupsafe.Markup(
                    '<a href="{url}">{truncated_url}</a>'.format(
                        url=markupsafe.escape(value.strip()),
                        truncated_url=markupsafe.escape(truncate_url(value.strip(), truncate_cells)),
                    )
                )
            elif column in units and value != "":
                # Interpret units using pint
                value = value * ureg(units[column])
                # Pint uses floating point which sometimes introduces errors in the compact
                # representation, which we have to round off to avoid ugliness. In the vast
                # majority of cases this rounding will be inconsequential. I hope.
                value = round(value.to_compact(), 6)
                display_value = markupsafe.Markup(f"{value:~P}".replace(" ", "&nbsp;"))
            else:
                display_value = str(value)
                if truncate_cells and len(display_value) > truncate_cells:
                    display_value = display_value[:truncate_cells] + "\u2026"

            cells.append(
                {
                    "column": column,
                    "value": display_value,
                    "raw": value,
                    "value_type": ("none" if value is None else str(type(value).__name__)),
                }
            )
        cell_rows.append(Row(cells))

    if link_column:
        # Add the link column header.
        # If it's a simple primary key, we have to remove and re-add that column name at
        # the beginning of the header row.
        first_column = None
        if len(pks) == 1:
            columns = [col for col in columns if col["name"] != pks[0]]
            first_column = {
                "name": pks[0],
                "sortable": len(pks) == 1,
                "is_pk": True,
                "type": column_details[pks[0]].type,
                "notnull": column_details[pks[0]].notnull,
            }
        else:
            first_column = {
                "name": "Link",
                "sortable": False,
                "is_pk": False,
                "type": "",
                "notnull": 0,
            }
        columns = [first_column] + columns
    return columns, cell_rows


_installed = False


def use_lean_cells() -> None:
    """Put ``display_columns_and_rows`` in place of Datasette's for its table pages (once per
    process; its row pages import their own). Datasette's is kept as ``datasette_display_columns_and_rows``."""
    global _installed
    if _installed:
        return
    _installed = True
    table_view.display_columns_and_rows = display_columns_and_rows
    if not isinstance(pm.hook.render_cell, DirectRenderCell):
        pm.hook.render_cell = DirectRenderCell(pm.hook.render_cell)
