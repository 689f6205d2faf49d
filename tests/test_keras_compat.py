"""Keras code runs on glassnet after only its imports change.

1. The course's churn tutorial (seed 004), kept as text, with ``keras`` imports rewritten to
   ``glassnet`` and ``epochs = 50`` reduced; everything else runs as printed.
2. A Keras 3 style script (``keras.Input``, ``keras.layers.*``, ``validation_split``,
   ``keras.callbacks.EarlyStopping``, save/load) run with ``import glassnet as keras``.
"""

import re

import numpy as np
import pytest

# Seed 004, "Python Deep Learning - Implementations", Steps 1-14, as printed. Two edits that
# are not about Keras: the tutorial's `Y = ...` / later `y` typo is read as `y`, and
# `OneHotEncoder(categorical features = [1])` (removed from scikit-learn in 0.22, and a
# syntax error as printed) is written with ColumnTransformer, which encodes the same way.
SEED_004 = """
# Importing the libraries
import numpy as np
import matplotlib.pyplot as plt
import pandas as pd
# Importing the database
dataset = pd.read_csv('Churn_Modelling.csv')
X = dataset.iloc[:, 3:13].values
y = dataset.iloc[:, 13].values
from sklearn.preprocessing import LabelEncoder, OneHotEncoder
labelencoder_X_1 = LabelEncoder()
X[:,1] = labelencoder_X_1.fit_transform(X[:,1])
labelencoder_X_2 = LabelEncoder()
X[:, 2] = labelencoder_X_2.fit_transform(X[:, 2])
from sklearn.compose import ColumnTransformer
onehotencoder = ColumnTransformer([('geo', OneHotEncoder(), [1])], remainder='passthrough')
X = onehotencoder.fit_transform(X)
X = X[:, 1:]
#Splitting the dataset into the Training set and the Test Set
from sklearn.model_selection import train_test_split
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size = 0.2)
# Feature Scaling
from sklearn.preprocessing import StandardScaler
sc = StandardScaler()
X_train = sc.fit_transform(X_train)
X_test = sc.transform(X_test)
# Importing the Keras libraries and packages
import keras
from keras.models import Sequential
from keras.layers import Dense
#Initializing Neural Network
classifier = Sequential()
classifier.add(Dense(units = 6, kernel_initializer = 'uniform',
activation = 'relu', input_dim = 11))
classifier.add(Dense(units = 6, kernel_initializer = 'uniform',
activation = 'relu'))
classifier.add(Dense(units = 1, kernel_initializer = 'uniform',
activation = 'sigmoid'))
# Compiling Neural Network
classifier.compile(optimizer = 'adam', loss = 'binary_crossentropy', metrics = ['accuracy'])
# Fitting our model
classifier.fit(X_train, y_train, batch_size = 10, epochs = 50)
# Predicting the Test set results
y_pred = classifier.predict(X_test)
y_pred = (y_pred > 0.5)
new_prediction = classifier.predict(sc.transform
(np.array([[0.0, 0, 500, 1, 40, 3, 50000, 2, 1, 1, 40000]])))
new_prediction = (new_prediction > 0.5)
from sklearn.metrics import confusion_matrix
cm = confusion_matrix(y_test, y_pred)
print (cm)
"""

KERAS3 = """
import numpy as np
import keras
from keras import layers

rng = np.random.default_rng(0)
x = rng.standard_normal((400, 4)).astype("float32")
y = (x[:, 0] + x[:, 1] > 0).astype("int64") + (x[:, 2] > 0.8)

inputs = keras.Input(shape=(4,))
model = keras.Sequential([
    inputs,
    layers.Dense(16, activation="relu"),
    layers.Dropout(0.1),
    layers.Dense(3, activation="softmax"),
])
model.compile(
    optimizer=keras.optimizers.Adam(learning_rate=1e-2),
    loss=keras.losses.SparseCategoricalCrossentropy(),
    metrics=[keras.metrics.SparseCategoricalAccuracy()],
)
history = model.fit(
    x, y, batch_size=32, epochs=200, validation_split=0.2, verbose=0,
    callbacks=[keras.callbacks.EarlyStopping(monitor="val_loss", patience=3,
                                             restore_best_weights=True)],
)
score = model.evaluate(x, y, verbose=0, return_dict=True)
model.save(save_path)
restored = keras.models.load_model(save_path)
"""


def to_glassnet(src: str) -> str:
    """Rewrite only the imports, the way a user switching libraries would."""
    src = re.sub(r"^import (tensorflow\.)?keras$", "import glassnet as keras", src, flags=re.M)
    src = re.sub(r"^from (tensorflow\.)?keras import", "from glassnet import", src, flags=re.M)
    src = re.sub(r"^from (tensorflow\.)?keras\.", "from glassnet.", src, flags=re.M)
    return src


def test_import_rewrite_touches_only_imports():
    out = to_glassnet(SEED_004)
    changed = [(a, b) for a, b in zip(SEED_004.splitlines(), out.splitlines()) if a != b]
    assert [b for _, b in changed] == ["import glassnet as keras",
                                      "from glassnet.models import Sequential",
                                      "from glassnet.layers import Dense"]


