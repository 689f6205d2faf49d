"""The course's bank-churn ANN (seed 004): 11-6-6-1, 'uniform' init, Adam, batch 10."""

from __future__ import annotations

import numpy as np

from . import Recipe


def preprocess(df, test_size: float = 0.2, random_state: int = 0):
    """The seed's preprocessing: encode Geography (one-hot, drop one) and Gender, split, scale.

    Returns ``x_train, x_test, y_train, y_test`` with 11 features.
    """
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

    X = df.iloc[:, 3:13].values
    y = df.iloc[:, 13].values
    X[:, 2] = LabelEncoder().fit_transform(X[:, 2])
    ct = ColumnTransformer([("geo", OneHotEncoder(drop="first"), [1])],
                           remainder="passthrough", sparse_threshold=0)
    X = ct.fit_transform(X).astype(np.float64)
    x_tr, x_te, y_tr, y_te = train_test_split(X, y, test_size=test_size,
                                              random_state=random_state)
    sc = StandardScaler()
    x_tr = sc.fit_transform(x_tr).astype(np.float32)
    x_te = sc.transform(x_te).astype(np.float32)
    return x_tr, x_te, y_tr.astype(np.float32), y_te.astype(np.float32)


def load_data(cfg: dict) -> dict:
    from ..datasets import churn

    x_tr, x_te, y_tr, y_te = preprocess(churn.load_data())
    n = cfg.get("subset")
    if n:
        x_tr, y_tr = x_tr[:n], y_tr[:n]
    return {"x_train": x_tr, "y_train": y_tr, "x_test": x_te, "y_test": y_te}


def build(data: dict, cfg: dict):
    from ..layers import Dense
    from ..models import Sequential

    return Sequential([
        Dense(6, kernel_initializer="uniform", activation="relu", input_dim=11),
        Dense(6, kernel_initializer="uniform", activation="relu"),
        Dense(1, kernel_initializer="uniform", activation="sigmoid"),
    ])


RECIPES = {
    "churn": Recipe(
        name="churn", description="Bank churn ANN 11-6-6-1 (seed 004), ~86 % test accuracy",
        load_data=load_data, build=build,
        compile={"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        fit={"epochs": 50, "batch_size": 10},
        fast={"epochs": 2, "subset": 2000}, figures=("history", "confusion_matrix"),
    )
}
