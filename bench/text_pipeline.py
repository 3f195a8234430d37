"""A model trained elsewhere, for `bench/run.py --import-model`: a scikit-learn Pipeline saved
with joblib, a OneHotEncoder on a text column and a scaler before a 100-tree random forest,
on synthetic flats (a city, a surface, rooms, a garden; the rent to predict).

    python bench/text_pipeline.py FOLDER     writes FOLDER/rent.joblib and FOLDER/flats.csv
"""

import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import RandomForestRegressor
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def flats(rows: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "city": rng.choice(["Lyon", "Paris", "Nantes", "Lille", "Rennes"], rows),
            "surface_m2": rng.uniform(10, 160, rows).round(1),
            "rooms": rng.integers(1, 7, rows),
            "garden": rng.random(rows) < 0.3,
        }
    )
    city = frame["city"].map({"Lyon": 0, "Paris": 400, "Nantes": 100, "Lille": 50, "Rennes": 80})
    frame["rent"] = (frame["surface_m2"] * 15 + frame["rooms"] * 40 + city + 50 * frame["garden"]).round(2)
    frame["rent"] += rng.normal(0, 20, rows).round(2)
    return frame


def main(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    train, data = flats(5000, 0), flats(2000, 1)
    columns = ColumnTransformer(
        [
            ("city", OneHotEncoder(handle_unknown="ignore"), ["city"]),
            ("numbers", StandardScaler(), ["surface_m2", "rooms", "garden"]),
        ]
    )
    model = Pipeline([("columns", columns), ("model", RandomForestRegressor(n_estimators=100, random_state=0))])
    model.fit(train.drop(columns="rent"), train["rent"])
    joblib.dump(model, folder / "rent.joblib")
    data.to_csv(folder / "flats.csv", index=False)
    print(f"wrote {folder / 'rent.joblib'} and {folder / 'flats.csv'} (target: rent)")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
