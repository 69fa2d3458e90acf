"""Every HTML page says it is in British English: ``<html lang="en-GB">``.

Datasette's base template writes a bare ``<html>`` outside any block, so no template
that extends it can add the attribute (WCAG 3.1.1). This wrapper adds it to the first
body chunk of each text/html response that Datasette renders (those carry no
Content-Length, so the length may change). Its ``asgi_wrapper`` runs first (``tryfirst``): inside the
compression of leftbehind/site/cache.py, which would otherwise hand it gzip.
"""

from __future__ import annotations

from datasette import hookimpl

BARE = b"<html>"
WITH_LANGUAGE = b'<html lang="en-GB">'
LOOK_WITHIN = 256  # the tag comes right after the doctype


def is_rendered_html(headers) -> bool:
    names = {name.lower(): value for name, value in headers}
    return names.get(b"content-type", b"").startswith(b"text/html") and b"content-length" not in names


def with_language(app):
    async def wrapped(scope, receive, send):
        if scope["type"] != "http":
            await app(scope, receive, send)
            return
        state = {"html": False, "done": False}

        async def patched(message):
            if message["type"] == "http.response.start":
                state["html"] = is_rendered_html(message.get("headers", []))
            elif message["type"] == "http.response.body" and state["html"] and not state["done"]:
                body = message.get("body", b"")
                if body:
                    state["done"] = True
                    position = body.find(BARE, 0, LOOK_WITHIN)
                    if position != -1:
                        body = body[:position] + WITH_LANGUAGE + body[position + len(BARE):]
                        message = {**message, "body": body}
            await send(message)

        await app(scope, receive, patched)

    return wrapped


@hookimpl(tryfirst=True)
def asgi_wrapper(datasette):
    return with_language
