"""Template filters that write ages and estimates the way a report reads them."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def years_months(months: float | None) -> str:
    """``121.4`` → ``"10 y 1 mo"``; an em dash for an unknown age."""
    if months is None:
        return "—"
    whole = round(float(months))
    sign = "−" if whole < 0 else ""
    years, rest = divmod(abs(whole), 12)
    return f"{sign}{years} y {rest} mo"


@register.filter
def signed(value: float | None, digits: int = 1) -> str:
    """A number with its sign always written (``+1.4``, ``−0.3``), for differences and SDS; an
    em dash when there is none (a missing key renders as an empty string)."""
    if value is None or value == "":
        return "—"
    text = f"{abs(float(value)):.{int(digits)}f}"
    return f"+{text}" if value > 0 else (f"−{text}" if value < 0 else text)


METHOD_NAMES = {"multistep": "multi-step", "endtoend": "end-to-end", "combined": "combined"}
"""The assessment's method keys (its JSON contract) as a report names them."""


@register.filter
def method_name(key: str) -> str:
    """``"endtoend"`` → ``"end-to-end"``; an unknown key is shown as it is."""
    return METHOD_NAMES.get(key, key)


MODEL_ROLES = {
    "segmentation": "Bone finder (multi-step U-Net)",
    "reference": "Reference table (multi-step)",
    "reference_field": "Reference table on the whole film (when the hand cannot be cropped)",
    "regression": "End-to-end network",
    "regression_field": "End-to-end network on the whole film (when the hand cannot be cropped)",
    "combination": "Combination rule (both estimates pooled)",
    "gate": "Hand-radiograph check",
}
"""The roles of the assessment's models as a report names them."""


@register.filter
def model_role(role: str) -> str:
    """``"regression"`` → ``"End-to-end network"``; an unknown role is shown as it is."""
    return MODEL_ROLES.get(role, role)


@register.filter
def model_version(ident: str) -> str:
    """``"cnn-rsna@1.0.0"`` → ``"1.0.0"``: the version part of a model's identifier."""
    return str(ident).rpartition("@")[2]


JOINT_ABBREVIATIONS = {"mcp", "pip", "dip", "ip", "cmc"}


@register.filter
def bone_name(name: str) -> str:
    """``"proximal_phalanx_3"`` → ``"proximal phalanx 3"``, ``"index_pip_epiphysis"`` →
    ``"index PIP epiphysis"``: the engine's ids as words, joints by their abbreviations."""
    return " ".join(
        word.upper() if word in JOINT_ABBREVIATIONS else word for word in str(name).split("_")
    )


@register.filter
def percent(fraction: float | None) -> str:
    """``0.042`` → ``"4 %"``; an em dash when unknown."""
    if fraction is None or fraction == "":
        return "—"
    return f"{float(fraction):.0%}".replace("%", " %")


CHECK_TITLES = {
    "not_blank": "Image content",
    "is_hand": "Hand radiograph",
    "outline": "Hand outline",
    "inversion": "Bone brightness",
    "rotation": "Rotation",
    "laterality": "Side",
    "sex_matches_tags": "Sex",
}
"""The quality checks of the assessment contract (``quality.checks[].name``) as a report titles
them; a check not listed is shown by its name in words."""


@register.filter
def check_title(name: str) -> str:
    """``"not_blank"`` → ``"Image content"``."""
    return CHECK_TITLES.get(str(name), str(name).replace("_", " ").capitalize())
