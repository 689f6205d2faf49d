"""Seed 004's bank-churn network, exactly as the course writes it, on glassnet.

The course (seed 004, "Python Deep Learning - Implementations") predicts which of 10,000 bank
customers leave: LabelEncoder for Gender, a one-hot Geography with one dummy dropped,
an 80/20 ``train_test_split``, ``StandardScaler``, then an 11-6-6-1 network with
``'uniform'`` init, relu/relu/sigmoid, ``'adam'``, ``'binary_crossentropy'``, batch 10,
50 epochs. The course reports loss 0.3384, accuracy 0.8605 on the training set and
85.8 % on the test set with the confusion matrix [[1541 54] [230 175]].

The only change to the course's code: ``OneHotEncoder(categorical_features=[1])`` no longer
exists in scikit-learn, so the same encoding goes through ``ColumnTransformer``.

The split and the initialisation are random: test accuracy over seeds 0-6 ranges from
83.4 % to 86.4 % (mean 84.6 %; PyTorch with the same recipe lands in the same range), see
docs/models.md. The default seed 1 gives 86.35 %.

Run: ``python examples/churn.py [--epochs 50] [--seed 1] [--out churn_confusion.png]``
(data through ``gn.datasets.churn``; about 20-40 s on one core).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import glassnet as gn
from glassnet.layers import Dense
from glassnet.models import Sequential


def load(seed: int):
    """The course's preprocessing, step by step (Step 2 to Step 7)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler

    dataset = gn.datasets.churn.load_data()
    X = dataset.iloc[:, 3:13].values
    y = dataset.iloc[:, 13].values
    labelencoder_X_1 = LabelEncoder()
    X[:, 1] = labelencoder_X_1.fit_transform(X[:, 1])
    labelencoder_X_2 = LabelEncoder()
    X[:, 2] = labelencoder_X_2.fit_transform(X[:, 2])
    # OneHotEncoder(categorical_features=[1]) + X[:, 1:] in the course's scikit-learn
    onehotencoder = ColumnTransformer([("geography", OneHotEncoder(drop="first"), [1])],
                                      remainder="passthrough", sparse_threshold=0)
    X = onehotencoder.fit_transform(X).astype(np.float64)
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.2,
                                                        random_state=seed)
    sc = StandardScaler()
    X_train = sc.fit_transform(X_train)
    X_test = sc.transform(X_test)
    return X_train, X_test, y_train, y_test, sc


def build() -> Sequential:
    """Step 9 to Step 11, verbatim."""
    classifier = Sequential()
    classifier.add(Dense(units=6, kernel_initializer="uniform", activation="relu",
                         input_dim=11))
    classifier.add(Dense(units=6, kernel_initializer="uniform", activation="relu"))
    classifier.add(Dense(units=1, kernel_initializer="uniform", activation="sigmoid"))
    classifier.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return classifier


def train(seed: int = 1, epochs: int = 50, verbose: int = 2, callbacks=None) -> dict:
    """Step 8 to Step 14: train, predict the test set and the course's new customer.

    Returns a dict: model, history, accuracy, confusion (the 2x2 matrix), y_test, y_pred,
    new_customer_leaves, seconds (training time).
    """
    from sklearn.metrics import confusion_matrix

    gn.set_seed(seed)
    X_train, X_test, y_train, y_test, sc = load(seed)
    classifier = build()
    t0 = time.perf_counter()
    history = classifier.fit(X_train, y_train, batch_size=10, epochs=epochs, verbose=verbose,
                             callbacks=callbacks)
    took = time.perf_counter() - t0

    # Step 13: predictions, and the course's single new customer (Spain, 500, female, ...)
    y_pred = classifier.predict(X_test, verbose=0)
    y_pred = (y_pred > 0.5)
    new_prediction = classifier.predict(sc.transform(
        np.array([[0.0, 0, 500, 1, 40, 3, 50000, 2, 1, 1, 40000]])), verbose=0)
    new_prediction = (new_prediction > 0.5)

    # Step 14: the confusion matrix
    cm = confusion_matrix(y_test, y_pred)
    return {"model": classifier, "history": history, "accuracy": float(np.trace(cm) / cm.sum()),
            "confusion": cm, "y_test": y_test, "y_pred": y_pred.ravel().astype(int),
            "new_customer_leaves": bool(new_prediction[0, 0]), "seconds": took}


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=50)
    # seeds the split and glassnet; test accuracy over seeds 0-6 is 0.834-0.864
    # (docs/models.md lists each), seed 1 gives 0.8635
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--verbose", type=int, default=2)
    p.add_argument("--out", default="churn_confusion.png", help="confusion-matrix PNG")
    a = p.parse_args(argv)

    build().summary()
    r = train(a.seed, a.epochs, a.verbose)
    print(r["confusion"])
    print(f"test accuracy {r['accuracy']:.4f} (course: 0.858); new customer leaves: "
          f"{r['new_customer_leaves']}; {a.epochs} epochs in {r['seconds']:.1f} s")
    gn.plot.confusion_matrix(r["y_test"], r["y_pred"], save=a.out)
    print(f"wrote {a.out}")
    return r["accuracy"]


if __name__ == "__main__":
    main()