def test_seed_004_tutorial_runs_with_glassnet_imports(datasets_dir, monkeypatch, capsys):
    import glassnet as gn

    monkeypatch.chdir(datasets_dir / "churn")
    src = to_glassnet(SEED_004).replace("epochs = 50", "epochs = 5")
    gn.set_seed(0)
    state = np.random.get_state()
    np.random.seed(0)  # the tutorial's train_test_split draws from NumPy's global generator
    scope = {}
    try:
        exec(compile(src, "seed_004_churn.py", "exec"), scope)  # noqa: S102 - our fixed text
    finally:
        np.random.set_state(state)
    cm = scope["cm"]
    assert cm.shape == (2, 2) and cm.sum() == 2000
    acc = np.trace(cm) / cm.sum()
    majority = (scope["y_test"] == 0).mean()
    assert acc > majority + 0.01  # learned more than "nobody leaves" in 5 of the 50 epochs
    assert scope["y_pred"].shape == (2000, 1) and scope["y_pred"].dtype == bool
    assert scope["new_prediction"].shape == (1, 1)
    assert str(cm[0, 0]) in capsys.readouterr().out  # print (cm)
    assert [ly.units for ly in scope["classifier"].layers] == [6, 6, 1]


def test_keras3_style_script_runs_with_import_glassnet_as_keras(tmp_path):
    scope = {"save_path": str(tmp_path / "model.keras")}
    exec(compile(to_glassnet(KERAS3), "keras3_script.py", "exec"), scope)  # noqa: S102
    hist = scope["history"].history
    assert set(hist) >= {"loss", "val_loss", "sparse_categorical_accuracy"}
    assert len(hist["loss"]) < 200  # EarlyStopping stopped it
    assert scope["score"]["sparse_categorical_accuracy"] > 0.85
    x = scope["x"]
    np.testing.assert_array_equal(scope["model"].predict(x, verbose=0),
                                  scope["restored"].predict(x, verbose=0))


@pytest.mark.parametrize("name", ["Input", "Sequential", "Model", "layers", "models",
                                  "optimizers", "losses", "metrics", "callbacks",
                                  "activations", "initializers", "regularizers", "utils"])
def test_keras_top_level_names_exist(name):
    import glassnet as keras

    assert getattr(keras, name) is not None


KERAS3_FUNCTIONAL = """
import keras
from keras import layers

inputs = keras.Input(shape=(4,))
x = layers.Dense(16, activation="relu")(inputs)
x = layers.Dropout(0.1)(x)
outputs = layers.Dense(3, activation="softmax")(x)
model = keras.Model(inputs, outputs, name="clf")
model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=3, batch_size=32, validation_split=0.2, verbose=0)
model.summary()
"""


def test_keras3_functional_script_runs(capsys):
    r = np.random.default_rng(0)
    x_train = r.standard_normal((100, 4)).astype("float32")
    scope = {"x_train": x_train, "y_train": (x_train[:, 0] > 0).astype(int)}
    exec(compile(to_glassnet(KERAS3_FUNCTIONAL), "keras3_functional.py", "exec"), scope)  # noqa: S102
    assert set(scope["history"].history) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert 'Model: "clf"' in capsys.readouterr().out
    assert scope["model"].predict(x_train, verbose=0).shape == (100, 3)


KERAS_TEXT = """
import numpy as np
import keras
from keras import layers
from keras.utils import pad_sequences, to_categorical

keras.utils.set_random_seed(0)
rng = np.random.default_rng(0)
# token-id "sentences" of different lengths; the class says which marker token appears
docs = [list(rng.integers(3, 20, rng.integers(3, 12))) for _ in range(600)]
labels = rng.integers(0, 3, 600)
for d, c in zip(docs, labels):
    d[rng.integers(len(d))] = 20 + c
x = pad_sequences(docs, maxlen=10)
y = to_categorical(labels, num_classes=3)
model = keras.Sequential([
    keras.Input(shape=(10,)),
    layers.Embedding(input_dim=23, output_dim=8, mask_zero=True),
    layers.LSTM(16),
    layers.Dense(3, activation="softmax"),
])
model.compile(optimizer="adam", loss="categorical_crossentropy", metrics=["accuracy"])
history = model.fit(x, y, epochs=25, batch_size=32, validation_split=0.2, verbose=0)
"""


def test_keras_text_classification_script_runs():
    # Keras's text pipeline: pad_sequences + to_categorical + Embedding(mask_zero) + LSTM
    scope = {}
    exec(compile(to_glassnet(KERAS_TEXT), "keras_text.py", "exec"), scope)  # noqa: S102
    assert scope["x"].shape == (600, 10) and scope["x"].dtype == np.int32
    hist = scope["history"].history
    # chance is 1/3; the marker token is learned (1.0 on the held-out fifth here)
    assert hist["val_accuracy"][-1] > 0.9, hist["val_accuracy"][-5:]
