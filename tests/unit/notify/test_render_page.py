"""services/notify/pages/router.py render_page: how every link and comment page answers."""

from __future__ import annotations

import jinja2

from services.notify.pages.router import SECURITY_HEADERS, render_page


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.DictLoader({"p.html": "<p>{{ name }} {{ status }}</p>"}), autoescape=True
    )


def test_rendered_with_the_security_headers() -> None:
    response = render_page(_env(), "p.html", 422, None, name="<b>", status="x")
    assert response.status_code == 422
    assert response.body == b"<p>&lt;b&gt; x</p>"  # a context key may be named like a parameter
    for header, value in SECURITY_HEADERS.items():
        assert response.headers[header] == value


def test_extra_headers_on_top() -> None:
    response = render_page(_env(), "p.html", 429, {"Retry-After": "60"}, name="a", status="b")
    assert response.headers["Retry-After"] == "60"
    assert response.headers["Cache-Control"] == SECURITY_HEADERS["Cache-Control"]
