"""shared/templating.py: strict templates, block tags leave no blank line, autoescape as asked."""

from __future__ import annotations

from pathlib import Path

import jinja2
import pytest

from shared.templating import strict_environment


@pytest.fixture
def template_dir(tmp_path: Path) -> Path:
    (tmp_path / "list.html").write_text("<ul>\n{% for x in xs %}\n  <li>{{ x }}</li>\n{% endfor %}\n</ul>\n")
    (tmp_path / "note.txt").write_text("{{ text }}\n")
    return tmp_path


def test_block_tags_leave_no_blank_line_and_html_is_escaped(template_dir: Path) -> None:
    env = strict_environment(template_dir, autoescape=True)
    assert (
        env.get_template("list.html").render(xs=["a<b", "c"])
        == "<ul>\n  <li>a&lt;b</li>\n  <li>c</li>\n</ul>"
    )


def test_an_undefined_variable_is_an_error(template_dir: Path) -> None:
    env = strict_environment(template_dir, autoescape=True)
    with pytest.raises(jinja2.UndefinedError):
        env.get_template("list.html").render()


def test_autoescape_is_the_callers_choice(template_dir: Path) -> None:
    env = strict_environment(template_dir, autoescape=jinja2.select_autoescape(["html"]))
    assert env.get_template("note.txt").render(text="a<b") == "a<b"
    assert "a&lt;b" in env.get_template("list.html").render(xs=["a<b"])
