"""Datasette's templates rendered without Jinja's async mode: the same pages, in about half the time.

Datasette renders every template in Jinja's async mode, where each piece of output and each
call is awaited: about twice the time of the same template rendered plainly, for every HTML
page (a table page of 100 rows writes 20,000 pieces). Async mode exists so a template may call
an async function; the site's templates and Datasette's call only a few, and none needs to run
while the template does:

- Datasette's own: ``crumb_items`` (the breadcrumbs, asked for the page's database and table),
  ``menu_links``, ``database_actions`` and ``table_actions`` (plugin hooks that take no
  arguments);
- the site's: ``neighbourhoods_map`` (no arguments), and a people's page's own data
  (``ward_page(code)`` and the like), which ``leftbehind/site/pages/row_view.py`` reads
  before rendering and hands over under ``READY``.

So ``render_template`` (put in place of Datasette's on each instance at start-up) builds the
context exactly as Datasette's ``render_template`` (0.65) does, calls every hook as it does,
awaits those functions first (``crumb_items`` for the page's database and table, the others
with no arguments), and renders the same template, from the same loader with the same
filters, plainly. A page whose context holds any other async function, or that asks for
Datasette's template debugging (``?_context=1``), is rendered by Datasette as before.
tests/test_plain_templates.py renders every page type both ways and compares them byte for byte.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Awaitable
from typing import Any

from datasette import hookimpl
from datasette.plugins import pm
from datasette.utils import await_me_maybe, display_actor, format_bytes
from jinja2 import Template
from markupsafe import Markup

from leftbehind.site import lean_table

READY = "_leftbehind_ready"  # context key: name -> a plain function giving what the async one would
# Context key: true when the view vouches that nothing in the context it passes is awaitable (its
# values are not searched; what hooks add still is).
PLAIN = "_leftbehind_plain"


def plain_environment(datasette):
    """Datasette's Jinja environment, not async: the same loader, filters, tests and extensions."""
    environment = getattr(datasette, "_leftbehind_plain_jinja", None)
    if environment is None:
        environment = datasette.jinja_env.overlay(enable_async=False)
        environment.getattr = keys_first(environment.getattr)
        datasette._leftbehind_plain_jinja = environment
    return environment


# The attributes a dict has: ``{{ page.items }}`` is the method, as Jinja has it, not the key.
DICT_ATTRIBUTES = frozenset(dir(dict))


def keys_first(getattr_):
    """Jinja's ``Environment.getattr`` (``{{ ward.url }}``), answered for a plain dict by its key
    without first failing to find an attribute (a raised exception, hundreds a page).

    The same answers: Jinja tries the attribute, then the key; a ``dict`` itself has no
    attribute but those of its type (``DICT_ATTRIBUTES``), so for any other name the attribute
    lookup can only fail. Those names, a missing key and every other type go to Jinja's own."""

    def get(obj: Any, attribute: str) -> Any:
        if type(obj) is dict and attribute not in DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except KeyError:
                pass
        return getattr_(obj, attribute)

    return get


# Values that are never awaitable: most of a page's context, checked at once.
PLAIN_TYPES = (str, int, float, bool, bytes, type(None))


# Classes none of whose values can be awaited or be an async function, found as values are checked;
# from the start, built-in functions and plain classes (``zip``), which inspect never takes for either.
NEVER_ASYNC: set[type] = {*PLAIN_TYPES, types.BuiltinFunctionType, types.BuiltinMethodType, type}


def never_async(kind: type) -> bool:
    """Whether no value of ``kind`` can be an async function or awaitable: it cannot be called
    (``inspect.iscoroutinefunction`` looks only at callables: functions, methods, partials),
    is not a generator or coroutine, and is not ``Awaitable`` (has no ``__await__``)."""
    callable_values = any("__call__" in base.__dict__ for base in kind.__mro__)
    return not callable_values and not issubclass(kind, (types.GeneratorType, types.CoroutineType, Awaitable))


def is_async(value: Any) -> bool:
    """An async function or an awaitable; decided once per class for the classes that can be neither
    (a table page's context holds hundreds of rows, each checked)."""
    kind = type(value)
    if kind in NEVER_ASYNC:
        return False
    if kind is types.FunctionType:  # what inspect.iscoroutinefunction reads of a plain function; never awaitable
        return bool(value.__code__.co_flags & inspect.CO_COROUTINE)
    if inspect.iscoroutinefunction(value) or inspect.isawaitable(value):
        return True
    if never_async(kind):
        NEVER_ASYNC.add(kind)
    return False


def takes_no_arguments(function) -> bool:
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return False
    return all(p.default is not p.empty or p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) for p in parameters)


# Classes whose values ``hides_async`` need not look at: never async, and not looked into.
LEAVES: set[type] = set(PLAIN_TYPES)


