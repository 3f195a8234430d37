{% if cookiecutter.model_task == "regression" -%}
"""Synthetic but realistic property sales, generated deterministically.

Prices follow a hedonic model: a price per square metre by district, adjusted for the
type of property, its age, energy rating, rooms, land and garage, with log-normal noise.
Replace `generate` with your own data loading when you bring a real data set.
"""

import numpy as np

from {{ cookiecutter.package_name }}.contract import DISTRICTS, ENERGY_RATINGS, PROPERTY_TYPES

PRICE_PER_M2 = dict(zip(DISTRICTS, [6500, 6000, 5200, 5000, 4300, 3400, 3100, 2500], strict=True))
TYPE_FACTOR = dict(zip(PROPERTY_TYPES, [1.00, 0.95, 1.05, 1.15], strict=True))
TYPE_AREA = dict(zip(PROPERTY_TYPES, [(28, 160), (70, 180), (90, 230), (110, 380)], strict=True))
TYPE_SHARE = [0.55, 0.15, 0.15, 0.15]
DISTRICT_SHARE = [0.10, 0.08, 0.10, 0.14, 0.12, 0.18, 0.18, 0.10]


def generate(rows: int = 20_000, seed: int = 42) -> tuple[list[dict], np.ndarray]:
    """Return `rows` property records (request-shaped dicts) and their sale prices."""
    rng = np.random.default_rng(seed)
    districts = rng.choice(DISTRICTS, size=rows, p=DISTRICT_SHARE)
    types = rng.choice(PROPERTY_TYPES, size=rows, p=TYPE_SHARE)
    records, prices = [], np.empty(rows)
    for i, (district, kind) in enumerate(zip(districts, types, strict=True)):
        low, high = TYPE_AREA[kind]
        area = round(float(rng.uniform(low, high)), 1)
        rooms = int(np.clip(round(area / 27 + rng.normal(0, 0.8)), 1, 12))
        bathrooms = int(np.clip(round(area / 90 + rng.normal(0.4, 0.4)), 1, 5))
        year = int(np.clip(rng.normal(1975, 30), 1850, 2025))
        rating = ENERGY_RATINGS[int(np.clip(round((2025 - year) / 25 + rng.normal(0, 1)), 0, 6))]
        lot = 0.0 if kind == "apartment" else round(float(area * rng.uniform(1.2, 4.0)), 1)
        garage = bool(rng.random() < (0.15 if kind == "apartment" else 0.6))

        age = 2025 - year
        age_factor = 1.12 if age < 5 else 1.0 - 0.004 * min(age, 60) + (0.10 if year < 1920 else 0.0)
        price = (
            area
            * PRICE_PER_M2[district]
            * TYPE_FACTOR[kind]
            * age_factor
            * (1.06 - 0.03 * ENERGY_RATINGS.index(rating))
            * (1 + 0.015 * (rooms - area / 27))
            * (1 + 0.03 * (bathrooms - 1))
            + lot * 0.06 * PRICE_PER_M2[district]
            + (15_000 if garage else 0)
        )
        prices[i] = price * rng.lognormal(0, 0.08)
        records.append(
            {
                "district": str(district),
                "property_type": str(kind),
                "living_area_m2": area,
                "lot_area_m2": lot,
                "rooms": rooms,
                "bathrooms": bathrooms,
                "year_built": year,
                "energy_rating": rating,
                "has_garage": garage,
            }
        )
    return records, prices
{%- else -%}
"""Synthetic but realistic customers of a subscription service, generated deterministically.

Whether a customer churns (leaves within 90 days) follows a logistic model: short tenure,
a monthly billing, many support tickets and a high bill for the plan raise the odds; a
yearly contract, autopay and a premium plan lower them. About a quarter churn.
Replace `generate` with your own data loading when you bring a real data set.
"""

import numpy as np

from {{ cookiecutter.package_name }}.contract import BILLINGS, CLASSES, PLANS

PLAN_SHARE = [0.45, 0.35, 0.20]
PLAN_PRICE = dict(zip(PLANS, [15.0, 35.0, 70.0], strict=True))
PLAN_EFFECT = dict(zip(PLANS, [0.3, 0.0, -0.5], strict=True))


def generate(rows: int = 20_000, seed: int = 42) -> tuple[list[dict], np.ndarray]:
    """Return `rows` customer records (request-shaped dicts) and their classes (from CLASSES)."""
    rng = np.random.default_rng(seed)
    plans = rng.choice(PLANS, size=rows, p=PLAN_SHARE)
    records, labels = [], []
    for plan in plans:
        billing = BILLINGS[int(rng.random() < 0.35)]
        tenure = int(min(rng.exponential(24), 600))
        spend = round(float(PLAN_PRICE[plan] * rng.lognormal(0, 0.25)), 2)
        tickets = int(rng.poisson(0.8 if plan == "premium" else 1.4))
        autopay = bool(rng.random() < 0.55)
        odds = (
            0.4
            + PLAN_EFFECT[plan]
            - (1.6 if billing == "yearly" else 0.0)
            - 0.9 * np.log1p(tenure / 6)
            + 0.45 * tickets
            + 1.2 * (spend / PLAN_PRICE[plan] - 1)
            - (0.6 if autopay else 0.0)
        )
        churns = rng.random() < 1 / (1 + np.exp(-odds))
        labels.append(CLASSES[int(churns)])
        records.append(
            {
                "plan": str(plan),
                "billing": billing,
                "tenure_months": tenure,
                "monthly_spend": spend,
                "support_tickets_90d": tickets,
                "autopay": autopay,
            }
        )
    return records, np.array(labels)
{%- endif %}
