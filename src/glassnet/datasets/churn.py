"""Bank customer churn (Churn_Modelling.csv, 10,000 customers x 14 columns)."""

from __future__ import annotations

from typing import Any

from ._fetch import fetch

__all__ = ["load_data", "COLUMNS"]

URL = (
    "https://raw.githubusercontent.com/sharmaroshan/Churn-Modelling-Dataset/master/"
    "Churn_Modelling.csv"
)
SHA256 = "3996cd1fa372e0db0cd9c0ebac35bbd4e8e3c65fb942bb010c826e7b1eeef0a0"
COLUMNS = (
    "RowNumber", "CustomerId", "Surname", "CreditScore", "Geography", "Gender", "Age", "Tenure",
    "Balance", "NumOfProducts", "HasCrCard", "IsActiveMember", "EstimatedSalary", "Exited",
)  # fmt: skip


def load_data(download: bool = True) -> Any:  # a pandas DataFrame
    """The churn CSV as a pandas DataFrame (10000, 14); target column ``Exited``.

    Example:
        >>> df = gn.datasets.churn.load_data()  # doctest: +SKIP
        >>> X, y = df.iloc[:, 3:13], df["Exited"]  # doctest: +SKIP
    """
    import pandas as pd

    path = fetch("churn/Churn_Modelling.csv", URL, SHA256, download)
    df = pd.read_csv(path)
    if df.shape != (10000, 14) or tuple(df.columns) != COLUMNS:
        raise ValueError(
            f"{path}: expected 10000 rows x columns {COLUMNS}; received {df.shape} "
            f"with columns {tuple(df.columns)}"
        )
    return df
