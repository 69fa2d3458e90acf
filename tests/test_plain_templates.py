"""leftbehind/site/plain_templates.py: every page type rendered plainly is what Datasette's async rendering gives."""

from __future__ import annotations

from support.pages import page_types

from leftbehind.site import plain_templates


async def test_every_page_type_renders_plainly_as_datasette_renders_it(datasette, data, db_path, monkeypatch):
    """Each template the site renders is rendered both ways, with the same context, and compared."""
    monkeypatch.setenv("LEFTBEHIND_RESPONSE_CACHE", "off")
    await datasette.invoke_startup()
    assert datasette.render_template.__qualname__.startswith("install")
    compared: dict[str, list[bool]] = {}
    plain_render = plain_templates.render_template
    plainly = []
    original_render = plain_templates.plain_environment(datasette).get_template("base.html").__class__.render

    def noted_render(template, *args, **kwargs):
        plainly.append(template.name)
        return original_render(template, *args, **kwargs)

    async def both(ds, render_async, templates, context=None, request=None, view_name=None):
        ours = await plain_render(ds, render_async, templates, context, request, view_name)
        asked = {key: value for key, value in (context or {}).items() if key != plain_templates.READY}
        theirs = await render_async(templates, asked, request=request, view_name=view_name)
        name = getattr(templates, "name", None) or (templates if isinstance(templates, str) else templates[0])
        compared.setdefault(name, []).append(ours == theirs)
        return ours

    monkeypatch.setattr(plain_templates, "render_template", both)
    monkeypatch.setattr(type(plain_templates.plain_environment(datasette).get_template("base.html")), "render",
                        noted_render)
    for page in page_types(data, db_path):
        response = await datasette.client.get(page.path)
        assert response.status_code == page.status, page
    assert len(compared) > 12
    assert {name: results for name, results in compared.items() if not all(results)} == {}
    # Rendered plainly: all but the pages whose context needs async mode (a session's contents, the errors).
    assert set(compared) - set(plainly) <= {"row-leftbehind-sessions.html", "error.html"}, set(compared) - set(plainly)


def test_keys_first_answers_as_jinja_does():
    """``{{ x.name }}`` in the plain environment: the same value (or the same undefined) as Jinja's own
    ``Environment.getattr``, for dicts (keys, missing keys, keys named like dict methods) and for other objects."""
    from jinja2 import Environment

    environment = Environment(autoescape=True)
    fast = plain_templates.keys_first(environment.getattr)

    class Row(dict):
        status = "an attribute"

    class Thing:
        url = "/a"

    cases = [
        ({"url": "/a", "items": "a key"}, "url"), ({"url": "/a"}, "missing"), ({"items": "a key"}, "items"),
        ({"get": 1}, "get"), ({"__class__": 1}, "__class__"), (Row(status="a key"), "status"), (Thing(), "url"),
        (Thing(), "missing"), ("text", "upper"), ({1: "a"}, "1"),
    ]
    for obj, name in cases:
        ours, theirs = fast(obj, name), environment.getattr(obj, name)
        assert type(ours) is type(theirs), (obj, name)
        if callable(theirs):
            assert ours == theirs, (obj, name)  # the same bound method
        elif isinstance(theirs, environment.undefined):
            assert (ours._undefined_obj, ours._undefined_name) == (theirs._undefined_obj, theirs._undefined_name)
        else:
            assert ours == theirs, (obj, name)


async def test_the_plain_environment_finds_keys_first(datasette):
    await datasette.invoke_startup()
    environment = plain_templates.plain_environment(datasette)
    assert environment.getattr.__qualname__.startswith("keys_first")
    template = environment.from_string("{{ d.url }} {{ d.items is callable }} {{ d.missing is defined }}")
    assert template.render(d={"url": "/a&b", "items": "x"}) == "/a&amp;b True False"


def test_an_awaitable_is_found_among_rows_whatever_was_seen_before():
    """hides_async decides once per class what can never be async, and still finds what is."""
    import asyncio

    from datasette.views.table import Row
    from markupsafe import Markup

    async def later():
        return 1

    class Awaitable:
        def __await__(self):
            yield

    rows = [Row([{"column": "a", "value": Markup("<b>x</b>")}]) for _ in range(50)]
    # Each value of a page's context is looked into two levels down.
    context = {"display_rows": rows, "rows": [[1, "a", None]] * 50, "names": {"a": Markup("b")}}
    for _ in range(2):  # the second time, with every class already seen
        assert not any(plain_templates.hides_async(value) for value in context.values())
    coroutine = later()
    try:
        for hidden in (later, coroutine, Awaitable()):
            assert plain_templates.hides_async([*rows, hidden])
            assert plain_templates.hides_async([[1, "a", None]] * 50 + [[1, "a", hidden]])
            assert plain_templates.hides_async({"names": {"a": Markup("b"), "b": hidden}})
    finally:
        coroutine.close()
    assert not plain_templates.hides_async([[[later]]])  # three levels down: not looked at, as before
    assert asyncio.iscoroutinefunction(later)


def test_functions_and_classes_are_told_as_inspect_tells_them():
    import functools
    import inspect

    async def later():
        return 1

    def now():
        return 1

    class Callable:
        async def __call__(self):
            return 1

    for value in (later, now, functools.partial(later), functools.partial(now), zip, len, "".join, Callable(),
                  Callable, now.__call__, later.__get__(1)):
        assert plain_templates.is_async(value) == (inspect.iscoroutinefunction(value) or inspect.isawaitable(value)), value
