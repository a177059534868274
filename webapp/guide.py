"""The guide pages: public, one per language."""
from flask import Blueprint, render_template

from .fields import GUIDE_ANCHORS, LABELS

bp = Blueprint("guide", __name__, url_prefix="/<lang>/guide")


def field_sections() -> dict[str, list[str]]:
    """Guide section anchor -> the fields it explains, in form order."""
    sections: dict[str, list[str]] = {}
    for field, anchor in GUIDE_ANCHORS.items():
        sections.setdefault(anchor, []).append(field)
    return sections


@bp.get("")
def page():
    return render_template("guide/page.html", sections=field_sections(), labels=LABELS)
