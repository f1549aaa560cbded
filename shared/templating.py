"""How every service's Jinja2 templates are loaded: strict, and without the blank lines of tags.

Why one place: a variable a template names but is not given must fail (a typo must fail the
tests, never print an empty string in a mail or a page), and a line holding only a block tag
must not leave a blank line behind — in the mails of notify, its link pages and the reports
console alike. What is autoescaped stays each caller's choice (a plain-text mail is not HTML).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import jinja2


def strict_environment(
    template_dir: Path, *, autoescape: bool | Callable[[str | None], bool]
) -> jinja2.Environment:
    """Templates from ``template_dir``: undefined variables raise, block tags trim their line."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        autoescape=autoescape,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
