"""Server-rendered HTML: one Jinja2 environment and the security headers of every page.

Autoescaping is on for every template (``select_autoescape`` with ``html``
and default on), so a tenant name like ``<script>`` renders as text; markup
we build ourselves (the SVG charts, the QR code) is passed as ``Markup``
after escaping its own text.

Headers (OWASP Secure Headers project): a Content-Security-Policy with no
``'unsafe-inline'`` anywhere — the pages have no inline script or style
attribute, styles come from our own stylesheet, so an injected ``<script>``
would not run even if escaping failed; ``frame-ancestors 'none'`` against
clickjacking; ``form-action 'self'``; ``nosniff``; a referrer policy that
does not leak portal URLs (they contain unit ids) to other sites; and
``no-store`` because the pages show personal data.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Request
from fastapi.responses import HTMLResponse, Response
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from api.portal.i18n import LANGUAGES, Translator

TEMPLATES_DIR = Path(__file__).with_name("templates")
STATIC_DIR = Path(__file__).with_name("static")

CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
# X-Content-Type-Options, Referrer-Policy and X-Frame-Options come from the app's
# HardeningMiddleware on every response (api/app.py); repeating them here would send
# each twice.  The page policy below adds to its frame-ancestors-only CSP.
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "Cache-Control": "no-store",
}
HTML_LANG = {"de": "de", "en": "en", "zh": "zh-Hans", "nb": "nb"}
NAV = (("home", "/portal/"), ("consumption", "/portal/consumption"), ("bills", "/portal/bills"),
       ("payments", "/portal/payments"), ("profile", "/portal/profile"))

environment = Environment(
    loader=FileSystemLoader(TEMPLATES_DIR),
    autoescape=select_autoescape(enabled_extensions=("html",), default=True),
    undefined=StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers[name] = value
    return response


def render(request: Request, template: str, t: Translator, *, active: str, title: str,
           csrf: str, status_code: int = 200, **context: object) -> HTMLResponse:
    """A page in the user's language with the portal's headers."""
    override = request.query_params.get("lang")
    body = environment.get_template(template).render(
        t=t, title=title, active=active, csrf=csrf, nav=NAV, languages=LANGUAGES,
        html_lang=HTML_LANG[t.language],
        lang_q=f"?lang={t.language}" if override in LANGUAGES else "",
        path=request.url.path, **context,
    )
    response = HTMLResponse(body, status_code=status_code,
                            headers={"Content-Language": HTML_LANG[t.language]})
    secure(response)
    return response