def hides_async(value: Any) -> bool:
    """Whether an async function or awaitable sits inside ``value`` (a dict or list, two levels down).

    A dict's or list's children that are all of classes known to be leaves (plain values, rows,
    markup) are passed over at once: a table page's context holds lists of hundreds of them."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, PLAIN_TYPES):
            LEAVES.add(type(item))
            continue
        if is_async(item):
            return True
        if not isinstance(item, (dict, list, tuple)):
            if type(item) in NEVER_ASYNC:
                LEAVES.add(type(item))
            continue
        if depth >= 2:
            continue
        children = list(item.values()) if isinstance(item, dict) else item[:100]
        kinds = {type(child) for child in children}
        # Passed over: children that are all leaves; or, one level above the last, children that
        # are all of classes never async (lists and dicts among them: they would not be looked into).
        if kinds <= LEAVES or (depth == 1 and kinds <= LEAVES | NEVER_ASYNC):
            continue
        stack += [(v, depth + 1) for v in children]
    return False


def returning(value):
    return lambda *args, **kwargs: value


async def render_template(datasette, render_async, templates, context=None, request=None, view_name=None):
    """``Datasette.render_template``, rendered plainly when the page allows (see the module's docstring)."""
    context = dict(context or {})
    ready = context.pop(READY, {})
    vouched = set(context) if context.pop(PLAIN, False) else set()
    if request is None or (request.args.get("_context") and datasette.setting("template_debug")):
        return await render_async(templates, context, request=request, view_name=view_name)
    environment = plain_environment(datasette)
    if isinstance(templates, Template):
        template = environment.get_template(templates.name)
    else:
        template = environment.select_template([templates] if isinstance(templates, str) else templates)
    # From here, Datasette 0.65's render_template, with the template rendered plainly.
    body_scripts = []
    for extra_script in pm.hook.extra_body_script(
        template=template.name, database=context.get("database"), table=context.get("table"),
        columns=context.get("columns"), view_name=view_name, request=request, datasette=datasette,
    ):
        extra_script = await await_me_maybe(extra_script)
        if isinstance(extra_script, dict):
            script, module = extra_script["script"], bool(extra_script.get("module"))
        else:
            script, module = extra_script, False
        body_scripts.append({"script": Markup(script), "module": module})
    extra_template_vars: dict[str, Any] = {}
    for extra_vars in pm.hook.extra_template_vars(
        template=template.name, database=context.get("database"), table=context.get("table"),
        columns=context.get("columns"), view_name=view_name, request=request, datasette=datasette,
    ):
        extra_vars = await await_me_maybe(extra_vars)
        assert isinstance(extra_vars, dict), f"extra_vars is of type {type(extra_vars)}"
        extra_template_vars.update(extra_vars)
    vouched -= extra_template_vars.keys()
    links = []
    for hook in pm.hook.menu_links(datasette=datasette, actor=request.actor, request=request):
        extra_links = await await_me_maybe(hook)
        if extra_links:
            links.extend(extra_links)
    crumbs = {}
    database, table = context.get("database"), context.get("table")
    for asked in ((None, None), (database, None), (database, table) if table else (None, None)):
        crumbs[asked] = await datasette._crumb_items(request, table=asked[1], database=asked[0])
    template_context = {
        **context,
        "request": request,
        "crumb_items": lambda request=None, database=None, table=None: crumbs[(database, table)],
        "urls": datasette.urls,
        "actor": request.actor,
        "menu_links": returning(links),
        "display_actor": display_actor,
        "show_logout": "ds_actor" in request.cookies and request.actor,
        "app_css_hash": datasette.app_css_hash(),
        "zip": zip,
        "body_scripts": body_scripts,
        "format_bytes": format_bytes,
        "show_messages": lambda: datasette._show_messages(request),
        "extra_css_urls": await datasette._asset_urls("extra_css_urls", template, context, request, view_name),
        "extra_js_urls": await datasette._asset_urls("extra_js_urls", template, context, request, view_name),
        "base_url": datasette.setting("base_url"),
        "csrftoken": request.scope["csrftoken"],
        **extra_template_vars,
        **ready,
    }
    for name, value in template_context.items():
        if name in ready or name in vouched or not is_async(value):
            continue
        if inspect.iscoroutinefunction(value) and takes_no_arguments(value):
            template_context[name] = returning(await value())
        else:  # an async function that needs arguments: only async mode can call it
            return await render_async(templates, context, request=request, view_name=view_name)
    if any(hides_async(value) for name, value in template_context.items() if name not in vouched):
        return await render_async(templates, context, request=request, view_name=view_name)
    try:
        return lean_table.render_plainly(template, template_context)
    except Exception:  # (breadcrumbs asked for another table, say): Datasette renders it, or says why not
        return await render_async(templates, context, request=request, view_name=view_name)


def install(datasette) -> None:
    """Put ``render_template`` in place of ``datasette``'s own (this instance only; again is harmless)."""
    if getattr(datasette, "_leftbehind_render_async", None) is not None:
        return
    render_async = datasette.render_template
    datasette._leftbehind_render_async = render_async

    async def render(templates, context=None, request=None, view_name=None):
        return await render_template(datasette, render_async, templates, context, request, view_name)

    datasette.render_template = render


@hookimpl
def startup(datasette):
    install(datasette)
