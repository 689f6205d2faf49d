"""The course's bank-churn ANN (seed 004) on raw customer rows, built the Keras way.

Seed 004 encodes Geography and Gender and standardises the features with scikit-learn outside
the network, so a model saved from it wanted those encoded columns and read raw numbers as
nonsense. Here the preprocessing is part of the model, as in keras.io's "Structured data
classification from scratch": one ``Input`` per raw column of the churn CSV, named after it;
``StringLookup(output_mode="one_hot")`` for Geography and Gender (a value not seen in training
goes to the out-of-vocabulary slot, as in Keras); ``Normalization`` adapted on the training
split for the eight numbers. The encodings are concatenated (15 features: 8 numbers,
Geography's 3 countries + OOV, Gender's 2 values + OOV) and fed to the seed's 6-6-1 network
('uniform' init, relu/relu/sigmoid, Adam, batch 10, the seed's 80:20 split). Vocabularies and
statistics are saved with the model, so ``glassnet predict model.glassnet new_customers.csv``
takes rows of the churn CSV as they are.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from . import Recipe

if TYPE_CHECKING:
    import pandas as pd

    from ..models import Model

#: The raw feature columns of ``Churn_Modelling.csv``, in file order; one model input each.
FEATURES = ("CreditScore", "Geography", "Gender", "Age", "Tenure", "Balance", "NumOfProducts",
            "HasCrCard", "IsActiveMember", "EstimatedSalary")
#: The string columns (one-hot through ``StringLookup``); the rest are numbers.
CATEGORICAL = ("Geography", "Gender")
TARGET = "Exited"


def columns(df: pd.DataFrame) -> dict:
    """The model's inputs from a churn DataFrame: ``{column: array of shape (n, 1)}``.

    Strings stay strings (Geography, Gender), numbers become float32; other columns
    (RowNumber, CustomerId, Surname, Exited, ...) are ignored.

    Args:
        df: a pandas DataFrame with (at least) the columns of ``FEATURES``.

    Returns:
        A dict keyed by the model's input names.

    Example:
        >>> x = columns(gn.datasets.churn.load_data())   # doctest: +SKIP
        >>> x["Geography"][:2, 0]                         # doctest: +SKIP
        array(['France', 'Spain'], dtype='<U7')
    """
    missing = [c for c in FEATURES if c not in df.columns]
    if missing:
        raise KeyError(f"churn data: columns {missing} are missing. Received columns: "
                       f"{list(df.columns)}")
    out = {}
    for c in FEATURES:
        v = df[c].to_numpy()
        out[c] = (v.astype(str) if c in CATEGORICAL else v.astype(np.float32)).reshape(-1, 1)
    return out


def split(df: pd.DataFrame, test_size: float = 0.2,
          random_state: int = 0) -> list[pd.DataFrame]:
    """The seed's 80:20 split of the rows (``train_test_split``, ``random_state=0``)."""
    from sklearn.model_selection import train_test_split

    return train_test_split(df, test_size=test_size, random_state=random_state)


def load_data(cfg: dict) -> dict:
    """Raw columns of the seed's train/test split; ``cfg["subset"]`` keeps the first n rows."""
    from ..datasets import churn

    train, test = split(churn.load_data())
    n = cfg.get("subset")
    if n:
        train = train.iloc[:n]
    y = {name: d[TARGET].to_numpy().astype(np.float32) for name, d in (("tr", train),
                                                                        ("te", test))}
    return {"x_train": columns(train), "y_train": y["tr"],
            "x_test": columns(test), "y_test": y["te"]}


def build(data: dict, cfg: dict) -> Model:
    """The functional churn model; its preprocessing layers are adapted on ``data["x_train"]``."""
    from ..layers import Concatenate, Dense, Input, Normalization, StringLookup
    from ..models import Model

    x = data["x_train"]
    inputs = {c: Input(shape=(1,), name=c, dtype="string" if c in CATEGORICAL else "float32")
              for c in FEATURES}
    # the eight numbers side by side through one Normalization (per-column mean and variance
    # of the training split): one layer call per step instead of eight
    numeric = [c for c in FEATURES if c not in CATEGORICAL]
    norm = Normalization(name="numbers_normalization")
    norm.adapt(np.concatenate([x[c] for c in numeric], axis=1))
    encoded = [norm(Concatenate(name="numbers")([inputs[c] for c in numeric]))]
    for c in CATEGORICAL:
        lookup = StringLookup(output_mode="one_hot", name=f"{c}_lookup")
        lookup.adapt(x[c])
        encoded.append(lookup(inputs[c]))
    h = Concatenate(name="features")(encoded)
    h = Dense(6, kernel_initializer="uniform", activation="relu")(h)
    h = Dense(6, kernel_initializer="uniform", activation="relu")(h)
    out = Dense(1, kernel_initializer="uniform", activation="sigmoid")(h)
    return Model(list(inputs.values()), out, name="churn")


RECIPES = {
    "churn": Recipe(
        name="churn",
        description="Bank churn ANN (seed 004) on raw CSV columns: lookup + normalization "
                    "inside the model, then 6-6-1; 84-86 % test accuracy",
        load_data=load_data, build=build,
        compile={"optimizer": "adam", "loss": "binary_crossentropy", "metrics": ["accuracy"]},
        fit={"epochs": 50, "batch_size": 10},
        fast={"epochs": 2, "subset": 2000}, figures=("history", "confusion_matrix"),
    )
}
